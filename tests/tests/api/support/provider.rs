//! An identity provider on a loopback port for the tests: it serves an OpenID Connect
//! discovery document and a key set (JWKS) made of the fixture keys, counts the fetches of
//! the key set, rotates keys on request, can stop answering, and signs tokens.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use digihjelpen::config::EdgeConfig;
use digihjelpen::http::server::Server;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use poem::http::StatusCode;
use poem::{EndpointExt, Response, Route, get, handler, web::Data};
use serde_json::{Value, json};

/// The fixture key pairs the provider can publish (and sign with).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Key {
    /// `rs256-private.pem`, published as `kid` "rsa-a".
    RsaA,
    /// `rs256-b-private.pem`, "rsa-b".
    RsaB,
    /// `es256-private.pem`, "ec-a".
    EcA,
    /// `rs256-stranger-private.pem`: never published.
    Stranger,
}

impl Key {
    pub fn kid(self) -> &'static str {
        match self {
            Self::RsaA => "rsa-a",
            Self::RsaB => "rsa-b",
            Self::EcA => "ec-a",
            Self::Stranger => "stranger",
        }
    }

    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::EcA => Algorithm::ES256,
            _ => Algorithm::RS256,
        }
    }

    fn file(self) -> &'static str {
        match self {
            Self::RsaA => "rs256",
            Self::RsaB => "rs256-b",
            Self::EcA => "es256",
            Self::Stranger => "rs256-stranger",
        }
    }

    pub fn private_pem(self) -> Vec<u8> {
        std::fs::read(fixture(&format!("{}-private.pem", self.file()))).unwrap()
    }

    pub fn encoding_key(self) -> EncodingKey {
        let pem = self.private_pem();
        match self.algorithm() {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
            _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
        }
    }

    /// The public key as a JWK with its `kid`, `use` and `alg`.
    pub fn jwk(self) -> Value {
        let decoding = match self {
            Self::Stranger => panic!("the stranger's key is never published"),
            Self::EcA => {
                DecodingKey::from_ec_pem(&std::fs::read(fixture("es256-public.pem")).unwrap())
                    .unwrap()
            }
            _ => DecodingKey::from_rsa_pem(
                &std::fs::read(fixture(&format!("{}-public.pem", self.file()))).unwrap(),
            )
            .unwrap(),
        };
        let mut jwk = Jwk::from_decoding_key(&decoding, Some(self.algorithm())).unwrap();
        jwk.common.key_id = Some(self.kid().to_string());
        let mut value = serde_json::to_value(jwk).unwrap();
        value["use"] = json!("sig");
        value
    }
}

pub fn fixture(name: &str) -> String {
    // From the tests crate and from the api crate alike.
    format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

struct Published {
    issuer: Mutex<String>,
    jwks_uri: String,
    keys: Mutex<Vec<Value>>,
    key_set_fetches: AtomicUsize,
    down: AtomicBool,
    /// Metadata only at `/.well-known/oauth-authorization-server`, as Maskinporten has it.
    oauth_metadata_only: AtomicBool,
}

pub struct TestProvider {
    pub address: SocketAddr,
    published: Arc<Published>,
}

impl TestProvider {
    /// A provider publishing `keys`, its issuer `http://127.0.0.1:<port>/realms/test`.
    pub async fn start(keys: &[Key]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let published = Arc::new(Published {
            issuer: Mutex::new(format!("http://{address}/realms/test")),
            jwks_uri: format!("http://{address}/realms/test/keys"),
            keys: Mutex::new(keys.iter().map(|k| k.jwk()).collect()),
            key_set_fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            oauth_metadata_only: AtomicBool::new(false),
        });
        let app = Route::new()
            .at(
                "/realms/test/.well-known/openid-configuration",
                get(discovery),
            )
            .at(
                "/realms/test/.well-known/oauth-authorization-server",
                get(oauth_metadata),
            )
            .at("/realms/test/keys", get(key_set))
            .data(Arc::clone(&published));
        let server = Server::new(listener, EdgeConfig::without_rate_limits());
        tokio::spawn(server.run_with_graceful_shutdown(app, std::future::pending(), None));
        Self { address, published }
    }

    pub fn issuer(&self) -> String {
        format!("http://{}/realms/test", self.address)
    }

    pub fn key_set_url(&self) -> String {
        format!("{}/keys", self.issuer())
    }

    /// Replaces the published keys (a rotation).
    pub fn publish(&self, keys: &[Key]) {
        *self.published.keys.lock().unwrap() = keys.iter().map(|k| k.jwk()).collect();
    }

    /// Publishes raw JWKs (a symmetric key, say).
    pub fn publish_raw(&self, keys: Vec<Value>) {
        *self.published.keys.lock().unwrap() = keys;
    }

    /// The discovery document names another issuer than the provider's own.
    pub fn claim_issuer(&self, issuer: &str) {
        *self.published.issuer.lock().unwrap() = issuer.to_string();
    }

    /// Every request is answered 503 while `down`.
    pub fn set_down(&self, down: bool) {
        self.published.down.store(down, Ordering::SeqCst);
    }

    /// From now on the metadata is served as an OAuth server's only (RFC 8414), and
    /// `openid-configuration` is 404.
    pub fn serve_oauth_metadata_only(&self) {
        self.published
            .oauth_metadata_only
            .store(true, Ordering::SeqCst);
    }

    pub fn key_set_fetches(&self) -> usize {
        self.published.key_set_fetches.load(Ordering::SeqCst)
    }

    /// A token of this provider: `claims` signed by `key` with its `kid`.
    pub fn sign(&self, key: Key, claims: &Value) -> String {
        let mut header = Header::new(key.algorithm());
        header.kid = Some(key.kid().to_string());
        jsonwebtoken::encode(&header, claims, &key.encoding_key()).unwrap()
    }

    /// Claims of a valid staff token of this provider, changed by `changes` (a `null`
    /// removes a claim).
    pub fn claims(&self, changes: Value) -> Value {
        let now = chrono::Utc::now().timestamp();
        let mut claims = json!({
            "sub": "kari", "role": "ks", "iss": self.issuer(), "aud": "digihjelpen-api",
            "iat": now, "nbf": now, "exp": now + 600,
        });
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        claims
    }
}

#[handler]
fn discovery(published: Data<&Arc<Published>>) -> Response {
    if published.oauth_metadata_only.load(Ordering::SeqCst) {
        return Response::builder().status(StatusCode::NOT_FOUND).finish();
    }
    metadata(&published)
}

#[handler]
fn oauth_metadata(published: Data<&Arc<Published>>) -> Response {
    if !published.oauth_metadata_only.load(Ordering::SeqCst) {
        return Response::builder().status(StatusCode::NOT_FOUND).finish();
    }
    metadata(&published)
}

fn metadata(published: &Published) -> Response {
    if published.down.load(Ordering::SeqCst) {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .finish();
    }
    let issuer = published.issuer.lock().unwrap().clone();
    let body = json!({
        "issuer": issuer,
        "jwks_uri": published.jwks_uri,
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
    });
    Response::builder()
        .content_type("application/json")
        .body(body.to_string())
}

#[handler]
fn key_set(published: Data<&Arc<Published>>) -> Response {
    published.key_set_fetches.fetch_add(1, Ordering::SeqCst);
    if published.down.load(Ordering::SeqCst) {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .finish();
    }
    let keys = published.keys.lock().unwrap().clone();
    Response::builder()
        .content_type("application/json")
        .body(json!({ "keys": keys }).to_string())
}
