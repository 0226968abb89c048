//! The middleware around the whole app: request ids, one tracing span per request, metrics,
//! the request limits, `If-None-Match` revalidation, and the problem+json rendering of every
//! error that reaches the edge of the app.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poem::http::{HeaderValue, StatusCode};
use poem::middleware::{CatchPanic, SetHeader};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};
use poem_openapi::OperationId;
use poem_openapi::error::{ParseParamError, ParsePathError, ParseRequestPayloadError};
use tracing::Instrument;

use crate::http::error::{ApiError, FieldError, panic_response, problem_response};
use crate::http::metrics::{Metrics, method_label};
use crate::http::routes::RouteTable;

mod cache;
mod conditional;
mod limits;
mod load;
mod schema;
mod values;

pub use cache::ResponseCache;
pub use limits::MAX_BODY_BYTES;
pub use load::{EXPENSIVE_READS, Load};
pub use values::ValueRules;

const REQUEST_ID: &str = "x-request-id";

/// The edge of the app around `app`: a panic in a handler becomes a logged 500 problem, and
/// [`observe`] sees every request.
pub fn edge<E>(app: E, edge: Edge) -> impl Endpoint<Output = Response>
where
    E: Endpoint + 'static,
{
    let cache = edge.cache.clone();
    app.with(CatchPanic::new().with_handler(panic_response))
        .around(move |ep, req| cache::serve(ep, req, cache.clone()))
        .around(move |ep, req| observe(ep, req, edge.clone()))
        .around(cache::control)
        // Every answer, errors included: browsers must not guess another content type.
        .with(SetHeader::new().overriding("x-content-type-options", "nosniff"))
}

/// What [`observe`] needs, shared by every request.
#[derive(Clone)]
pub struct Edge {
    pub metrics: Arc<Metrics>,
    pub routes: Arc<RouteTable>,
    pub values: Arc<ValueRules>,
    pub load: Arc<Load>,
    /// Anonymous public reads served from memory; `None` serves every request afresh.
    pub cache: Option<Arc<ResponseCache>>,
    pub body_timeout: Duration,
}

