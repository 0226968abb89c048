//! Anonymous public reads served from memory, and `Cache-Control` on every answer.
//!
//! An anonymous `GET` of a public resource (locations and their searches, hours and
//! schedules, topics, municipalities, counties, languages) is answered from an in-process copy while
//! the database's change counter (`changes::counter`, bumped by every write transaction) is
//! where it was when the copy was made. The counter is read from the database once per such
//! request, before anything else, so a replica never answers with data older than what any
//! replica committed before the request started. A copy also expires after [`MAX_AGE`]
//! (answers such as `open_now` move with the clock, not with writes). A request with an
//! `Authorization` header is never served from, nor stored in, the cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use poem::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use poem::{Body, Endpoint, IntoResponse, Request, Response};
use poem_openapi::OperationId;

use super::conditional;
use crate::state::Db;

/// How long a client or shared cache, and this cache, may keep a public answer.
pub const MAX_AGE: Duration = Duration::from_secs(5);
/// The answers kept at most (`DIGIHJELPEN_CACHE_ENTRIES`; 0 turns the cache off).
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// The bytes of bodies kept at most (`DIGIHJELPEN_CACHE_MB`).
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;
/// A body larger than this is not kept.
const MAX_ENTRY_BYTES: usize = 1024 * 1024;

/// The public resources whose anonymous answers may be kept.
const PUBLIC_PREFIXES: &[&str] = &[
    "/api/v1/locations",
    "/api/v1/topics",
    "/api/v1/municipalities",
    "/api/v1/counties",
    "/api/v1/languages",
];

/// The request headers an answer may depend on: part of the key.
const VARY: &[header::HeaderName] = &[
    header::ORIGIN,
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
    header::ACCEPT_ENCODING,
];

const PUBLIC: &str = "public, max-age=5";
const PRIVATE: &str = "private, no-store";

/// A kept answer.
struct Entry {
    stored: Instant,
    headers: HeaderMap,
    body: Bytes,
    operation: Option<OperationId>,
}

/// The kept answers, all made at one value of the change counter.
struct Entries {
    counter: i64,
    bytes: usize,
    map: HashMap<String, Arc<Entry>>,
}

impl Entries {
    /// Moves to `counter` when it is newer (dropping every answer made before); whether
    /// the entries are now at `counter`.
    fn at(&mut self, counter: i64) -> bool {
        if counter > self.counter {
            self.counter = counter;
            self.map.clear();
            self.bytes = 0;
        }
        counter == self.counter
    }

    fn drop_expired(&mut self) {
        let before = self.map.len();
        self.map.retain(|_, e| e.stored.elapsed() < MAX_AGE);
        if self.map.len() != before {
            self.bytes = self.map.values().map(|e| e.body.len()).sum();
        }
    }
}

pub struct ResponseCache {
    db: Db,
    max_entries: usize,
    max_bytes: usize,
    entries: Mutex<Entries>,
}

impl ResponseCache {
    pub fn new(db: Db, max_entries: usize, max_bytes: usize) -> Self {
        Self {
            db,
            max_entries,
            max_bytes,
            entries: Mutex::new(Entries {
                counter: i64::MIN,
                bytes: 0,
                map: HashMap::new(),
            }),
        }
    }

