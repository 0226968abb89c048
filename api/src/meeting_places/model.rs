//! The wire types of meeting places, the enums stored in their columns, and the checked set
//! of fields a meeting place is stored from.

use chrono::{DateTime, Utc};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use entity::meeting_place;

use crate::common::optional::NotNull;
use crate::common::stored::stored_enum;
use crate::common::text::Text;
use crate::http::error::ApiError;
use crate::http::preconditions::etag;

stored_enum! {
    /// How participants take part.
    MeetingFormat {
        /// At a venue: `venue_address` is required.
        InPerson = "in_person",
        /// Online: `online_url` is required.
        Online = "online",
        /// At a venue and online: both are required.
        Hybrid = "hybrid",
    }
}

stored_enum! {
    /// Who arranges a meeting place.
    Organiser {
        Ks = "ks",
        Kmd = "kmd",
        HkDir = "hk_dir",
    }
}

stored_enum! {
    /// Where a meeting place is in its life.
    MeetingPlaceStatus {
        /// Announced; registration has not opened.
        Planned = "planned",
        /// Municipalities may register until the registration deadline.
        Open = "open",
        /// Registration is closed; the meeting place will take place.
        Closed = "closed",
        /// It will not take place (final; carries a reason).
        Cancelled = "cancelled",
        /// It has taken place (final).
        Completed = "completed",
    }
}

/// The organisers as their column holds them: names separated by commas.
pub fn organisers_column(organisers: &[Organiser]) -> String {
    organisers
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The organisers read back from their column.
pub fn organisers_from_stored(column: &str) -> Result<Vec<Organiser>, ApiError> {
    column.split(',').map(Organiser::from_stored).collect()
}

fn instant(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("a valid example instant")
        .to_utc()
}

/// A regional meeting place.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct MeetingPlace {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// The numbers of the counties it serves, e.g. `["03", "31"]`.
    pub counties: Vec<String>,
    pub organisers: Vec<Organiser>,
    pub format: MeetingFormat,
    #[oai(nullable)]
    pub venue_address: Option<String>,
    #[oai(nullable)]
    pub online_url: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Participants it has room for.
    pub capacity: i32,
    /// Participants it still has room for: `capacity` less the participants of confirmed
    /// registrations. While anyone waits, these places are held for the waiting list.
    pub remaining_capacity: i32,
    /// Registrations on the waiting list (0 once the registration deadline has passed).
    pub waitlist_length: i32,
    /// Registration closes at this instant.
    pub registration_deadline: DateTime<Utc>,
    pub status: MeetingPlaceStatus,
    /// Why it was cancelled (status `cancelled` only).
    #[oai(nullable)]
    pub cancellation_reason: Option<String>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether the deadline has closed a waiting list that still held registrations: what
    /// readers see then differs from the stored version, so it is in the ETag.
    #[oai(skip)]
    pub list_closed: bool,
}

/// The ETag of a meeting place: its version, marked once the deadline has closed a waiting
/// list that held registrations (its `waitlist_length` went to 0 without a write).
pub fn meeting_place_tag(version: i32, list_closed: bool) -> String {
    if list_closed {
        format!("\"{version}.closed\"")
    } else {
        etag(version)
    }
}

impl MeetingPlace {
    pub fn etag(&self) -> String {
        meeting_place_tag(self.version, self.list_closed)
    }

