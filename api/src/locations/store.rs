//! Reading and writing locations and their languages, the location search, and which
//! municipalities have an offer.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Oslo;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use entity::{location, location_language, location_topic, municipality};

use super::hours::store::calendar_rows;
use super::model::{Location, LocationStatus, ServiceMode};
use super::rules::{LocationFields, not_found};
use super::schedule::{Calendar, is_open_at};
use super::search::{self, Cursor, Filters};
use crate::audit;
use crate::auth::Caller;
use crate::common::rows::replace_children;
use crate::http::error::ApiError;
use crate::http::pagination::{Page, PageRequest};
use crate::http::preconditions::{delete_versioned, update_versioned};

const RESOURCE: audit::ResourceType = audit::ResourceType::Location;

/// The audit entry of a change to a location, or to what its answer shows.
pub async fn record(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    action: audit::Action,
    id: Uuid,
    summary: String,
) -> Result<(), ApiError> {
    audit::record(conn, caller, action, RESOURCE, &id.to_string(), summary).await?;
    Ok(())
}

/// The one rule of what counts as an offer: a location that is active or temporarily
/// closed, selecting `column` of those locations.
fn offering(column: location::Column) -> SelectStatement {
    Query::select()
        .column(column)
        .from(location::Entity)
        .and_where(Expr::col(location::Column::Status).is_in([
            LocationStatus::Active.as_str(),
            LocationStatus::TemporarilyClosed.as_str(),
        ]))
        .to_owned()
}

/// The numbers of the municipalities that have an offer.
pub fn offering_municipalities() -> SelectStatement {
    offering(location::Column::MunicipalityNumber)
}

/// The ids of the locations that count as an offer.
pub fn offering_locations() -> SelectStatement {
    offering(location::Column::Id)
}

pub async fn find_model(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<location::Model, ApiError> {
    location::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found("location", &id.to_string()))
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Location, ApiError> {
    let model = find_model(conn, id).await?;
    Ok(assemble(conn, vec![(model, None)]).await?.remove(0))
}

/// The stored location as checked fields, to apply a change to.
pub async fn current_fields(
    conn: &impl ConnectionTrait,
    current: &location::Model,
) -> Result<LocationFields, ApiError> {
    let languages = languages_of(conn, &[current.id])
        .await?
        .remove(&current.id)
        .unwrap_or_default();
    LocationFields::from_stored(current, &languages)
}

/// Rows of `(location id, text)` gathered per location, in the order read.
fn grouped(rows: impl IntoIterator<Item = (Uuid, String)>) -> HashMap<Uuid, Vec<String>> {
    let mut grouped: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (id, text) in rows {
        grouped.entry(id).or_default().push(text);
    }
    grouped
}

/// The languages of each of the given locations, in code order.
pub async fn languages_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = location_language::Entity::find()
        .filter(location_language::Column::LocationId.is_in(ids.iter().copied()))
        .order_by_asc(location_language::Column::Code)
        .all(conn)
        .await?;
    Ok(grouped(rows.into_iter().map(|r| (r.location_id, r.code))))
}

/// The topic slugs of each of the given locations, in alphabetical order.
pub async fn topics_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = location_topic::Entity::find()
        .filter(location_topic::Column::LocationId.is_in(ids.iter().copied()))
        .order_by_asc(location_topic::Column::TopicSlug)
        .all(conn)
        .await?;
    Ok(grouped(
        rows.into_iter().map(|r| (r.location_id, r.topic_slug)),
    ))
}

/// Turns stored rows into wire locations, with their languages, topics and optional
/// distances: one query each for the whole page.
pub async fn assemble(
    conn: &impl ConnectionTrait,
    rows: Vec<(location::Model, Option<f64>)>,
) -> Result<Vec<Location>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|(m, _)| m.id).collect();
    let mut languages = languages_of(conn, &ids).await?;
    let mut topics = topics_of(conn, &ids).await?;
    rows.into_iter()
        .map(|(m, distance)| {
            let codes = languages.remove(&m.id).unwrap_or_default();
            let slugs = topics.remove(&m.id).unwrap_or_default();
            Ok(Location {
                topics: slugs,
                ..Location::from_row(m, codes, distance)?
            })
        })
        .collect()
}

