//! Optimistic concurrency: every mutable resource has a `version`, sent as its `ETag`; a
//! change must carry it back in `If-Match`, so an update made from a stale read is refused
//! with 412 instead of silently overwriting someone else's change.

use crate::error::ApiError;

/// The ETag of a version: a strong validator, e.g. `"3"`.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// Checks an `If-Match` header against the current version: 428 when it is missing, 412 when
/// none of its entity tags is the current one (`*` matches any).
pub fn check_if_match(if_match: Option<&str>, current_version: i32) -> Result<(), ApiError> {
    let header = if_match
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(ApiError::PreconditionRequired)?;
    let current = etag(current_version);
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if matches {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed { current_version })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_must_name_the_current_version() {
        assert!(check_if_match(Some("\"3\""), 3).is_ok());
        assert!(check_if_match(Some("\"2\", \"3\""), 3).is_ok());
        assert!(check_if_match(Some("*"), 3).is_ok());
        assert!(matches!(
            check_if_match(Some("\"2\""), 3),
            Err(ApiError::PreconditionFailed { current_version: 3 })
        ));
        // Weak tags never match for a change (RFC 9110, strong comparison).
        assert!(check_if_match(Some("W/\"3\""), 3).is_err());
        assert!(check_if_match(Some("3"), 3).is_err());
        assert!(matches!(
            check_if_match(None, 3),
            Err(ApiError::PreconditionRequired)
        ));
        assert!(matches!(
            check_if_match(Some(" "), 3),
            Err(ApiError::PreconditionRequired)
        ));
    }
}
