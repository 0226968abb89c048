//! The wire types of registrations.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use entity::{
    meeting_place_registration as registration, meeting_place_registration_event as event,
};

use crate::common::optional::NotNull;
use crate::common::stored::stored_enum;
use crate::common::text::Text;
use crate::http::error::ApiError;
use crate::http::preconditions::etag;

stored_enum! {
    /// Where a registration stands.
    RegistrationStatus {
        /// Its participants hold places at the meeting place.
        Confirmed = "confirmed",
        /// It waits for places, at `position` on the waiting list.
        Waitlisted = "waitlisted",
        /// It was still waiting when the registration deadline passed: the waiting list is
        /// closed and it was not admitted.
        NotAdmitted = "not_admitted",
    }
}

stored_enum! {
    /// What happened to a registration.
    RegistrationEventKind {
        /// Registered with places.
        Registered = "registered",
        /// Put on the waiting list.
        Waitlisted = "waitlisted",
        /// Given places that freed up, in the order of the waiting list.
        Promoted = "promoted",
        /// Participants, contact or sharing changed.
        Changed = "changed",
        /// Cancelled (kept in the meeting place's events only).
        Cancelled = "cancelled",
        /// The registration deadline passed while it was waiting.
        NotAdmitted = "not_admitted",
    }
}

/// One entry of a registration's history.
#[derive(Debug, Clone, Object)]
pub struct RegistrationEvent {
    pub kind: RegistrationEventKind,
    /// The status after it.
    pub status: RegistrationStatus,
    /// The participants after it.
    pub participants: i32,
    pub occurred_at: DateTime<Utc>,
}

impl RegistrationEvent {
    pub fn from_stored(e: &event::Model) -> Result<Self, ApiError> {
        Ok(Self {
            kind: RegistrationEventKind::from_stored(&e.kind)?,
            status: RegistrationStatus::from_stored(&e.status)?,
            participants: e.participants,
            occurred_at: e.occurred_at,
        })
    }
}

/// A municipality's registration for a meeting place.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Registration {
    pub id: Uuid,
    pub meeting_place_id: Uuid,
    pub municipality_number: String,
    /// How many the municipality brings.
    pub participants: i32,
    pub contact_name: String,
    pub contact_email: String,
    /// Whether the municipality will share its experience.
    pub will_share_experience: bool,
    /// What it will share (with `will_share_experience` only).
    #[oai(nullable)]
    pub sharing_topic: Option<String>,
    pub status: RegistrationStatus,
    /// Its place on the waiting list, 1 for the first in line (`waitlisted` only).
    #[oai(nullable)]
    pub position: Option<i32>,
    /// What happened to it, oldest first.
    pub history: Vec<RegistrationEvent>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Example for Registration {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .expect("a valid instant")
            .to_utc();
        Self {
            id: Uuid::parse_str("019a8f5e-7c00-7000-8000-000000000002").expect("a UUID"),
            meeting_place_id: Uuid::parse_str("019a8f5e-7c00-7000-8000-000000000001")
                .expect("a UUID"),
            municipality_number: "3201".into(),
            participants: 2,
            contact_name: "Kari Nordmann".into(),
            contact_email: "digihjelp@baerum.kommune.no".into(),
            will_share_experience: true,
            sharing_topic: Some("Digihjelp in the library, with volunteers".into()),
            status: RegistrationStatus::Confirmed,
            position: None,
            history: vec![
                RegistrationEvent {
                    kind: RegistrationEventKind::Waitlisted,
                    status: RegistrationStatus::Waitlisted,
                    participants: 2,
                    occurred_at: at,
                },
                RegistrationEvent {
                    kind: RegistrationEventKind::Promoted,
                    status: RegistrationStatus::Confirmed,
                    participants: 2,
                    occurred_at: at + chrono::Duration::days(2),
                },
            ],
            version: 2,
            created_at: at,
            updated_at: at + chrono::Duration::days(2),
        }
    }
}

/// The ETag of a registration as readers see it: its version, marked once the deadline has
/// turned a waitlisted registration into a `not_admitted` one, so that a client's copy from
/// before the deadline is not revalidated (304) as current.
pub fn registration_tag(version: i32, status: RegistrationStatus) -> String {
    match status {
        RegistrationStatus::NotAdmitted => format!("\"{version}.closed\""),
        _ => etag(version),
    }
}

impl Registration {
    pub fn etag(&self) -> String {
        registration_tag(self.version, self.status)
    }

    /// A stored registration as a reader sees it: its status (a waitlisted one reads as
    /// `not_admitted` once the deadline has passed), its position and its history.
    pub fn from_stored(
        r: registration::Model,
        status: RegistrationStatus,
        position: Option<i32>,
        history: Vec<RegistrationEvent>,
    ) -> Self {
        Self {
            status,
            position,
            history,
            id: r.id,
            meeting_place_id: r.meeting_place_id,
            municipality_number: r.municipality_number,
            participants: r.participants,
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            will_share_experience: r.will_share_experience,
            sharing_topic: r.sharing_topic,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

crate::page_object!(RegistrationPage, Registration);

/// A registration of the caller's municipality.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewRegistration {
    /// 1 to 500, within the meeting place's remaining capacity.
    pub participants: i32,
    /// 1 to 200 characters.
    pub contact_name: Text,
    pub contact_email: Text,
    pub will_share_experience: bool,
    /// Required with `will_share_experience`; up to 300 characters.
    #[oai(nullable)]
    pub sharing_topic: Option<Text>,
    /// `true`: when the participants do not fit (or others already wait), join the waiting
    /// list instead of being refused. Default `false`.
    pub waitlist: NotNull<bool>,
}

impl Example for NewRegistration {
    fn example() -> Self {
        let example = Registration::example();
        Self {
            participants: example.participants,
            contact_name: Text(example.contact_name),
            contact_email: Text(example.contact_email),
            will_share_experience: example.will_share_experience,
            sharing_topic: example.sharing_topic.map(Text),
            waitlist: NotNull(Some(true)),
        }
    }
}

/// The fields to change; absent fields stay as they are.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct RegistrationChanges {
    pub participants: MaybeUndefined<i32>,
    pub contact_name: MaybeUndefined<Text>,
    pub contact_email: MaybeUndefined<Text>,
    pub will_share_experience: MaybeUndefined<bool>,
    #[oai(nullable)]
    pub sharing_topic: MaybeUndefined<Text>,
}

impl Example for RegistrationChanges {
    fn example() -> Self {
        Self {
            participants: MaybeUndefined::Value(3),
            contact_name: MaybeUndefined::Undefined,
            contact_email: MaybeUndefined::Undefined,
            will_share_experience: MaybeUndefined::Undefined,
            sharing_topic: MaybeUndefined::Undefined,
        }
    }
}

#[derive(ApiResponse)]
pub enum RegistrationListResponse {
    /// A page of registrations, oldest first.
    #[oai(status = 200)]
    Ok(Json<RegistrationPage>),
}

#[derive(ApiResponse)]
pub enum RegistrationResponse {
    /// The registration.
    #[oai(status = 200)]
    Ok(
        Json<Registration>,
        /// The current version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum RegistrationCreatedResponse {
    /// The registration was made, `confirmed` or (with `waitlist: true`) `waitlisted` (or,
    /// for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Registration>,
        /// Where the new registration is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum RegistrationCancelledResponse {
    /// The registration was cancelled; its places went to the waiting list or were
    /// released.
    #[oai(status = 204)]
    Cancelled,
}
