//! Regional meeting places: arranged by KS and the ministry, registered for by
//! municipalities, and published as an iCalendar feed.
//!
//! `reserved` on a meeting place is the sum of its registrations' participants. Every
//! registration change moves it with one conditional `UPDATE ... WHERE reserved + n <=
//! capacity` in the registration's transaction (and a check constraint backs it), so the
//! capacity holds however many requests arrive at once.

mod ics;
pub mod model;
pub mod registrations;
mod rules;
pub(crate) mod store;

use chrono::{DateTime, Utc};
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::{Json, PlainText};
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::common::validation::check_period;
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::params::{KnownCountyParam, value};
use crate::http::preconditions::check_if_match_tag;
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    CalendarResponse, MeetingFormat, MeetingPlace, MeetingPlaceChanges,
    MeetingPlaceCreatedResponse, MeetingPlaceListResponse, MeetingPlaceResponse,
    MeetingPlaceStatus, NewMeetingPlace,
};

pub use registrations::RegistrationsApi;

#[derive(Default)]
pub struct MeetingPlacesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::MeetingPlaces")]
impl MeetingPlacesApi {
    /// List meeting places
    ///
    /// Ordered by `starts_at`, then `id`; filtered by county, status, format and start time.
    #[oai(
        path = "/meeting-places",
        method = "get",
        operation_id = "list_meeting_places"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        /// Only meeting places serving this county, e.g. `03`.
        county: Query<Option<KnownCountyParam>>,
        /// Only meeting places with this status.
        status: Query<Option<MeetingPlaceStatus>>,
        /// Only meeting places of this format.
        format: Query<Option<MeetingFormat>>,
        /// Only meeting places starting at or after this instant (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Only meeting places starting before this instant (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<MeetingPlaceListResponse, Failure<{ E400 | E422 }>> {
        let page = PageRequest::new(limit.0, cursor.0.as_deref())?;
        check_period(from.0, to.0)?;
        let filter = store::ListFilter {
            county: value(county.0),
            status: status.0,
            format: format.0,
            from: from.0,
            to: to.0,
        };
        // One snapshot: `remaining_capacity` and `waitlist_length` agree.
        let tx = state.db.begin_read().await?;
        let rows = store::list(&tx, &filter, &page).await?;
        tx.commit().await?;
        Ok(MeetingPlaceListResponse::Ok(Json(
            page.page(rows, |m: &MeetingPlace| (m.starts_at, m.id))
                .into(),
        )))
    }

    /// Get a meeting place
    ///
    /// Anyone, with the participants it still has room for.
    #[oai(
        path = "/meeting-places/:id",
        method = "get",
        operation_id = "get_meeting_place"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The meeting place's id.
        id: Path<Uuid>,
    ) -> Result<MeetingPlaceResponse, Failure<{ E400 | E404 }>> {
        let tx = state.db.begin_read().await?;
        let found = store::find(&tx, id.0).await?;
        tx.commit().await?;
        let tag = found.etag();
        Ok(MeetingPlaceResponse::Ok(Json(Box::new(found)), tag))
    }

    /// Create a meeting place
    ///
    /// For KS and the ministry. Send an `Idempotency-Key` to make a retry safe.
    #[oai(
        path = "/meeting-places",
        method = "post",
        operation_id = "create_meeting_place"
    )]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewMeetingPlace>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<MeetingPlaceCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        policy::manage_meeting_places(caller)?;
        let new = rules::validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_meeting_place",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| store::create(tx, caller, new).await,
        )
        .await?;
        let location = format!("/api/v1/meeting-places/{}", created.id);
        let tag = created.etag();
        Ok(MeetingPlaceCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Update a meeting place
    ///
    /// Changes details or the status (KS and the ministry). A larger capacity promotes from
    /// the waiting list, in its order, the registrations it makes room for, in the same
    /// transaction. Send `If-Match` with the ETag you read; a stale one is refused with 412.
    #[oai(
        path = "/meeting-places/:id",
        method = "patch",
        operation_id = "update_meeting_place"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<MeetingPlaceChanges>,
    ) -> Result<MeetingPlaceResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>> {
        let caller = &auth.0;
        policy::manage_meeting_places(caller)?;
        let tx = state.db.begin_write().await?;
        // Locked, as for a registration: a capacity change and the promotions it makes are
        // ordered with the registrations' writes.
        let current = store::find_row_locked(&tx, id.0).await?;
        let counties = store::known_counties(&tx, &body.0).await?;
        let stored = store::fields_of(&tx, &current).await?;
        // Every field, alone and against the stored meeting place, is checked before
        // `If-Match`, so that one 422 names them all.
        let update = rules::changes(stored, body.0, &counties)?;
        let tag = store::etag_of(&tx, &current).await?;
        check_if_match_tag(if_match.0.as_deref(), &tag, current.version)?;
        rules::may_change(&update)?;
        let updated = store::update(&tx, caller, &current, &update).await?;
        tx.commit().await?;
        let tag = updated.etag();
        Ok(MeetingPlaceResponse::Ok(Json(Box::new(updated)), tag))
    }
}

/// The iCalendar feed, outside `/api/v1` so that calendar programs can subscribe to a plain
/// URL: `/meeting-places.ics?county=03`.
#[derive(Default)]
pub struct MeetingPlaceFeedApi;

#[OpenApi(tag = "ApiTags::MeetingPlaces")]
impl MeetingPlaceFeedApi {
    /// Calendar feed of meeting places
    ///
    /// An iCalendar (RFC 5545) feed of the meeting places that have not ended, for calendar
    /// subscriptions; cancelled ones carry `STATUS:CANCELLED`. Each has a stable `UID`.
    #[oai(
        path = "/meeting-places.ics",
        method = "get",
        operation_id = "meeting_places_calendar"
    )]
    async fn calendar(
        &self,
        state: poem::web::Data<&AppState>,
        /// Only meeting places serving this county, e.g. `03`.
        county: Query<Option<KnownCountyParam>>,
    ) -> Result<CalendarResponse, Failure<{ E400 | E422 }>> {
        let county = value(county.0);
        let places = store::upcoming(state.db.conn(), county.as_deref(), Utc::now()).await?;
        Ok(CalendarResponse::Ok(PlainText(ics::meeting_places_feed(
            &places,
        )?)))
    }
}
