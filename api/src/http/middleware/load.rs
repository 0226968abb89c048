//! Load bounds at the edge: the requests handled at once (503 with `Retry-After` beyond
//! them; `/health/live` always answers), and a rate per client for writes and the expensive
//! public reads (429 with `Retry-After`), keyed by the verified token's principal, else by
//! the client's address.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use poem::http::{Method, StatusCode, header};
use poem::{Request, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Caller;
use crate::config::EdgeConfig;
use crate::http::error::{ApiError, FieldError, ProblemDetails};
use crate::http::server::overloaded;
use crate::state::AppState;

/// The public reads that cost the most (search, schedules, statistics, feeds): rated as
/// writes are.
pub const EXPENSIVE_READS: [&str; 5] = [
    "list_locations",
    "get_schedule",
    "get_coverage",
    "get_ticket_statistics",
    "meeting_places_calendar",
];

/// How many rated requests pass between two sweeps of the limiter's forgotten clients.
const SWEEP_EVERY: u64 = 4096;

/// A request refused for the requests already in flight.
pub struct Busy;

impl Busy {
    pub fn into_response(self) -> Response {
        overloaded("the server is handling as many requests as it can; retry shortly")
    }
}

pub struct Load {
    in_flight: Arc<Semaphore>,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    rated: AtomicU64,
    /// For verifying tokens; without it every client is its address.
    state: Option<AppState>,
}

impl Load {
    pub fn new(edge: &EdgeConfig, state: Option<AppState>) -> Self {
        let limiter = edge.rate_per_minute.map(|per_minute| {
            let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
            let burst = NonZeroU32::new(edge.rate_burst).unwrap_or(NonZeroU32::MIN);
            RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Self {
            in_flight: Arc::new(Semaphore::new(edge.max_in_flight)),
            limiter,
            rated: AtomicU64::new(0),
            state,
        }
    }

    /// A place among the requests in flight, or the 503 that refuses this one. The liveness
    /// probe never waits: a busy server is not a dead one.
    pub fn admit(&self, req: &Request) -> Result<Option<OwnedSemaphorePermit>, Busy> {
        if req.method() == Method::GET && req.uri().path() == "/health/live" {
            return Ok(None);
        }
        match Arc::clone(&self.in_flight).try_acquire_owned() {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => Err(Busy),
        }
    }

    /// Refuses a write or an expensive read of a client over its rate with a 429.
    pub async fn rate(&self, req: &Request, operation: Option<&str>) -> Result<(), Response> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let expensive = operation.is_some_and(|op| EXPENSIVE_READS.contains(&op));
        if !(write || expensive) {
            return Ok(());
        }
        if self.rated.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let key = self.client(req).await;
        match limiter.check_key(&key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let mut response = ProblemDetails::for_status(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many requests from this client; retry in {seconds} s"),
                )
                .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, seconds.max(1).into());
                Err(response)
            }
        }
    }

    /// Refuses a request to a protected operation whose bearer token is missing, repeated or
    /// does not verify, before its body is read: a client without a token cannot make the
    /// server wait for, or hold, a body. The verified caller is kept on the request.
    pub async fn authenticate(&self, req: &mut Request) -> Result<(), ApiError> {
        let Some(token) = bearer_token(req)? else {
            return Err(ApiError::Unauthorized(
                "a bearer token is required: Authorization: Bearer <JWT>".to_string(),
            ));
        };
        if let Some(state) = &self.state {
            // The operation's own check takes the caller from here instead of verifying again.
            let caller = state.verifier.verify(token, &state.db).await?;
            req.set_data(caller);
        }
        Ok(())
    }

    /// Who a client is: the principal of a bearer token that verifies (role, municipality
    /// and `sub`), else its address (the whole /64 for IPv6, which one host holds).
    async fn client(&self, req: &Request) -> String {
        let principal = |caller: &Caller| {
            let municipality = caller.municipality.as_ref().map_or("", |m| m.as_str());
            format!("{}:{municipality}:{}", caller.role.as_str(), caller.sub)
        };
        if let Some(caller) = req.data::<Caller>() {
            return principal(caller);
        }
        if let (Ok(Some(token)), Some(state)) = (bearer_token(req), &self.state)
            && let Ok(caller) = state.verifier.verify(token, &state.db).await
        {
            return principal(&caller);
        }
        match req.remote_addr().as_socket_addr().map(|a| a.ip()) {
            Some(IpAddr::V6(ip)) if ip.to_ipv4_mapped().is_none() => {
                let segments = ip.segments();
                format!(
                    "{:x}:{:x}:{:x}:{:x}::/64",
                    segments[0], segments[1], segments[2], segments[3]
                )
            }
            Some(IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .map(|v4| v4.to_string())
                .unwrap_or_default(),
            Some(IpAddr::V4(ip)) => ip.to_string(),
            None => "unknown".to_string(),
        }
    }
}

/// The bearer token of a request, if it sends one; `Authorization` sent twice is refused, so
/// that no part of the server picks one of the two. The scheme's name is case-insensitive
/// (RFC 9110), as in the operations' own check.
fn bearer_token(req: &Request) -> Result<Option<&str>, ApiError> {
    let mut headers = req.headers().get_all(header::AUTHORIZATION).iter();
    let (first, repeated) = (headers.next(), headers.next().is_some());
    if repeated {
        return Err(ApiError::Malformed(vec![FieldError::new(
            "Authorization",
            "must be sent once",
        )]));
    }
    Ok(first
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim()))
}
