//! The one error type of the API and its RFC 9457 `application/problem+json` body.
//!
//! Every failure, whether raised by a handler, by an extractor (bad JSON, a bad parameter, a
//! missing token) or by the framework (unknown route, wrong method), leaves the server as a
//! [`ProblemDetails`] body; see [`problem_response`].

use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::{ApiResponse, Object, types::Type};
use sea_orm::{DbErr, RuntimeErr, SqlErr};

pub use crate::http::problems::ProblemCode;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem: what went wrong, for people (`title`, `detail`) and for programs
/// (`type`, `status`, `errors`).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ProblemDetails {
    /// A URI reference naming the kind of problem (`/problems/<code>`, a page for people).
    #[oai(rename = "type")]
    pub kind: String,
    /// The kind of problem, for programs: stable, one per kind of refusal.
    pub code: ProblemCode,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened in this occurrence.
    pub detail: String,
    /// One entry per invalid field (status 422, and a 400 for values no resource takes: a
    /// date outside the years 1900 to 2200, text with NUL, a malformed or repeated header).
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldError>>,
    /// The version the resource has now (status 412 only).
    #[oai(skip_serializing_if_is_none)]
    pub current_version: Option<i32>,
    /// The participants a meeting place still has room for (a registration refused for lack
    /// of room, status 409 only).
    #[oai(skip_serializing_if_is_none)]
    pub remaining_capacity: Option<i32>,
    /// The kroner a grant scheme still has to grant (an approval refused for lack of budget,
    /// status 409 only).
    #[oai(skip_serializing_if_is_none)]
    pub remaining_budget_nok: Option<i64>,
}

impl poem_openapi::types::Example for ProblemDetails {
    fn example() -> Self {
        ApiError::Validation(vec![FieldError::new(
            "digihjelp_email",
            "is not an e-mail address",
        )])
        .problem()
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct FieldError {
    /// The field, as named in the request (`website`, `errors[2].opens`, `If-Match`).
    pub field: String,
    /// Why the value was refused.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// A conflict with the stored state, of the kind `ProblemCode` names.
    #[error("{1}")]
    Conflict(ProblemCode, String),
    #[error("the resource has changed since it was read: read it again and retry with its ETag")]
    PreconditionFailed { current_version: i32 },
    #[error("{detail}")]
    CapacityExceeded {
        detail: String,
        remaining_capacity: i32,
    },
    #[error("{detail}")]
    BudgetExceeded { detail: String, remaining_nok: i64 },
    #[error("{0}")]
    NotAcceptable(String),
    /// What was asked for is no longer kept, of the kind `ProblemCode` names.
    #[error("{1}")]
    Gone(ProblemCode, String),
    #[error("this operation needs an If-Match header with the ETag of the version you read")]
    PreconditionRequired,
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// Values no operation takes (see `http::bounds`) or headers that are not well formed,
    /// refused at the edge: a 400 naming each.
    #[error("the request has values the API does not take")]
    Malformed(Vec<FieldError>),
    #[error("the database is not reachable; try again shortly")]
    Unavailable,
    #[error("an unexpected error occurred; it has been logged")]
    Internal,
}

impl ApiError {
    /// A 422 for a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            Self::Gone(..) => StatusCode::GONE,
            Self::Conflict(..) | Self::CapacityExceeded { .. } | Self::BudgetExceeded { .. } => {
                StatusCode::CONFLICT
            }
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn problem(&self) -> ProblemDetails {
        let (errors, current_version) = match self {
            Self::Validation(errors) | Self::Malformed(errors) => (Some(errors.clone()), None),
            Self::PreconditionFailed { current_version } => (None, Some(*current_version)),
            _ => (None, None),
        };
        let code = match self {
            Self::Malformed(_) => ProblemCode::Malformed,
            Self::Conflict(code, _) | Self::Gone(code, _) => *code,
            Self::CapacityExceeded { .. } => ProblemCode::CapacityExceeded,
            Self::BudgetExceeded { .. } => ProblemCode::BudgetExceeded,
            _ => ProblemCode::of_status(self.status()),
        };
        let mut problem = ProblemDetails::for_code(code, self.status(), self.to_string());
        problem.errors = errors;
        problem.current_version = current_version;
        if let Self::CapacityExceeded {
            remaining_capacity, ..
        } = self
        {
            problem.remaining_capacity = Some(*remaining_capacity);
        }
        if let Self::BudgetExceeded { remaining_nok, .. } = self {
            problem.remaining_budget_nok = Some(*remaining_nok);
        }
        problem
    }
}

impl ProblemDetails {
    /// A problem of the generic kind for a status; `detail` says what happened.
    pub fn for_status(status: StatusCode, detail: String) -> Self {
        Self::for_code(ProblemCode::of_status(status), status, detail)
    }

    /// A problem of the kind `code` (its `type` and `title`) answered with `status`.
    pub fn for_code(code: ProblemCode, status: StatusCode, detail: String) -> Self {
        Self {
            kind: code.type_uri(),
            code,
            title: code.title().to_string(),
            status: status.as_u16(),
            detail,
            errors: None,
            current_version: None,
            remaining_capacity: None,
            remaining_budget_nok: None,
        }
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body =
            serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(&self)).unwrap_or_default();
        let mut response = Response::builder()
            .status(status)
            .content_type(PROBLEM_JSON)
            .body(body);
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl poem::error::ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        self.problem().into_response()
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
                tracing::error!(error = %err, "database unavailable");
                return Self::Unavailable;
            }
            _ => {}
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => Self::Conflict(
                ProblemCode::AlreadyExists,
                "the request conflicts with an existing resource".into(),
            ),
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => Self::Conflict(
                ProblemCode::MissingReference,
                "the request refers to a resource that does not exist".into(),
            ),
            _ if is_connection_failure(&err) => {
                tracing::error!(error = %err, "database unavailable");
                Self::Unavailable
            }
            _ => {
                tracing::error!(error = %err, "database error");
                Self::Internal
            }
        }
    }
}

