//! The key set of one identity provider: discovered and fetched at start, cached, refreshed
//! every few minutes and when a token names a `kid` the cache does not hold (at most once per
//! [`UNKNOWN_KID_REFRESH`], so a flood of forged `kid`s cannot make the API hammer the
//! provider). A key that disappears from the set is gone after the next refresh; while the
//! provider cannot be reached, the keys last fetched keep working.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use super::fetch::{FetchError, Fetcher};
use crate::config::{KeySource, Provider};

/// At most one refresh for unknown `kid`s per this long.
pub const UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(30);

/// Keys are fetched again this often, so that a withdrawn key stops working and an
/// unreachable provider shows in the readiness details.
const REFRESH_EVERY: Duration = Duration::from_secs(300);

/// A verification key and the one algorithm it takes.
#[derive(Clone)]
pub struct PublicKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

/// What the readiness check shows of a provider.
#[derive(Clone, Debug)]
pub struct KeySetStatus {
    pub issuer: String,
    /// Whether the last fetch succeeded.
    pub reachable: bool,
    pub keys: usize,
    pub refreshed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

pub struct KeySet {
    issuer: String,
    jwks_uri: Url,
    fetcher: Fetcher,
    keys: RwLock<Arc<HashMap<String, PublicKey>>>,
    /// When a `kid` the cache did not hold last caused a fetch; held across that fetch, so
    /// that concurrent unknown `kid`s wait for one fetch instead of each making one.
    last_unknown_refresh: tokio::sync::Mutex<Option<Instant>>,
    status: Mutex<KeySetStatus>,
    failures: prometheus::IntCounter,
    up: prometheus::IntGauge,
}

impl KeySet {
    /// Discovers the key set (when the issuer is configured rather than its key set) and
    /// fetches it; an error is the one line start-up prints.
    pub async fn start(
        provider: &Provider,
        fetcher: Fetcher,
        metrics: &super::verifier::IdentityMetrics,
    ) -> Result<Arc<Self>, String> {
        let jwks_uri = match &provider.keys {
            KeySource::KeySet(url) => url.clone(),
            KeySource::Discovery(url) => match discover(&fetcher, url, &provider.issuer).await {
                // Maskinporten publishes its metadata as an OAuth server's (RFC 8414).
                Err(err) if err.not_found => {
                    let metadata = format!(
                        "{}/.well-known/oauth-authorization-server",
                        provider.issuer.trim_end_matches('/')
                    );
                    let metadata = Url::parse(&metadata).map_err(|e| e.to_string())?;
                    discover(&fetcher, &metadata, &provider.issuer)
                        .await
                        .map_err(|e| format!("{err}, and {e}"))?
                }
                discovered => discovered.map_err(|e| e.to_string())?,
            },
        };
        let keys = fetch_keys(&fetcher, &jwks_uri).await?;
        if keys.is_empty() {
            return Err(format!(
                "{jwks_uri} holds no RS256 or ES256 (P-256) signing key with a kid"
            ));
        }
        let labels = [provider.issuer.as_str()];
        let set = Arc::new(Self {
            issuer: provider.issuer.clone(),
            jwks_uri,
            fetcher,
            status: Mutex::new(KeySetStatus {
                issuer: provider.issuer.clone(),
                reachable: true,
                keys: keys.len(),
                refreshed_at: Some(Utc::now()),
                last_error: None,
            }),
            keys: RwLock::new(Arc::new(keys)),
            last_unknown_refresh: tokio::sync::Mutex::new(None),
            failures: metrics.fetch_failures.with_label_values(&labels),
            up: metrics.provider_up.with_label_values(&labels),
        });
        set.up.set(1);
        refresh_periodically(Arc::downgrade(&set));
        Ok(set)
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn status(&self) -> KeySetStatus {
        self.status.lock().expect("not poisoned").clone()
    }

    fn cached(&self, kid: &str) -> Option<PublicKey> {
        self.keys.read().expect("not poisoned").get(kid).cloned()
    }

    /// The key a token's `kid` names, refreshing the set once if it is not cached (and no
    /// refresh for an unknown `kid` happened within [`UNKNOWN_KID_REFRESH`]).
    pub async fn key(&self, kid: &str) -> Option<PublicKey> {
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        let mut last = self.last_unknown_refresh.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(key) = self.cached(kid) {
            return Some(key);
        }
        if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_REFRESH) {
            return None;
        }
        *last = Some(Instant::now());
        self.refresh().await;
        drop(last);
        self.cached(kid)
    }

