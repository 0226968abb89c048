//! The wire types of grant applications and decisions, and the application status stored in
//! its column.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object};
use uuid::Uuid;

use entity::grant_application as application;

use crate::common::stored::stored_enum;
use crate::common::text::Text;
use crate::grants::model::instant;
use crate::http::error::ApiError;
use crate::http::preconditions::etag;

stored_enum! {
    /// Where an application is.
    ApplicationStatus {
        /// Sent; the municipality may edit it while the scheme takes applications, or withdraw it.
        Submitted = "submitted",
        /// Withdrawn by the municipality (final).
        Withdrawn = "withdrawn",
        /// Granted `granted_nok` by the ministry (final).
        Approved = "approved",
        /// Refused by the ministry (final).
        Rejected = "rejected",
    }
}

/// The ministry's decision on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DecisionOutcome {
    Approved,
    Rejected,
}

impl From<DecisionOutcome> for ApplicationStatus {
    fn from(outcome: DecisionOutcome) -> Self {
        match outcome {
            DecisionOutcome::Approved => Self::Approved,
            DecisionOutcome::Rejected => Self::Rejected,
        }
    }
}

/// A municipality's application to a grant scheme.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct GrantApplication {
    pub id: Uuid,
    pub scheme_id: Uuid,
    pub municipality_number: String,
    /// Whole kroner applied for.
    pub amount_nok: i64,
    /// How the municipality will establish or strengthen its offer.
    pub plan: String,
    /// Whether the municipality already has a Digihjelp offer.
    pub has_existing_offer: bool,
    pub contact_name: String,
    pub contact_email: String,
    pub status: ApplicationStatus,
    /// Whole kroner granted (`approved` only).
    #[oai(nullable)]
    pub granted_nok: Option<i64>,
    /// The ministry's reasoning (`approved` and `rejected` only).
    #[oai(nullable)]
    pub reasoning: Option<String>,
    /// When the ministry decided (`approved` and `rejected` only).
    #[oai(nullable)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Example for GrantApplication {
    fn example() -> Self {
        Self {
            id: Uuid::parse_str("019ad8a0-1c00-7000-8000-000000000002").expect("a UUID"),
            scheme_id: Uuid::parse_str("019ad8a0-1c00-7000-8000-000000000001").expect("a UUID"),
            municipality_number: "4601".into(),
            amount_nok: 200_000,
            plan: "Biblioteket i sentrum åpner Digihjelpen to dager i uka, med frivillige og \
                   to ansatte som veiledere."
                .into(),
            has_existing_offer: false,
            contact_name: "Kari Nordmann".into(),
            contact_email: "digihjelp@bergen.kommune.no".into(),
            status: ApplicationStatus::Approved,
            granted_nok: Some(150_000),
            reasoning: Some(
                "Godt forankret plan; tilskuddet dekker oppstart og opplæring av veiledere.".into(),
            ),
            decided_at: Some(instant("2027-03-10T13:00:00Z")),
            version: 2,
            created_at: instant("2027-01-20T09:00:00Z"),
            updated_at: instant("2027-03-10T13:00:00Z"),
        }
    }
}

/// A stored application; an unknown stored status is a 500.
impl TryFrom<application::Model> for GrantApplication {
    type Error = ApiError;

    fn try_from(a: application::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: a.id,
            scheme_id: a.scheme_id,
            municipality_number: a.municipality_number,
            amount_nok: a.amount_nok,
            plan: a.plan,
            has_existing_offer: a.has_existing_offer,
            contact_name: a.contact_name,
            contact_email: a.contact_email,
            status: ApplicationStatus::from_stored(&a.status)?,
            granted_nok: a.granted_nok,
            reasoning: a.reasoning,
            decided_at: a.decided_at,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        })
    }
}

crate::page_object!(GrantApplicationPage, GrantApplication);