/// Wraps the whole app: every request gets an id (`X-Request-Id`, taken from the request
/// when it carries a sane one), a span, a place among the requests in flight, its client's
/// rate, a size and time limit on its body, the bounds on values, problem+json for any
/// error, a log line and a metrics sample.
pub async fn observe<E: Endpoint>(next: E, mut req: Request, edge: Edge) -> poem::Result<Response> {
    let Edge {
        metrics,
        routes,
        values,
        load,
        body_timeout,
        ..
    } = edge;
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let method = method_label(req.method());
    let http_method = req.method().clone();
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
        // The place in flight is held until the answer is made.
        let (_in_flight, checked) = match load.admit(&req) {
            Err(busy) => (None, Err(busy.into_response())),
            Ok(permit) => {
                let checked = async {
                    let operation = values.operation_id(req.method(), req.uri().path());
                    // The token first: a verified caller is rated as itself.
                    if values.is_secured(req.method(), req.uri().path()) {
                        load.authenticate(&mut req)
                            .await
                            .map_err(|err| err.problem().into_response())?;
                    }
                    load.rate(&req, operation).await?;
                    let body = limits::check_request(&mut req, body_timeout).await?;
                    values
                        .check(&req, body.as_deref())
                        .map_err(|err| err.problem().into_response())?;
                    Ok(body)
                }
                .await;
                (permit, checked)
            }
        };
        let (mut response, operation) = match checked {
            Err(refused) => (refused, None),
            Ok(body) => match next.call(req).await {
                Ok(output) => {
                    let response = output.into_response();
                    let operation = response.data::<OperationId>().copied();
                    (response, operation)
                }
                Err(err) => {
                    let operation = err.data::<OperationId>().copied();
                    let unparsed = malformed_path(&err, operation, &routes)
                        .or_else(|| malformed_parameter(&err))
                        .or_else(|| {
                            err.is::<ParseRequestPayloadError>()
                                .then_some(body.as_deref())
                                .flatten()
                                .and_then(|body| values.explain_body(&http_method, &path, body))
                        });
                    let response = match unparsed {
                        Some(refusal) => refusal.problem().into_response(),
                        None => problem_response(err),
                    };
                    (response, operation)
                }
            },
        };
        // RFC 9110: a 405 says which methods the resource has.
        if response.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(allow) = routes.allowed_methods(&path)
        {
            response.headers_mut().insert(
                poem::http::header::ALLOW,
                HeaderValue::from_str(allow).expect("method names are ASCII"),
            );
        }
        // A 503 always says when to come back (the database is away, the server stops).
        if response.status() == StatusCode::SERVICE_UNAVAILABLE
            && !response
                .headers()
                .contains_key(poem::http::header::RETRY_AFTER)
        {
            response.headers_mut().insert(
                poem::http::header::RETRY_AFTER,
                crate::http::server::RETRY_AFTER_SECONDS.into(),
            );
        }
        if let Some(if_none_match) = &if_none_match {
            response = conditional::revalidate(
                response,
                Some(if_none_match.as_str()).filter(|h| !h.is_empty()),
            )
            .await;
        }
        let elapsed = started.elapsed();
        let route = routes.label(operation.as_ref(), &path);
        let status = response.status();
        metrics.observe(method, &route, status, elapsed.as_secs_f64());

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

/// A path parameter that did not parse, as a 400 that names it as the spec does (`id`, not
/// poem-openapi's internal `param0`).
fn malformed_path(
    err: &poem::Error,
    operation: Option<OperationId>,
    routes: &RouteTable,
) -> Option<ApiError> {
    let bad = err.downcast_ref::<ParsePathError>()?;
    let name = operation
        .and_then(|op| routes.path_parameter(&op, bad.name))
        .unwrap_or(bad.name);
    Some(ApiError::Malformed(vec![FieldError::new(
        name,
        format!("is malformed: {}", bad.reason),
    )]))
}

/// A query parameter or header that did not parse (a wrong type, a value outside its
/// bounds), as a 400 that names it.
fn malformed_parameter(err: &poem::Error) -> Option<ApiError> {
    let bad = err.downcast_ref::<ParseParamError>()?;
    Some(ApiError::Malformed(vec![FieldError::new(
        bad.name,
        bad.reason.clone(),
    )]))
}

#[cfg(test)]
mod tests {
    use poem::test::TestClient;
    use poem::{Route, get, handler};
    use serde_json::json;

    use super::*;
    use crate::config::EdgeConfig;

    #[handler]
    fn panics() -> &'static str {
        panic!("a handler that fails")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_a_500_problem_and_is_counted() {
        let metrics = Arc::new(Metrics::new());
        let routes = Arc::new(RouteTable::from_spec(&json!({"paths": {}})));
        let app = edge(
            Route::new().at("/boom", get(panics)),
            Edge {
                metrics: Arc::clone(&metrics),
                routes,
                values: Arc::new(ValueRules::from_spec(&json!({}))),
                load: Arc::new(Load::new(&EdgeConfig::default(), None)),
                cache: None,
                body_timeout: Duration::from_secs(10),
            },
        );
        let response = TestClient::new(app).get("/boom").send().await;
        response.assert_status(StatusCode::INTERNAL_SERVER_ERROR);
        response.assert_content_type("application/problem+json");
        assert!(response.0.headers().contains_key(REQUEST_ID));
        let body: serde_json::Value =
            serde_json::from_str(&response.0.into_body().into_string().await.unwrap()).unwrap();
        assert_eq!(body["status"], 500);
        assert_eq!(body["type"], "/problems/internal");
        assert!(!body.to_string().contains("a handler that fails"));
        assert!(metrics.render().contains("status=\"500\""));
    }
}
