//! Checks a token's signature and claims with the one kind of key that is active: the HS256
//! secret, the PEM public key, or the key sets of the configured identity providers (where a
//! token is checked only against the keys of the issuer its `iss` names, RS256 or ES256 by
//! the key's own family, never `none`, never HS256).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::EntityTrait;
use serde_json::Value;

use super::claims::{staff, unauthorized};
use super::fetch::Fetcher;
use super::jwks::{KeySet, KeySetStatus};
use super::{Caller, Via, machine};
use crate::config::{ClaimMapping, JwtConfig, JwtKey, MachineClients};
use crate::http::error::ApiError;
use crate::state::Db;

/// Tokens are accepted this many seconds past `exp` (and before `nbf`), for clock skew.
const LEEWAY_SECONDS: u64 = 30;

/// The metrics of the identity providers, labelled by issuer.
pub struct IdentityMetrics {
    pub fetch_failures: prometheus::IntCounterVec,
    pub provider_up: prometheus::IntGaugeVec,
}

impl IdentityMetrics {
    fn new() -> Self {
        Self {
            fetch_failures: prometheus::IntCounterVec::new(
                prometheus::Opts::new(
                    "identity_key_fetch_failures_total",
                    "Refreshes of an identity provider's key set that failed",
                ),
                &["issuer"],
            )
            .expect("valid metric"),
            provider_up: prometheus::IntGaugeVec::new(
                prometheus::Opts::new(
                    "identity_provider_up",
                    "1 when the last fetch of an identity provider's key set succeeded",
                ),
                &["issuer"],
            )
            .expect("valid metric"),
        }
    }
}

enum Keys {
    /// The secret or the PEM key, with the validation of its one algorithm.
    Fixed {
        key: DecodingKey,
        validation: Box<Validation>,
        via: Via,
    },
    Providers(Vec<Arc<KeySet>>),
}

pub struct Verifier {
    keys: Keys,
    audience: String,
    claims: ClaimMapping,
    machine: MachineClients,
    metrics: IdentityMetrics,
}

/// Start-up failed: an identity provider could not be read.
#[derive(Debug, thiserror::Error)]
#[error("identity provider {issuer}: {message}")]
pub struct StartError {
    pub issuer: String,
    pub message: String,
}

impl Verifier {
    /// The verifier of `config`; with identity providers, their key sets are fetched now.
    pub async fn connect(config: &JwtConfig) -> Result<Self, StartError> {
        let metrics = IdentityMetrics::new();
        let keys = match &config.key {
            JwtKey::Secret(secret) => Keys::Fixed {
                key: DecodingKey::from_secret(secret).map_err(|_| StartError {
                    issuer: config.issuer.clone(),
                    message: "the HS256 secret is empty".into(),
                })?,
                validation: Box::new(validation(
                    Algorithm::HS256,
                    &config.issuer,
                    &config.audience,
                )),
                via: Via::Secret,
            },
            JwtKey::PublicKeyPem(pem) => {
                let (key, algorithm) = crate::config::identity::verifying_key(pem)
                    .expect("the configuration checked the key");
                Keys::Fixed {
                    key,
                    validation: Box::new(validation(algorithm, &config.issuer, &config.audience)),
                    via: Via::PublicKey,
                }
            }
            JwtKey::Providers(providers) => {
                let fetcher = Fetcher::new();
                let mut sets = Vec::new();
                for provider in providers {
                    let set = KeySet::start(provider, fetcher.clone(), &metrics)
                        .await
                        .map_err(|message| StartError {
                            issuer: provider.issuer.clone(),
                            message,
                        })?;
                    sets.push(set);
                }
                Keys::Providers(sets)
            }
        };
        Ok(Self {
            keys,
            audience: config.audience.clone(),
            claims: config.claims.clone(),
            machine: config.machine.clone(),
            metrics,
        })
    }

    /// The identity providers' metrics, for the registry.
    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.metrics.fetch_failures.clone()),
            Box::new(self.metrics.provider_up.clone()),
        ]
    }

    /// How each identity provider's key set is doing (none without providers).
    pub fn providers(&self) -> Vec<KeySetStatus> {
        match &self.keys {
            Keys::Fixed { .. } => Vec::new(),
            Keys::Providers(sets) => sets.iter().map(|set| set.status()).collect(),
        }
    }

    /// Verifies a token and its claims, including that a municipality role names a
    /// municipality that exists.
    pub async fn verify(&self, token: &str, db: &Db) -> Result<Caller, ApiError> {
        let (claims, via) = self.signed_claims(token).await?;
        if machine::is_machine(&claims) {
            return machine::caller(&claims, &self.machine, db.conn()).await;
        }
        let caller = staff(&claims, &self.claims, via)?;
        if let Some(number) = &caller.municipality {
            let exists = entity::municipality::Entity::find_by_id(number.as_str())
                .one(db.conn())
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

    /// The claims of a token whose signature, issuer, audience and times verify.
    async fn signed_claims(&self, token: &str) -> Result<(Value, Via), ApiError> {
        let invalid = |e: jsonwebtoken::errors::Error| unauthorized(describe(&e));
        match &self.keys {
            Keys::Fixed {
                key,
                validation,
                via,
            } => {
                let claims = jsonwebtoken::decode::<Value>(token, key, validation)
                    .map_err(invalid)?
                    .claims;
                Ok((claims, *via))
            }
            Keys::Providers(sets) => {
                let header = jsonwebtoken::decode_header(token).map_err(invalid)?;
                // Only the issuer's own keys may verify its tokens, and an issuer that is not
                // trusted costs nothing: no key is looked up, nothing is fetched.
                let issuer = unverified_issuer(token)?;
                let set = sets
                    .iter()
                    .find(|set| set.issuer() == issuer)
                    .ok_or_else(|| unauthorized("its issuer (iss) is not trusted"))?;
                if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
                    return Err(unauthorized(
                        "its algorithm is not accepted (RS256 or ES256 from an identity provider)",
                    ));
                }
                let kid = header
                    .kid
                    .ok_or_else(|| unauthorized("it names no key (kid)"))?;
                let key = set.key(&kid).await.ok_or_else(|| {
                    unauthorized("it is signed with a key its issuer does not publish")
                })?;
                if key.algorithm != header.alg {
                    return Err(unauthorized("its algorithm is not the one of its key"));
                }
                let validation = validation(key.algorithm, set.issuer(), &self.audience);
                let claims = jsonwebtoken::decode::<Value>(token, &key.key, &validation)
                    .map_err(invalid)?
                    .claims;
                let via = if machine::is_machine(&claims) {
                    Via::Maskinporten
                } else {
                    Via::Oidc
                };
                Ok((claims, via))
            }
        }
    }
}

/// The checks of one algorithm: `iss`, `aud` (a string or a list holding ours), `exp` and
/// `nbf`, with a little leeway.
fn validation(algorithm: Algorithm, issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    // `sub` is checked with the claims: a machine client's token need not carry one.
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.validate_nbf = true;
    validation.leeway = LEEWAY_SECONDS;
    validation
}

/// The `iss` of a token before its signature is checked: only to choose whose keys check it.
fn unverified_issuer(token: &str) -> Result<String, ApiError> {
    let payload = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .ok_or_else(|| unauthorized("it is malformed"))?;
    match payload.get("iss") {
        Some(Value::String(iss)) => Ok(iss.clone()),
        _ => Err(unauthorized(
            "a required claim (sub, iss, aud, exp) is missing",
        )),
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
