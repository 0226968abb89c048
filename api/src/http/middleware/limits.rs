//! What no handler should see: NUL in the path, and bodies over the size limit.

use std::time::Duration;

use bytes::Bytes;
use poem::http::StatusCode;
use poem::{Request, Response};

use crate::http::error::ProblemDetails;

/// Request bodies above this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Refuses what no handler should see: a NUL character in the path (PostgreSQL cannot
/// store one; the query's parameters are named by `values`), and a body over
/// [`MAX_BODY_BYTES`] (413) or slower than `body_timeout` (408). Answers the body it
/// buffered, if any.
pub(super) async fn check_request(
    req: &mut Request,
    body_timeout: Duration,
) -> Result<Option<Bytes>, Response> {
    if req.uri().path().to_ascii_lowercase().contains("%00") {
        return Err(ProblemDetails::for_status(
            StatusCode::BAD_REQUEST,
            "the path must not contain NUL characters".into(),
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
        return Ok(None);
    }
    let read = tokio::time::timeout(
        body_timeout,
        req.take_body().into_bytes_limit(MAX_BODY_BYTES),
    );
    let Ok(read) = read.await else {
        // A body trickling in holds a connection and its buffer: the client is cut off.
        let mut response = ProblemDetails::for_status(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                body_timeout.as_secs()
            ),
        )
        .into_response();
        response.headers_mut().insert(
            poem::http::header::CONNECTION,
            "close".parse().expect("ASCII"),
        );
        return Err(response);
    };
    match read {
        Ok(bytes) => {
            req.set_body(bytes.clone());
            Ok(Some(bytes))
        }
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(too_large()),
        Err(err) => Err(ProblemDetails::for_status(
            StatusCode::BAD_REQUEST,
            format!("the request body could not be read: {err}"),
        )
        .into_response()),
    }
}
