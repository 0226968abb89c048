//! Reading and writing weekly opening rules and dated exceptions, and the calendars the
//! schedule engine expands.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use uuid::Uuid;

use entity::{location, opening_exception, opening_rule};

use super::super::model::ServiceMode;
use super::super::schedule::{Calendar, DatedException, ExceptionKind, WeeklyRule};
use super::super::store::{find_model, record, write_versioned};
use super::model::{OpeningException, OpeningHours, decode_hours, encode_hours, stored_weekday};
use super::rules::CheckedException;
use crate::audit;
use crate::auth::Caller;
use crate::http::error::{ApiError, ProblemCode};
use crate::http::pagination::{Page, PageRequest};

/// A location's weekly opening hours.
pub async fn weekly_hours(
    conn: &impl ConnectionTrait,
    location: &location::Model,
) -> Result<OpeningHours, ApiError> {
    let rules = opening_rule::Entity::find()
        .filter(opening_rule::Column::LocationId.eq(location.id))
        .order_by_asc(opening_rule::Column::Position)
        .all(conn)
        .await?;
    OpeningHours::new(location, rules)
}

/// Replaces the weekly rules and whether holidays close the location, over the version
/// read (412 when someone else changed it first), with the audit entry.
pub async fn replace_weekly_hours(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &location::Model,
    opens_on_holidays: bool,
    rules: &[WeeklyRule],
) -> Result<OpeningHours, ApiError> {
    let id = current.id;
    let row = location::ActiveModel {
        opens_on_holidays: Set(opens_on_holidays),
        ..Default::default()
    };
    write_versioned(conn, id, current.version, row).await?;
    replace_rules(conn, id, rules).await?;
    let summary = format!("replaced opening hours: {} weekly rules", rules.len());
    record(
        conn,
        caller,
        audit::Action::ReplaceOpeningHours,
        id,
        summary,
    )
    .await?;
    weekly_hours(conn, &find_model(conn, id).await?).await
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

/// A page of a location's exceptions by date, optionally between `from` and `to`.
pub async fn exceptions_page(
    conn: &impl ConnectionTrait,
    location_id: Uuid,
    (from, to): (Option<NaiveDate>, Option<NaiveDate>),
    page: &PageRequest<NaiveDate>,
) -> Result<Page<OpeningException>, ApiError> {
    use opening_exception::Column;
    let mut query = opening_exception::Entity::find()
        .filter(Column::LocationId.eq(location_id))
        .order_by_asc(Column::Date);
    if let Some(from) = from {
        query = query.filter(Column::Date.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(Column::Date.lte(to));
    }
    if let Some(after) = page.after {
        query = query.filter(Column::Date.gt(after));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    let page: Page<opening_exception::Model> = page.page(rows, |r| r.date);
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(OpeningException::try_from)
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

/// The audit entry of a change to a dated exception.
async fn record_exception(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    action: audit::Action,
    id: Uuid,
    summary: String,
) -> Result<(), ApiError> {
    let resource = audit::ResourceType::OpeningException;
    audit::record(conn, caller, action, resource, &id.to_string(), summary).await?;
    Ok(())
}

/// Stores a new exception with its audit entry; 409 when the date already has one.
pub async fn insert_exception(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    location_id: Uuid,
    checked: &CheckedException,
) -> Result<OpeningException, ApiError> {
    let row = opening_exception::ActiveModel {
        id: Set(Uuid::now_v7()),
        location_id: Set(location_id),
        date: Set(checked.date),
        closed: Set(checked.hours.is_empty()),
        hours: Set(encode_hours(&checked.hours)),
        note: Set(checked.note.clone()),
        created_at: Set(Utc::now()),
    };
    let row = row.insert(conn).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::Conflict(
            ProblemCode::AlreadyExists,
            format!(
                "the location already has an exception on {}; delete it first",
                checked.date
            ),
        ),
        _ => e.into(),
    })?;
    let kind = if row.closed { "closed" } else { "other hours" };
    let summary = format!("{kind} on {}", row.date);
    record_exception(conn, caller, audit::Action::Create, row.id, summary).await?;
    OpeningException::try_from(row)
}

/// The exception of this location with this id, if there is one.
pub async fn find_exception(
    conn: &impl ConnectionTrait,
    location_id: Uuid,
    exception_id: Uuid,
) -> Result<Option<opening_exception::Model>, ApiError> {
    Ok(opening_exception::Entity::find_by_id(exception_id)
        .filter(opening_exception::Column::LocationId.eq(location_id))
        .one(conn)
        .await?)
}

/// Removes an exception with its audit entry: the weekly hours apply that day again.
pub async fn delete_exception(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    location: &location::Model,
    exception: &opening_exception::Model,
) -> Result<(), ApiError> {
    opening_exception::Entity::delete_by_id(exception.id)
        .exec(conn)
        .await?;
    let summary = format!(
        "removed the exception of {} at {}",
        exception.date, location.name
    );
    record_exception(conn, caller, audit::Action::Delete, exception.id, summary).await?;
    Ok(())
}

/// The weekly rules of a location and its exceptions between two dates.
pub type CalendarRows = (Vec<WeeklyRule>, Vec<DatedException>);

/// Everything the schedule engine needs of one location, owned.
pub struct StoredCalendar {
    rules: Vec<WeeklyRule>,
    exceptions: Vec<DatedException>,
    opens_on_holidays: bool,
}

impl StoredCalendar {
    pub fn calendar(&self) -> Calendar<'_> {
        Calendar {
            rules: &self.rules,
            exceptions: &self.exceptions,
            opens_on_holidays: self.opens_on_holidays,
        }
    }
}

/// The calendar of one location with its exceptions from `from` to `to`.
pub async fn calendar_of(
    conn: &impl ConnectionTrait,
    location: &location::Model,
    (from, to): (NaiveDate, NaiveDate),
) -> Result<StoredCalendar, ApiError> {
    let (rules, exceptions) = calendar_rows(conn, &[location.id], from, to)
        .await?
        .remove(&location.id)
        .unwrap_or_default();
    Ok(StoredCalendar {
        rules,
        exceptions,
        opens_on_holidays: location.opens_on_holidays,
    })
}

fn weekly_rule(r: opening_rule::Model) -> Result<WeeklyRule, ApiError> {
    Ok(WeeklyRule {
        weekday: stored_weekday(r.weekday)?,
        opens: r.opens,
        closes: r.closes,
        service_mode: ServiceMode::from_stored(&r.service_mode)?,
        valid_from: r.valid_from,
        valid_to: r.valid_to,
        note: r.note,
    })
}

fn dated_exception(e: opening_exception::Model) -> Result<DatedException, ApiError> {
    let kind = if e.closed {
        ExceptionKind::Closed
    } else {
        ExceptionKind::OtherHours(decode_hours(&e.hours)?)
    };
    Ok(DatedException {
        date: e.date,
        kind,
        note: e.note,
    })
}

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
        let location_id = r.location_id;
        calendars
            .entry(location_id)
            .or_default()
            .0
            .push(weekly_rule(r)?);
    }
    let exceptions = opening_exception::Entity::find()
        .filter(opening_exception::Column::LocationId.is_in(ids.iter().copied()))
        .filter(Expr::col(opening_exception::Column::Date).between(from, to))
        .all(conn)
        .await?;
    for e in exceptions {
        let location_id = e.location_id;
        calendars
            .entry(location_id)
            .or_default()
            .1
            .push(dated_exception(e)?);
    }
    Ok(calendars)
}
