//! Opening hours: weekly rules, dated exceptions, the expanded schedule, open-or-not at an
//! instant, and the Norwegian public holidays that close locations.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Utc, Weekday as ChronoWeekday};
use chrono_tz::Europe::Oslo;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::{location, opening_exception, opening_rule};

use super::holidays::{self, Holiday as HolidayDate};
use super::model::ServiceMode;
use super::schedule::{
    self, Calendar, ClosedReason, DatedException, DayPlan, ExceptionKind, Interval, WeeklyRule,
};
use super::store;
use crate::audit;
use crate::auth::{BearerAuth, Caller, policy};
use crate::common::text::Text;
use crate::common::validation::Fields;
use crate::common::values::TimeOfDay;
use crate::http::error::{AUTH, ApiError, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;

/// The longest schedule one request may expand.
pub const MAX_SCHEDULE_DAYS: i64 = 366;
const MAX_RULES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    fn to_chrono(self) -> ChronoWeekday {
        match self {
            Self::Monday => ChronoWeekday::Mon,
            Self::Tuesday => ChronoWeekday::Tue,
            Self::Wednesday => ChronoWeekday::Wed,
            Self::Thursday => ChronoWeekday::Thu,
            Self::Friday => ChronoWeekday::Fri,
            Self::Saturday => ChronoWeekday::Sat,
            Self::Sunday => ChronoWeekday::Sun,
        }
    }

    fn from_chrono(day: ChronoWeekday) -> Self {
        match day {
            ChronoWeekday::Mon => Self::Monday,
            ChronoWeekday::Tue => Self::Tuesday,
            ChronoWeekday::Wed => Self::Wednesday,
            ChronoWeekday::Thu => Self::Thursday,
            ChronoWeekday::Fri => Self::Friday,
            ChronoWeekday::Sat => Self::Saturday,
            ChronoWeekday::Sun => Self::Sunday,
        }
    }
}

/// A weekly opening interval, in Oslo wall-clock time.
#[derive(Debug, Clone, Object)]
pub struct OpeningRule {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub opens: String,
    /// `HH:MM`, after `opens` (an interval never crosses midnight).
    pub closes: String,
    pub service_mode: ServiceMode,
    /// First day of the season the rule belongs to.
    #[oai(nullable)]
    pub valid_from: Option<NaiveDate>,
    /// Last day (inclusive) of the season.
    #[oai(nullable)]
    pub valid_to: Option<NaiveDate>,
    #[oai(nullable)]
    pub note: Option<String>,
}

/// A weekly opening interval as a client sends it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct OpeningRuleInput {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub opens: Text,
    /// `HH:MM`, after `opens`.
    pub closes: Text,
    pub service_mode: ServiceMode,
    #[oai(nullable)]
    pub valid_from: Option<NaiveDate>,
    #[oai(nullable)]
    pub valid_to: Option<NaiveDate>,
    /// At most 200 characters.
    #[oai(nullable)]
    pub note: Option<Text>,
}

/// A location's weekly opening hours.
#[derive(Debug, Clone, Object)]
pub struct OpeningHours {
    pub location_id: Uuid,
    /// Whether the location opens on public holidays; otherwise holidays close it.
    pub opens_on_holidays: bool,
    pub rules: Vec<OpeningRule>,
    /// The location's version: send it back as `If-Match` to replace the hours.
    pub version: i32,
}

/// The whole set of weekly rules, replacing the current one.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct OpeningHoursInput {
    pub opens_on_holidays: bool,
    /// At most 100 rules; several per day are allowed if they do not overlap for the same
    /// service mode.
    pub rules: Vec<OpeningRuleInput>,
}

impl Example for OpeningHoursInput {
    fn example() -> Self {
        let rule = |weekday, opens: &str, closes: &str, service_mode| OpeningRuleInput {
            weekday,
            opens: Text(opens.into()),
            closes: Text(closes.into()),
            service_mode,
            valid_from: None,
            valid_to: None,
            note: None,
        };
        Self {
            opens_on_holidays: false,
            rules: vec![
                rule(Weekday::Monday, "10:00", "12:00", ServiceMode::DropIn),
                rule(Weekday::Monday, "13:00", "15:00", ServiceMode::DropIn),
                rule(
                    Weekday::Thursday,
                    "12:00",
                    "18:00",
                    ServiceMode::Appointment,
                ),
            ],
        }
    }
}