/// Errors that mean the database went away mid-request rather than refused the statement,
/// read from the driver's error kinds: a broken or closed connection, a pool that gave up,
/// and PostgreSQL's connection-exception (`08`) and operator-intervention (`57P`, e.g. a
/// terminated backend) classes.
fn is_connection_failure(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error;
    let (DbErr::Conn(RuntimeErr::SqlxError(driver))
    | DbErr::Exec(RuntimeErr::SqlxError(driver))
    | DbErr::Query(RuntimeErr::SqlxError(driver))) = err
    else {
        return false;
    };
    match driver.as_ref() {
        Error::Io(_)
        | Error::Tls(_)
        | Error::Protocol(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// The answer to a handler that panicked: a logged 500, never a dropped connection.
pub fn panic_response(panic: Box<dyn std::any::Any + Send>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %message, "a handler panicked");
    ApiError::Internal.problem().into_response()
}

/// Renders any error that reached the edge of the app as problem+json, hiding the detail of
/// server errors (they are logged instead).
pub fn problem_response(err: poem::Error) -> Response {
    if let Some(api_error) = err.downcast_ref::<ApiError>() {
        return api_error.problem().into_response();
    }
    let status = err.status();
    let detail = if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        "an unexpected error occurred; it has been logged".to_string()
    } else if status == StatusCode::NOT_FOUND && err.is::<poem::error::NotFoundError>() {
        "no such route; see /docs for the operations of this API".to_string()
    } else {
        err.to_string()
    };
    ProblemDetails::for_status(status, detail).into_response()
}

/// The error side of an operation's result, documenting exactly the statuses in `CODES`
/// (a sum of the `E4xx` constants below) plus 500 and 503, each with the problem+json body.
#[derive(Debug)]
pub struct Failure<const CODES: u32>(pub ApiError);

pub const E400: u32 = 1;
pub const E401: u32 = 1 << 1;
pub const E403: u32 = 1 << 2;
pub const E404: u32 = 1 << 3;
pub const E409: u32 = 1 << 4;
pub const E412: u32 = 1 << 5;
pub const E422: u32 = 1 << 6;
pub const E428: u32 = 1 << 7;
pub const E406: u32 = 1 << 8;
pub const E410: u32 = 1 << 9;
/// What every operation that needs a token can answer besides its own errors.
pub const AUTH: u32 = E401 | E403;

const DOCUMENTED: [(u32, u16, &str); 12] = [
    (
        E400,
        400,
        "The request is malformed: bad JSON, a bad parameter or header.",
    ),
    (E401, 401, "The bearer token is missing or invalid."),
    (E403, 403, "The caller's role does not allow this."),
    (E404, 404, "Not found, or not visible to the caller."),
    (
        E406,
        406,
        "None of the media types in `Accept` can be served.",
    ),
    (E409, 409, "Conflicts with the current state."),
    (
        E410,
        410,
        "No longer kept: what was asked for is older than the retention period.",
    ),
    (E412, 412, "If-Match does not match the current version."),
    (
        E422,
        422,
        "Well-formed but invalid: one entry per bad field in `errors`.",
    ),
    (E428, 428, "If-Match is missing."),
    (u32::MAX, 500, "An unexpected error; logged on the server."),
    (u32::MAX, 503, "The database is not reachable."),
];

impl<const CODES: u32> From<ApiError> for Failure<CODES> {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

impl<const CODES: u32> From<DbErr> for Failure<CODES> {
    fn from(err: DbErr) -> Self {
        Self(err.into())
    }
}

impl<const CODES: u32> From<Failure<CODES>> for poem::Error {
    fn from(failure: Failure<CODES>) -> Self {
        poem::Error::from(failure.0)
    }
}

impl<const CODES: u32> IntoResponse for Failure<CODES> {
    fn into_response(self) -> Response {
        self.0.problem().into_response()
    }
}

impl<const CODES: u32> ApiResponse for Failure<CODES> {
    fn meta() -> MetaResponses {
        let responses = DOCUMENTED
            .iter()
            .filter(|(bit, ..)| *bit == u32::MAX || CODES & bit != 0)
            .map(|&(_, status, description)| MetaResponse {
                description,
                status: Some(status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: PROBLEM_JSON,
                    schema: ProblemDetails::schema_ref(),
                }],
                headers: if status == 401 {
                    vec![MetaHeader {
                        name: "WWW-Authenticate".into(),
                        description: Some("Always `Bearer`.".into()),
                        required: true,
                        deprecated: false,
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                    }]
                } else {
                    vec![]
                },
            })
            .collect();
        MetaResponses { responses }
    }

    fn register(registry: &mut Registry) {
        ProblemDetails::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::sqlx;

    use super::*;

    fn driver(err: sqlx::Error) -> DbErr {
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
    }

    #[test]
    fn a_lost_database_is_a_503_read_from_the_driver_error_kind() {
        for lost in [
            driver(sqlx::Error::PoolTimedOut),
            driver(sqlx::Error::PoolClosed),
            driver(sqlx::Error::WorkerCrashed),
            driver(sqlx::Error::Io(std::io::ErrorKind::BrokenPipe.into())),
        ] {
            assert!(matches!(ApiError::from(lost), ApiError::Unavailable));
        }
    }

    #[test]
    fn other_database_errors_are_a_500_whatever_their_text_says() {
        let refused = DbErr::Custom("connection to the moon refused".into());
        assert!(matches!(ApiError::from(refused), ApiError::Internal));
        let decode = driver(sqlx::Error::RowNotFound);
        assert!(matches!(ApiError::from(decode), ApiError::Internal));
    }
}
