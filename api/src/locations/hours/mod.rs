//! Opening hours: weekly rules, dated exceptions, the expanded schedule, open-or-not at an
//! instant, and the Norwegian public holidays that close locations.

pub mod model;
pub mod rules;
pub mod store;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;

use super::rules::not_found;
use super::{holidays, schedule, store as locations};
use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    ExceptionCreatedResponse, ExceptionDeletedResponse, ExceptionListResponse, HolidayList,
    HolidaysResponse, NewOpeningException, OpenStatus, OpeningHoursInput, OpeningHoursReplaced,
    OpeningHoursResponse, Schedule, ScheduleResponse, StatusResponse,
};
use uuid::Uuid;

#[derive(Default)]
pub struct OpeningHoursApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::OpeningHours")]
impl OpeningHoursApi {
    /// Get the weekly opening hours
    ///
    /// Anyone. The weekly rules as wall-clock times in Europe/Oslo; the `ETag` is the
    /// location's version, to send back in `If-Match` when replacing them.
    #[oai(
        path = "/locations/:id/opening-hours",
        method = "get",
        operation_id = "get_opening_hours"
    )]
    async fn get_hours(
        &self,
        state: poem::web::Data<&AppState>,
        /// The location's id (a UUID).
        id: Path<Uuid>,
    ) -> Result<OpeningHoursResponse, Failure<{ E400 | E404 }>> {
        let location = locations::find_model(state.db.conn(), id.0).await?;
        let hours = store::weekly_hours(state.db.conn(), &location).await?;
        let tag = etag(location.version);
        Ok(OpeningHoursResponse::Ok(Json(hours), tag))
    }

    /// Replace the weekly opening hours
    ///
    /// Replaces all weekly rules at once. Overlapping or inverted intervals on the same day
    /// and service mode are refused with 422 naming the rule. Send `If-Match` with the
    /// location's ETag.
    #[oai(
        path = "/locations/:id/opening-hours",
        method = "put",
        operation_id = "replace_opening_hours"
    )]
    async fn replace_hours(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        /// The location's ETag, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<OpeningHoursInput>,
    ) -> Result<OpeningHoursReplaced, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>> {
        let id = id.0;
        let tx = state.db.begin_write().await?;
        let current = locations::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &current.municipality_number)?;
        let rules = rules::checked_rules(&body.0.rules)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let opens_on_holidays = body.0.opens_on_holidays;
        let hours =
            store::replace_weekly_hours(&tx, &auth.0, &current, opens_on_holidays, &rules).await?;
        tx.commit().await?;
        let tag = etag(hours.version);
        Ok(OpeningHoursReplaced::Ok(Json(hours), tag))
    }

    /// List the dated exceptions
    ///
    /// Anyone. Days the location is closed or keeps other hours, oldest first, optionally
    /// between `from` and `to`.
    #[oai(
        path = "/locations/:id/exceptions",
        method = "get",
        operation_id = "list_opening_exceptions"
    )]
    async fn list_exceptions(
        &self,
        state: poem::web::Data<&AppState>,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        /// Only exceptions on or after this date.
        from: Query<Option<NaiveDate>>,
        /// Only exceptions on or before this date.
        to: Query<Option<NaiveDate>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<ExceptionListResponse, Failure<{ E400 | E404 }>> {
        let id = id.0;
        locations::find_model(state.db.conn(), id).await?;
        let page = PageRequest::<NaiveDate>::new(limit.0, cursor.0.as_deref())?;
        let found = store::exceptions_page(state.db.conn(), id, (from.0, to.0), &page).await?;
        Ok(ExceptionListResponse::Ok(Json(found.into())))
    }

    /// Add a dated exception
    ///
    /// Closed all day, or other hours that day; it overrides the weekly hours and a public
    /// holiday. One exception per date (409 for a second).
    #[oai(
        path = "/locations/:id/exceptions",
        method = "post",
        operation_id = "create_opening_exception"
    )]
    async fn create_exception(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        body: Json<NewOpeningException>,
        /// A key of your choice; a retry with the same key and body returns the first
        /// response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<ExceptionCreatedResponse, Failure<{ E400 | AUTH | E404 | E409 | E422 }>> {
        let id = id.0;
        let checked = rules::checked_exception(&body.0, rules::oslo_today())?;
        let location = locations::find_model(state.db.conn(), id).await?;
        policy::manage_location(&auth.0, &location.municipality_number)?;
        let caller = &auth.0;
        let created = idempotency::create_once(
            &state.db,
            caller,
            // One key at two locations is two requests.
            &format!("create_opening_exception {id}"),
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| store::insert_exception(tx, caller, id, &checked).await,
        )
        .await?;
        let path = format!("/api/v1/locations/{id}/exceptions/{}", created.id);
        Ok(ExceptionCreatedResponse::Created(Json(created), path))
    }

    /// Delete a dated exception
    ///
    /// Exceptions never change once made, so no `If-Match` is needed.
    #[oai(
        path = "/locations/:id/exceptions/:exception_id",
        method = "delete",
        operation_id = "delete_opening_exception"
    )]
    async fn delete_exception(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        /// The exception's id (a UUID).
        exception_id: Path<Uuid>,
    ) -> Result<ExceptionDeletedResponse, Failure<{ E400 | AUTH | E404 }>> {
        let id = id.0;
        let exception_id = exception_id.0;
        let tx = state.db.begin_write().await?;
        let location = locations::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &location.municipality_number)?;
        let exception = store::find_exception(&tx, id, exception_id)
            .await?
            .ok_or_else(|| not_found("exception", &exception_id.to_string()))?;
        store::delete_exception(&tx, &auth.0, &location, &exception).await?;
        tx.commit().await?;
        Ok(ExceptionDeletedResponse::Deleted)
    }

    /// Get the schedule
    ///
    /// Weekly rules, seasons, exceptions and public holidays expanded into dated intervals
    /// in Europe/Oslo, across daylight-saving changes. At most 366 days; default the 31 days
    /// from today.
    #[oai(
        path = "/locations/:id/schedule",
        method = "get",
        operation_id = "get_schedule"
    )]
    async fn schedule(
        &self,
        state: poem::web::Data<&AppState>,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        /// The first date (default today in Oslo).
        from: Query<Option<NaiveDate>>,
        /// The last date, inclusive (default 30 days after `from`).
        to: Query<Option<NaiveDate>>,
    ) -> Result<ScheduleResponse, Failure<{ E400 | E404 | E422 }>> {
        let id = id.0;
        let (from, to) = rules::schedule_range(from.0, to.0, rules::oslo_today())?;
        let location = locations::find_model(state.db.conn(), id).await?;
        let stored = store::calendar_of(state.db.conn(), &location, (from, to)).await?;
        let days = schedule::schedule(&stored.calendar(), from, to);
        let expanded = Schedule::new(id, from, to, days);
        Ok(ScheduleResponse::Ok(Json(expanded)))
    }

    /// Is it open?
    ///
    /// Whether the location is open at an instant (default now), the interval it is open
    /// in, and when it next opens or closes.
    #[oai(
        path = "/locations/:id/status",
        method = "get",
        operation_id = "get_open_status"
    )]
    async fn status(
        &self,
        state: poem::web::Data<&AppState>,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        /// The instant to ask about (RFC 3339; default now).
        at: Query<Option<DateTime<Utc>>>,
    ) -> Result<StatusResponse, Failure<{ E400 | E404 }>> {
        let id = id.0;
        let at = at.0.unwrap_or_else(Utc::now);
        let location = locations::find_model(state.db.conn(), id).await?;
        let range = rules::status_range(at);
        let stored = store::calendar_of(state.db.conn(), &location, range).await?;
        let status = schedule::status_at(&stored.calendar(), at);
        Ok(StatusResponse::Ok(Json(OpenStatus::new(id, at, status))))
    }

    /// List public holidays
    ///
    /// The Norwegian public holidays of a year (with 1 and 17 May), which close locations
    /// unless they open on holidays or have an exception that day.
    #[oai(path = "/holidays", method = "get", operation_id = "list_holidays")]
    async fn holidays(
        &self,
        /// The year (default this year).
        #[oai(validator(minimum(value = "1900"), maximum(value = "2200")))]
        year: Query<Option<i32>>,
    ) -> Result<HolidaysResponse, Failure<E400>> {
        let year = year.0.unwrap_or_else(|| rules::oslo_today().year());
        let holidays = holidays::holidays(year)
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(HolidaysResponse::Ok(Json(HolidayList { year, holidays })))
    }
}
