//! Conditional reads: every successful `GET` of the API carries an `ETag` (the resource's
//! version where it has one, else a digest of the body), and a request whose
//! `If-None-Match` names it is answered 304 with no body, so clients and caches can
//! revalidate cheaply.

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Body, Response};
use sha2::{Digest, Sha256};

/// Adds an `ETag` to a 200 response without one and turns it into a 304 when
/// `if_none_match` names it (weak comparison, RFC 9110).
pub async fn revalidate(mut response: Response, if_none_match: Option<&str>) -> Response {
    if response.status() != StatusCode::OK {
        return response;
    }
    let tag = match response.headers().get(header::ETAG) {
        Some(tag) => tag.clone(),
        None => {
            let body = match response.take_body().into_bytes().await {
                Ok(body) => body,
                Err(_) => return response,
            };
            let digest = Sha256::digest(&body);
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            let tag = HeaderValue::from_str(&format!("W/\"{hex}\"")).expect("ASCII");
            response.set_body(Body::from(body));
            response.headers_mut().insert(header::ETAG, tag.clone());
            tag
        }
    };
    let matches = if_none_match.is_some_and(|header| {
        let current = opaque(tag.to_str().unwrap_or_default());
        header
            .split(',')
            .map(str::trim)
            .any(|candidate| candidate == "*" || opaque(candidate) == current)
    });
    if matches {
        let mut not_modified = Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .finish();
        not_modified.headers_mut().insert(header::ETAG, tag);
        return not_modified;
    }
    response
}

/// The entity tag without its weakness marker.
fn opaque(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Response {
        Response::builder()
            .status(StatusCode::OK)
            .body(body.to_string())
    }

    #[tokio::test]
    async fn a_body_gets_a_weak_etag_and_a_matching_request_gets_304() {
        let first = revalidate(ok("{\"a\":1}"), None).await;
        let tag = first
            .headers()
            .get(header::ETAG)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(tag.starts_with("W/\""), "{tag}");
        let again = revalidate(ok("{\"a\":1}"), Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        let changed = revalidate(ok("{\"a\":2}"), Some(&tag)).await;
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(
            changed.into_body().into_string().await.unwrap(),
            "{\"a\":2}"
        );
    }

    #[tokio::test]
    async fn a_version_etag_is_kept_and_compared_weakly() {
        let mut response = ok("{}");
        response
            .headers_mut()
            .insert(header::ETAG, HeaderValue::from_static("\"3\""));
        let revalidated = revalidate(response, Some("W/\"3\"")).await;
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(revalidated.headers().get(header::ETAG).unwrap(), "\"3\"");
    }
}
