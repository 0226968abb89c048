//! Fetching a provider's discovery document and key set: a GET of a small JSON document over
//! https (http only to loopback addresses, as the configuration checked), with a deadline and a
//! size bound, redirects not followed.

use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use url::Url;

/// A provider answers within this, or counts as unreachable.
const DEADLINE: Duration = Duration::from_secs(5);

/// Key sets are a few KiB; anything larger is not one.
const MAX_BYTES: usize = 512 * 1024;

/// Why a document could not be fetched, for a log line and the readiness details.
#[derive(Debug)]
pub struct FetchError {
    pub message: String,
    /// The server answered 404: the document is not where it was looked for.
    pub not_found: bool,
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for FetchError {
    fn from(message: String) -> Self {
        Self {
            message,
            not_found: false,
        }
    }
}

#[derive(Clone)]
pub struct Fetcher {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl Fetcher {
    pub fn new() -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring offers rustls' default protocol versions")
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }

    /// The JSON document at `url`.
    pub async fn json(&self, url: &Url) -> Result<Value, FetchError> {
        crate::config::identity::fetchable_url(url.as_str()).map_err(|e| format!("{url} {e}"))?;
        let request = hyper::Request::get(url.as_str())
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("digihjelpen/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .map_err(|e| format!("{url}: {e}"))?;
        let fetched = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{url} cannot be reached: {}", source_of(&e)))?;
            let status = response.status();
            if !status.is_success() {
                return Err(FetchError {
                    message: format!("{url} answered {status}"),
                    not_found: status == hyper::StatusCode::NOT_FOUND,
                });
            }
            let body = Limited::new(response.into_body(), MAX_BYTES)
                .collect()
                .await
                .map_err(|e| format!("{url}: the answer could not be read ({e})"))?
                .to_bytes();
            serde_json::from_slice(&body)
                .map_err(|_| FetchError::from(format!("{url} did not answer with JSON")))
        };
        tokio::time::timeout(DEADLINE, fetched)
            .await
            .unwrap_or_else(|_| Err(format!("{url} did not answer within {DEADLINE:?}").into()))
    }
}

/// The innermost cause of a client error ("Connection refused"), which is what an operator
/// needs; the outer ones only say "client error (Connect)".
fn source_of(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}