fn columns(fields: &LocationFields, row: &mut location::ActiveModel) {
    row.municipality_number = Set(fields.municipality_number.to_string());
    row.name = Set(fields.name.clone());
    row.search_text = Set(fields.search_text());
    row.search_ascii = Set(crate::common::text::fold(&fields.search_text()));
    row.host_type = Set(fields.host_type.as_str().to_string());
    row.street_address = Set(fields.address.street.clone());
    row.postal_code = Set(fields.address.postal_code.to_string());
    row.postal_place = Set(fields.address.postal_place.clone());
    row.latitude = Set(fields.coordinates.latitude);
    row.longitude = Set(fields.coordinates.longitude);
    row.phone = Set(fields.phone.as_ref().map(ToString::to_string));
    row.email = Set(fields.email.as_ref().map(ToString::to_string));
    row.website = Set(fields.website.as_ref().map(ToString::to_string));
    row.offers_drop_in = Set(fields.service_modes.contains(&ServiceMode::DropIn));
    row.offers_appointment = Set(fields.service_modes.contains(&ServiceMode::Appointment));
    row.accessibility = Set(fields
        .accessibility
        .iter()
        .map(|a| a.as_str())
        .collect::<Vec<_>>()
        .join(","));
    row.description = Set(fields.description.clone());
    row.status = Set(fields.status.as_str().to_string());
    row.alert = Set(fields.alert.clone());
    row.opens_on_holidays = Set(fields.opens_on_holidays);
    row.last_verified_at = Set(fields.last_verified_at);
}

/// The county of the location's municipality, stored with the location for search; a 422
/// when there is no such municipality.
async fn county_of(
    conn: &impl ConnectionTrait,
    fields: &LocationFields,
) -> Result<String, ApiError> {
    let number = fields.municipality_number.as_str();
    municipality::Entity::find_by_id(number)
        .one(conn)
        .await?
        .map(|m| m.county_number)
        .ok_or_else(|| {
            ApiError::invalid(
                "municipality_number",
                format!("there is no municipality {number}"),
            )
        })
}

/// Moves the locations of a municipality to its new county.
pub async fn set_county(
    conn: &impl ConnectionTrait,
    municipality_number: &str,
    county_number: &str,
) -> Result<(), ApiError> {
    location::Entity::update_many()
        .col_expr(location::Column::CountyNumber, Expr::value(county_number))
        .filter(location::Column::MunicipalityNumber.eq(municipality_number))
        .exec(conn)
        .await?;
    Ok(())
}

async fn replace_languages(
    conn: &impl ConnectionTrait,
    id: Uuid,
    fields: &LocationFields,
) -> Result<(), ApiError> {
    let rows = fields
        .languages
        .iter()
        .map(|code| location_language::ActiveModel {
            location_id: Set(id),
            code: Set(code.to_string()),
        });
    replace_children(conn, location_language::Column::LocationId.eq(id), rows).await?;
    Ok(())
}

/// Stores a new location with its audit entry; a 422 when its municipality does not exist.
pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    fields: &LocationFields,
) -> Result<Location, ApiError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let mut row = location::ActiveModel {
        id: Set(id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    columns(fields, &mut row);
    row.county_number = Set(county_of(conn, fields).await?);
    row.insert(conn).await?;
    replace_languages(conn, id, fields).await?;
    let summary = format!("created {}", fields.name);
    record(conn, caller, audit::Action::Create, id, summary).await?;
    find(conn, id).await
}

/// Writes the changed fields over the version read, with the audit entry naming what
/// changed; 412 when someone else changed it first.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &location::Model,
    fields: &LocationFields,
    changed: &[&str],
) -> Result<Location, ApiError> {
    let mut row = <location::ActiveModel as Default>::default();
    columns(fields, &mut row);
    row.county_number = Set(county_of(conn, fields).await?);
    write_versioned(conn, current.id, current.version, row).await?;
    replace_languages(conn, current.id, fields).await?;
    let summary = format!("changed {}", changed.join(", "));
    record(conn, caller, audit::Action::Update, current.id, summary).await?;
    find(conn, current.id).await
}

