//! Meeting places: validation and the plain functions behind the operations.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use poem_openapi::types::MaybeUndefined;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use entity::{county, meeting_place, meeting_place_county};

use super::status::{MeetingPlaceStatus, transition};
use super::{MeetingFormat, MeetingPlace, MeetingPlaceChanges, NewMeetingPlace, Organiser};
use crate::audit;
use crate::auth::Caller;
use crate::common::text::Text;
use crate::common::validation::Fields;
use crate::common::values::{CountyNumber, WebUrl};
use crate::http::error::ApiError;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::check_if_match;

const RESOURCE: audit::ResourceType = audit::ResourceType::MeetingPlace;

/// The filters of the list operation.
pub struct ListFilter {
    pub county: Option<String>,
    pub status: Option<MeetingPlaceStatus>,
    pub format: Option<MeetingFormat>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A meeting place whose every field has been checked, alone and together.
pub struct Draft {
    title: String,
    description: String,
    counties: Vec<String>,
    organisers: Vec<Organiser>,
    format: MeetingFormat,
    venue_address: Option<String>,
    online_url: Option<String>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    capacity: i32,
    registration_deadline: DateTime<Utc>,
    status: MeetingPlaceStatus,
    cancellation_reason: Option<String>,
}

fn bounded(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    match value.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must be at most {max} characters")),
        _ => Ok(value.to_string()),
    }
}

fn parse_counties(values: &[Text]) -> Result<Vec<String>, String> {
    if values.is_empty() {
        return Err("must name at least one county".into());
    }
    if values.len() > 15 {
        return Err("must name at most 15 counties".into());
    }
    let mut numbers = BTreeSet::new();
    for value in values {
        numbers.insert(CountyNumber::parse(value)?.into_inner());
    }
    Ok(numbers.into_iter().collect())
}

fn parse_organisers(values: &[Organiser]) -> Result<Vec<Organiser>, String> {
    if values.is_empty() {
        return Err("must name at least one organiser".into());
    }
    let mut organisers = Vec::new();
    for organiser in values {
        if !organisers.contains(organiser) {
            organisers.push(*organiser);
        }
    }
    Ok(organisers)
}

fn parse_capacity(capacity: i32) -> Result<i32, String> {
    if (1..=10_000).contains(&capacity) {
        Ok(capacity)
    } else {
        Err("must be between 1 and 10000 participants".into())
    }
}

fn parse_url(value: &str) -> Result<String, String> {
    WebUrl::parse(value).map(WebUrl::into_inner)
}

/// Instants are kept to the second.
fn second(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.trunc_subsecs(0)
}

/// The rules that tie fields together.
fn check_rules(draft: &Draft, fields: &mut Fields) {
    let needs_venue = matches!(
        draft.format,
        MeetingFormat::InPerson | MeetingFormat::Hybrid
    );
    let needs_url = matches!(draft.format, MeetingFormat::Online | MeetingFormat::Hybrid);
    if needs_venue && draft.venue_address.is_none() {
        fields.add(
            "venue_address",
            format!("is required for the format {}", draft.format.as_str()),
        );
    }
    if needs_url && draft.online_url.is_none() {
        fields.add(
            "online_url",
            format!("is required for the format {}", draft.format.as_str()),
        );
    }
    if draft.ends_at <= draft.starts_at {
        fields.add("ends_at", "must be after starts_at");
    }
    if draft.registration_deadline >= draft.starts_at {
        fields.add("registration_deadline", "must be before starts_at");
    }
    match (draft.status, &draft.cancellation_reason) {
        (MeetingPlaceStatus::Cancelled, None) => fields.add(
            "cancellation_reason",
            "is required when the meeting place is cancelled",
        ),
        (MeetingPlaceStatus::Cancelled, Some(_)) | (_, None) => {}
        (_, Some(_)) => fields.add(
            "cancellation_reason",
            "belongs to a cancelled meeting place only",
        ),
    }
}

