//! `GET /me`: what the API makes of the caller's token.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::auth::{BearerAuth, Role, Via};
use crate::http::error::{AUTH, Failure};
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
    /// How the caller was recognised: a token signed with the API's own secret
    /// (`secret`), by the configured public key's pair (`public_key`), by an OpenID Connect
    /// provider (`oidc`), or a system's Maskinporten token (`maskinporten`).
    pub via: Via,
    /// For a system (Maskinporten): the organisation number it acts for.
    #[oai(nullable)]
    pub organization_number: Option<String>,
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
    async fn me(&self, auth: BearerAuth) -> Result<MeResponse, Failure<AUTH>> {
        let caller = auth.0;
        Ok(MeResponse::Ok(Json(Me {
            sub: caller.sub,
            role: caller.role,
            municipality: caller.municipality.map(|m| m.into_inner()),
            name: caller.name,
            expires_at: DateTime::from_timestamp(caller.expires_at, 0).unwrap_or_default(),
            via: caller.via,
            organization_number: caller.organization_number,
        })))
    }
}
