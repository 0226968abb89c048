//! Reading and writing meeting places. Each function takes `&impl ConnectionTrait`, so it
//! runs in the caller's transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use poem_openapi::types::MaybeUndefined;
use sea_orm::sea_query::{Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use entity::{meeting_place, meeting_place_county};

use super::model::{
    MeetingFormat, MeetingPlace, MeetingPlaceChanges, MeetingPlaceFields, MeetingPlaceStatus,
    meeting_place_tag, organisers_column,
};
use super::registrations;
use super::rules::Update;
use crate::audit;
use crate::auth::Caller;
use crate::common::rows::replace_children;
use crate::common::values::CountyNumber;
use crate::counties;
use crate::http::error::ApiError;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::update_versioned_if;

const RESOURCE: audit::ResourceType = audit::ResourceType::MeetingPlace;

/// The most events the calendar feed holds.
const FEED_LIMIT: u64 = 1000;

/// The filters of the list operation.
pub struct ListFilter {
    pub county: Option<String>,
    pub status: Option<MeetingPlaceStatus>,
    pub format: Option<MeetingFormat>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

pub fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("there is no meeting place {id}"))
}

/// The stored row of a meeting place; 404 when there is none.
pub async fn find_row(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<meeting_place::Model, ApiError> {
    meeting_place::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))
}

/// [`find_row`], and the row locked until the transaction ends (`SELECT ... FOR UPDATE` on
/// PostgreSQL; SQLite's write transactions are serialised already): every change of a
/// meeting place's registrations, and of its capacity, takes this first.
pub async fn find_row_locked(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<meeting_place::Model, ApiError> {
    meeting_place::Entity::find_by_id(id)
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))
}

/// The ETag readers see for the stored meeting place now.
pub async fn etag_of(
    conn: &impl ConnectionTrait,
    m: &meeting_place::Model,
) -> Result<String, ApiError> {
    let waiting = registrations::store::waiting_counts(conn, &[m.id]).await?;
    let waits = waiting.get(&m.id).copied().unwrap_or(0);
    let closed = m.registration_deadline <= Utc::now() && waits > 0;
    Ok(meeting_place_tag(m.version, closed))
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<MeetingPlace, ApiError> {
    let found = find_row(conn, id).await?;
    Ok(with_counties(conn, vec![found]).await?.remove(0))
}

/// The stored meeting place as checked fields, to apply an update to.
pub async fn fields_of(
    conn: &impl ConnectionTrait,
    m: &meeting_place::Model,
) -> Result<MeetingPlaceFields, ApiError> {
    let counties = counties_of(conn, &[m.id]).await?.remove(&m.id);
    MeetingPlaceFields::from_stored(m, counties.unwrap_or_default())
}

/// The condition "serves this county", after checking that the county exists.
async fn serving_county(conn: &impl ConnectionTrait, county: &str) -> Result<SimpleExpr, ApiError> {
    let county = CountyNumber::parse(county).map_err(|m| ApiError::invalid("county", m))?;
    if !counties::store::exists(conn, county.as_str()).await? {
        return Err(ApiError::invalid(
            "county",
            format!("there is no county {county}"),
        ));
    }
    Ok(meeting_place::Column::Id.in_subquery(
        Query::select()
            .column(meeting_place_county::Column::MeetingPlaceId)
            .from(meeting_place_county::Entity)
            .and_where(meeting_place_county::Column::CountyNumber.eq(county.into_inner()))
            .to_owned(),
    ))
}

/// The counties each meeting place serves, sorted.
async fn counties_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    let mut counties: HashMap<Uuid, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(counties);
    }
    let rows = meeting_place_county::Entity::find()
        .filter(meeting_place_county::Column::MeetingPlaceId.is_in(ids.iter().copied()))
        .order_by_asc(meeting_place_county::Column::CountyNumber)
        .all(conn)
        .await?;
    for row in rows {
        counties
            .entry(row.meeting_place_id)
            .or_default()
            .push(row.county_number);
    }
    Ok(counties)
}

async fn with_counties(
    conn: &impl ConnectionTrait,
    rows: Vec<meeting_place::Model>,
) -> Result<Vec<MeetingPlace>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let mut counties = counties_of(conn, &ids).await?;
    let waiting = registrations::store::waiting_counts(conn, &ids).await?;
    let now = Utc::now();
    rows.into_iter()
        .map(|m| {
            let served = counties.remove(&m.id).unwrap_or_default();
            let waits = waiting.get(&m.id).copied().unwrap_or(0);
            let passed = m.registration_deadline <= now;
            MeetingPlace::from_stored(m, served, waits, passed)
        })
        .collect()
}

pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &ListFilter,
    page: &PageRequest<(DateTime<Utc>, Uuid)>,
) -> Result<Vec<MeetingPlace>, ApiError> {
    let mut query = meeting_place::Entity::find()
        .order_by_asc(meeting_place::Column::StartsAt)
        .order_by_asc(meeting_place::Column::Id);
    if let Some(county) = &filter.county {
        query = query.filter(serving_county(conn, county).await?);
    }
    if let Some(status) = filter.status {
        query = query.filter(meeting_place::Column::Status.eq(status.as_str()));
    }
    if let Some(format) = filter.format {
        query = query.filter(meeting_place::Column::Format.eq(format.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(meeting_place::Column::StartsAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(meeting_place::Column::StartsAt.lt(to));
    }
    if let Some((starts_at, id)) = page.after {
        query = query.filter(
            Condition::any()
                .add(meeting_place::Column::StartsAt.gt(starts_at))
                .add(
                    Condition::all()
                        .add(meeting_place::Column::StartsAt.eq(starts_at))
                        .add(meeting_place::Column::Id.gt(id)),
                ),
        );
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    with_counties(conn, rows).await
}

/// The meeting places that have not ended by `now`, optionally of one county, in the order
/// they start: at most the feed's limit.
pub async fn upcoming(
    conn: &impl ConnectionTrait,
    county: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<meeting_place::Model>, ApiError> {
    let mut query = meeting_place::Entity::find()
        .filter(meeting_place::Column::EndsAt.gt(now))
        .order_by_asc(meeting_place::Column::StartsAt)
        .order_by_asc(meeting_place::Column::Id)
        .limit(FEED_LIMIT);
    if let Some(county) = county {
        query = query.filter(serving_county(conn, county).await?);
    }
    Ok(query.all(conn).await?)
}

/// Which of the counties a change names exist, so that its rules name those that do not.
pub async fn known_counties(
    conn: &impl ConnectionTrait,
    changes: &MeetingPlaceChanges,
) -> Result<HashSet<String>, ApiError> {
    let MaybeUndefined::Value(named) = &changes.counties else {
        return Ok(HashSet::new());
    };
    let numbers = named.iter().filter_map(|n| CountyNumber::parse(n).ok());
    counties::store::known(conn, numbers.map(CountyNumber::into_inner)).await
}

/// 422 naming the first of `numbers` that is no county.
async fn require_counties(conn: &impl ConnectionTrait, numbers: &[String]) -> Result<(), ApiError> {
    let known = counties::store::known(conn, numbers.iter().cloned()).await?;
    match numbers.iter().find(|n| !known.contains(*n)) {
        Some(unknown) => Err(ApiError::invalid(
            "counties",
            format!("there is no county {unknown}"),
        )),
        None => Ok(()),
    }
}

async fn replace_counties(
    conn: &impl ConnectionTrait,
    id: Uuid,
    counties: &[String],
) -> Result<(), ApiError> {
    let rows = counties
        .iter()
        .map(|number| meeting_place_county::ActiveModel {
            meeting_place_id: Set(id),
            county_number: Set(number.clone()),
        });
    replace_children(
        conn,
        meeting_place_county::Column::MeetingPlaceId.eq(id),
        rows,
    )
    .await?;
    Ok(())
}

/// The columns a meeting place's fields are stored in.
fn columns(m: &MeetingPlaceFields, row: &mut meeting_place::ActiveModel) {
    row.title = Set(m.title.clone());
    row.description = Set(m.description.clone());
    row.organisers = Set(organisers_column(&m.organisers));
    row.format = Set(m.format.as_str().to_string());
    row.venue_address = Set(m.venue_address.clone());
    row.online_url = Set(m.online_url.clone());
    row.starts_at = Set(m.starts_at);
    row.ends_at = Set(m.ends_at);
    row.capacity = Set(m.capacity);
    row.registration_deadline = Set(m.registration_deadline);
    row.status = Set(m.status.as_str().to_string());
    row.cancellation_reason = Set(m.cancellation_reason.clone());
}

/// Stores a new meeting place with its counties (422 for a county that does not exist),
/// audited.
pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    new: MeetingPlaceFields,
) -> Result<MeetingPlace, ApiError> {
    require_counties(conn, &new.counties).await?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let mut row = meeting_place::ActiveModel {
        id: Set(id),
        reserved: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    columns(&new, &mut row);
    row.insert(conn).await?;
    replace_counties(conn, id, &new.counties).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &id.to_string(),
        format!("created {} ({})", new.title, new.status.as_str()),
    )
    .await?;
    find(conn, id).await
}

/// Writes an allowed update over the version `current` was read (and locked) at, audited,
/// and promotes from the waiting list the registrations the change makes room for: 412
/// when someone else changed the meeting place first, and 422 when the capacity would fall
/// below the participants of confirmed registrations.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &meeting_place::Model,
    update: &Update,
) -> Result<MeetingPlace, ApiError> {
    let id = current.id;
    let mut row = meeting_place::ActiveModel {
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    columns(&update.fields, &mut row);
    // Every registration change raises the version too, so while the version is the one
    // read, `current.reserved` is what is registered: the room check in the same statement
    // holds against registrations arriving meanwhile.
    let registered = current.reserved;
    update_versioned_if(
        conn,
        row,
        meeting_place::Column::Id.eq(id),
        meeting_place::Column::Version,
        current.version,
        Condition::all().add(meeting_place::Column::Reserved.lte(update.fields.capacity)),
        || {
            ApiError::invalid(
                "capacity",
                format!("must be at least the {registered} participants already registered"),
            )
        },
    )
    .await?;
    if update.changes_counties() {
        replace_counties(conn, id, &update.fields.counties).await?;
    }
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &id.to_string(),
        update.summary(),
    )
    .await?;
    // A larger capacity (or a deadline moved later) lets the waiting list move.
    let cause = if update.fields.capacity > current.capacity {
        format!(
            "the capacity raised from {} to {}",
            current.capacity, update.fields.capacity
        )
    } else {
        "a change of the meeting place".to_string()
    };
    registrations::store::promote(conn, caller, id, &cause).await?;
    find(conn, id).await
}
