//! The catalogue of problem types: each kind of refusal has a short `code`, its own `type` URI
//! (`/problems/<code>`) with a page there for people, and a fixed status. Clients branch on
//! `code`, never on `detail`.

use poem::http::StatusCode;
use poem::web::Path;
use poem::{IntoResponse, Response, handler};
use poem_openapi::Enum;

/// What kind of refusal a problem is; stable, so clients may branch on it. The catalogue
/// with each code's meaning is in the README and at `/problems/<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "kebab-case")]
pub enum ProblemCode {
    BadRequest,
    Malformed,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    RequestTimeout,
    LengthRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation,
    AlreadyExists,
    AlreadyRegistered,
    MissingReference,
    InvalidTransition,
    WrongStatus,
    CapacityExceeded,
    BudgetExceeded,
    IdempotencyKeyReused,
    RequestInProgress,
    Conflict,
    ChangesExpired,
    StaleVersion,
    PreconditionRequired,
    TooManyRequests,
    Internal,
    Unavailable,
}

impl ProblemCode {
    pub const ALL: [ProblemCode; 28] = [
        Self::BadRequest,
        Self::Malformed,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::NotAcceptable,
        Self::RequestTimeout,
        Self::LengthRequired,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Validation,
        Self::AlreadyExists,
        Self::AlreadyRegistered,
        Self::MissingReference,
        Self::InvalidTransition,
        Self::WrongStatus,
        Self::CapacityExceeded,
        Self::BudgetExceeded,
        Self::IdempotencyKeyReused,
        Self::RequestInProgress,
        Self::Conflict,
        Self::ChangesExpired,
        Self::StaleVersion,
        Self::PreconditionRequired,
        Self::TooManyRequests,
        Self::Internal,
        Self::Unavailable,
    ];

