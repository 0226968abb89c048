//! The wire types of opening hours, exceptions, schedules and holidays, and the conversions
//! of their stored rows.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc, Weekday as ChronoWeekday};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::{location, opening_exception, opening_rule};

use super::super::holidays::Holiday as HolidayDate;
use super::super::model::ServiceMode;
use super::super::schedule::{self, ClosedReason, DayPlan, Interval, ScheduledDay, Status};
use crate::common::text::Text;
use crate::common::values::TimeOfDay;
use crate::http::error::ApiError;

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

impl From<Weekday> for ChronoWeekday {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Monday => Self::Mon,
            Weekday::Tuesday => Self::Tue,
            Weekday::Wednesday => Self::Wed,
            Weekday::Thursday => Self::Thu,
            Weekday::Friday => Self::Fri,
            Weekday::Saturday => Self::Sat,
            Weekday::Sunday => Self::Sun,
        }
    }
}

impl From<ChronoWeekday> for Weekday {
    fn from(day: ChronoWeekday) -> Self {
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

/// The `(opens, closes, mode)` intervals of a day with other hours.
pub type DayHours = Vec<(NaiveTime, NaiveTime, ServiceMode)>;

/// `HH:MM`.
pub fn time_text(t: NaiveTime) -> String {
    TimeOfDay(t).to_string()
}

/// A stored weekday, 1 (Monday) to 7 (Sunday).
pub fn stored_weekday(number: i16) -> Result<ChronoWeekday, ApiError> {
    u8::try_from(number - 1)
        .ok()
        .and_then(|n| ChronoWeekday::try_from(n).ok())
        .ok_or_else(|| {
            tracing::error!(number, "a stored weekday is not 1 to 7");
            ApiError::Internal
        })
}

/// An interval of an exception's hours as its JSON column holds it.
#[derive(Serialize, Deserialize)]
struct StoredHours {
    opens: String,
    closes: String,
    service_mode: String,
}

/// The JSON column of an exception's hours.
pub fn encode_hours(hours: &[(NaiveTime, NaiveTime, ServiceMode)]) -> String {
    let stored: Vec<StoredHours> = hours
        .iter()
        .map(|(opens, closes, mode)| StoredHours {
            opens: time_text(*opens),
            closes: time_text(*closes),
            service_mode: mode.as_str().to_string(),
        })
        .collect();
    serde_json::to_string(&stored).expect("hours serialise")
}

fn unreadable_hours(column: &str, problem: &str) -> ApiError {
    tracing::error!(column, problem, "stored exception hours are unreadable");
    ApiError::Internal
}

/// The hours of an exception read back from its JSON column.
pub fn decode_hours(column: &str) -> Result<DayHours, ApiError> {
    let stored: Vec<StoredHours> =
        serde_json::from_str(column).map_err(|e| unreadable_hours(column, &e.to_string()))?;
    stored
        .into_iter()
        .map(|h| {
            let time = |t: &str| TimeOfDay::parse(t).map_err(|e| unreadable_hours(column, &e));
            let mode = ServiceMode::from_stored(&h.service_mode)?;
            Ok((time(&h.opens)?.0, time(&h.closes)?.0, mode))
        })
        .collect()
}

impl TryFrom<opening_rule::Model> for OpeningRule {
    type Error = ApiError;

    fn try_from(r: opening_rule::Model) -> Result<Self, ApiError> {
        Ok(Self {
            weekday: stored_weekday(r.weekday)?.into(),
            opens: time_text(r.opens),
            closes: time_text(r.closes),
            service_mode: ServiceMode::from_stored(&r.service_mode)?,
            valid_from: r.valid_from,
            valid_to: r.valid_to,
            note: r.note,
        })
    }
}

impl OpeningHours {
    /// A location's weekly hours from its row and its rules in their stored order.
    pub fn new(
        location: &location::Model,
        rules: Vec<opening_rule::Model>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            location_id: location.id,
            opens_on_holidays: location.opens_on_holidays,
            rules: rules
                .into_iter()
                .map(OpeningRule::try_from)
                .collect::<Result<_, _>>()?,
            version: location.version,
        })
    }
}

impl TryFrom<opening_exception::Model> for OpeningException {
    type Error = ApiError;

    fn try_from(row: opening_exception::Model) -> Result<Self, ApiError> {
        let hours = decode_hours(&row.hours)?
            .into_iter()
            .map(|(opens, closes, service_mode)| Hours {
                opens: time_text(opens),
                closes: time_text(closes),
                service_mode,
            })
            .collect();
        Ok(Self {
            id: row.id,
            location_id: row.location_id,
            date: row.date,
            closed: row.closed,
            hours,
            note: row.note,
            created_at: row.created_at,
        })
    }
}

impl ScheduledInterval {
    /// An interval of `date` as instants with that day's offset.
    pub fn new(date: NaiveDate, interval: &Interval) -> Self {
        let (opens_at, closes_at) = schedule::to_instants(date, interval);
        Self {
            opens_at,
            closes_at,
            service_mode: interval.service_mode,
            note: interval.note.clone(),
        }
    }
}

impl From<ClosedReason> for DayClosed {
    fn from(reason: ClosedReason) -> Self {
        let (kind, reason) = match reason {
            ClosedReason::Holiday(h) => (
                ClosedKind::PublicHoliday,
                format!("{} ({})", h.name_nb, h.name_en),
            ),
            ClosedReason::Exception(note) => (
                ClosedKind::Exception,
                note.unwrap_or_else(|| "closed".into()),
            ),
            ClosedReason::NoHours => (ClosedKind::NoOpeningHours, "no opening hours".into()),
        };
        Self { kind, reason }
    }
}

impl From<ScheduledDay> for ScheduleDay {
    fn from(day: ScheduledDay) -> Self {
        let date = day.date;
        match day.plan {
            DayPlan::Open(intervals) => Self {
                date,
                open: true,
                intervals: intervals
                    .iter()
                    .map(|i| ScheduledInterval::new(date, i))
                    .collect(),
                closed: None,
            },
            DayPlan::Closed(reason) => Self {
                date,
                open: false,
                intervals: Vec::new(),
                closed: Some(reason.into()),
            },
        }
    }
}

impl Schedule {
    pub fn new(location_id: Uuid, from: NaiveDate, to: NaiveDate, days: Vec<ScheduledDay>) -> Self {
        Self {
            location_id,
            time_zone: "Europe/Oslo".into(),
            from,
            to,
            days: days.into_iter().map(ScheduleDay::from).collect(),
        }
    }
}

impl OpenStatus {
    pub fn new(location_id: Uuid, at: DateTime<Utc>, status: Status) -> Self {
        Self {
            location_id,
            at,
            open: status.open,
            current_interval: status
                .current
                .map(|(date, interval)| ScheduledInterval::new(date, &interval)),
            next_change_at: status.next_change_at,
        }
    }
}

impl From<HolidayDate> for Holiday {
    fn from(h: HolidayDate) -> Self {
        Self {
            date: h.date,
            key: h.key.to_string(),
            name_nb: h.name_nb.to_string(),
            name_en: h.name_en.to_string(),
        }
    }
}
