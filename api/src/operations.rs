//! Health checks and metrics, for load balancers and monitoring.

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use chrono::{DateTime, Utc};

use crate::http::error::ProblemDetails;
use crate::http::server::RETRY_AFTER_SECONDS;
use crate::state::AppState;
use crate::tags::ApiTags;

#[derive(Debug, Object)]
pub struct Health {
    pub status: HealthStatus,
}

#[derive(Debug, Enum)]
#[oai(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
}

#[derive(ApiResponse)]
pub enum LiveResponse {
    /// The process is up.
    #[oai(status = 200)]
    Ok(Json<Health>),
}

/// Readiness, with how the identity providers' key sets are doing.
#[derive(Debug, Object)]
pub struct Readiness {
    pub status: HealthStatus,
    /// One entry per identity provider (none with the HS256 secret or a PEM key). A
    /// provider that cannot be reached leaves the instance ready: the keys fetched before
    /// keep verifying tokens.
    pub identity_providers: Vec<ProviderHealth>,
}

#[derive(Debug, Object)]
pub struct ProviderHealth {
    pub issuer: String,
    /// Whether the last fetch of its key set succeeded.
    pub reachable: bool,
    /// The signing keys cached for it.
    pub keys: u32,
    /// When its key set was last fetched successfully.
    #[oai(nullable)]
    pub refreshed_at: Option<DateTime<Utc>>,
    /// Why the last fetch failed, while it is unreachable.
    #[oai(nullable)]
    pub last_error: Option<String>,
}

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The database answers: the instance can take traffic.
    #[oai(status = 200)]
    Ok(Json<Readiness>),
    /// The database does not answer, or the server is stopping.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(
        Json<ProblemDetails>,
        /// Seconds to wait before asking again.
        #[oai(header = "Retry-After")]
        u64,
    ),
}

#[derive(ApiResponse)]
pub enum MetricsResponse {
    /// Prometheus text exposition format.
    #[oai(status = 200, content_type = "text/plain; version=0.0.4")]
    Ok(PlainText<String>),
}

#[derive(Default)]
pub struct OperationsApi;

#[OpenApi(tag = "ApiTags::Operations")]
impl OperationsApi {
    /// Liveness
    ///
    /// 200 while the process serves requests, whatever the database does.
    #[oai(path = "/health/live", method = "get", operation_id = "health_live")]
    async fn live(&self) -> LiveResponse {
        LiveResponse::Ok(Json(Health {
            status: HealthStatus::Ok,
        }))
    }

    /// Readiness
    ///
    /// 200 when the database answers, 503 when it does not and, at once, when the server
    /// has been told to stop (SIGTERM), so that no new traffic is sent its way while the
    /// requests in flight finish.
    #[oai(path = "/health/ready", method = "get", operation_id = "health_ready")]
    async fn ready(&self, state: poem::web::Data<&AppState>) -> ReadyResponse {
        let unavailable = |detail: &str| {
            ReadyResponse::Unavailable(
                Json(ProblemDetails::for_status(
                    poem::http::StatusCode::SERVICE_UNAVAILABLE,
                    detail.to_string(),
                )),
                RETRY_AFTER_SECONDS,
            )
        };
        if state.is_stopping() {
            return unavailable("the server is stopping; another instance will answer");
        }
        if !state.db.is_ready().await {
            return unavailable(&crate::http::error::ApiError::Unavailable.to_string());
        }
        let identity_providers = state
            .verifier
            .providers()
            .into_iter()
            .map(|p| ProviderHealth {
                issuer: p.issuer,
                reachable: p.reachable,
                keys: u32::try_from(p.keys).unwrap_or(u32::MAX),
                refreshed_at: p.refreshed_at,
                last_error: p.last_error,
            })
            .collect();
        ReadyResponse::Ok(Json(Readiness {
            status: HealthStatus::Ok,
            identity_providers,
        }))
    }

    /// Metrics
    ///
    /// Request counts and latencies by method, route template and status.
    #[oai(path = "/metrics", method = "get", operation_id = "get_metrics")]
    async fn metrics(&self, state: poem::web::Data<&AppState>) -> MetricsResponse {
        MetricsResponse::Ok(PlainText(state.metrics.render()))
    }
}
