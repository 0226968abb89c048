//! Grant applications: a municipality applies once per scheme, edits or withdraws its
//! application while it is submitted, and the ministry decides it within the scheme's budget.

pub mod model;
pub mod rules;
pub mod store;

use chrono::Utc;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::grants::model::SchemeStatus;
use crate::grants::store as schemes;
use crate::http::error::{AUTH, E400, E401, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::check_if_match;
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    ApplicationStatus, GrantApplication, GrantApplicationChangedResponse, GrantApplicationChanges,
    GrantApplicationCreatedResponse, GrantApplicationListResponse, GrantApplicationResponse,
    NewDecision, NewGrantApplication,
};

#[derive(Default)]
pub struct GrantApplicationsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Grants")]
impl GrantApplicationsApi {
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
        let rows = store::list(state.db.conn(), &auth.0, id.0, status.0, &page).await?;
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
        let valid = rules::validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            // One key at two schemes is two requests.
            &format!("create_grant_application {}", id.0),
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| {
                // Only municipalities apply, and a draft does not exist for them.
                let scheme = schemes::find_visible(tx, id.0, false).await?;
                rules::may_apply(&scheme, &valid, Utc::now())?;
                store::apply(tx, caller, municipality, id.0, valid).await
            },
        )
        .await?;
        Ok(created.into())
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
        let found = store::find_visible(state.db.conn(), &auth.0, id.0).await?;
        Ok(GrantApplication::try_from(found)?.into())
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
        let current = store::find_visible(&tx, caller, id.0).await?;
        let scheme = schemes::find_model(&tx, current.scheme_id).await?;
        // Every field, the amount against the scheme's budget included, is checked before
        // `If-Match`, so that one 422 names them all.
        let changes = rules::application_changes(body.0, scheme.budget_nok)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        rules::may_edit(&current, &scheme, Utc::now())?;
        let updated = store::update(&tx, caller, &current, changes).await?;
        tx.commit().await?;
        Ok(updated.into())
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
        let current = store::find_visible(&tx, caller, id.0).await?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        rules::submitted(&current)?;
        let withdrawn = store::withdraw(&tx, caller, &current).await?;
        tx.commit().await?;
        Ok(withdrawn.into())
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
        let current = store::find_visible(&tx, caller, id.0).await?;
        // Every field, the grant against the amount applied for included, is checked before
        // `If-Match`, so that one 422 names them all.
        let decision = rules::checked_decision(&body.0, &current)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let scheme = schemes::find_model(&tx, current.scheme_id).await?;
        let scheme_status = SchemeStatus::from_stored(&scheme.status)?;
        rules::may_decide(&current, scheme_status)?;
        let decided = store::decide(&tx, caller, &current, decision).await?;
        tx.commit().await?;
        Ok(decided.into())
    }
}