/// Removes the location; its opening hours, exceptions, languages and topics go with it.
pub async fn delete(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &location::Model,
) -> Result<(), ApiError> {
    delete_versioned::<location::Entity>(
        conn,
        location::Column::Id.eq(current.id),
        location::Column::Version,
        current.version,
    )
    .await?;
    let summary = format!("deleted {}", current.name);
    record(conn, caller, audit::Action::Delete, current.id, summary).await?;
    Ok(())
}

/// Raises the version (and `updated_at`) of a location from `version`, with any other
/// columns set in `row`: every change to a location or what its answer shows goes here.
pub async fn write_versioned(
    conn: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    mut row: location::ActiveModel,
) -> Result<(), ApiError> {
    row.updated_at = Set(Utc::now());
    let key = location::Column::Id.eq(id);
    update_versioned(conn, row, key, location::Column::Version, version).await
}

/// A page of the locations matching `filters`.
pub async fn search(
    conn: &impl ConnectionTrait,
    filters: &Filters,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<Location>, ApiError> {
    let page = PageRequest::<Cursor>::new(limit, cursor)?;
    let found = matching(conn, filters, page.after.clone(), page.fetch() as usize).await?;
    let rows = page.page::<_, (location::Model, Option<f64>)>(found, |(row, _)| {
        search::cursor_of(row, filters)
    });
    Ok(Page {
        items: assemble(conn, rows.items).await?,
        next_cursor: rows.next_cursor,
    })
}

/// Up to `wanted` matching rows after `after`, with their distances: read in batches, and
/// read on for the rows the full "open at" check drops.
async fn matching(
    conn: &impl ConnectionTrait,
    filters: &Filters,
    mut after: Option<Cursor>,
    wanted: usize,
) -> Result<Vec<(location::Model, Option<f64>)>, ApiError> {
    let batch = search::batch_size(filters, wanted);
    let mut found = Vec::new();
    loop {
        let rows = search::base_query(filters, after.as_ref())?
            .limit(batch as u64)
            .all(conn)
            .await?;
        let exhausted = rows.len() < batch;
        let open = match filters.open_at {
            Some(at) => open_at(conn, &rows, at).await?,
            None => Vec::new(),
        };
        for row in rows {
            after = Some(search::cursor_of(&row, filters));
            if filters.open_at.is_none() || open.contains(&row.id) {
                let distance = filters
                    .near
                    .map(|n| n.distance_km(row.latitude, row.longitude));
                found.push((row, distance));
                if found.len() == wanted {
                    return Ok(found);
                }
            }
        }
        if exhausted {
            return Ok(found);
        }
    }
}

/// Which of the candidate rows are open at `at`, by their full calendars.
async fn open_at(
    conn: &impl ConnectionTrait,
    rows: &[location::Model],
    at: DateTime<Utc>,
) -> Result<Vec<Uuid>, ApiError> {
    let date = at.with_timezone(&Oslo).date_naive();
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut calendars = calendar_rows(conn, &ids, date, date).await?;
    Ok(rows
        .iter()
        .filter(|row| {
            let (rules, exceptions) = calendars.remove(&row.id).unwrap_or_default();
            let calendar = Calendar {
                rules: &rules,
                exceptions: &exceptions,
                opens_on_holidays: row.opens_on_holidays,
            };
            is_open_at(&calendar, at)
        })
        .map(|row| row.id)
        .collect())
}