pub fn validate_new(body: &NewMeetingPlace) -> Result<Draft, ApiError> {
    let mut fields = Fields::default();
    let title = fields.check("title", bounded(&body.title, 200));
    let description = fields.check("description", bounded(&body.description, 4000));
    let counties = fields.check("counties", parse_counties(&body.counties));
    let organisers = fields.check("organisers", parse_organisers(&body.organisers));
    let venue_address = fields.check_optional(
        "venue_address",
        body.venue_address.as_deref().map(|v| bounded(v, 300)),
    );
    let online_url = fields.check_optional("online_url", body.online_url.as_deref().map(parse_url));
    let capacity = fields.check("capacity", parse_capacity(body.capacity));
    let status = body.status.0.unwrap_or(MeetingPlaceStatus::Planned);
    if !matches!(
        status,
        MeetingPlaceStatus::Planned | MeetingPlaceStatus::Open
    ) {
        fields.add("status", "a new meeting place is planned or open");
    }
    let (
        Some(title),
        Some(description),
        Some(counties),
        Some(organisers),
        Some(venue_address),
        Some(online_url),
        Some(capacity),
    ) = (
        title,
        description,
        counties,
        organisers,
        venue_address,
        online_url,
        capacity,
    )
    else {
        return Err(fields.finish().expect_err("a field was refused"));
    };
    let draft = Draft {
        title,
        description,
        counties,
        organisers,
        format: body.format,
        venue_address,
        online_url,
        starts_at: second(body.starts_at),
        ends_at: second(body.ends_at),
        capacity,
        registration_deadline: second(body.registration_deadline),
        status,
        cancellation_reason: None,
    };
    check_rules(&draft, &mut fields);
    fields.finish()?;
    Ok(draft)
}

async fn require_counties(conn: &impl ConnectionTrait, numbers: &[String]) -> Result<(), ApiError> {
    let known: Vec<String> = county::Entity::find()
        .filter(county::Column::Number.is_in(numbers.iter().cloned()))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.number)
        .collect();
    match numbers.iter().find(|n| !known.contains(n)) {
        Some(unknown) => Err(ApiError::invalid(
            "counties",
            format!("there is no county {unknown}"),
        )),
        None => Ok(()),
    }
}

/// The condition "serves this county", after checking that the county exists.
pub(super) async fn serving_county(
    conn: &impl ConnectionTrait,
    county: &str,
) -> Result<sea_orm::sea_query::SimpleExpr, ApiError> {
    let county = CountyNumber::parse(county).map_err(|m| ApiError::invalid("county", m))?;
    if county::Entity::find_by_id(county.as_str())
        .count(conn)
        .await?
        == 0
    {
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

fn to_wire(m: meeting_place::Model, counties: Vec<String>) -> MeetingPlace {
    MeetingPlace {
        id: m.id,
        title: m.title,
        description: m.description,
        counties,
        organisers: m
            .organisers
            .split(',')
            .filter_map(Organiser::from_db)
            .collect(),
        format: MeetingFormat::from_db(&m.format),
        venue_address: m.venue_address,
        online_url: m.online_url,
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        capacity: m.capacity,
        remaining_capacity: m.capacity - m.reserved,
        registration_deadline: m.registration_deadline,
        status: MeetingPlaceStatus::from_db(&m.status),
        cancellation_reason: m.cancellation_reason,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

async fn with_counties(
    conn: &impl ConnectionTrait,
    rows: Vec<meeting_place::Model>,
) -> Result<Vec<MeetingPlace>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let mut counties = counties_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let served = counties.remove(&m.id).unwrap_or_default();
            to_wire(m, served)
        })
        .collect())
}

pub fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("there is no meeting place {id}"))
}

