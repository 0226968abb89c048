//! Bearer JWT authentication: the verified caller of an operation.
//!
//! [`BearerAuth`] is a poem-openapi `SecurityScheme`, so an operation that takes it is both
//! documented as protected in the spec and refused with 401 when the token is missing or bad.

pub mod policy;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};

use crate::common::stored::stored_enum;
use crate::common::values::MunicipalityNumber;
use crate::config::{JwtConfig, JwtKey};
use crate::http::error::ApiError;
use crate::state::AppState;

/// Tokens are accepted this many seconds past `exp` (and before `nbf`), for clock skew.
const LEEWAY_SECONDS: u64 = 30;

stored_enum! {
    Role {
        /// KS: runs the handbook and the kontaktpunkt; manages reference data.
        Ks = "ks",
        /// The ministry (KMD): funds the offer through grants.
        Kmd = "kmd",
        /// Staff of one municipality, named by the `municipality` claim.
        Municipality = "municipality",
    }
}

/// The claims of a token as they travel; `role` stays a string until checked, so that an
/// unknown role is refused with a clear message rather than a parse error.
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

/// A caller whose token has been verified.
#[derive(Debug, Clone)]
pub struct Caller {
    pub sub: String,
    pub role: Role,
    /// Set for, and only for, the municipality role.
    pub municipality: Option<MunicipalityNumber>,
    pub name: Option<String>,
    pub expires_at: i64,
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
/// A JWT with the claims `sub`, `role` (`ks`, `kmd` or `municipality`), `municipality` (for the
/// municipality role), `iss`, `aud` and `exp`. Development tokens: `digihjelpen token --help`.
pub struct BearerAuth(pub Caller);

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Caller> {
    // The edge verified this request's token before reading its body.
    if let Some(caller) = req.data::<Caller>() {
        return Ok(caller.clone());
    }
    let state = req
        .data::<AppState>()
        .expect("the app builder attaches AppState");
    Ok(state.verifier.verify(&bearer.token, state).await?)
}

/// Checks signatures and claims with the one configured algorithm family.
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

/// The decoding key and algorithm of a PEM public key (RS256 or ES256).
pub fn verifying_key(pem: &[u8]) -> Result<(DecodingKey, Algorithm), String> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Ok((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Ok((key, Algorithm::ES256));
    }
    Err("is not a PEM-encoded RSA or EC public key".into())
}

impl Verifier {
    pub fn new(config: &JwtConfig) -> Self {
        let (key, algorithm) = match &config.key {
            JwtKey::Secret(secret) => (DecodingKey::from_secret(secret), Algorithm::HS256),
            JwtKey::PublicKeyPem(pem) => {
                verifying_key(pem).expect("the configuration checked the key")
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        Self { key, validation }
    }

    /// Verifies a token and its claims, including that a municipality role names a
    /// municipality that exists.
    pub async fn verify(&self, token: &str, state: &AppState) -> Result<Caller, ApiError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|e| {
                ApiError::Unauthorized(format!("the bearer token is invalid: {}", describe(&e)))
            })?
            .claims;
        let caller = caller_from_claims(claims)?;
        if let Some(number) = &caller.municipality {
            let exists = entity::municipality::Entity::find_by_id(number.as_str())
                .one(state.db.conn())
                .await?
                .is_some();
            if !exists {
                return Err(ApiError::Unauthorized(format!(
                    "the token's municipality {number} does not exist"
                )));
            }
        }
        Ok(caller)
    }
}

/// Says why a token was refused, without echoing any of it.
fn describe(err: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind::*;
    match err.kind() {
        ExpiredSignature => "it has expired",
        ImmatureSignature => "it is not valid yet (nbf)",
        InvalidIssuer => "wrong issuer (iss)",
        InvalidAudience => "wrong audience (aud)",
        InvalidSignature => "the signature does not verify",
        InvalidAlgorithm | InvalidAlgorithmName => "its algorithm is not accepted",
        MissingRequiredClaim(_) => "a required claim (sub, iss, aud, exp) is missing",
        Json(_) | InvalidClaimFormat(_) => "its claims are malformed",
        _ => "it is malformed",
    }
}

fn caller_from_claims(claims: Claims) -> Result<Caller, ApiError> {
    let unauthorized =
        |m: &str| ApiError::Unauthorized(format!("the bearer token is invalid: {m}"));
    if claims.sub.trim().is_empty() {
        return Err(unauthorized("sub is empty"));
    }
    // Claims end up in stored rows (the audit log's actor): bounded like any text field.
    if !is_claim_text(&claims.sub) || claims.name.as_deref().is_some_and(|n| !is_claim_text(n)) {
        return Err(unauthorized(
            "sub and name must be at most 255 characters, without control characters",
        ));
    }
    let in_range = chrono::DateTime::from_timestamp(claims.exp, 0)
        .is_some_and(|exp| crate::http::bounds::instant_in_range(&exp));
    if !in_range {
        return Err(unauthorized("exp must be an instant before the year 2201"));
    }
    let role = match claims.role.as_str() {
        "ks" => Role::Ks,
        "kmd" => Role::Kmd,
        "municipality" => Role::Municipality,
        _ => {
            return Err(unauthorized(
                "unknown role (expected ks, kmd or municipality)",
            ));
        }
    };
    let municipality = match (role, claims.municipality) {
        (Role::Municipality, Some(number)) => Some(
            MunicipalityNumber::parse(&number)
                .map_err(|_| unauthorized("the municipality claim is not a municipality number"))?,
        ),
        (Role::Municipality, None) => {
            return Err(unauthorized(
                "the municipality role needs a municipality claim",
            ));
        }
        (_, Some(_)) => {
            return Err(unauthorized(
                "only the municipality role carries a municipality claim",
            ));
        }
        (_, None) => None,
    };
    Ok(Caller {
        sub: claims.sub,
        role,
        municipality,
        name: claims.name,
        expires_at: claims.exp,
    })
}

fn is_claim_text(value: &str) -> bool {
    value.chars().count() <= MAX_CLAIM_CHARS && !value.chars().any(char::is_control)
}

/// The longest `sub` or `name` a token may carry.
const MAX_CLAIM_CHARS: usize = 255;

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
            "tokens can only be minted with an HS256 secret; unset DIGIHJELPEN_JWT_PUBLIC_KEY"
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
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: &str, municipality: Option<&str>) -> Claims {
        Claims {
            sub: "kari".into(),
            role: role.into(),
            municipality: municipality.map(Into::into),
            name: None,
            iss: "digihjelpen".into(),
            aud: "digihjelpen-api".into(),
            exp: 0,
            iat: None,
            nbf: None,
        }
    }

    #[test]
    fn the_municipality_claim_belongs_to_the_municipality_role_only() {
        assert!(caller_from_claims(claims("municipality", Some("0301"))).is_ok());
        assert!(caller_from_claims(claims("municipality", None)).is_err());
        assert!(caller_from_claims(claims("municipality", Some("oslo"))).is_err());
        assert!(caller_from_claims(claims("ks", Some("0301"))).is_err());
        assert!(caller_from_claims(claims("kmd", None)).is_ok());
    }

    #[test]
    fn unknown_roles_are_refused() {
        for role in ["admin", "KS", ""] {
            assert!(caller_from_claims(claims(role, None)).is_err(), "{role}");
        }
    }
}
