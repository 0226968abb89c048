//! Reading and writing locations and their languages.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use entity::{location, location_language, location_topic, municipality};

use super::model::{Location, LocationFields, ServiceMode};
use crate::http::error::ApiError;

pub fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no location {id}"))
}

/// Parses a location id from a path; anything else cannot name a location.
pub fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| not_found(id))
}

pub async fn find_model(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<location::Model, ApiError> {
    location::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))
}

/// The languages of each of the given locations, in code order.
pub async fn languages_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    let mut languages: HashMap<Uuid, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(languages);
    }
    let rows = location_language::Entity::find()
        .filter(location_language::Column::LocationId.is_in(ids.iter().copied()))
        .order_by_asc(location_language::Column::Code)
        .all(conn)
        .await?;
    for row in rows {
        languages.entry(row.location_id).or_default().push(row.code);
    }
    Ok(languages)
}

/// The topic slugs of each of the given locations, in alphabetical order.
pub async fn topics_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    let mut topics: HashMap<Uuid, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(topics);
    }
    let rows = location_topic::Entity::find()
        .filter(location_topic::Column::LocationId.is_in(ids.iter().copied()))
        .order_by_asc(location_topic::Column::TopicSlug)
        .all(conn)
        .await?;
    for row in rows {
        topics
            .entry(row.location_id)
            .or_default()
            .push(row.topic_slug);
    }
    Ok(topics)
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
    Ok(rows
        .into_iter()
        .map(|(m, distance)| {
            let codes = languages.remove(&m.id).unwrap_or_default();
            let mut location = Location::from_parts(m, codes, distance);
            location.topics = topics.remove(&location.id).unwrap_or_default();
            location
        })
        .collect())
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<Location, ApiError> {
    let model = find_model(conn, id).await?;
    Ok(assemble(conn, vec![(model, None)]).await?.remove(0))
}

fn columns(fields: &LocationFields, row: &mut location::ActiveModel) {
    row.municipality_number = Set(fields.municipality_number.to_string());
    row.name = Set(fields.name.clone());
    row.search_text = Set(fields.search_text());
    row.host_type = Set(fields.host_type.as_str().to_string());
    row.street_address = Set(fields.street.clone());
    row.postal_code = Set(fields.postal_code.to_string());
    row.postal_place = Set(fields.postal_place.clone());
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

/// The county of the location's municipality, stored with the location for search.
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
        .col_expr(
            location::Column::CountyNumber,
            sea_orm::sea_query::Expr::value(county_number),
        )
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
    location_language::Entity::delete_many()
        .filter(location_language::Column::LocationId.eq(id))
        .exec(conn)
        .await?;
    if !fields.languages.is_empty() {
        location_language::Entity::insert_many(fields.languages.iter().map(|code| {
            location_language::ActiveModel {
                location_id: Set(id),
                code: Set(code.to_string()),
            }
        }))
        .exec(conn)
        .await?;
    }
    Ok(())
}

pub async fn insert(
    conn: &impl ConnectionTrait,
    fields: &LocationFields,
) -> Result<Uuid, ApiError> {
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
    Ok(id)
}

/// Writes new fields over version `version`; 412 when someone else changed it first.
pub async fn update(
    conn: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    fields: &LocationFields,
) -> Result<(), ApiError> {
    let mut row = <location::ActiveModel as Default>::default();
    columns(fields, &mut row);
    row.county_number = Set(county_of(conn, fields).await?);
    bump(conn, id, version, row).await?;
    replace_languages(conn, id, fields).await
}

/// Raises the version (and `updated_at`) of a location from `version`, with any other
/// columns set in `row`; the version in the WHERE clause makes the check atomic.
pub async fn bump(
    conn: &impl ConnectionTrait,
    id: Uuid,
    version: i32,
    mut row: location::ActiveModel,
) -> Result<(), ApiError> {
    row.version = Set(version + 1);
    row.updated_at = Set(Utc::now());
    let result = location::Entity::update_many()
        .set(row)
        .filter(location::Column::Id.eq(id))
        .filter(location::Column::Version.eq(version))
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        Ok(())
    } else {
        Err(ApiError::PreconditionFailed {
            current_version: version + 1,
        })
    }
}