/// Opening hours of a single day.
#[derive(Debug, Clone, Object)]
pub struct Hours {
    pub opens: String,
    pub closes: String,
    pub service_mode: ServiceMode,
}

/// Opening hours of a single day as a client sends them.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct HoursInput {
    /// `HH:MM`.
    pub opens: Text,
    /// `HH:MM`, after `opens`.
    pub closes: Text,
    pub service_mode: ServiceMode,
}

/// A dated exception to the weekly hours.
#[derive(Debug, Clone, Object)]
pub struct OpeningException {
    pub id: Uuid,
    pub location_id: Uuid,
    pub date: NaiveDate,
    /// Closed all day; otherwise `hours` replace the day's weekly hours.
    pub closed: bool,
    pub hours: Vec<Hours>,
    #[oai(nullable)]
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

crate::page_object!(OpeningExceptionPage, OpeningException);

/// A dated exception: closed all day (`closed: true`, no hours), or other hours that day.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewOpeningException {
    pub date: NaiveDate,
    pub closed: bool,
    #[oai(default)]
    pub hours: Vec<HoursInput>,
    /// Shown to the public, e.g. "Stengt på grunn av kurs". At most 200 characters.
    #[oai(nullable)]
    pub note: Option<Text>,
}

impl Example for NewOpeningException {
    fn example() -> Self {
        Self {
            date: NaiveDate::from_ymd_opt(2026, 12, 23).expect("a date"),
            closed: false,
            hours: vec![HoursInput {
                opens: Text("10:00".into()),
                closes: Text("13:00".into()),
                service_mode: ServiceMode::DropIn,
            }],
            note: Some(Text("Kortere åpningstid før jul".into())),
        }
    }
}

/// One opening interval on a date, as instants with the Europe/Oslo offset of that day.
#[derive(Debug, Clone, Object)]
pub struct ScheduledInterval {
    pub opens_at: DateTime<FixedOffset>,
    pub closes_at: DateTime<FixedOffset>,
    pub service_mode: ServiceMode,
    #[oai(nullable)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ClosedKind {
    PublicHoliday,
    Exception,
    NoOpeningHours,
}

/// Why a day is closed.
#[derive(Debug, Clone, Object)]
pub struct DayClosed {
    pub kind: ClosedKind,
    /// The holiday's name (Norwegian, then English) or the exception's note.
    pub reason: String,
}

#[derive(Debug, Clone, Object)]
pub struct ScheduleDay {
    pub date: NaiveDate,
    pub open: bool,
    pub intervals: Vec<ScheduledInterval>,
    /// Set when the day is closed.
    #[oai(nullable)]
    pub closed: Option<DayClosed>,
}

/// A location's opening hours expanded into dates.
#[derive(Debug, Clone, Object)]
pub struct Schedule {
    pub location_id: Uuid,
    /// Always `Europe/Oslo`.
    pub time_zone: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<ScheduleDay>,
}

/// Whether a location is open at an instant.
#[derive(Debug, Clone, Object)]
pub struct OpenStatus {
    pub location_id: Uuid,
    pub at: DateTime<Utc>,
    pub open: bool,
    /// The interval it is open in, if it is.
    #[oai(nullable)]
    pub current_interval: Option<ScheduledInterval>,
    /// When it next opens or closes, looking at most 14 days ahead; null if not within them.
    #[oai(nullable)]
    pub next_change_at: Option<DateTime<Utc>>,
}

/// A Norwegian public holiday.
#[derive(Debug, Clone, Object)]
pub struct Holiday {
    pub date: NaiveDate,
    /// A stable identifier, e.g. `easter_monday`.
    pub key: String,
    pub name_nb: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Object)]