/// An application of the caller's municipality.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewGrantApplication {
    /// Whole kroner, at least 1 and at most the scheme's budget.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000000")))]
    pub amount_nok: i64,
    /// 1 to 10000 characters.
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub plan: Text,
    pub has_existing_offer: bool,
    /// 1 to 200 characters.
    #[oai(validator(min_length = 1, max_length = 200))]
    pub contact_name: Text,
    /// An e-mail address.
    #[oai(validator(min_length = 3, max_length = 254))]
    pub contact_email: Text,
}

impl Example for NewGrantApplication {
    fn example() -> Self {
        let example = GrantApplication::example();
        Self {
            amount_nok: example.amount_nok,
            plan: Text(example.plan),
            has_existing_offer: example.has_existing_offer,
            contact_name: Text(example.contact_name),
            contact_email: Text(example.contact_email),
        }
    }
}

/// The fields to change; absent fields stay as they are.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct GrantApplicationChanges {
    #[oai(validator(minimum(value = "1"), maximum(value = "10000000000")))]
    pub amount_nok: MaybeUndefined<i64>,
    #[oai(validator(min_length = 1, max_length = 10000))]
    pub plan: MaybeUndefined<Text>,
    pub has_existing_offer: MaybeUndefined<bool>,
    #[oai(validator(min_length = 1, max_length = 200))]
    pub contact_name: MaybeUndefined<Text>,
    #[oai(validator(min_length = 3, max_length = 254))]
    pub contact_email: MaybeUndefined<Text>,
}

impl Example for GrantApplicationChanges {
    fn example() -> Self {
        Self {
            amount_nok: MaybeUndefined::Value(180_000),
            plan: MaybeUndefined::Undefined,
            has_existing_offer: MaybeUndefined::Undefined,
            contact_name: MaybeUndefined::Undefined,
            contact_email: MaybeUndefined::Undefined,
        }
    }
}

/// The ministry's decision on an application.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewDecision {
    pub outcome: DecisionOutcome,
    /// Required for `approved`: whole kroner, at least 1 and at most the amount applied for.
    /// Absent (or null) for `rejected`.
    #[oai(
        nullable,
        validator(minimum(value = "1"), maximum(value = "10000000000"))
    )]
    pub granted_nok: Option<i64>,
    /// Why; 1 to 4000 characters.
    #[oai(validator(min_length = 1, max_length = 4000))]
    pub reasoning: Text,
}

impl Example for NewDecision {
    fn example() -> Self {
        let example = GrantApplication::example();
        Self {
            outcome: DecisionOutcome::Approved,
            granted_nok: example.granted_nok,
            reasoning: Text(example.reasoning.unwrap_or_default()),
        }
    }
}

#[derive(ApiResponse)]
pub enum GrantApplicationListResponse {
    /// A page of applications, oldest first.
    #[oai(status = 200)]
    Ok(Json<GrantApplicationPage>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum GrantApplicationResponse {
    /// The application.
    #[oai(status = 200)]
    Ok(
        Json<Box<GrantApplication>>,
        /// The current version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum GrantApplicationChangedResponse {
    /// The application as it is now.
    #[oai(status = 200)]
    Ok(
        Json<Box<GrantApplication>>,
        /// The new version, for the next `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum GrantApplicationCreatedResponse {
    /// The application was submitted (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<GrantApplication>>,
        /// Where the new application is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

impl From<GrantApplication> for GrantApplicationResponse {
    fn from(application: GrantApplication) -> Self {
        let tag = etag(application.version);
        Self::Ok(Json(Box::new(application)), tag)
    }
}

impl From<GrantApplication> for GrantApplicationChangedResponse {
    fn from(application: GrantApplication) -> Self {
        let tag = etag(application.version);
        Self::Ok(Json(Box::new(application)), tag)
    }
}

impl From<GrantApplication> for GrantApplicationCreatedResponse {
    fn from(application: GrantApplication) -> Self {
        let location = format!("/api/v1/grant-applications/{}", application.id);
        let tag = etag(application.version);
        Self::Created(Json(Box::new(application)), location, tag)
    }
}
