//! The wire types of grant schemes, and the scheme status stored in its column.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use entity::grant_scheme as scheme;

use crate::common::optional::NotNull;
use crate::common::stored::stored_enum;
use crate::common::text::Text;
use crate::http::error::ApiError;
use crate::http::preconditions::etag;

stored_enum! {
    /// Where a grant scheme is in its life.
    SchemeStatus {
        /// Being prepared by the ministry; seen only by the ministry and KS, and takes no
        /// applications.
        Draft = "draft",
        /// Takes applications from `opens_at` until `deadline`.
        Open = "open",
        /// Takes no more applications; the ministry decides the submitted ones.
        Closed = "closed",
        /// Every application has been decided or withdrawn (final).
        Decided = "decided",
    }
}

/// An instant of the examples.
pub(super) fn instant(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("a valid example instant")
        .to_utc()
}

/// How many applications a scheme has, by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Object)]
pub struct ApplicationCounts {
    pub submitted: u32,
    pub withdrawn: u32,
    pub approved: u32,
    pub rejected: u32,
}

/// A grant scheme of the ministry.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct GrantScheme {
    pub id: Uuid,
    /// The budget year.
    pub year: i32,
    pub title: String,
    /// What the scheme funds and its rules.
    pub description: String,
    /// The budget in whole kroner.
    pub budget_nok: i64,
    /// The kroner granted to approved applications; never above `budget_nok`.
    pub granted_nok: i64,
    /// `budget_nok` less `granted_nok`.
    pub remaining_nok: i64,
    /// Applications are taken from this instant (RFC 3339, UTC) ...
    pub opens_at: DateTime<Utc>,
    /// ... until this instant (exclusive), compared with the server clock: an application
    /// or an edit at or after it is refused. An instant, not a date: to close at the end of
    /// a day in Norway, send e.g. `2027-03-01T23:59:59+01:00`.
    pub deadline: DateTime<Utc>,
    pub status: SchemeStatus,
    pub applications: ApplicationCounts,
    /// Increases by one with every change, its applications' included; send it back as
    /// `If-Match: "<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Example for GrantScheme {
    fn example() -> Self {
        Self {
            id: Uuid::parse_str("019ad8a0-1c00-7000-8000-000000000001").expect("a UUID"),
            year: 2027,
            title: "Tilskudd til etablering av Digihjelpen 2027".into(),
            description: "Kommuner som vil etablere et fast, lavterskel tilbud om digital \
                          veiledning, kan søke om inntil 200 000 kroner."
                .into(),
            budget_nok: 2_000_000,
            granted_nok: 350_000,
            remaining_nok: 1_650_000,
            opens_at: instant("2027-01-04T07:00:00Z"),
            deadline: instant("2027-03-01T11:00:00Z"),
            status: SchemeStatus::Closed,
            applications: ApplicationCounts {
                submitted: 12,
                withdrawn: 1,
                approved: 2,
                rejected: 1,
            },
            version: 19,
            created_at: instant("2026-12-01T09:00:00Z"),
            updated_at: instant("2027-03-10T13:00:00Z"),
        }
    }
}

/// A stored scheme with its applications counted; an unknown stored status is a 500.
impl TryFrom<(scheme::Model, ApplicationCounts)> for GrantScheme {
    type Error = ApiError;