pub struct HolidayList {
    pub year: i32,
    /// The holidays of the year in date order (at most 12, so not paged).
    pub holidays: Vec<Holiday>,
}

#[derive(ApiResponse)]
pub enum OpeningHoursResponse {
    /// The weekly opening hours.
    #[oai(status = 200)]
    Ok(Json<OpeningHours>, #[oai(header = "ETag")] String),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

/// The answer to a replacement: never a 304.
#[derive(ApiResponse)]
pub enum OpeningHoursReplaced {
    /// The weekly opening hours as replaced; the `ETag` is the location's new version.
    #[oai(status = 200)]
    Ok(Json<OpeningHours>, #[oai(header = "ETag")] String),
}

#[derive(ApiResponse)]
pub enum ExceptionListResponse {
    /// A page of exceptions, by date.
    #[oai(status = 200)]
    Ok(Json<OpeningExceptionPage>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum ExceptionCreatedResponse {
    /// The exception was added (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(Json<OpeningException>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum ExceptionDeletedResponse {
    /// The exception is gone; the weekly hours apply that day again.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum ScheduleResponse {
    /// The schedule.
    #[oai(status = 200)]
    Ok(Json<Schedule>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum StatusResponse {
    /// Open or not.
    #[oai(status = 200)]
    Ok(Json<OpenStatus>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum HolidaysResponse {
    /// The holidays.
    #[oai(status = 200)]
    Ok(Json<HolidayList>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

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
        id: Path<String>,
    ) -> Result<OpeningHoursResponse, Failure<{ E400 | E404 }>> {
        let location = store::find_model(state.db.conn(), store::parse_id(&id.0)?).await?;
        let hours = opening_hours(state.db.conn(), &location).await?;
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
        id: Path<String>,
        /// The location's ETag, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<OpeningHoursInput>,
    ) -> Result<OpeningHoursReplaced, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>> {
        let id = store::parse_id(&id.0)?;
        let rules = checked_rules(&body.0.rules)?;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &current.municipality_number)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        replace_rules(&tx, id, &rules).await?;
        store::bump(
            &tx,
            id,
            current.version,
            location::ActiveModel {
                opens_on_holidays: Set(body.0.opens_on_holidays),
                ..Default::default()
            },
        )
        .await?;
        let summary = format!("replaced opening hours: {} weekly rules", rules.len());
        audit::record(
            &tx,
            &auth.0,
            audit::Action::ReplaceOpeningHours,
            audit::ResourceType::Location,
            &id.to_string(),
            summary,
        )
        .await?;
        let updated = store::find_model(&tx, id).await?;
        let hours = opening_hours(&tx, &updated).await?;
        tx.commit().await?;
        Ok(OpeningHoursReplaced::Ok(Json(hours), etag(updated.version)))
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
        id: Path<String>,
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
        let id = store::parse_id(&id.0)?;
        store::find_model(state.db.conn(), id).await?;
        let page = PageRequest::<NaiveDate>::new(limit.0, cursor.0.as_deref())?;
        let mut query = opening_exception::Entity::find()
            .filter(opening_exception::Column::LocationId.eq(id))
            .order_by_asc(opening_exception::Column::Date);
        if let Some(from) = from.0 {
            query = query.filter(opening_exception::Column::Date.gte(from));
        }
        if let Some(to) = to.0 {
            query = query.filter(opening_exception::Column::Date.lte(to));
        }
        if let Some(after) = page.after {
            query = query.filter(opening_exception::Column::Date.gt(after));
        }
        let rows = query.limit(page.fetch()).all(state.db.conn()).await?;
        Ok(ExceptionListResponse::Ok(Json(
            page.page(rows, |r| r.date).into(),
        )))
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
        id: Path<String>,
        body: Json<NewOpeningException>,
        /// A key of your choice; a retry with the same key and body returns the first
        /// response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<ExceptionCreatedResponse, Failure<{ E400 | AUTH | E404 | E409 | E422 }>> {
        let id = store::parse_id(&id.0)?;
        let checked = checked_exception(&body.0)?;
        let location = store::find_model(state.db.conn(), id).await?;
        policy::manage_location(&auth.0, &location.municipality_number)?;
        let caller = &auth.0;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_opening_exception",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| insert_exception(tx, caller, id, &checked).await,
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
        id: Path<String>,
        /// The exception's id (a UUID).
        exception_id: Path<String>,
    ) -> Result<ExceptionDeletedResponse, Failure<{ E400 | AUTH | E404 }>> {
        let id = store::parse_id(&id.0)?;
        let missing = || ApiError::NotFound(format!("there is no exception {}", exception_id.0));
        let exception_id = Uuid::parse_str(&exception_id.0).map_err(|_| missing())?;
        let tx = state.db.begin_write().await?;
        let location = store::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &location.municipality_number)?;
        let exception = opening_exception::Entity::find_by_id(exception_id)
            .filter(opening_exception::Column::LocationId.eq(id))
            .one(&tx)
            .await?
            .ok_or_else(missing)?;
        opening_exception::Entity::delete_by_id(exception_id)
            .exec(&tx)
            .await?;
        let summary = format!(
            "removed the exception of {} at {}",
            exception.date, location.name
        );
        audit::record(
            &tx,
            &auth.0,
            audit::Action::Delete,
            audit::ResourceType::OpeningException,
            &exception_id.to_string(),
            summary,
        )
        .await?;
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
        id: Path<String>,
        /// The first date (default today in Oslo).
        from: Query<Option<NaiveDate>>,
        /// The last date, inclusive (default 30 days after `from`).
        to: Query<Option<NaiveDate>>,
    ) -> Result<ScheduleResponse, Failure<{ E400 | E404 | E422 }>> {
        let id = store::parse_id(&id.0)?;
        let from = from.0.unwrap_or_else(oslo_today);
        let to = to.0.unwrap_or_else(|| from + Days::new(30));
        if to < from {
            return Err(ApiError::invalid("to", "must not be before from").into());
        }
        if (to - from).num_days() >= MAX_SCHEDULE_DAYS {
            return Err(ApiError::invalid(
                "to",
                format!("a schedule spans at most {MAX_SCHEDULE_DAYS} days"),
            )
            .into());
        }
        let location = store::find_model(state.db.conn(), id).await?;
        let (rules, exceptions) = calendar_rows(state.db.conn(), &[id], from, to)
            .await?
            .remove(&id)
            .unwrap_or_default();
        let calendar = Calendar {
            rules: &rules,
            exceptions: &exceptions,
            opens_on_holidays: location.opens_on_holidays,
        };
        let days = schedule::schedule(&calendar, from, to)
            .into_iter()
            .map(|day| schedule_day(day.date, day.plan))
            .collect();
        Ok(ScheduleResponse::Ok(Json(Schedule {
            location_id: id,
            time_zone: "Europe/Oslo".into(),
            from,
            to,
            days,
        })))
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
        id: Path<String>,
        /// The instant to ask about (RFC 3339; default now).
        at: Query<Option<DateTime<Utc>>>,
    ) -> Result<StatusResponse, Failure<{ E400 | E404 }>> {
        let id = store::parse_id(&id.0)?;
        let at = at.0.unwrap_or_else(Utc::now);
        let location = store::find_model(state.db.conn(), id).await?;
        let today = at.with_timezone(&Oslo).date_naive();
        let until = today + Days::new(schedule::LOOKAHEAD_DAYS + 1);
        let (rules, exceptions) = calendar_rows(state.db.conn(), &[id], today, until)
            .await?
            .remove(&id)
            .unwrap_or_default();
        let calendar = Calendar {
            rules: &rules,
            exceptions: &exceptions,
            opens_on_holidays: location.opens_on_holidays,
        };
        let status = schedule::status_at(&calendar, at);
        Ok(StatusResponse::Ok(Json(OpenStatus {
            location_id: id,
            at,
            open: status.open,
            current_interval: status
                .current
                .map(|(date, interval)| scheduled(date, &interval)),
            next_change_at: status.next_change_at,
        })))
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
        let year = year.0.unwrap_or_else(|| oslo_today().year());
        let holidays = holidays::holidays(year)
            .into_iter()
            .map(|h| Holiday {
                date: h.date,
                key: h.key.to_string(),
                name_nb: h.name_nb.to_string(),
                name_en: h.name_en.to_string(),
            })
            .collect();
        Ok(HolidaysResponse::Ok(Json(HolidayList { year, holidays })))
    }
}

fn oslo_today() -> NaiveDate {
    Utc::now().with_timezone(&Oslo).date_naive()
}

fn describe_holiday(h: &HolidayDate) -> String {
    format!("{} ({})", h.name_nb, h.name_en)
}

fn scheduled(date: NaiveDate, interval: &Interval) -> ScheduledInterval {
    let (opens_at, closes_at) = schedule::to_instants(date, interval);
    ScheduledInterval {
        opens_at,
        closes_at,
        service_mode: interval.service_mode,
        note: interval.note.clone(),
    }
}

fn schedule_day(date: NaiveDate, plan: DayPlan) -> ScheduleDay {
    match plan {
        DayPlan::Open(intervals) => ScheduleDay {
            date,
            open: true,
            intervals: intervals.iter().map(|i| scheduled(date, i)).collect(),
            closed: None,
        },
        DayPlan::Closed(reason) => {
            let (kind, reason) = match reason {
                ClosedReason::Holiday(h) => (ClosedKind::PublicHoliday, describe_holiday(&h)),
                ClosedReason::Exception(note) => (
                    ClosedKind::Exception,
                    note.unwrap_or_else(|| "closed".into()),
                ),
                ClosedReason::NoHours => (ClosedKind::NoOpeningHours, "no opening hours".into()),
            };
            ScheduleDay {
                date,
                open: false,
                intervals: Vec::new(),
                closed: Some(DayClosed { kind, reason }),
            }
        }
    }
}

fn time_text(t: chrono::NaiveTime) -> String {
    TimeOfDay(t).to_string()
}

async fn opening_hours(
    conn: &impl ConnectionTrait,
    location: &location::Model,
) -> Result<OpeningHours, ApiError> {
    let rules = opening_rule::Entity::find()
        .filter(opening_rule::Column::LocationId.eq(location.id))
        .order_by_asc(opening_rule::Column::Position)
        .all(conn)
        .await?;
    Ok(OpeningHours {
        location_id: location.id,
        opens_on_holidays: location.opens_on_holidays,
        rules: rules
            .into_iter()
            .map(|r| OpeningRule {
                weekday: Weekday::from_chrono(weekday_of(r.weekday)),
                opens: time_text(r.opens),
                closes: time_text(r.closes),
                service_mode: ServiceMode::from_name(&r.service_mode)
                    .unwrap_or(ServiceMode::DropIn),
                valid_from: r.valid_from,
                valid_to: r.valid_to,
                note: r.note,
            })
            .collect(),
        version: location.version,
    })
}

fn weekday_of(number: i16) -> ChronoWeekday {
    ChronoWeekday::try_from(u8::try_from(number - 1).unwrap_or(0)).unwrap_or(ChronoWeekday::Mon)
}

fn bounded_note(field: &str, f: &mut Fields, note: Option<&Text>) -> Option<Option<String>> {
    f.check_optional(
        field,
        note.map(|n| {
            let n = n.trim();
            match n.chars().count() {
                0 => Err("must not be empty".to_string()),
                1..=200 => Ok(n.to_string()),
                _ => Err("must be at most 200 characters".to_string()),
            }
        }),
    )
}

/// Checks each rule's fields, then overlaps between rules; every problem names its rule.
fn checked_rules(input: &[OpeningRuleInput]) -> Result<Vec<WeeklyRule>, ApiError> {
    let mut f = Fields::default();
    if input.len() > MAX_RULES {
        f.add("rules", format!("at most {MAX_RULES} rules"));
    }
    let mut rules = Vec::new();
    for (i, rule) in input.iter().enumerate() {
        let opens = f.check(&format!("rules[{i}].opens"), TimeOfDay::parse(&rule.opens));
        let closes = f.check(
            &format!("rules[{i}].closes"),
            TimeOfDay::parse(&rule.closes),
        );
        let note = bounded_note(&format!("rules[{i}].note"), &mut f, rule.note.as_ref());
        if let (Some(from), Some(to)) = (rule.valid_from, rule.valid_to)
            && to < from
        {
            f.add(
                &format!("rules[{i}].valid_to"),
                "must not be before valid_from",
            );
        }
        if let (Some(opens), Some(closes), Some(note)) = (opens, closes, note) {
            rules.push(WeeklyRule {
                weekday: rule.weekday.to_chrono(),
                opens: opens.0,
                closes: closes.0,
                service_mode: rule.service_mode,
                valid_from: rule.valid_from,
                valid_to: rule.valid_to,
                note,
            });
        }
    }
    f.finish()?;
    let problems = schedule::validate_rules(&rules);
    if problems.is_empty() {
        Ok(rules)
    } else {
        let mut f = Fields::default();
        for problem in problems {
            f.add(&format!("rules[{}]", problem.index), problem.message);
        }
        f.finish().map(|_| rules)
    }
}

/// A new exception, checked.
struct CheckedException {
    date: NaiveDate,
    hours: Vec<(chrono::NaiveTime, chrono::NaiveTime, ServiceMode)>,
    note: Option<String>,
}

fn checked_exception(input: &NewOpeningException) -> Result<CheckedException, ApiError> {
    let mut f = Fields::default();
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    if input.date < earliest || input.date > oslo_today() + Days::new(5 * 366) {
        f.add("date", "must be from 2000 and at most five years ahead");
    }
    match (input.closed, input.hours.is_empty()) {
        (true, false) => f.add("hours", "a closed day has no hours"),
        (false, true) => f.add("hours", "give the day's hours, or closed: true"),
        _ => {}
    }
    let mut hours = Vec::new();
    for (i, h) in input.hours.iter().enumerate() {
        let opens = f.check(&format!("hours[{i}].opens"), TimeOfDay::parse(&h.opens));
        let closes = f.check(&format!("hours[{i}].closes"), TimeOfDay::parse(&h.closes));
        if let (Some(opens), Some(closes)) = (opens, closes) {
            hours.push((opens.0, closes.0, h.service_mode));
        }
    }
    let note = bounded_note("note", &mut f, input.note.as_ref());
    f.finish()?;
    let mut f = Fields::default();
    for problem in schedule::validate_exception_hours(&hours) {
        f.add(&format!("hours[{}]", problem.index), problem.message);
    }
    f.finish()?;
    Ok(CheckedException {
        date: input.date,
        hours,
        note: note.flatten(),
    })
}

#[derive(Serialize, Deserialize)]
struct StoredHours {
    opens: String,
    closes: String,
    service_mode: String,
}

async fn insert_exception(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    location_id: Uuid,
    checked: &CheckedException,
) -> Result<OpeningException, ApiError> {
    let stored: Vec<StoredHours> = checked
        .hours
        .iter()
        .map(|(opens, closes, mode)| StoredHours {
            opens: time_text(*opens),
            closes: time_text(*closes),
            service_mode: mode.as_str().to_string(),
        })
        .collect();
    let row = opening_exception::ActiveModel {
        id: Set(Uuid::now_v7()),
        location_id: Set(location_id),
        date: Set(checked.date),
        closed: Set(checked.hours.is_empty()),
        hours: Set(serde_json::to_string(&stored).expect("hours serialise")),
        note: Set(checked.note.clone()),
        created_at: Set(Utc::now()),
    };
    let row = row.insert(conn).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict(format!(
            "the location already has an exception on {}; delete it first",
            checked.date
        )),
        _ => e.into(),
    })?;
    let summary = format!(
        "{} on {}",
        if row.closed { "closed" } else { "other hours" },
        row.date
    );
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        audit::ResourceType::OpeningException,
        &row.id.to_string(),
        summary,
    )
    .await?;
    Ok(exception_from_row(row))
}

fn exception_hours(
    row: &opening_exception::Model,
) -> Vec<(chrono::NaiveTime, chrono::NaiveTime, ServiceMode)> {
    serde_json::from_str::<Vec<StoredHours>>(&row.hours)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|h| {
            Some((
                TimeOfDay::parse(&h.opens).ok()?.0,
                TimeOfDay::parse(&h.closes).ok()?.0,
                ServiceMode::from_name(&h.service_mode)?,
            ))
        })
        .collect()
}

fn exception_from_row(row: opening_exception::Model) -> OpeningException {
    let hours = exception_hours(&row)
        .into_iter()
        .map(|(opens, closes, service_mode)| Hours {
            opens: time_text(opens),
            closes: time_text(closes),
            service_mode,
        })
        .collect();
    OpeningException {
        id: row.id,
        location_id: row.location_id,
        date: row.date,
        closed: row.closed,
        hours,
        note: row.note,
        created_at: row.created_at,
    }
}

impl From<opening_exception::Model> for OpeningException {
    fn from(row: opening_exception::Model) -> Self {
        exception_from_row(row)
    }
}

async fn replace_rules(
    conn: &impl ConnectionTrait,
    location_id: Uuid,
    rules: &[WeeklyRule],
) -> Result<(), ApiError> {
    opening_rule::Entity::delete_many()
        .filter(opening_rule::Column::LocationId.eq(location_id))
        .exec(conn)
        .await?;
    if rules.is_empty() {
        return Ok(());
    }
    let rows = rules
        .iter()
        .enumerate()
        .map(|(position, rule)| opening_rule::ActiveModel {
            id: Set(Uuid::now_v7()),
            location_id: Set(location_id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            weekday: Set(rule.weekday.number_from_monday() as i16),
            opens: Set(rule.opens),
            closes: Set(rule.closes),
            service_mode: Set(rule.service_mode.as_str().to_string()),
            valid_from: Set(rule.valid_from),
            valid_to: Set(rule.valid_to),
            note: Set(rule.note.clone()),
        });
    opening_rule::Entity::insert_many(rows).exec(conn).await?;
    Ok(())
}

type CalendarRows = (Vec<WeeklyRule>, Vec<DatedException>);

/// The weekly rules and the exceptions between `from` and `to` of each location.
pub async fn calendar_rows(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<Uuid, CalendarRows>, ApiError> {
    let mut calendars: HashMap<Uuid, CalendarRows> = HashMap::new();
    if ids.is_empty() {
        return Ok(calendars);
    }
    let rules = opening_rule::Entity::find()
        .filter(opening_rule::Column::LocationId.is_in(ids.iter().copied()))
        .order_by_asc(opening_rule::Column::LocationId)
        .order_by_asc(opening_rule::Column::Position)
        .all(conn)
        .await?;
    for r in rules {
        calendars
            .entry(r.location_id)
            .or_default()
            .0
            .push(WeeklyRule {
                weekday: weekday_of(r.weekday),
                opens: r.opens,
                closes: r.closes,
                service_mode: ServiceMode::from_name(&r.service_mode)
                    .unwrap_or(ServiceMode::DropIn),
                valid_from: r.valid_from,
                valid_to: r.valid_to,
                note: r.note,
            });
    }
    let exceptions = opening_exception::Entity::find()
        .filter(opening_exception::Column::LocationId.is_in(ids.iter().copied()))
        .filter(Expr::col(opening_exception::Column::Date).between(from, to))
        .all(conn)
        .await?;
    for e in exceptions {
        let kind = if e.closed {
            ExceptionKind::Closed
        } else {
            ExceptionKind::OtherHours(exception_hours(&e))
        };
        calendars
            .entry(e.location_id)
            .or_default()
            .1
            .push(DatedException {
                date: e.date,
                kind,
                note: e.note,
            });
    }
    Ok(calendars)
}
