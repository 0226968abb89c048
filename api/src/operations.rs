//! Health checks and metrics, for load balancers and monitoring.

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use crate::http::error::ProblemDetails;
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

#[derive(ApiResponse)]
pub enum ReadyResponse {
    /// The database answers: the instance can take traffic.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// The database does not answer.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<ProblemDetails>),
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
    /// 200 when the database answers, 503 when it does not.
    #[oai(path = "/health/ready", method = "get", operation_id = "health_ready")]
    async fn ready(&self, state: poem::web::Data<&AppState>) -> ReadyResponse {
        if state.db.is_ready().await {
            ReadyResponse::Ok(Json(Health {
                status: HealthStatus::Ok,
            }))
        } else {
            ReadyResponse::Unavailable(Json(crate::http::error::ApiError::Unavailable.problem()))
        }
    }

    /// Metrics
    ///
    /// Request counts and latencies by method, route template and status.
    #[oai(path = "/metrics", method = "get", operation_id = "get_metrics")]
    async fn metrics(&self, state: poem::web::Data<&AppState>) -> MetricsResponse {
        MetricsResponse::Ok(PlainText(state.metrics.render()))
    }
}
