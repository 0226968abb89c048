//! The wire types of the kontaktpunkt's business calendar and service-level targets.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object};

use super::super::model::TicketPriority;
use crate::common::optional::NotNull;
use crate::common::text::Text;
use crate::locations::hours::model::Weekday;

/// A weekly business interval, in Oslo wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct BusinessInterval {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub opens: String,
    /// `HH:MM`, after `opens` (an interval never crosses midnight).
    pub closes: String,
}

/// Business hours of one day, in Oslo wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct BusinessHours {
    /// `HH:MM`.
    pub opens: String,
    /// `HH:MM`, after `opens`.
    pub closes: String,
}

/// A day on which the kontaktpunkt is closed.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct DatedClosure {
    pub date: NaiveDate,
    #[oai(nullable)]
    pub note: Option<String>,
}

/// A day with other business hours than its weekday's (a public holiday included).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct DatedHours {
    pub date: NaiveDate,
    pub hours: Vec<BusinessHours>,
    #[oai(nullable)]
    pub note: Option<String>,
}

/// The hours in which the kontaktpunkt's service levels are counted.
#[derive(Debug, Clone, Object)]
pub struct ServiceCalendar {
    /// The weekly business intervals, by weekday and time.
    pub weekly_hours: Vec<BusinessInterval>,
    /// Whether Norwegian public holidays keep their weekday's hours; by default they are
    /// closed.
    pub open_on_public_holidays: bool,
    /// Days closed, by date.
    pub closures: Vec<DatedClosure>,
    /// Days with other hours, by date.
    pub other_hours: Vec<DatedHours>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    /// When KS last changed the calendar; `null` for the default calendar.
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Who last changed it.
    #[oai(nullable)]
    pub updated_by: Option<String>,
}

/// A weekly business interval as KS sends it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct BusinessIntervalInput {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub opens: Text,
    /// `HH:MM`, after `opens`.
    pub closes: Text,
}

/// Business hours of one day as KS sends them.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct BusinessHoursInput {
    /// `HH:MM`.
    pub opens: Text,
    /// `HH:MM`, after `opens`.
    pub closes: Text,
}

/// A closed day as KS sends it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct DatedClosureInput {
    /// `YYYY-MM-DD`, a date that exists, in the years 2000 to 2199.
    pub date: Text,
    /// At most 200 characters.
    #[oai(nullable)]
    pub note: Option<Text>,
}

/// A day with other hours as KS sends it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct DatedHoursInput {
    /// `YYYY-MM-DD`, a date that exists, in the years 2000 to 2199.
    pub date: Text,
    /// One to ten intervals that do not overlap.
    pub hours: Vec<BusinessHoursInput>,
    /// At most 200 characters.
    #[oai(nullable)]
    pub note: Option<Text>,
}

/// A whole business calendar, replacing the stored one.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct ServiceCalendarInput {
    /// One to 50 weekly intervals; intervals of one weekday may touch but not overlap.
    pub weekly_hours: Vec<BusinessIntervalInput>,
    /// Whether public holidays keep their weekday's hours (default `false`: closed).
    pub open_on_public_holidays: NotNull<bool>,
    /// At most 500 closed days (default none).
    pub closures: NotNull<Vec<DatedClosureInput>>,
    /// At most 500 days with other hours (default none); a date is listed once, here or in
    /// `closures`.
    pub other_hours: NotNull<Vec<DatedHoursInput>>,
}

impl Example for ServiceCalendarInput {
    fn example() -> Self {
        let interval = |weekday, opens: &str, closes: &str| BusinessIntervalInput {
            weekday,
            opens: Text(opens.into()),
            closes: Text(closes.into()),
        };
        Self {
            weekly_hours: vec![
                interval(Weekday::Monday, "08:00", "11:30"),
                interval(Weekday::Monday, "12:00", "15:30"),
                interval(Weekday::Tuesday, "08:00", "15:30"),
                interval(Weekday::Wednesday, "08:00", "15:30"),
                interval(Weekday::Thursday, "08:00", "15:30"),
                interval(Weekday::Friday, "08:00", "15:00"),
            ],
            open_on_public_holidays: NotNull(Some(false)),
            closures: NotNull(Some(vec![DatedClosureInput {
                date: Text("2026-12-24".into()),
                note: Some(Text("Julaften".into())),
            }])),
            other_hours: NotNull(Some(vec![DatedHoursInput {
                date: Text("2026-12-23".into()),
                hours: vec![BusinessHoursInput {
                    opens: Text("08:00".into()),
                    closes: Text("12:00".into()),
                }],
                note: Some(Text("Lille julaften".into())),
            }])),
        }
    }
}

/// The targets of one priority, in business minutes from a ticket's creation.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct PriorityTargets {
    pub priority: TicketPriority,
    /// The first public reply of KS within this many business minutes.
    pub first_response_minutes: i32,
    /// Resolved within this many business minutes (time waiting on the municipality not
    /// counted).
    pub resolution_minutes: i32,
}

/// The kontaktpunkt's service-level targets.
#[derive(Debug, Clone, Object)]
pub struct ServiceLevels {
    /// One entry per priority: `low`, `normal`, `high`.
    pub targets: Vec<PriorityTargets>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    /// When KS last changed them; `null` for the default targets.
    #[oai(nullable)]
    pub updated_at: Option<DateTime<Utc>>,
    #[oai(nullable)]
    pub updated_by: Option<String>,
}

/// The targets of one priority as KS sends them.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct PriorityTargetsInput {
    pub priority: TicketPriority,
    /// 1 to 60,000 business minutes.
    pub first_response_minutes: i64,
    /// 1 to 60,000 business minutes, at least `first_response_minutes`.
    pub resolution_minutes: i64,
}

/// Every priority's targets, replacing the stored ones.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct ServiceLevelsInput {
    /// Exactly one entry for each of `low`, `normal` and `high`.
    pub targets: Vec<PriorityTargetsInput>,
}

impl Example for ServiceLevelsInput {
    fn example() -> Self {
        let target = |priority, first_response_minutes, resolution_minutes| PriorityTargetsInput {
            priority,
            first_response_minutes,
            resolution_minutes,
        };
        Self {
            targets: vec![
                target(TicketPriority::Low, 900, 4500),
                target(TicketPriority::Normal, 450, 2250),
                target(TicketPriority::High, 120, 900),
            ],
        }
    }
}

#[derive(ApiResponse)]
pub enum ServiceCalendarResponse {
    /// The business calendar.
    #[oai(status = 200)]
    Ok(
        Json<ServiceCalendar>,
        /// The current version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum ServiceLevelsResponse {
    /// The targets.
    #[oai(status = 200)]
    Ok(
        Json<ServiceLevels>,
        /// The current version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}