    fn try_from((m, applications): (scheme::Model, ApplicationCounts)) -> Result<Self, ApiError> {
        Ok(Self {
            id: m.id,
            year: m.year,
            title: m.title,
            description: m.description,
            budget_nok: m.budget_nok,
            granted_nok: m.granted_nok,
            remaining_nok: m.budget_nok - m.granted_nok,
            opens_at: m.opens_at,
            deadline: m.deadline,
            status: SchemeStatus::from_stored(&m.status)?,
            applications,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

crate::page_object!(GrantSchemePage, GrantScheme);

/// A new grant scheme (the ministry).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewGrantScheme {
    /// The budget year, 2017 to 2100.
    #[oai(validator(minimum(value = "2017"), maximum(value = "2100")))]
    pub year: i32,
    /// 1 to 200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: Text,
    /// What the scheme funds and its rules; 1 to 10000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub description: Text,
    /// Whole kroner, 1 to 10 000 000 000.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000000")))]
    pub budget_nok: i64,
    /// When applications open (RFC 3339); stored to the second.
    pub opens_at: DateTime<Utc>,
    /// When applications close: an instant (RFC 3339, any offset; exclusive), after
    /// `opens_at`.
    pub deadline: DateTime<Utc>,
    /// `draft` (the default) or `open`.
    pub status: NotNull<SchemeStatus>,
}

impl Example for NewGrantScheme {
    fn example() -> Self {
        let example = GrantScheme::example();
        Self {
            year: example.year,
            title: Text(example.title),
            description: Text(example.description),
            budget_nok: example.budget_nok,
            opens_at: example.opens_at,
            deadline: example.deadline,
            status: NotNull(Some(SchemeStatus::Open)),
        }
    }
}

/// The fields to change; absent fields stay as they are. `status` follows
/// `draft → open → closed → decided`; `decided` needs every application decided or
/// withdrawn. A decided scheme no longer changes.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct GrantSchemeChanges {
    #[oai(validator(minimum(value = "2017"), maximum(value = "2100")))]
    pub year: MaybeUndefined<i32>,
    #[oai(validator(min_length = 1, max_length = 200))]
    pub title: MaybeUndefined<Text>,
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub description: MaybeUndefined<Text>,
    /// Not below the kroner already granted.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000000")))]
    pub budget_nok: MaybeUndefined<i64>,
    pub opens_at: MaybeUndefined<DateTime<Utc>>,
    pub deadline: MaybeUndefined<DateTime<Utc>>,
    pub status: MaybeUndefined<SchemeStatus>,
}

impl Example for GrantSchemeChanges {
    fn example() -> Self {
        Self {
            year: MaybeUndefined::Undefined,
            title: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
            budget_nok: MaybeUndefined::Undefined,
            opens_at: MaybeUndefined::Undefined,
            deadline: MaybeUndefined::Undefined,
            status: MaybeUndefined::Value(SchemeStatus::Closed),
        }
    }
}

#[derive(ApiResponse)]
pub enum GrantSchemeListResponse {
    /// A page of grant schemes, ordered by `year`, then `id` (creation).
    #[oai(status = 200)]
    Ok(Json<GrantSchemePage>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum GrantSchemeResponse {
    /// The grant scheme.
    #[oai(status = 200)]
    Ok(
        Json<Box<GrantScheme>>,
        /// The current version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum GrantSchemeUpdatedResponse {
    /// The changed grant scheme.
    #[oai(status = 200)]
    Ok(
        Json<Box<GrantScheme>>,
        /// The new version, for the next `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum GrantSchemeCreatedResponse {
    /// The grant scheme was created (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<GrantScheme>>,
        /// Where the new scheme is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

impl From<GrantScheme> for GrantSchemeResponse {
    fn from(scheme: GrantScheme) -> Self {
        let tag = etag(scheme.version);
        Self::Ok(Json(Box::new(scheme)), tag)
    }
}

impl From<GrantScheme> for GrantSchemeUpdatedResponse {
    fn from(scheme: GrantScheme) -> Self {
        let tag = etag(scheme.version);
        Self::Ok(Json(Box::new(scheme)), tag)
    }
}

impl From<GrantScheme> for GrantSchemeCreatedResponse {
    fn from(scheme: GrantScheme) -> Self {
        let location = format!("/api/v1/grant-schemes/{}", scheme.id);
        let tag = etag(scheme.version);
        Self::Created(Json(Box::new(scheme)), location, tag)
    }
}
