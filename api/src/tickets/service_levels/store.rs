//! The stored business calendar and targets: one row each, read (and locked) by every
//! write that moves a ticket's clocks, so that a change of either is never half seen.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect, Set};
use serde::{Deserialize, Serialize};

use entity::{kontaktpunkt_calendar as calendar_row, kontaktpunkt_service_levels as targets_row};

use super::super::sla::Targets;
use super::business_time::{BusinessCalendar, Hours};
use super::model::{
    BusinessHours, BusinessInterval, DatedClosure, DatedHours, PriorityTargets, ServiceCalendar,
    ServiceLevels,
};
use super::rules::{PRIORITIES, TargetTable, ValidCalendar, weekday_name, weekday_named};
use crate::audit;
use crate::auth::Caller;
use crate::http::error::ApiError;
use crate::http::preconditions::update_versioned;

/// The id of the one row of each table.
const ROW: i32 = 1;

/// How a transaction holds the calendar and targets it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// A read: no lock.
    Read,
    /// A ticket write: shared on PostgreSQL, so ticket writes run side by side but wait
    /// for (and hold off) a change of either.
    Share,
    /// A change of the calendar: the calendar exclusively, the targets shared.
    Calendar,
    /// A change of the targets: the calendar shared, the targets exclusively.
    Targets,
}

/// The calendar and targets a ticket's clocks are counted with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub calendar: BusinessCalendar,
    pub targets: TargetTable,
}

/// The stored rows, read under `hold`, always the calendar first (one lock order for
/// every writer, so none waits on another in a circle).
pub async fn rows(
    conn: &impl ConnectionTrait,
    hold: Hold,
) -> Result<(calendar_row::Model, targets_row::Model), ApiError> {
    let mut cal = calendar_row::Entity::find_by_id(ROW);
    cal = match hold {
        Hold::Read => cal,
        Hold::Calendar => cal.lock_exclusive(),
        Hold::Share | Hold::Targets => cal.lock_shared(),
    };
    let cal = cal.one(conn).await?.ok_or(ApiError::Internal)?;
    let mut targets = targets_row::Entity::find_by_id(ROW);
    targets = match hold {
        Hold::Read => targets,
        Hold::Targets => targets.lock_exclusive(),
        Hold::Share | Hold::Calendar => targets.lock_shared(),
    };
    let targets = targets.one(conn).await?.ok_or(ApiError::Internal)?;
    Ok((cal, targets))
}

/// The settings in force, read under `hold`.
pub async fn settings(conn: &impl ConnectionTrait, hold: Hold) -> Result<Settings, ApiError> {
    let (cal, targets) = rows(conn, hold).await?;
    settings_of(&cal, &targets)
}

/// The settings the stored rows hold.
pub fn settings_of(
    cal: &calendar_row::Model,
    targets: &targets_row::Model,
) -> Result<Settings, ApiError> {
    Ok(Settings {
        calendar: valid_calendar(cal)?.calendar,
        targets: target_table(targets),
    })
}

#[derive(Serialize, Deserialize)]
struct StoredInterval {
    weekday: String,
    opens: String,
    closes: String,
}

#[derive(Serialize, Deserialize)]
struct StoredDay {
    date: NaiveDate,
    hours: Vec<(String, String)>,
    note: Option<String>,
}

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn stored_time(text: &str) -> Result<NaiveTime, ApiError> {
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| {
        tracing::error!(value = text, "a stored business time is not HH:MM");
        ApiError::Internal
    })
}

fn unreadable(e: serde_json::Error) -> ApiError {
    tracing::error!(error = %e, "the stored business calendar is not readable");
    ApiError::Internal
}

/// The stored calendar as checked values.
fn valid_calendar(row: &calendar_row::Model) -> Result<ValidCalendar, ApiError> {
    let weekly: Vec<StoredInterval> =
        serde_json::from_str(&row.weekly_hours).map_err(unreadable)?;
    let days: Vec<StoredDay> = serde_json::from_str(&row.dated_hours).map_err(unreadable)?;
    let mut calendar = BusinessCalendar {
        weekly: Default::default(),
        open_on_public_holidays: row.open_on_public_holidays,
        dated: BTreeMap::new(),
    };
    for interval in weekly {
        let day = weekday_named(&interval.weekday).ok_or(ApiError::Internal)?;
        let hours = (
            stored_time(&interval.opens)?,
            stored_time(&interval.closes)?,
        );
        calendar.weekly[day.num_days_from_monday() as usize].push(hours);
    }
    let mut notes = BTreeMap::new();
    for day in days {
        let hours = day
            .hours
            .iter()
            .map(|(o, c)| Ok((stored_time(o)?, stored_time(c)?)))
            .collect::<Result<Vec<Hours>, ApiError>>()?;
        calendar.dated.insert(day.date, hours);
        notes.extend(day.note.map(|n| (day.date, n)));
    }
    Ok(ValidCalendar { calendar, notes })
}

