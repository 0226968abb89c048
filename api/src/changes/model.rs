//! The change feed's wire types, and who may read an entry.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Enum, Object};

use entity::change;

/// The kinds of resource the feed reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum FeedType {
    Municipality,
    Location,
    /// A location's weekly opening hours; the parent is the location.
    OpeningHours,
    /// An exception to a location's hours; the parent is the location.
    OpeningException,
    /// The set of topics a location offers; the parent is the location.
    LocationTopics,
    Topic,
    /// A resource of a topic; the parent is the topic's slug.
    TopicResource,
    MeetingPlace,
    /// The parent is the meeting place.
    MeetingPlaceRegistration,
    Ticket,
    /// A reply or (for KS) an internal note; the parent is the ticket.
    TicketMessage,
    GrantScheme,
    /// The parent is the grant scheme.
    GrantApplication,
    KontaktpunktCalendar,
    KontaktpunktServiceLevels,
}

impl FeedType {
    pub const ALL: [FeedType; 15] = [
        Self::Municipality,
        Self::Location,
        Self::OpeningHours,
        Self::OpeningException,
        Self::LocationTopics,
        Self::Topic,
        Self::TopicResource,
        Self::MeetingPlace,
        Self::MeetingPlaceRegistration,
        Self::Ticket,
        Self::TicketMessage,
        Self::GrantScheme,
        Self::GrantApplication,
        Self::KontaktpunktCalendar,
        Self::KontaktpunktServiceLevels,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Municipality => "municipality",
            Self::Location => "location",
            Self::OpeningHours => "opening_hours",
            Self::OpeningException => "opening_exception",
            Self::LocationTopics => "location_topics",
            Self::Topic => "topic",
            Self::TopicResource => "topic_resource",
            Self::MeetingPlace => "meeting_place",
            Self::MeetingPlaceRegistration => "meeting_place_registration",
            Self::Ticket => "ticket",
            Self::TicketMessage => "ticket_message",
            Self::GrantScheme => "grant_scheme",
            Self::GrantApplication => "grant_application",
            Self::KontaktpunktCalendar => "kontaktpunkt_calendar",
            Self::KontaktpunktServiceLevels => "kontaktpunkt_service_levels",
        }
    }

    pub fn from_stored(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ChangeAction {
    Created,
    Updated,
    Deleted,
}

impl ChangeAction {
    pub const ALL: [ChangeAction; 3] = [Self::Created, Self::Updated, Self::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }

    pub fn from_stored(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

/// Who may read an entry, following the role matrix for the resource it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Everyone, anonymous callers included.
    Public,
    /// KS and the ministry.
    Staff,
    /// The municipality that owns it, KS and the ministry (registrations, applications).
    Owner,
    /// The municipality whose ticket it is, KS, and the ministry once it is referred.
    Ticket,
    /// KS only (internal notes).
    Internal,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Staff => "staff",
            Self::Owner => "owner",
            Self::Ticket => "ticket",
            Self::Internal => "internal",
        }
    }

    /// Read back; anything unknown is shown to KS only.
    pub fn from_stored(value: &str) -> Self {
        [Self::Public, Self::Staff, Self::Owner, Self::Ticket]
            .into_iter()
            .find(|a| a.as_str() == value)
            .unwrap_or(Self::Internal)
    }
}

/// One committed write.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ChangeEntry {
    /// Grows with every committed write, in commit order; pass the last one seen as `after`.
    pub sequence: i64,
    pub resource_type: FeedType,
    pub resource_id: String,
    /// The resource this one belongs to: a location for its opening hours, exceptions and
    /// topics, a ticket for its messages, a topic's slug for its resources, a meeting place
    /// for its registrations, a scheme for its applications.
    #[oai(nullable)]
    pub parent_id: Option<String>,
    pub action: ChangeAction,
    /// The resource's version after the change (its `ETag` is `"<version>"`); null for a
    /// deletion and for resources without versions (exceptions, messages).
    #[oai(nullable)]
    pub version: Option<i32>,
    pub occurred_at: DateTime<Utc>,
}

impl Example for ChangeEntry {
    fn example() -> Self {
        Self {
            sequence: 1042,
            resource_type: FeedType::OpeningHours,
            resource_id: "01936f0e-8c1a-7b3e-9a51-2f0c4d6e8b10".into(),
            parent_id: Some("01936f0e-8c1a-7b3e-9a51-2f0c4d6e8b10".into()),
            action: ChangeAction::Updated,
            version: Some(4),
            occurred_at: DateTime::parse_from_rfc3339("2026-12-04T09:30:00Z")
                .expect("a valid instant")
                .with_timezone(&Utc),
        }
    }
}

impl ChangeEntry {
    /// `None` for a stored row this server does not know how to read (a newer server's).
    pub fn from_row(row: change::Model) -> Option<Self> {
        Some(Self {
            sequence: row.sequence,
            resource_type: FeedType::from_stored(&row.resource_type)?,
            resource_id: row.resource_id,
            parent_id: row.parent_id,
            action: ChangeAction::from_stored(&row.action)?,
            version: row.version,
            occurred_at: row.occurred_at,
        })
    }
}

/// A page of the feed. Ask for the next with `after=next_after`; an empty page keeps
/// `next_after` where it was, to poll again later.
#[derive(Debug, Object)]
pub struct ChangePage {
    pub items: Vec<ChangeEntry>,
    pub next_after: i64,
    /// The newest sequence committed when the page was read (of any entry, visible or
    /// not). A system starting a copy notes it, loads the lists, then follows the feed
    /// from `after=latest_sequence`.
    pub latest_sequence: i64,
}

#[derive(ApiResponse)]
pub enum ChangeListResponse {
    /// The changes after `after`, oldest first.
    #[oai(status = 200)]
    Ok(Json<ChangePage>),
}