pub async fn find_model(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<meeting_place::Model, ApiError> {
    meeting_place::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<MeetingPlace, ApiError> {
    let found = find_model(conn, id).await?;
    Ok(with_counties(conn, vec![found]).await?.remove(0))
}

pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &ListFilter,
    page: &PageRequest<(DateTime<Utc>, Uuid)>,
) -> Result<Vec<MeetingPlace>, ApiError> {
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(ApiError::invalid("from", "must not be after to"));
    }
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

fn organisers_column(organisers: &[Organiser]) -> String {
    organisers
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

async fn replace_counties(
    conn: &impl ConnectionTrait,
    id: Uuid,
    counties: &[String],
) -> Result<(), ApiError> {
    meeting_place_county::Entity::delete_many()
        .filter(meeting_place_county::Column::MeetingPlaceId.eq(id))
        .exec(conn)
        .await?;
    meeting_place_county::Entity::insert_many(counties.iter().map(|number| {
        meeting_place_county::ActiveModel {
            meeting_place_id: Set(id),
            county_number: Set(number.clone()),
        }
    }))
    .exec(conn)
    .await?;
    Ok(())
}

pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    draft: Draft,
) -> Result<MeetingPlace, ApiError> {
    require_counties(conn, &draft.counties).await?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    meeting_place::ActiveModel {
        id: Set(id),
        title: Set(draft.title.clone()),
        description: Set(draft.description),
        organisers: Set(organisers_column(&draft.organisers)),
        format: Set(draft.format.as_str().to_string()),
        venue_address: Set(draft.venue_address),
        online_url: Set(draft.online_url),
        starts_at: Set(draft.starts_at),
        ends_at: Set(draft.ends_at),
        capacity: Set(draft.capacity),
        reserved: Set(0),
        registration_deadline: Set(draft.registration_deadline),
        status: Set(draft.status.as_str().to_string()),
        cancellation_reason: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    replace_counties(conn, id, &draft.counties).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &id.to_string(),
        format!("created {} ({})", draft.title, draft.status.as_str()),
    )
    .await?;
    find(conn, id).await
}

/// A change to a field that cannot be cleared: `null` is refused.
fn required<T>(fields: &mut Fields, field: &str, value: MaybeUndefined<T>) -> Option<T> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            fields.add(field, "must not be null");
            None
        }
        MaybeUndefined::Value(v) => Some(v),
    }
}

