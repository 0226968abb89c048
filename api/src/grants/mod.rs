//! Grants: the ministry announces grant schemes, municipalities apply, the ministry decides.
//!
//! `granted_nok` on a scheme is the sum of its approved grants. An approval moves it with one
//! conditional `UPDATE ... WHERE granted_nok + x <= budget_nok` in the decision's
//! transaction (a check constraint backs it), so approvals never exceed the budget, however
//! many decisions arrive at once. Every application change also raises the scheme's version,
//! so the scheme's ETag changes whenever its counts or sums do.

pub mod applications;
pub mod model;
pub mod rules;
pub mod store;

use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use crate::auth::{BearerAuth, Caller, policy};
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::check_if_match;
use crate::state::AppState;
use crate::tags::ApiTags;
use applications::store::submitted_count;
use model::{
    GrantScheme, GrantSchemeChanges, GrantSchemeCreatedResponse, GrantSchemeListResponse,
    GrantSchemeResponse, GrantSchemeUpdatedResponse, NewGrantScheme, SchemeStatus,
};

/// Who reads a public grants page: the caller of a bearer token that verifies, else the
/// public (a public read is never refused for its token).
async fn reader(req: &poem::Request, state: &AppState) -> Option<Caller> {
    let header = req.headers().get(poem::http::header::AUTHORIZATION)?;
    let token = header.to_str().ok()?.strip_prefix("Bearer ")?;
    state.verifier.verify(token, &state.db).await.ok()
}

/// Every grants operation, as one API for the composition root: the schemes' below, their
/// applications' and decisions' in [`applications`].
#[derive(Default)]
pub struct GrantSchemesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Grants")]
impl GrantSchemesApi {
    /// List grant schemes
    ///
    /// Public. Ordered by `year`, then `id` (creation); filtered by year and status. Schemes
    /// in `draft` are listed only for the ministry and KS (send their bearer token).
    #[oai(
        path = "/grant-schemes",
        method = "get",
        operation_id = "list_grant_schemes"
    )]
    async fn list_schemes(
        &self,
        req: &poem::Request,
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
        let drafts = rules::sees_draft_schemes(reader(req, &state).await.as_ref());
        let rows = store::list(state.db.conn(), year.0, status.0, drafts, &page).await?;
        Ok(GrantSchemeListResponse::Ok(Json(
            page.page(rows, |s: &GrantScheme| (s.year, s.id)).into(),
        )))
    }

    /// Get a grant scheme
    ///
    /// Public: the budget, what has been granted and what remains, and the applications
    /// counted by status. A scheme in `draft` is 404 except for the ministry and KS.
    #[oai(
        path = "/grant-schemes/:id",
        method = "get",
        operation_id = "get_grant_scheme"
    )]
    async fn get_scheme(
        &self,
        req: &poem::Request,
        state: poem::web::Data<&AppState>,
        /// The scheme's id.
        id: Path<Uuid>,
    ) -> Result<GrantSchemeResponse, Failure<{ E400 | E404 }>> {
        let drafts = rules::sees_draft_schemes(reader(req, &state).await.as_ref());
        Ok(store::find(state.db.conn(), id.0, drafts).await?.into())
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
        let draft = rules::validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_grant_scheme",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| store::create(tx, caller, draft).await,
        )
        .await?;
        Ok(created.into())
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
        let current = store::find_model(&tx, id.0).await?;
        // Every field, the deadline against the stored opening included, is checked before
        // `If-Match`, so that one 422 names them all.
        let changes = rules::scheme_changes(&current, body.0)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let undecided = submitted_count(&tx, id.0).await?;
        let from = SchemeStatus::from_stored(&current.status)?;
        let status = rules::status_after(from, changes.status, undecided)?;
        let updated = store::update(&tx, caller, &current, changes, status).await?;
        tx.commit().await?;
        Ok(updated.into())
    }
}