/// The calendar as the API shows it.
pub fn calendar_view(row: &calendar_row::Model) -> Result<ServiceCalendar, ApiError> {
    let valid = valid_calendar(row)?;
    let cal = &valid.calendar;
    let weekly_hours = cal
        .weekly
        .iter()
        .enumerate()
        .flat_map(|(i, day)| {
            let weekday = chrono::Weekday::try_from(i as u8).expect("a weekday index");
            day.iter().map(move |&(opens, closes)| BusinessInterval {
                weekday: weekday.into(),
                opens: hm(opens),
                closes: hm(closes),
            })
        })
        .collect();
    let note = |date: &NaiveDate| valid.notes.get(date).cloned();
    let closures = cal
        .dated
        .iter()
        .filter(|(_, hours)| hours.is_empty())
        .map(|(date, _)| DatedClosure {
            date: *date,
            note: note(date),
        })
        .collect();
    let other_hours = cal
        .dated
        .iter()
        .filter(|(_, hours)| !hours.is_empty())
        .map(|(date, hours)| DatedHours {
            date: *date,
            hours: hours
                .iter()
                .map(|&(opens, closes)| BusinessHours {
                    opens: hm(opens),
                    closes: hm(closes),
                })
                .collect(),
            note: note(date),
        })
        .collect();
    Ok(ServiceCalendar {
        weekly_hours,
        open_on_public_holidays: cal.open_on_public_holidays,
        closures,
        other_hours,
        version: row.version,
        updated_at: row.updated_at,
        updated_by: row.updated_by.clone(),
    })
}

fn target_table(row: &targets_row::Model) -> TargetTable {
    let targets = |first: i32, resolution: i32| Targets {
        first_response: TimeDelta::minutes(first.into()),
        resolution: TimeDelta::minutes(resolution.into()),
    };
    TargetTable([
        targets(row.low_first_response_minutes, row.low_resolution_minutes),
        targets(
            row.normal_first_response_minutes,
            row.normal_resolution_minutes,
        ),
        targets(row.high_first_response_minutes, row.high_resolution_minutes),
    ])
}

/// The targets as the API shows them.
pub fn targets_view(row: &targets_row::Model) -> ServiceLevels {
    let table = target_table(row);
    let minutes = |d: TimeDelta| i32::try_from(d.num_minutes()).unwrap_or(i32::MAX);
    ServiceLevels {
        targets: PRIORITIES
            .iter()
            .map(|&priority| {
                let t = table.of(priority);
                PriorityTargets {
                    priority,
                    first_response_minutes: minutes(t.first_response),
                    resolution_minutes: minutes(t.resolution),
                }
            })
            .collect(),
        version: row.version,
        updated_at: row.updated_at,
        updated_by: row.updated_by.clone(),
    }
}

/// Replaces the calendar of `current` (read, and locked, at its version) and audits it.
pub async fn replace_calendar(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &calendar_row::Model,
    valid: &ValidCalendar,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let cal = &valid.calendar;
    let weekly: Vec<StoredInterval> = cal
        .weekly
        .iter()
        .enumerate()
        .flat_map(|(i, day)| {
            let weekday = chrono::Weekday::try_from(i as u8).expect("a weekday index");
            day.iter().map(move |&(opens, closes)| StoredInterval {
                weekday: weekday_name(weekday).to_string(),
                opens: hm(opens),
                closes: hm(closes),
            })
        })
        .collect();
    let days: Vec<StoredDay> = cal
        .dated
        .iter()
        .map(|(date, hours)| StoredDay {
            date: *date,
            hours: hours.iter().map(|&(o, c)| (hm(o), hm(c))).collect(),
            note: valid.notes.get(date).cloned(),
        })
        .collect();
    let row = calendar_row::ActiveModel {
        weekly_hours: Set(serde_json::to_string(&weekly).map_err(unreadable)?),
        open_on_public_holidays: Set(cal.open_on_public_holidays),
        dated_hours: Set(serde_json::to_string(&days).map_err(unreadable)?),
        updated_at: Set(Some(at)),
        updated_by: Set(Some(caller.sub.clone())),
        ..Default::default()
    };
    let key = sea_orm::ColumnTrait::eq(&calendar_row::Column::Id, ROW);
    update_versioned(
        conn,
        row,
        key,
        calendar_row::Column::Version,
        current.version,
    )
    .await?;
    let closed = cal.dated.values().filter(|h| h.is_empty()).count();
    let summary = format!(
        "business calendar: {} weekly intervals, {closed} closed days, {} days with other hours",
        cal.weekly.iter().map(Vec::len).sum::<usize>(),
        cal.dated.len() - closed,
    );
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        audit::ResourceType::ServiceCalendar,
        "kontaktpunkt",
        summary,
    )
    .await?;
    Ok(())
}

/// Replaces the targets of `current` (read, and locked, at its version) and audits it.
pub async fn replace_targets(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &targets_row::Model,
    table: &TargetTable,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let minutes = |d: TimeDelta| Set(i32::try_from(d.num_minutes()).unwrap_or(i32::MAX));
    let [low, normal, high] = table.0;
    let row = targets_row::ActiveModel {
        low_first_response_minutes: minutes(low.first_response),
        low_resolution_minutes: minutes(low.resolution),
        normal_first_response_minutes: minutes(normal.first_response),
        normal_resolution_minutes: minutes(normal.resolution),
        high_first_response_minutes: minutes(high.first_response),
        high_resolution_minutes: minutes(high.resolution),
        updated_at: Set(Some(at)),
        updated_by: Set(Some(caller.sub.clone())),
        ..Default::default()
    };
    let key = sea_orm::ColumnTrait::eq(&targets_row::Column::Id, ROW);
    update_versioned(
        conn,
        row,
        key,
        targets_row::Column::Version,
        current.version,
    )
    .await?;
    let summary = PRIORITIES
        .iter()
        .map(|&p| {
            let t = table.of(p);
            format!(
                "{} {}/{} min",
                p.as_str(),
                t.first_response.num_minutes(),
                t.resolution.num_minutes()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        audit::ResourceType::ServiceLevels,
        "kontaktpunkt",
        format!("service levels: {summary}"),
    )
    .await?;
    Ok(())
}