    /// The stored row, the counties it serves, the registrations it has waiting (by the
    /// stored status) and whether the deadline has passed; an unknown stored enum value is
    /// a 500.
    pub fn from_stored(
        m: meeting_place::Model,
        counties: Vec<String>,
        waiting: i32,
        deadline_passed: bool,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            // The list closes at the deadline: nobody waits any longer.
            waitlist_length: if deadline_passed { 0 } else { waiting },
            list_closed: deadline_passed && waiting > 0,
            organisers: organisers_from_stored(&m.organisers)?,
            format: MeetingFormat::from_stored(&m.format)?,
            status: MeetingPlaceStatus::from_stored(&m.status)?,
            id: m.id,
            title: m.title,
            description: m.description,
            counties,
            venue_address: m.venue_address,
            online_url: m.online_url,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            capacity: m.capacity,
            remaining_capacity: m.capacity - m.reserved,
            registration_deadline: m.registration_deadline,
            cancellation_reason: m.cancellation_reason,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

impl Example for MeetingPlace {
    fn example() -> Self {
        Self {
            id: Uuid::parse_str("019a8f5e-7c00-7000-8000-000000000001").expect("a UUID"),
            title: "Digihjelpen i Østlandet: erfaringsdeling".into(),
            description: "Kommuner med et Digihjelpen-tilbud deler erfaringer med dem som vil \
                          starte et."
                .into(),
            counties: vec!["03".into(), "31".into()],
            organisers: vec![Organiser::Ks, Organiser::HkDir],
            format: MeetingFormat::Hybrid,
            venue_address: Some("Deichman Bjørvika, Anne-Cath. Vestlys plass 1, 0150 Oslo".into()),
            online_url: Some("https://ks.no/digihjelpen/motested".into()),
            starts_at: instant("2027-02-10T09:00:00Z"),
            ends_at: instant("2027-02-10T14:00:00Z"),
            capacity: 60,
            remaining_capacity: 42,
            waitlist_length: 0,
            registration_deadline: instant("2027-02-01T22:59:59Z"),
            status: MeetingPlaceStatus::Open,
            cancellation_reason: None,
            version: 2,
            created_at: instant("2026-11-23T09:00:00Z"),
            updated_at: instant("2026-11-24T09:00:00Z"),
            list_closed: false,
        }
    }
}

crate::page_object!(MeetingPlacePage, MeetingPlace);

/// The example as a stored row in `status`, for unit tests.
#[cfg(test)]
pub fn stored_example(status: MeetingPlaceStatus) -> meeting_place::Model {
    let e = MeetingPlace::example();
    meeting_place::Model {
        id: e.id,
        title: e.title,
        description: e.description,
        organisers: organisers_column(&e.organisers),
        format: e.format.as_str().into(),
        venue_address: e.venue_address,
        online_url: e.online_url,
        starts_at: e.starts_at,
        ends_at: e.ends_at,
        capacity: e.capacity,
        reserved: e.capacity - e.remaining_capacity,
        registration_deadline: e.registration_deadline,
        status: status.as_str().into(),
        cancellation_reason: e.cancellation_reason,
        version: e.version,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

/// A new meeting place (KS or the ministry).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewMeetingPlace {
    /// 1 to 200 characters.
    pub title: Text,
    /// 1 to 4000 characters.
    pub description: Text,
    /// The counties it serves: 1 to 15 existing county numbers.
    pub counties: Vec<Text>,
    /// 1 to 3 organisers.
    pub organisers: Vec<Organiser>,
    pub format: MeetingFormat,
    /// Required for `in_person` and `hybrid`; up to 300 characters.
    #[oai(nullable)]
    pub venue_address: Option<Text>,
    /// Required for `online` and `hybrid`; an http(s) URL.
    #[oai(nullable)]
    pub online_url: Option<Text>,
    /// Stored to the second.
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`.
    pub ends_at: DateTime<Utc>,
    /// Participants it has room for, 1 to 10000.
    pub capacity: i32,
    /// Before `starts_at`.
    pub registration_deadline: DateTime<Utc>,
    /// `planned` (the default) or `open`.
    pub status: NotNull<MeetingPlaceStatus>,
}

impl Example for NewMeetingPlace {
    fn example() -> Self {
        let example = MeetingPlace::example();
        Self {
            title: Text(example.title),
            description: Text(example.description),
            counties: example.counties.into_iter().map(Text).collect(),
            organisers: example.organisers,
            format: example.format,
            venue_address: example.venue_address.map(Text),
            online_url: example.online_url.map(Text),
            starts_at: example.starts_at,
            ends_at: example.ends_at,
            capacity: example.capacity,
            registration_deadline: example.registration_deadline,
            status: NotNull(Some(MeetingPlaceStatus::Planned)),
        }
    }
}

/// The fields to change; absent fields stay as they are, `null` clears an optional one.
/// `status` follows `planned → open → closed → completed`; `cancelled` is reachable from any
/// status but `completed` and needs a `cancellation_reason`.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct MeetingPlaceChanges {
    pub title: MaybeUndefined<Text>,
    pub description: MaybeUndefined<Text>,
    /// Replaces the set of counties.
    pub counties: MaybeUndefined<Vec<Text>>,
    /// Replaces the organisers.
    pub organisers: MaybeUndefined<Vec<Organiser>>,
    pub format: MaybeUndefined<MeetingFormat>,
    #[oai(nullable)]
    pub venue_address: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub online_url: MaybeUndefined<Text>,
    pub starts_at: MaybeUndefined<DateTime<Utc>>,
    pub ends_at: MaybeUndefined<DateTime<Utc>>,
    /// Not below the participants already registered.
    pub capacity: MaybeUndefined<i32>,
    pub registration_deadline: MaybeUndefined<DateTime<Utc>>,
    pub status: MaybeUndefined<MeetingPlaceStatus>,
    /// Required when `status` becomes `cancelled`; up to 500 characters.
    #[oai(nullable)]
    pub cancellation_reason: MaybeUndefined<Text>,
}

impl Example for MeetingPlaceChanges {
    fn example() -> Self {
        Self {
            title: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
            counties: MaybeUndefined::Undefined,
            organisers: MaybeUndefined::Undefined,
            format: MaybeUndefined::Undefined,
            venue_address: MaybeUndefined::Undefined,
            online_url: MaybeUndefined::Undefined,
            starts_at: MaybeUndefined::Undefined,
            ends_at: MaybeUndefined::Undefined,
            capacity: MaybeUndefined::Undefined,
            registration_deadline: MaybeUndefined::Undefined,
            status: MaybeUndefined::Value(MeetingPlaceStatus::Cancelled),
            cancellation_reason: MaybeUndefined::Value(Text(
                "Too few registrations; a new date follows in the spring.".into(),
            )),
        }
    }
}

#[derive(ApiResponse)]
pub enum MeetingPlaceListResponse {
    /// A page of meeting places, ordered by `starts_at`, then `id`.
    #[oai(status = 200)]
    Ok(Json<MeetingPlacePage>),
}

#[derive(ApiResponse)]
pub enum MeetingPlaceResponse {
    /// The meeting place.
    #[oai(status = 200)]
    Ok(
        Json<Box<MeetingPlace>>,
        /// The current version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum MeetingPlaceCreatedResponse {
    /// The meeting place was created (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<MeetingPlace>>,
        /// Where the new meeting place is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum CalendarResponse {
    /// An iCalendar (RFC 5545) feed with one event per meeting place.
    #[oai(status = 200, content_type = "text/calendar; charset=utf-8")]
    Ok(PlainText<String>),
}

/// A meeting place whose every field has been checked, alone and together: what a new one
/// is stored from, and what an update's changes are applied to.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingPlaceFields {
    pub title: String,
    pub description: String,
    /// Sorted, without repeats.
    pub counties: Vec<String>,
    pub organisers: Vec<Organiser>,
    pub format: MeetingFormat,
    pub venue_address: Option<String>,
    pub online_url: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub registration_deadline: DateTime<Utc>,
    pub status: MeetingPlaceStatus,
    pub cancellation_reason: Option<String>,
}

impl MeetingPlaceFields {
    /// The stored meeting place as fields, to apply changes to.
    pub fn from_stored(m: &meeting_place::Model, counties: Vec<String>) -> Result<Self, ApiError> {
        Ok(Self {
            title: m.title.clone(),
            description: m.description.clone(),
            counties,
            organisers: organisers_from_stored(&m.organisers)?,
            format: MeetingFormat::from_stored(&m.format)?,
            venue_address: m.venue_address.clone(),
            online_url: m.online_url.clone(),
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            capacity: m.capacity,
            registration_deadline: m.registration_deadline,
            status: MeetingPlaceStatus::from_stored(&m.status)?,
            cancellation_reason: m.cancellation_reason.clone(),
        })
    }
}
