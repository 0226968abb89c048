//! Regional meeting places: arranged by KS and the ministry, registered for by
//! municipalities, and published as an iCalendar feed.
//!
//! `reserved` on a meeting place is the sum of its registrations' participants. Every
//! registration change moves it with one conditional `UPDATE ... WHERE reserved + n <=
//! capacity` in the registration's transaction (and a check constraint backs it), so the
//! capacity holds however many requests arrive at once.

mod feed;
pub mod ics;
mod places;
pub mod registrations;
pub mod status;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::common::text::Text;
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::etag;
use crate::state::AppState;
use crate::tags::ApiTags;

pub use feed::MeetingPlaceFeedApi;
pub use places::ListFilter;
pub use registrations::RegistrationsApi;
pub use status::MeetingPlaceStatus;

/// How participants take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum MeetingFormat {
    /// At a venue: `venue_address` is required.
    InPerson,
    /// Online: `online_url` is required.
    Online,
    /// At a venue and online: both are required.
    Hybrid,
}

impl MeetingFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InPerson => "in_person",
            Self::Online => "online",
            Self::Hybrid => "hybrid",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "online" => Self::Online,
            "hybrid" => Self::Hybrid,
            _ => Self::InPerson,
        }
    }
}

/// Who arranges a meeting place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Organiser {
    Ks,
    Kmd,
    HkDir,
}

impl Organiser {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ks => "ks",
            Self::Kmd => "kmd",
            Self::HkDir => "hk_dir",
        }
    }

    pub fn from_db(value: &str) -> Option<Self> {
        match value {
            "ks" => Some(Self::Ks),
            "kmd" => Some(Self::Kmd),
            "hk_dir" => Some(Self::HkDir),
            _ => None,
        }
    }
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
    /// Participants it still has room for: `capacity` less the participants registered.
    pub remaining_capacity: i32,
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
            registration_deadline: instant("2027-02-01T22:59:59Z"),
            status: MeetingPlaceStatus::Open,
            cancellation_reason: None,
            version: 2,
            created_at: instant("2026-11-23T09:00:00Z"),
            updated_at: instant("2026-11-24T09:00:00Z"),
        }
    }
}

crate::page_object!(MeetingPlacePage, MeetingPlace);

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
    pub status: crate::common::optional::NotNull<MeetingPlaceStatus>,
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
            status: crate::common::optional::NotNull(Some(MeetingPlaceStatus::Planned)),
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

pub struct MeetingPlacesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::MeetingPlaces")]
impl MeetingPlacesApi {
    /// List meeting places
    ///
    /// Ordered by `starts_at`, then `id`; filtered by county, status, format and start time.
    #[oai(
        path = "/meeting-places",
        method = "get",
        operation_id = "list_meeting_places"
    )]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        /// Only meeting places serving this county, e.g. `03`.
        county: Query<Option<crate::http::params::KnownCountyParam>>,
        /// Only meeting places with this status.
        status: Query<Option<MeetingPlaceStatus>>,
        /// Only meeting places of this format.
        format: Query<Option<MeetingFormat>>,
        /// Only meeting places starting at or after this instant (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Only meeting places starting before this instant (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<MeetingPlaceListResponse, Failure<{ E400 | E422 }>> {
        let page = PageRequest::new(limit.0, cursor.0.as_deref())?;
        let filter = ListFilter {
            county: crate::http::params::value(county.0),
            status: status.0,
            format: format.0,
            from: from.0,
            to: to.0,
        };
        let rows = places::list(state.db.conn(), &filter, &page).await?;
        Ok(MeetingPlaceListResponse::Ok(Json(
            page.page(rows, |m: &MeetingPlace| (m.starts_at, m.id))
                .into(),
        )))
    }

    /// Get a meeting place
    ///
    /// Anyone, with the participants it still has room for.
    #[oai(
        path = "/meeting-places/:id",
        method = "get",
        operation_id = "get_meeting_place"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The meeting place's id.
        id: Path<Uuid>,
    ) -> Result<MeetingPlaceResponse, Failure<{ E400 | E404 }>> {
        let found = places::find(state.db.conn(), id.0).await?;
        let tag = etag(found.version);
        Ok(MeetingPlaceResponse::Ok(Json(Box::new(found)), tag))
    }

    /// Create a meeting place
    ///
    /// For KS and the ministry. Send an `Idempotency-Key` to make a retry safe.
    #[oai(
        path = "/meeting-places",
        method = "post",
        operation_id = "create_meeting_place"
    )]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewMeetingPlace>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<MeetingPlaceCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        policy::manage_meeting_places(caller)?;
        let draft = places::validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_meeting_place",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| places::create(tx, caller, draft).await,
        )
        .await?;
        let location = format!("/api/v1/meeting-places/{}", created.id);
        let tag = etag(created.version);
        Ok(MeetingPlaceCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Update a meeting place
    ///
    /// Changes details or the status (KS and the ministry). Send `If-Match` with the ETag
    /// you read; a stale one is refused with 412.
    #[oai(
        path = "/meeting-places/:id",
        method = "patch",
        operation_id = "update_meeting_place"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<MeetingPlaceChanges>,
    ) -> Result<MeetingPlaceResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>> {
        let caller = &auth.0;
        policy::manage_meeting_places(caller)?;
        let tx = state.db.begin_write().await?;
        let updated = places::update(&tx, caller, id.0, if_match.0.as_deref(), body.0).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(MeetingPlaceResponse::Ok(Json(Box::new(updated)), tag))
    }
}