/// Applies a set of changes, refusing a stale `If-Match`, a transition the status rules do
/// not allow, and a capacity below the participants already registered.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
    if_match: Option<&str>,
    changes: MeetingPlaceChanges,
) -> Result<MeetingPlace, ApiError> {
    let current = find_model(conn, id).await?;
    check_if_match(if_match, current.version)?;
    let current_status = MeetingPlaceStatus::from_db(&current.status);
    let mut draft = Draft {
        title: current.title.clone(),
        description: current.description.clone(),
        counties: counties_of(conn, &[id])
            .await?
            .remove(&id)
            .unwrap_or_default(),
        organisers: current
            .organisers
            .split(',')
            .filter_map(Organiser::from_db)
            .collect(),
        format: MeetingFormat::from_db(&current.format),
        venue_address: current.venue_address.clone(),
        online_url: current.online_url.clone(),
        starts_at: current.starts_at,
        ends_at: current.ends_at,
        capacity: current.capacity,
        registration_deadline: current.registration_deadline,
        status: current_status,
        cancellation_reason: current.cancellation_reason.clone(),
    };

    let mut fields = Fields::default();
    let mut changed = Vec::new();
    let mut note = |name: &'static str, present: bool| {
        if present {
            changed.push(name);
        }
    };
    note("title", !changes.title.is_undefined());
    note("description", !changes.description.is_undefined());
    note("counties", !changes.counties.is_undefined());
    note("organisers", !changes.organisers.is_undefined());
    note("format", !changes.format.is_undefined());
    note("venue_address", !changes.venue_address.is_undefined());
    note("online_url", !changes.online_url.is_undefined());
    note("starts_at", !changes.starts_at.is_undefined());
    note("ends_at", !changes.ends_at.is_undefined());
    note("capacity", !changes.capacity.is_undefined());
    note(
        "registration_deadline",
        !changes.registration_deadline.is_undefined(),
    );
    note("status", !changes.status.is_undefined());
    note(
        "cancellation_reason",
        !changes.cancellation_reason.is_undefined(),
    );
    if changed.is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    if matches!(
        current_status,
        MeetingPlaceStatus::Cancelled | MeetingPlaceStatus::Completed
    ) {
        return Err(ApiError::invalid(
            "status",
            format!(
                "the meeting place is {}: it can no longer be changed",
                current_status.as_str()
            ),
        ));
    }

    if let Some(v) = fields.check_required_patch("title", changes.title, |v| bounded(v, 200)) {
        draft.title = v;
    }
    if let Some(v) =
        fields.check_required_patch("description", changes.description, |v| bounded(v, 4000))
    {
        draft.description = v;
    }
    if let Some(v) = required(&mut fields, "counties", changes.counties)
        .and_then(|v| fields.check("counties", parse_counties(&v)))
    {
        draft.counties = v;
    }
    if let Some(v) = required(&mut fields, "organisers", changes.organisers)
        .and_then(|v| fields.check("organisers", parse_organisers(&v)))
    {
        draft.organisers = v;
    }
    if let Some(v) = required(&mut fields, "format", changes.format) {
        draft.format = v;
    }
    if let Some(v) = fields.check_patch("venue_address", changes.venue_address, |v| bounded(v, 300))
    {
        draft.venue_address = v;
    }
    if let Some(v) = fields.check_patch("online_url", changes.online_url, parse_url) {
        draft.online_url = v;
    }
    if let Some(v) = required(&mut fields, "starts_at", changes.starts_at) {
        draft.starts_at = second(v);
    }
    if let Some(v) = required(&mut fields, "ends_at", changes.ends_at) {
        draft.ends_at = second(v);
    }
    if let Some(v) = required(&mut fields, "capacity", changes.capacity)
        .and_then(|v| fields.check("capacity", parse_capacity(v)))
    {
        draft.capacity = v;
    }
    if let Some(v) = required(
        &mut fields,
        "registration_deadline",
        changes.registration_deadline,
    ) {
        draft.registration_deadline = second(v);
    }
    if let Some(v) = required(&mut fields, "status", changes.status) {
        match transition(current_status, v) {
            Ok(()) => draft.status = v,
            Err(message) => fields.add("status", message),
        }
    }
    if let Some(v) = fields.check_patch("cancellation_reason", changes.cancellation_reason, |v| {
        bounded(v, 500)
    }) {
        draft.cancellation_reason = v;
    }
    check_rules(&draft, &mut fields);
    fields.finish()?;
    if changed.contains(&"counties") {
        require_counties(conn, &draft.counties).await?;
    }

    let row = meeting_place::ActiveModel {
        title: Set(draft.title),
        description: Set(draft.description),
        organisers: Set(organisers_column(&draft.organisers)),
        format: Set(draft.format.as_str().to_string()),
        venue_address: Set(draft.venue_address),
        online_url: Set(draft.online_url),
        starts_at: Set(draft.starts_at),
        ends_at: Set(draft.ends_at),
        capacity: Set(draft.capacity),
        registration_deadline: Set(draft.registration_deadline),
        status: Set(draft.status.as_str().to_string()),
        cancellation_reason: Set(draft.cancellation_reason),
        version: Set(current.version + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    // The version and the room check in the WHERE clause make the checks and the write one
    // atomic step, also against registrations arriving meanwhile.
    let result = meeting_place::Entity::update_many()
        .set(row)
        .filter(meeting_place::Column::Id.eq(id))
        .filter(meeting_place::Column::Version.eq(current.version))
        .filter(meeting_place::Column::Reserved.lte(draft.capacity))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        let now = find_model(conn, id).await?;
        if now.version != current.version {
            return Err(ApiError::PreconditionFailed {
                current_version: now.version,
            });
        }
        return Err(ApiError::invalid(
            "capacity",
            format!(
                "must be at least the {} participants already registered",
                now.reserved
            ),
        ));
    }
    if changed.contains(&"counties") {
        replace_counties(conn, id, &draft.counties).await?;
    }
    let summary = if draft.status == current_status {
        format!("changed {}", changed.join(", "))
    } else {
        format!(
            "changed {} (status {} → {})",
            changed.join(", "),
            current_status.as_str(),
            draft.status.as_str()
        )
    };
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &id.to_string(),
        summary,
    )
    .await?;
    find(conn, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counties_are_checked_sorted_and_deduplicated() {
        let texts = |v: &[&str]| v.iter().map(|s| Text((*s).into())).collect::<Vec<_>>();
        assert_eq!(
            parse_counties(&texts(&["31", "03", "31"])).unwrap(),
            ["03", "31"]
        );
        assert!(parse_counties(&texts(&[])).is_err());
        assert!(parse_counties(&texts(&["3"])).is_err());
    }

    #[test]
    fn text_fields_are_trimmed_and_bounded() {
        assert_eq!(bounded("  Møte  ", 10).unwrap(), "Møte");
        assert!(bounded("   ", 10).is_err());
        assert!(bounded(&"ø".repeat(11), 10).is_err());
        assert!(bounded(&"ø".repeat(10), 10).is_ok());
    }
}
