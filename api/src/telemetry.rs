//! Request ids, one tracing span per request, Prometheus metrics, the request-size limit, and
//! the problem+json rendering of every error that reaches the edge of the app.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use tracing::Instrument;

use crate::conditional::revalidate;
use crate::config::LogFormat;
use crate::error::{ProblemDetails, problem_response};

/// Request bodies above this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const REQUEST_ID: &str = "x-request-id";

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Pretty => builder.compact().init(),
    }
}

/// Request metrics, labelled by method, route template and status (never by id).
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Operation id → route template, e.g. `get_municipality` → `/api/v1/municipalities/{number}`.
    routes: HashMap<String, String>,
}

impl Metrics {
    pub fn new(routes: HashMap<String, String>) -> Self {
        let labels = ["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &labels,
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time from receiving a request to having its response",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &labels,
        )
        .expect("valid metric");
        let registry = Registry::new();
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("registered once");
        Self {
            registry,
            requests,
            latency,
            routes,
        }
    }

    fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    fn route(&self, operation: Option<&OperationId>, path: &str) -> String {
        if let Some(route) = operation.and_then(|op| self.routes.get(op.0)) {
            return route.clone();
        }
        match path {
            "/openapi.json" => path.to_string(),
            docs if docs == "/docs" || docs.starts_with("/docs/") => "/docs".to_string(),
            _ => "unmatched".to_string(),
        }
    }

    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

/// Wraps the whole app: every request gets an id (`X-Request-Id`, taken from the request
/// when it carries a sane one), a span, a size limit, problem+json for any error, a log line
/// and a metrics sample.
pub async fn observe<E: Endpoint>(
    next: E,
    mut req: Request,
    metrics: Arc<Metrics>,
) -> poem::Result<Response> {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let if_none_match = (req.method() == poem::http::Method::GET && path.starts_with("/api/"))
        .then(|| {
            req.headers()
                .get(poem::http::header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .map(|header| header.unwrap_or_default());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = tracing::field::Empty,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );

    async move {
        let started = Instant::now();
        let (mut response, operation) = match check_request(&mut req).await {
            Err(too_large) => (too_large, None),
            Ok(()) => match next.call(req).await {
                Ok(output) => {
                    let response = output.into_response();
                    let operation = response.data::<OperationId>().copied();
                    (response, operation)
                }
                Err(err) => {
                    let operation = err.data::<OperationId>().copied();
                    (problem_response(err), operation)
                }
            },
        };
        // RFC 9110: a 405 says which methods the resource has.
        if response.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(allow) = crate::app::allowed_methods(&path)
        {
            response
                .headers_mut()
                .insert(poem::http::header::ALLOW, HeaderValue::from_static(allow));
        }
        if let Some(if_none_match) = &if_none_match {
            response = revalidate(
                response,
                Some(if_none_match.as_str()).filter(|h| !h.is_empty()),
            )
            .await;
        }
        let elapsed = started.elapsed();
        let route = metrics.route(operation.as_ref(), &path);
        let status = response.status();
        metrics.observe(&method, &route, status, elapsed.as_secs_f64());

        let span = tracing::Span::current();
        span.record("route", route.as_str());
        span.record("status", status.as_u16());
        span.record("latency_ms", elapsed.as_secs_f64() * 1000.0);
        if status.is_server_error() {
            tracing::warn!("request failed");
        } else {
            tracing::info!("request finished");
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}

/// Refuses what no handler should see: a NUL character anywhere in the URL (PostgreSQL
/// cannot store one), and a body over [`MAX_BODY_BYTES`] (413).
async fn check_request(req: &mut Request) -> Result<(), Response> {
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or_default();
    if target.to_ascii_lowercase().contains("%00") {
        return Err(ProblemDetails::for_status(
            StatusCode::BAD_REQUEST,
            "the URL must not contain NUL characters".into(),
        )
        .into_response());
    }
    let too_large = || {
        ProblemDetails::for_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
        .into_response()
    };
    let declared = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    if declared == Some(0) || req.method() == poem::http::Method::GET {
        return Ok(());
    }
    match req.take_body().into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(bytes) => {
            req.set_body(bytes);
            Ok(())
        }
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(too_large()),
        Err(err) => Err(ProblemDetails::for_status(
            StatusCode::BAD_REQUEST,
            format!("the request body could not be read: {err}"),
        )
        .into_response()),
    }
}