    /// The limits from `DIGIHJELPEN_CACHE_ENTRIES` and `DIGIHJELPEN_CACHE_MB`, else the
    /// defaults.
    pub fn from_env(db: Db) -> Self {
        let read = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
        };
        Self::new(
            db,
            read("DIGIHJELPEN_CACHE_ENTRIES").unwrap_or(DEFAULT_MAX_ENTRIES),
            read("DIGIHJELPEN_CACHE_MB").map_or(DEFAULT_MAX_BYTES, |mb| mb * 1024 * 1024),
        )
    }

    fn lookup(&self, key: &str, counter: i64) -> Option<Arc<Entry>> {
        let mut entries = self
            .entries
            .lock()
            .expect("the cache lock is never poisoned");
        if !entries.at(counter) {
            return None;
        }
        entries
            .map
            .get(key)
            .filter(|e| e.stored.elapsed() < MAX_AGE)
            .cloned()
    }

    fn store(&self, key: String, counter: i64, entry: Entry) {
        let size = entry.body.len();
        if size > MAX_ENTRY_BYTES {
            return;
        }
        let mut entries = self
            .entries
            .lock()
            .expect("the cache lock is never poisoned");
        // An answer made at an older counter than the cache is at is not kept.
        if !entries.at(counter) {
            return;
        }
        let full = |e: &Entries| e.map.len() >= self.max_entries || e.bytes + size > self.max_bytes;
        if full(&entries) {
            entries.drop_expired();
            if full(&entries) {
                return;
            }
        }
        if let Some(old) = entries.map.insert(key, Arc::new(entry)) {
            entries.bytes -= old.body.len();
        }
        entries.bytes += size;
    }
}

/// Whether the request is an anonymous read of a public resource.
fn is_anonymous_public_read(req: &Request) -> bool {
    req.method() == Method::GET
        && !req.headers().contains_key(header::AUTHORIZATION)
        && PUBLIC_PREFIXES.iter().any(|prefix| {
            req.uri()
                .path()
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

fn key_of(req: &Request) -> String {
    let mut key = req
        .uri()
        .path_and_query()
        .map_or_else(String::new, |pq| pq.as_str().to_string());
    for name in VARY {
        key.push('\n');
        if let Some(value) = req.headers().get(name) {
            key.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
    }
    key
}

/// Serves an anonymous public read from the cache, or calls `next` and keeps its 200.
pub async fn serve<E: Endpoint>(
    next: E,
    req: Request,
    cache: Option<Arc<ResponseCache>>,
) -> poem::Result<Response> {
    let Some(cache) = cache.filter(|c| c.max_entries > 0 && is_anonymous_public_read(&req)) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    // Read before the answer is made: the answer is at least as new as this counter.
    let counter = match crate::changes::counter(cache.db.conn()).await {
        Ok(counter) => counter,
        // Whatever the database's trouble is, the operation answers it.
        Err(_) => return next.call(req).await.map(IntoResponse::into_response),
    };
    let key = key_of(&req);
    if let Some(entry) = cache.lookup(&key, counter) {
        let mut response = Response::builder().status(StatusCode::OK).finish();
        *response.headers_mut() = entry.headers.clone();
        response.set_body(Body::from_bytes(entry.body.clone()));
        if let Some(operation) = entry.operation {
            response.set_data(operation);
        }
        return Ok(response);
    }
    let response = next.call(req).await?.into_response();
    if response.status() != StatusCode::OK {
        return Ok(response);
    }
    let operation = response.data::<OperationId>().copied();
    // The ETag is made once here, not on every answer from the copy.
    let mut response = conditional::revalidate(response, None).await;
    let Ok(body) = response.take_body().into_bytes().await else {
        return Ok(response);
    };
    response.set_body(Body::from_bytes(body.clone()));
    cache.store(
        key,
        counter,
        Entry {
            stored: Instant::now(),
            headers: response.headers().clone(),
            body,
            operation,
        },
    );
    Ok(response)
}

/// `Cache-Control` on every answer: public for a few seconds for an anonymous public read,
/// private and not to be stored for an authenticated caller and for every error.
pub async fn control<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let public = is_anonymous_public_read(&req);
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.call(req).await?.into_response();
    let status = response.status();
    let value = if authenticated || status.is_client_error() || status.is_server_error() {
        Some(PRIVATE)
    } else if public && (status == StatusCode::OK || status == StatusCode::NOT_MODIFIED) {
        Some(PUBLIC)
    } else {
        None
    };
    if let Some(value) = value {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    Ok(response)
}