    /// The code as it is sent, e.g. `capacity-exceeded`.
    pub fn as_str(self) -> &'static str {
        self.entry().0
    }

    /// The problem's `type`: a URI reference to its page.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.as_str())
    }

    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.entry().1).expect("a valid status")
    }

    /// A short summary, the problem's `title`.
    pub fn title(self) -> &'static str {
        self.entry().2
    }

    /// What it means and what a client does about it.
    pub fn meaning(self) -> &'static str {
        self.entry().3
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The generic code of a status, for refusals that have no more specific one.
    pub fn of_status(status: StatusCode) -> Self {
        match status.as_u16() {
            409 => Self::Conflict,
            code => Self::ALL
                .into_iter()
                .find(|c| c.entry().1 == code)
                .unwrap_or(if status.is_server_error() {
                    Self::Internal
                } else {
                    Self::BadRequest
                }),
        }
    }

    /// (code, status, title, meaning)
    fn entry(self) -> (&'static str, u16, &'static str, &'static str) {
        match self {
            Self::BadRequest => (
                "bad-request",
                400,
                "The request is malformed",
                "The request could not be read as sent. `detail` says why.",
            ),
            Self::Malformed => (
                "malformed",
                400,
                "The request is malformed",
                "A value could not be read or is one no operation takes: JSON that is not JSON \
                 (with its line and column), a parameter, header or path id that does not \
                 parse, text with NUL, a date outside the years 1900 to 2200, a repeated \
                 header. `errors` names each one.",
            ),
            Self::Unauthorized => (
                "unauthorized",
                401,
                "Authentication is required",
                "No bearer token, or one that does not verify. Sign in again and send \
                 `Authorization: Bearer <token>`.",
            ),
            Self::Forbidden => (
                "forbidden",
                403,
                "Not allowed for this caller",
                "The token is valid, but its role may not do this (see the role matrix).",
            ),
            Self::NotFound => (
                "not-found",
                404,
                "Not found",
                "No such resource, or one the caller may not know exists (another \
                 municipality's private resource).",
            ),
            Self::MethodNotAllowed => (
                "method-not-allowed",
                405,
                "Method not allowed",
                "The resource exists but not with this method; `Allow` lists its methods.",
            ),
            Self::NotAcceptable => (
                "not-acceptable",
                406,
                "Not acceptable",
                "None of the media types in `Accept` can be served.",
            ),
            Self::RequestTimeout => (
                "request-timeout",
                408,
                "The request took too long to arrive",
                "The body did not arrive within the server's body timeout; the connection \
                 is closed.",
            ),
            Self::LengthRequired => (
                "length-required",
                411,
                "Length required",
                "The body needs a `Content-Length`.",
            ),
            Self::PayloadTooLarge => (
                "payload-too-large",
                413,
                "The request body is too large",
                "Request bodies are limited to 1 MiB.",
            ),
            Self::UnsupportedMediaType => (
                "unsupported-media-type",
                415,
                "Unsupported media type",
                "Send the body as `application/json`.",
            ),
            Self::Validation => (
                "validation",
                422,
                "The request has invalid fields",
                "The body or the parameters break the operation's rules. `errors` lists every \
                 field at once, named by its JSON path (`rules[2].weekday`), with what was \
                 expected; fix them and send again.",
            ),
            Self::AlreadyExists => (
                "already-exists",
                409,
                "It exists already",
                "Something with the same key exists: a municipality number, an organisation \
                 number held by another municipality, a topic slug, a location's exception on \
                 that date. Read it, or change the key.",
            ),
            Self::AlreadyRegistered => (
                "already-registered",
                409,
                "Already registered",
                "The municipality has already registered for this meeting place or applied to \
                 this grant scheme; change that registration or application instead.",
            ),
            Self::MissingReference => (
                "missing-reference",
                409,
                "It refers to something that does not exist",
                "The request names a resource that does not exist (or no longer does).",
            ),
            Self::InvalidTransition => (
                "invalid-transition",
                409,
                "The status cannot change that way",
                "The resource's status table does not allow going from its status to the one \
                 asked for; `detail` names both.",
            ),
            Self::WrongStatus => (
                "wrong-status",
                409,
                "Not in this status",
                "The resource's status does not allow the operation: a closed ticket takes no \
                 more messages or changes, an application that is no longer submitted cannot \
                 be edited or decided, a scheme is decided only while closed, a waitlisted \
                 registration cannot grow.",
            ),
            Self::CapacityExceeded => (
                "capacity-exceeded",
                409,
                "No room left",
                "The meeting place has no room for that many participants; \
                 `remaining_capacity` says how many fit. Ask for fewer, or join the waiting \
                 list with `\"waitlist\": true`.",
            ),
            Self::BudgetExceeded => (
                "budget-exceeded",
                409,
                "Not enough budget left",
                "The grant scheme cannot grant that much; `remaining_budget_nok` says what is \
                 left.",
            ),
            Self::IdempotencyKeyReused => (
                "idempotency-key-reused",
                409,
                "The Idempotency-Key was used for another request",
                "The key was sent before with a different body. Use a new key for a new \
                 request.",
            ),
            Self::RequestInProgress => (
                "request-in-progress",
                409,
                "The same request is still in progress",
                "A request with this Idempotency-Key has not finished; retry shortly with the \
                 same key to get its answer.",
            ),
            Self::Conflict => (
                "conflict",
                409,
                "Conflict with the current state",
                "The request conflicts with the stored state; `detail` says how.",
            ),
            Self::ChangesExpired => (
                "changes-expired",
                410,
                "The change feed no longer goes back that far",
                "`after` is older than the entries the feed keeps \
                 (`DIGIHJELPEN_CHANGES_RETENTION`). Note `latest_sequence` from the feed, load \
                 the lists again, and follow the feed from there.",
            ),
            Self::StaleVersion => (
                "stale-version",
                412,
                "The resource has changed",
                "`If-Match` names a version that is no longer current; `current_version` is \
                 the one stored now. Read the resource again, reapply the change, and send it \
                 with the new ETag.",
            ),
            Self::PreconditionRequired => (
                "precondition-required",
                428,
                "If-Match is required",
                "The change needs `If-Match` with the ETag of the version you read.",
            ),
            Self::TooManyRequests => (
                "too-many-requests",
                429,
                "Too many requests",
                "The client sent more than its rate; wait for `Retry-After` seconds.",
            ),
            Self::Internal => (
                "internal",
                500,
                "Internal server error",
                "Something failed on the server; it is logged with the request's \
                 `X-Request-Id`.",
            ),
            Self::Unavailable => (
                "unavailable",
                503,
                "Service unavailable",
                "The database or the server's capacity is not available now; retry after \
                 `Retry-After` seconds.",
            ),
        }
    }
}

