//! The kontaktpunkt's business calendar and service-level targets: the hours in which KS
//! promises municipalities an answer, and how many business minutes each priority's first
//! response and resolution may take. Tickets count their clocks with them (see
//! [`super::sla`]).

pub mod business_time;
pub mod model;
pub mod rules;
pub mod store;

use poem_openapi::OpenApi;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;

use super::store as tickets;
use crate::auth::{BearerAuth, policy};
use crate::common::clock;
use crate::http::error::{AUTH, E400, E412, E422, E428, Failure};
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    ServiceCalendarInput, ServiceCalendarResponse, ServiceLevelsInput, ServiceLevelsResponse,
};
use store::Hold;

#[derive(Default)]
pub struct ServiceLevelsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Tickets")]
impl ServiceLevelsApi {
    /// Get the kontaktpunkt's business calendar
    ///
    /// KS and the ministry. The weekly business hours (Europe/Oslo wall-clock times),
    /// whether public holidays are worked, and the dated closures and other hours, in which
    /// tickets' service levels are counted. Until KS sets one: Monday to Friday
    /// 08:00–15:30, closed on Norwegian public holidays.
    #[oai(
        path = "/kontaktpunkt/calendar",
        method = "get",
        operation_id = "get_service_calendar"
    )]
    async fn get_calendar(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<ServiceCalendarResponse, Failure<{ E400 | AUTH }>> {
        policy::read_service_calendar(&auth.0)?;
        let (row, _) = store::rows(state.db.conn(), Hold::Read).await?;
        let calendar = store::calendar_view(&row)?;
        let tag = etag(calendar.version);
        Ok(ServiceCalendarResponse::Ok(Json(calendar), tag))
    }

    /// Replace the kontaktpunkt's business calendar
    ///
    /// KS. Replaces the whole calendar. Intervals of one weekday (or one dated day) may
    /// touch but not overlap; dates must exist and be listed once. The clocks of every
    /// open ticket move with it: the business time counted so far stays counted, and only
    /// the due times not yet reached move. Send `If-Match` with the calendar's ETag.
    #[oai(
        path = "/kontaktpunkt/calendar",
        method = "put",
        operation_id = "replace_service_calendar"
    )]
    async fn replace_calendar(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The calendar's ETag, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<ServiceCalendarInput>,
    ) -> Result<ServiceCalendarResponse, Failure<{ E400 | AUTH | E412 | E422 | E428 }>> {
        let caller = &auth.0;
        policy::manage_service_levels(caller)?;
        let valid = rules::checked_calendar(&body.0)?;
        let tx = state.db.begin_write().await?;
        let (current, targets) = store::rows(&tx, Hold::Calendar).await?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let before = store::settings_of(&current, &targets)?;
        let at = clock::now();
        store::replace_calendar(&tx, caller, &current, &valid, at).await?;
        let after = store::Settings {
            calendar: valid.calendar,
            targets: before.targets,
        };
        tickets::recount_clocks(&tx, &before, &after, at).await?;
        let (row, _) = store::rows(&tx, Hold::Calendar).await?;
        tx.commit().await?;
        let calendar = store::calendar_view(&row)?;
        let tag = etag(calendar.version);
        Ok(ServiceCalendarResponse::Ok(Json(calendar), tag))
    }

    /// Get the service-level targets
    ///
    /// KS and the ministry. Per priority, the business minutes (counted in the business
    /// calendar) within which KS first replies publicly and resolves a ticket; time a
    /// ticket waits on the municipality does not count towards the resolution. Until KS
    /// sets them: `high` 120 and 900, `normal` 450 and 2,250, `low` 900 and 4,500.
    #[oai(
        path = "/kontaktpunkt/service-levels",
        method = "get",
        operation_id = "get_service_levels"
    )]
    async fn get_service_levels(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<ServiceLevelsResponse, Failure<{ E400 | AUTH }>> {
        policy::read_service_levels(&auth.0)?;
        let (_, row) = store::rows(state.db.conn(), Hold::Read).await?;
        let levels = store::targets_view(&row);
        let tag = etag(levels.version);
        Ok(ServiceLevelsResponse::Ok(Json(levels), tag))
    }

    /// Replace the service-level targets
    ///
    /// KS. One entry for each priority, 1 to 60,000 business minutes each, the resolution
    /// no sooner than the first response. The clocks of every open ticket move with them:
    /// time counted stays counted, due times already reached stay, and one that a smaller
    /// target puts in the past falls due now. Send `If-Match` with the targets' ETag.
    #[oai(
        path = "/kontaktpunkt/service-levels",
        method = "put",
        operation_id = "replace_service_levels"
    )]
    async fn replace_service_levels(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The targets' ETag, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<ServiceLevelsInput>,
    ) -> Result<ServiceLevelsResponse, Failure<{ E400 | AUTH | E412 | E422 | E428 }>> {
        let caller = &auth.0;
        policy::manage_service_levels(caller)?;
        let table = rules::checked_targets(&body.0)?;
        let tx = state.db.begin_write().await?;
        let (calendar, current) = store::rows(&tx, Hold::Targets).await?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let before = store::settings_of(&calendar, &current)?;
        let at = clock::now();
        store::replace_targets(&tx, caller, &current, &table, at).await?;
        let after = store::Settings {
            calendar: before.calendar.clone(),
            targets: table,
        };
        tickets::recount_clocks(&tx, &before, &after, at).await?;
        let (_, row) = store::rows(&tx, Hold::Targets).await?;
        tx.commit().await?;
        let levels = store::targets_view(&row);
        let tag = etag(levels.version);
        Ok(ServiceLevelsResponse::Ok(Json(levels), tag))
    }
}
