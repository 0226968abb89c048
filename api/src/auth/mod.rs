//! Bearer JWT authentication: the verified caller of an operation.
//!
//! [`BearerAuth`] is a poem-openapi `SecurityScheme`, so an operation that takes it is both
//! documented as protected in the spec and refused with 401 when the token is missing or bad.
//! [`Verifier`] checks tokens with the one kind of key configured (`verifier.rs`): an HS256
//! secret, a PEM public key, or identity providers' key sets (`jwks.rs`); `claims.rs` maps a
//! token's claims to a caller, `machine.rs` a Maskinporten client's organisation number.

mod claims;
mod fetch;
mod jwks;
mod machine;
pub mod policy;
mod verifier;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use serde::{Deserialize, Serialize};

pub use crate::common::role::Role;
use crate::common::values::MunicipalityNumber;
use crate::config::{JwtConfig, JwtKey};
use crate::state::AppState;
pub use jwks::KeySetStatus;
pub use verifier::{StartError, Verifier};

/// The claims of a development token, as `digihjelpen token` mints them.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// How a caller was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Via {
    /// A token signed with the API's own HS256 secret.
    Secret,
    /// A token signed by the configured PEM public key's pair.
    PublicKey,
    /// A token of an OpenID Connect provider, verified with its published keys.
    Oidc,
    /// A Maskinporten token of a system, recognised by its organisation number.
    Maskinporten,
}

/// A caller whose token has been verified.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's `sub`; for a system (Maskinporten), its organisation number.
    pub sub: String,
    pub role: Role,
    /// Set for, and only for, the municipality role.
    pub municipality: Option<MunicipalityNumber>,
    pub name: Option<String>,
    pub expires_at: i64,
    pub via: Via,
    /// The organisation number of a system (Maskinporten).
    pub organization_number: Option<String>,
}

impl Caller {
    pub fn is_municipality(&self, number: &str) -> bool {
        self.role == Role::Municipality
            && self
                .municipality
                .as_ref()
                .is_some_and(|m| m.as_str() == number)
    }
}

#[derive(SecurityScheme)]
#[oai(
    rename = "bearer",
    ty = "bearer",
    bearer_format = "JWT",
    checker = "check_bearer"
)]
/// A JWT with the claims `sub`, `role` (`ks`, `kmd` or `municipality`; where a provider keeps it
/// and what its values mean is configurable), `municipality` (for the municipality role), `iss`,
/// `aud` and `exp`; or a Maskinporten token of a municipal system. Development tokens:
/// `digihjelpen token --help`.
pub struct BearerAuth(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    // The edge verified this request's token before reading its body.
    if let Some(caller) = req.data::<Caller>() {
        return Ok(caller.clone());
    }
    let state = req
        .data::<AppState>()
        .expect("the app builder attaches AppState");
    Ok(state.verifier.verify(&bearer.token, &state.db).await?)
}

/// The caller of an operation that anonymous callers may use too, and that shows more to
/// a verified caller: `None` without an `Authorization` header; a token that is sent must
/// verify (401 otherwise), so a system with an expired token learns it rather than
/// silently seeing the public view.
pub async fn optional_caller(
    req: &Request,
    state: &AppState,
) -> Result<Option<Caller>, crate::http::error::ApiError> {
    if let Some(caller) = req.data::<Caller>() {
        return Ok(Some(caller.clone()));
    }
    let Some(header) = req.headers().get(poem::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            crate::http::error::ApiError::Unauthorized(
                "send the token as `Authorization: Bearer <token>`".into(),
            )
        })?;
    state.verifier.verify(token, &state.db).await.map(Some)
}

/// What a development token says about its holder.
pub struct TokenRequest<'a> {
    pub sub: &'a str,
    pub role: Role,
    pub municipality: Option<&'a str>,
    pub name: Option<&'a str>,
    pub ttl: std::time::Duration,
}

/// Mints an HS256 token with the configured secret (development and tests).
pub fn mint(config: &JwtConfig, request: &TokenRequest) -> Result<String, String> {
    let JwtKey::Secret(secret) = &config.key else {
        return Err(
            "tokens can only be minted with an HS256 secret (DIGIHJELPEN_JWT_SECRET), not with a public key or an identity provider"
                .into(),
        );
    };
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: request.sub.to_string(),
        role: request.role.as_str().to_string(),
        municipality: request.municipality.map(str::to_string),
        name: request.name.map(str::to_string),
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        exp: now + i64::try_from(request.ttl.as_secs()).unwrap_or(i64::MAX / 2),
        iat: Some(now),
        nbf: Some(now),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())
}
