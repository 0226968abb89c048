//! Grants: the ministry announces grant schemes, municipalities apply, the ministry decides.
//!
//! `granted_nok` on a scheme is the sum of its approved grants. An approval moves it with one
//! conditional `UPDATE ... WHERE granted_nok + x <= budget_nok` in the decision's
//! transaction (a check constraint backs it), so approvals never exceed the budget, however
//! many decisions arrive at once. Every application change also raises the scheme's version,
//! so the scheme's ETag changes whenever its counts or sums do.

mod applications;
pub mod rules;
mod schemes;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object, OpenApi};
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::common::text::Text;
use crate::http::error::{AUTH, E400, E401, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::etag;
use crate::state::AppState;
use crate::tags::ApiTags;

pub use rules::{ApplicationStatus, DecisionOutcome, SchemeStatus};

fn instant(rfc3339: &str) -> DateTime<Utc> {
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
    pub status: crate::common::optional::NotNull<SchemeStatus>,
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
            status: crate::common::optional::NotNull(Some(SchemeStatus::Open)),
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

pub struct GrantsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Grants")]
impl GrantsApi {
    /// List grant schemes
    ///
    /// Public. Ordered by `year`, then `id` (creation); filtered by year and status.
    #[oai(
        path = "/grant-schemes",
        method = "get",
        operation_id = "list_grant_schemes"
    )]
    async fn list_schemes(
        &self,
        state: poem::web::Data<&AppState>,
        /// Only schemes of this budget year.
        #[oai(validator(minimum(value = "2017"), maximum(value = "2100")))]
        year: Query<Option<i32>>,
        /// Only schemes with this status.
        status: Query<Option<SchemeStatus>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<GrantSchemeListResponse, Failure<{ E400 }>> {
        let page = PageRequest::new(limit.0, cursor.0.as_deref())?;
        let rows = schemes::list(state.db.conn(), year.0, status.0, &page).await?;
        Ok(GrantSchemeListResponse::Ok(Json(
            page.page(rows, |s: &GrantScheme| (s.year, s.id)).into(),
        )))
    }

    /// Get a grant scheme
    ///
    /// Public: the budget, what has been granted and what remains, and the applications
    /// counted by status.
    #[oai(
        path = "/grant-schemes/:id",
        method = "get",
        operation_id = "get_grant_scheme"
    )]
    async fn get_scheme(
        &self,
        state: poem::web::Data<&AppState>,
        /// The scheme's id.
        id: Path<Uuid>,
    ) -> Result<GrantSchemeResponse, Failure<{ E400 | E404 }>> {
        let found = schemes::find(state.db.conn(), id.0).await?;
        let tag = etag(found.version);
        Ok(GrantSchemeResponse::Ok(Json(Box::new(found)), tag))
    }

    /// Create a grant scheme
    ///
    /// For the ministry. A scheme starts as `draft` (or `open`). Send an `Idempotency-Key`
    /// to make a retry safe.
    #[oai(
        path = "/grant-schemes",
        method = "post",
        operation_id = "create_grant_scheme"
    )]
    async fn create_scheme(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewGrantScheme>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<GrantSchemeCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        policy::manage_grant_schemes(caller)?;
        let draft = schemes::validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_grant_scheme",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| schemes::create(tx, caller, draft).await,
        )
        .await?;
        let location = format!("/api/v1/grant-schemes/{}", created.id);
        let tag = etag(created.version);
        Ok(GrantSchemeCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Update a grant scheme
    ///
    /// The ministry changes details, the budget (not below what is granted) or the status
    /// (`draft → open → closed → decided`). Send `If-Match` with the ETag you read; the
    /// scheme's version also rises with every change to its applications.
    #[oai(
        path = "/grant-schemes/:id",
        method = "patch",
        operation_id = "update_grant_scheme"
    )]
    async fn update_scheme(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The scheme's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<GrantSchemeChanges>,
    ) -> Result<GrantSchemeUpdatedResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>>
    {
        let caller = &auth.0;
        policy::manage_grant_schemes(caller)?;
        let tx = state.db.begin_write().await?;
        let updated = schemes::update(&tx, caller, id.0, if_match.0.as_deref(), body.0).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(GrantSchemeUpdatedResponse::Ok(Json(Box::new(updated)), tag))
    }

    /// List the applications to a grant scheme
    ///
    /// KS and the ministry see every application; a municipality its own. Oldest first.
    #[oai(
        path = "/grant-schemes/:id/applications",
        method = "get",
        operation_id = "list_grant_applications"
    )]
    async fn list_applications(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The scheme's id.
        id: Path<Uuid>,
        /// Only applications with this status.
        status: Query<Option<ApplicationStatus>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<GrantApplicationListResponse, Failure<{ E400 | E401 | E404 }>> {
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        let rows = applications::list(state.db.conn(), &auth.0, id.0, status.0, &page).await?;
        Ok(GrantApplicationListResponse::Ok(Json(
            page.page(rows, |a: &GrantApplication| a.id).into(),
        )))
    }

    /// Apply for a grant
    ///
    /// A municipality applies, once per scheme (409 on a second, withdrawn ones included),
    /// while the scheme is `open`, from `opens_at` and before its `deadline` (instants,
    /// compared with the server clock in UTC; 422 with the reason otherwise), for at most
    /// the scheme's budget. Send an `Idempotency-Key` to make
    /// a retry safe.
    #[oai(
        path = "/grant-schemes/:id/applications",
        method = "post",
        operation_id = "create_grant_application"
    )]
    async fn create_application(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The scheme's id.
        id: Path<Uuid>,
        body: Json<NewGrantApplication>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<GrantApplicationCreatedResponse, Failure<{ E400 | AUTH | E404 | E409 | E422 }>>
    {
        let caller = &auth.0;
        let municipality = policy::apply_for_grant(caller)?;
        let valid = applications::validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            // One key at two schemes is two requests.
            &format!("create_grant_application {}", id.0),
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| applications::apply(tx, caller, municipality, id.0, valid).await,
        )
        .await?;
        let location = format!("/api/v1/grant-applications/{}", created.id);
        let tag = etag(created.version);
        Ok(GrantApplicationCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Get a grant application
    ///
    /// KS and the ministry read any; a municipality its own (another's is 404).
    #[oai(
        path = "/grant-applications/:id",
        method = "get",
        operation_id = "get_grant_application"
    )]
    async fn get_application(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The application's id.
        id: Path<Uuid>,
    ) -> Result<GrantApplicationResponse, Failure<{ E400 | E401 | E404 }>> {
        let found = applications::find_visible(state.db.conn(), &auth.0, id.0).await?;
        let tag = etag(found.version);
        Ok(GrantApplicationResponse::Ok(
            Json(Box::new(found.into())),
            tag,
        ))
    }

    /// Update a grant application
    ///
    /// The municipality edits its own application while it is `submitted` (409 otherwise)
    /// and the scheme takes applications (422 otherwise). Send `If-Match` with the ETag you
    /// read.
    #[oai(
        path = "/grant-applications/:id",
        method = "patch",
        operation_id = "update_grant_application"
    )]
    async fn update_application(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The application's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"1"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<GrantApplicationChanges>,
    ) -> Result<
        GrantApplicationChangedResponse,
        Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 | E428 }>,
    > {
        let caller = &auth.0;
        policy::apply_for_grant(caller)?;
        let tx = state.db.begin_write().await?;
        let updated =
            applications::update(&tx, caller, id.0, if_match.0.as_deref(), body.0).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(GrantApplicationChangedResponse::Ok(
            Json(Box::new(updated)),
            tag,
        ))
    }

    /// Withdraw a grant application
    ///
    /// The municipality withdraws its own `submitted` application (409 once decided or
    /// withdrawn), also after the deadline. Send `If-Match` with the ETag you read.
    #[oai(
        path = "/grant-applications/:id/withdraw",
        method = "post",
        operation_id = "withdraw_grant_application"
    )]
    async fn withdraw_application(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The application's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"1"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<GrantApplicationChangedResponse, Failure<{ E400 | AUTH | E404 | E409 | E412 | E428 }>>
    {
        let caller = &auth.0;
        policy::apply_for_grant(caller)?;
        let tx = state.db.begin_write().await?;
        let withdrawn = applications::withdraw(&tx, caller, id.0, if_match.0.as_deref()).await?;
        tx.commit().await?;
        let tag = etag(withdrawn.version);
        Ok(GrantApplicationChangedResponse::Ok(
            Json(Box::new(withdrawn)),
            tag,
        ))
    }

    /// Decide a grant application
    ///
    /// The ministry approves (with `granted_nok`, at most the amount applied for) or rejects
    /// a `submitted` application of a `closed` scheme, with its reasoning; a decision is
    /// final (409 on a second). An approval beyond the scheme's remaining budget is refused
    /// with 409 and `remaining_budget_nok`. Send `If-Match` with the application's ETag.
    #[oai(
        path = "/grant-applications/:id/decision",
        method = "post",
        operation_id = "decide_grant_application"
    )]
    async fn decide_application(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The application's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"1"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<NewDecision>,
    ) -> Result<
        GrantApplicationChangedResponse,
        Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 | E428 }>,
    > {
        let caller = &auth.0;
        policy::decide_grant_applications(caller)?;
        let tx = state.db.begin_write().await?;
        let decided =
            applications::decide(&tx, caller, id.0, if_match.0.as_deref(), body.0).await?;
        tx.commit().await?;
        let tag = etag(decided.version);
        Ok(GrantApplicationChangedResponse::Ok(
            Json(Box::new(decided)),
            tag,
        ))
    }
}