    /// Fetches the set again: on success it replaces the cache (keys no longer published are
    /// dropped); on failure the cache stays and the failure is recorded.
    pub async fn refresh(&self) {
        let fetched = fetch_keys(&self.fetcher, &self.jwks_uri).await;
        let mut status = self.status.lock().expect("not poisoned");
        match fetched {
            Ok(keys) => {
                status.reachable = true;
                status.keys = keys.len();
                status.refreshed_at = Some(Utc::now());
                status.last_error = None;
                *self.keys.write().expect("not poisoned") = Arc::new(keys);
                self.up.set(1);
            }
            Err(err) => {
                tracing::warn!(issuer = %self.issuer, error = %err, "identity provider keys could not be refreshed; the cached keys stay in use");
                status.reachable = false;
                status.last_error = Some(err);
                self.failures.inc();
                self.up.set(0);
            }
        }
    }
}

fn refresh_periodically(set: Weak<KeySet>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_EVERY).await;
            let Some(set) = set.upgrade() else { break };
            set.refresh().await;
        }
    });
}

/// The key set URL of an issuer's discovery document, which must name that same issuer.
async fn discover(fetcher: &Fetcher, url: &Url, issuer: &str) -> Result<Url, FetchError> {
    let document = fetcher.json(url).await?;
    let named = document.get("issuer").and_then(Value::as_str);
    if named != Some(issuer) {
        return Err(format!(
            "{url} names the issuer {}, not {issuer}",
            named.unwrap_or("(none)")
        )
        .into());
    }
    let jwks_uri = document
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{url} has no jwks_uri"))?;
    Ok(crate::config::identity::fetchable_url(jwks_uri)
        .map_err(|e| format!("{url}: its jwks_uri {jwks_uri} {e}"))?)
}

async fn fetch_keys(fetcher: &Fetcher, url: &Url) -> Result<HashMap<String, PublicKey>, String> {
    let set = fetcher.json(url).await.map_err(|e| e.to_string())?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{url} is not a key set (no keys)"))?;
    Ok(usable_keys(keys))
}

/// The signing keys of a set that this API verifies with, by `kid`: RSA keys for RS256 and
/// P-256 keys for ES256. Symmetric (`oct`) keys, encryption keys, keys for other algorithms
/// and keys without a `kid` are left out, as are keys that do not parse.
pub fn usable_keys(keys: &[Value]) -> HashMap<String, PublicKey> {
    keys.iter()
        .filter_map(|value| serde_json::from_value::<Jwk>(value.clone()).ok())
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            if !matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            ) {
                return None;
            }
            let algorithm = match (&jwk.algorithm, jwk.common.key_algorithm) {
                (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
                (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                    if ec.curve == EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => return None,
            };
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some((kid, PublicKey { key, algorithm }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_rsa_and_p256_signing_keys_with_a_kid_are_kept() {
        let rsa = json!({"kty": "RSA", "kid": "r", "use": "sig", "alg": "RS256", "n": "sXch", "e": "AQAB"});
        let keys = [
            rsa.clone(),
            json!({"kty": "RSA", "n": "sXch", "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "enc", "use": "enc", "n": "sXch", "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "sXch", "e": "AQAB"}),
            json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}),
            json!({"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"}),
            json!({"kty": "EC", "kid": "ec", "crv": "P-256",
                   "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                   "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}),
            json!({"kty": "future", "kid": "x"}),
            json!("not a key"),
        ];
        let usable = usable_keys(&keys);
        let mut kids: Vec<&str> = usable.keys().map(String::as_str).collect();
        kids.sort();
        assert_eq!(kids, ["ec", "r"]);
        assert_eq!(usable["r"].algorithm, Algorithm::RS256);
        assert_eq!(usable["ec"].algorithm, Algorithm::ES256);
    }
}