/// The catalogue as a Markdown table: for the spec's description of the code.
pub fn catalogue() -> String {
    let mut table = String::from("| code | status | meaning |\n|---|---|---|\n");
    for code in ProblemCode::ALL {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.entry().1,
            code.meaning()
        ));
    }
    table
}

/// `GET /problems/{code}`: the page a problem's `type` points to.
#[handler]
pub fn page(Path(name): Path<String>) -> Response {
    let Some(code) = ProblemCode::from_name(&name) else {
        return crate::http::error::ProblemDetails::for_status(
            StatusCode::NOT_FOUND,
            format!("there is no problem type {name}; see /problems"),
        )
        .into_response();
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><h1>{title}</h1><p><code>{code}</code>, status {status}</p><p>{meaning}</p>\
         <p><a href=\"/docs\">The API's documentation</a></p></body></html>",
        title = code.title(),
        code = code.as_str(),
        status = code.status().as_u16(),
        meaning = escape(code.meaning()),
    );
    poem::web::Html(html).into_response()
}

/// `GET /problems`: every problem type, linked to its page.
#[handler]
pub fn index() -> Response {
    let rows: String = ProblemCode::ALL
        .into_iter()
        .map(|code| {
            format!(
                "<tr><td><a href=\"{uri}\"><code>{name}</code></a></td><td>{status}</td>\
                 <td>{title}</td></tr>",
                uri = code.type_uri(),
                name = code.as_str(),
                status = code.status().as_u16(),
                title = code.title(),
            )
        })
        .collect();
    poem::web::Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Problem types</title></head><body><h1>Problem types</h1>\
         <table><tr><th>code</th><th>status</th><th>title</th></tr>{rows}</table></body></html>"
    ))
    .into_response()
}

/// Backquoted words as code; the texts hold no other markup.
fn escape(text: &str) -> String {
    let text = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut html = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            html.push_str(&format!("<code>{part}</code>"));
        } else {
            html.push_str(part);
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_read_back_by_its_name() {
        for code in ProblemCode::ALL {
            assert_eq!(ProblemCode::from_name(code.as_str()), Some(code));
            assert_eq!(
                ProblemCode::ALL.iter().filter(|c| **c == code).count(),
                1,
                "{code:?}"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
        assert_eq!(ProblemCode::from_name("castle"), None);
    }

    #[test]
    fn the_readme_lists_the_catalogue_as_the_spec_does() {
        let readme = include_str!("../../../README.md");
        for row in catalogue().lines() {
            assert!(
                readme.contains(&format!("  {row}\n")),
                "not in the README: {row}"
            );
        }
    }

    #[test]
    fn a_status_without_a_specific_code_has_its_generic_one() {
        assert_eq!(
            ProblemCode::of_status(StatusCode::CONFLICT),
            ProblemCode::Conflict
        );
        assert_eq!(
            ProblemCode::of_status(StatusCode::PRECONDITION_FAILED),
            ProblemCode::StaleVersion
        );
        assert_eq!(
            ProblemCode::of_status(StatusCode::BAD_REQUEST),
            ProblemCode::BadRequest
        );
        assert_eq!(
            ProblemCode::of_status(StatusCode::URI_TOO_LONG),
            ProblemCode::BadRequest
        );
        assert_eq!(
            ProblemCode::of_status(StatusCode::BAD_GATEWAY),
            ProblemCode::Internal
        );
    }
}
