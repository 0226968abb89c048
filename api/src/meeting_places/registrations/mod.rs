//! Registrations: a municipality registers itself for a meeting place (one registration per
//! municipality per meeting place), changes its participants or contact, or cancels, until
//! the registration deadline. KS and the ministry see all registrations of a meeting place, a
//! municipality only its own; the public none.
//!
//! A registration that does not fit may wait (`"waitlist": true`): it is `waitlisted` with
//! its position, and places that free up go to the waiting list in strict order (see
//! `rules`), in the transaction of the change that freed them. At the registration deadline
//! the list closes: those still waiting read as `not_admitted`.

pub mod model;
mod rules;
pub(super) mod store;

use chrono::Utc;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use super::rules::RegistrationChange;
use super::store as places;
use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E401, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::check_if_match_tag;
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    NewRegistration, RegistrationCancelledResponse, RegistrationChanges,
    RegistrationCreatedResponse, RegistrationListResponse, RegistrationResponse,
    RegistrationStatus,
};

#[derive(Default)]
pub struct RegistrationsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::MeetingPlaces")]
impl RegistrationsApi {
    /// List registrations for a meeting place
    ///
    /// KS and the ministry see every registration; a municipality sees its own. `status`
    /// selects by the status a reader sees (`not_admitted` once the deadline has passed).
    #[oai(
        path = "/meeting-places/:id/registrations",
        method = "get",
        operation_id = "list_registrations"
    )]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// Only registrations with this status.
        status: Query<Option<RegistrationStatus>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<RegistrationListResponse, Failure<{ E400 | E401 | E404 }>> {
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        // One snapshot: statuses, positions and histories agree while writers commit.
        let tx = state.db.begin_read().await?;
        let rows = store::list(&tx, &auth.0, id.0, status.0, &page).await?;
        tx.commit().await?;
        Ok(RegistrationListResponse::Ok(Json(
            page.page(rows, |r: &model::Registration| r.id).into(),
        )))
    }

    /// Register for a meeting place
    ///
    /// A municipality registers itself, once per meeting place, while the meeting place is
    /// `open` and before its registration deadline (422 otherwise). It is `confirmed` when
    /// its participants fit and nobody is on the waiting list. Otherwise, with `"waitlist":
    /// true`, it joins the end of the waiting list (`waitlisted`, with its `position`);
    /// without, it is refused with 409 and `remaining_capacity`: free places are held for
    /// those already waiting. Send an `Idempotency-Key` to make a retry safe.
    #[oai(
        path = "/meeting-places/:id/registrations",
        method = "post",
        operation_id = "create_registration"
    )]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        body: Json<NewRegistration>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<RegistrationCreatedResponse, Failure<{ E400 | AUTH | E404 | E409 | E422 }>> {
        let caller = &auth.0;
        let municipality = policy::register_for_meeting_place(caller)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            // The target is part of the operation: one key at two meeting places is two
            // requests.
            &format!("create_registration {}", id.0),
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| {
                // Locked until the commit, so registrations to one meeting place are
                // placed one after another.
                let place = places::find_row_locked(tx, id.0).await?;
                let new = rules::validate_new(&body.0)?;
                rules::window(&place, Utc::now(), RegistrationChange::Grow)?;
                store::register(tx, caller, municipality, &place, new).await
            },
        )
        .await?;
        let location = format!(
            "/api/v1/meeting-places/{}/registrations/{}",
            created.meeting_place_id, created.id
        );
        let tag = created.etag();
        Ok(RegistrationCreatedResponse::Created(
            Json(created),
            location,
            tag,
        ))
    }

    /// Get a registration
    ///
    /// KS and the ministry read any; a municipality its own (another's is 404).
    #[oai(
        path = "/meeting-places/:id/registrations/:registration_id",
        method = "get",
        operation_id = "get_registration"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The registration's id.
        registration_id: Path<Uuid>,
    ) -> Result<RegistrationResponse, Failure<{ E400 | E401 | E404 }>> {
        let tx = state.db.begin_read().await?;
        let found = store::find_visible(&tx, &auth.0, id.0, registration_id.0).await?;
        tx.commit().await?;
        let tag = found.etag();
        Ok(RegistrationResponse::Ok(Json(found), tag))
    }

    /// Update a registration
    ///
    /// The municipality changes its participants or contact until the registration deadline.
    /// More participants on a confirmed registration need free places that nobody on the
    /// waiting list waits for (409 with `remaining_capacity` otherwise) and an `open`
    /// meeting place. A waitlisted registration keeps its position with fewer participants
    /// (and is promoted if it then fits as the first in line) but cannot raise them (409).
    /// Places a change frees go to the waiting list in the same transaction. Send
    /// `If-Match` with the ETag you read.
    #[oai(
        path = "/meeting-places/:id/registrations/:registration_id",
        method = "patch",
        operation_id = "update_registration"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The registration's id.
        registration_id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"1"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<RegistrationChanges>,
    ) -> Result<RegistrationResponse, Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 | E428 }>>
    {
        let caller = &auth.0;
        policy::register_for_meeting_place(caller)?;
        let tx = state.db.begin_write().await?;
        let (current, place) = store::find_for_change(&tx, caller, id.0, registration_id.0).await?;
        // Every field, sharing against the stored topic included, is checked before
        // `If-Match`, so that one 422 names them all.
        let update = rules::changes(&current, body.0)?;
        let seen = store::seen_status(&current, &place, Utc::now())?;
        let tag = model::registration_tag(current.version, seen);
        check_if_match_tag(if_match.0.as_deref(), &tag, current.version)?;
        rules::may_change(&update, store::stored_status(&current)?, &place, Utc::now())?;
        let updated = store::update(&tx, caller, &current, &place, &update).await?;
        tx.commit().await?;
        let tag = updated.etag();
        Ok(RegistrationResponse::Ok(Json(updated), tag))
    }

    /// Cancel a registration
    ///
    /// The municipality cancels its own registration, confirmed or waitlisted, until the
    /// registration deadline. A confirmed one's places go to the first in line of the
    /// waiting list (in the same transaction), or are released. Send `If-Match` with the
    /// ETag you read.
    #[oai(
        path = "/meeting-places/:id/registrations/:registration_id",
        method = "delete",
        operation_id = "cancel_registration"
    )]
    async fn cancel(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The registration's id.
        registration_id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"1"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<RegistrationCancelledResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>>
    {
        let caller = &auth.0;
        policy::register_for_meeting_place(caller)?;
        let tx = state.db.begin_write().await?;
        let (current, place) = store::find_for_change(&tx, caller, id.0, registration_id.0).await?;
        let seen = store::seen_status(&current, &place, Utc::now())?;
        let tag = model::registration_tag(current.version, seen);
        check_if_match_tag(if_match.0.as_deref(), &tag, current.version)?;
        rules::window(&place, Utc::now(), RegistrationChange::Other)?;
        store::cancel(&tx, caller, &current).await?;
        tx.commit().await?;
        Ok(RegistrationCancelledResponse::Cancelled)
    }
}
