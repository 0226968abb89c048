//! Cursor pagination: `?limit=` (default 50, at most 200) and an opaque `?cursor=`, answered
//! with `{"items": [...], "next_cursor": "..." | null}`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Serialize, de::DeserializeOwned};

use crate::http::bounds;
use crate::http::error::ApiError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// Declares the page object of a list: `page_object!(MunicipalityPage, Municipality)`.
#[macro_export]
macro_rules! page_object {
    ($name:ident, $item:ty) => {
        /// One page of a list. Pass `next_cursor` as `cursor` to read the next page; it is
        /// null on the last page.
        #[derive(Debug, poem_openapi::Object)]
        pub struct $name {
            pub items: Vec<$item>,
            #[oai(nullable)]
            pub next_cursor: Option<String>,
        }

        impl From<$crate::http::pagination::Page<$item>> for $name {
            fn from(page: $crate::http::pagination::Page<$item>) -> Self {
                Self {
                    items: page.items,
                    next_cursor: page.next_cursor,
                }
            }
        }
    };
}

/// A page of items and the cursor to the next one.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// The validated paging parameters of a list request; `K` is the sort key the cursor holds.
pub struct PageRequest<K> {
    pub limit: u32,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> PageRequest<K> {
    pub fn new(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        // An empty `cursor=` is the first page, as a client that forwards a null cursor sends it.
        let after = cursor
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        Ok(Self { limit, after })
    }

    /// How many rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> u64 {
        u64::from(self.limit) + 1
    }

    /// Cuts the fetched rows to the page and makes the cursor from the last item's key.
    pub fn page<R, T: From<R>>(&self, mut rows: Vec<R>, key: impl Fn(&R) -> K) -> Page<T>
    where
        K: Serialize,
    {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(T::from).collect(),
            next_cursor,
        }
    }
}

fn encode_cursor<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("cursor keys serialise"))
}

/// A cursor is decoded, and its strings are held to the bounds of every other value (no
/// NUL, dates in range): a forged cursor must not reach the database with what it refuses.
fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .filter(within_bounds)
        .and_then(|value| serde_json::from_value(value).ok())
        .ok_or_else(|| {
            ApiError::BadRequest(
                "cursor is not one this API returned; start again without it".into(),
            )
        })
}

fn within_bounds(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => bounds::refusal_of_any(text).is_none(),
        serde_json::Value::Array(items) => items.iter().all(within_bounds),
        serde_json::Value::Object(map) => map
            .iter()
            .all(|(k, v)| !k.contains('\0') && within_bounds(v)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_forged_one_is_refused() {
        let request = PageRequest::<String>::new(Some(2), None).unwrap();
        let page: Page<String> =
            request.page(vec!["a".to_string(), "b".into(), "c".into()], |s| s.clone());
        assert_eq!(page.items, ["a", "b"]);
        let cursor = page.next_cursor.unwrap();
        let next = PageRequest::<String>::new(Some(2), Some(&cursor)).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        assert!(PageRequest::<String>::new(None, Some("not a cursor")).is_err());
        assert!(
            PageRequest::<String>::new(None, Some(""))
                .unwrap()
                .after
                .is_none()
        );
        assert!(PageRequest::<i64>::new(None, Some(&cursor)).is_err());
    }

    #[test]
    fn a_cursor_that_decodes_to_nul_or_a_date_out_of_range_is_refused() {
        // The cursor of the PostgreSQL 500: "03\u0000".
        assert!(PageRequest::<String>::new(None, Some("IjAzXHUwMDAwIg")).is_err());
        let forged = encode_cursor(&("+10000-01-01T00:00:00Z", "x"));
        assert!(PageRequest::<(String, String)>::new(None, Some(&forged)).is_err());
        let fine = encode_cursor(&("2026-01-01T00:00:00Z", "x"));
        assert!(PageRequest::<(String, String)>::new(None, Some(&fine)).is_ok());
    }

    #[test]
    fn the_last_page_has_no_cursor_and_limits_are_bounded() {
        let request = PageRequest::<String>::new(None, None).unwrap();
        assert_eq!(request.limit, DEFAULT_LIMIT);
        let page: Page<String> = request.page(vec!["a".to_string()], |s| s.clone());
        assert!(page.next_cursor.is_none());
        assert!(PageRequest::<String>::new(Some(0), None).is_err());
        assert!(PageRequest::<String>::new(Some(201), None).is_err());
    }
}
