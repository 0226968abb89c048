//! `GET /me`: what the API makes of the caller's token.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::auth::{BearerAuth, Role};
use crate::http::error::{E401, Failure};
use crate::tags::ApiTags;

/// The verified claims of the caller's token.
#[derive(Debug, Object)]
pub struct Me {
    pub sub: String,
    pub role: Role,
    /// For the municipality role: the municipality the caller acts for.
    #[oai(nullable)]
    pub municipality: Option<String>,
    #[oai(nullable)]
    pub name: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(ApiResponse)]
pub enum MeResponse {
    /// The caller.
    #[oai(status = 200)]
    Ok(Json<Me>),
}

#[derive(Default)]
pub struct MeApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Identity")]
impl MeApi {
    /// Who am I
    ///
    /// The verified claims of the bearer token: a quick way to check a token.
    #[oai(path = "/me", method = "get", operation_id = "get_me")]
    async fn me(&self, auth: BearerAuth) -> Result<MeResponse, Failure<E401>> {
        let caller = auth.0;
        Ok(MeResponse::Ok(Json(Me {
            sub: caller.sub,
            role: caller.role,
            municipality: caller.municipality.map(|m| m.into_inner()),
            name: caller.name,
            expires_at: DateTime::from_timestamp(caller.expires_at, 0).unwrap_or_default(),
        })))
    }
}
