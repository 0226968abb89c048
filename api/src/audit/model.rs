//! The audit log's wire types, and the typed actions and resource types its entries name.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use entity::audit_entry;

use crate::auth::Role;
use crate::http::error::ApiError;

/// What a write did, as the audit log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
    Withdraw,
    Decide,
    Refer,
    Reply,
    /// An internal note on a ticket (KS only).
    Note,
    Retire,
    Reinstate,
    ReplaceOpeningHours,
    ReplaceTopics,
    /// A waitlisted registration given the places that freed up.
    Promote,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Withdraw => "withdraw",
            Self::Decide => "decide",
            Self::Refer => "refer",
            Self::Reply => "reply",
            Self::Note => "note",
            Self::Retire => "retire",
            Self::Reinstate => "reinstate",
            Self::ReplaceOpeningHours => "replace_opening_hours",
            Self::ReplaceTopics => "replace_topics",
            Self::Promote => "promote",
        }
    }
}

/// The kind of resource a write changed, as the audit log (and its `resource_type` filter)
/// names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceType {
    Municipality,
    Location,
    OpeningException,
    Topic,
    TopicResource,
    Ticket,
    MeetingPlace,
    MeetingPlaceRegistration,
    GrantScheme,
    GrantApplication,
    /// The kontaktpunkt's business calendar.
    ServiceCalendar,
    /// The kontaktpunkt's service-level targets.
    ServiceLevels,
    /// A webhook subscription (kept out of the change feed: it is its owner's setting).
    Webhook,
}

impl ResourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Municipality => "municipality",
            Self::Location => "location",
            Self::OpeningException => "opening_exception",
            Self::Topic => "topic",
            Self::TopicResource => "topic_resource",
            Self::Ticket => "ticket",
            Self::MeetingPlace => "meeting_place",
            Self::MeetingPlaceRegistration => "meeting_place_registration",
            Self::GrantScheme => "grant_scheme",
            Self::GrantApplication => "grant_application",
            Self::ServiceCalendar => "service_calendar",
            Self::ServiceLevels => "service_levels",
            Self::Webhook => "webhook",
        }
    }
}

/// One successful write.
#[derive(Debug, Object)]
pub struct AuditEntry {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The `sub` of the caller's token.
    pub actor_sub: String,
    pub actor_role: Role,
    /// The caller's municipality, for the municipality role.
    #[oai(nullable)]
    pub actor_municipality: Option<String>,
    /// What was done: `create`, `update`, `delete`, ...
    pub action: String,
    /// The kind of resource: `municipality`, `location`, ...
    pub resource_type: String,
    pub resource_id: String,
    /// What changed, in a few words.
    pub summary: String,
}

impl TryFrom<audit_entry::Model> for AuditEntry {
    type Error = ApiError;

    fn try_from(m: audit_entry::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: m.id,
            occurred_at: m.occurred_at,
            actor_role: Role::from_stored(&m.actor_role)?,
            actor_sub: m.actor_sub,
            actor_municipality: m.actor_municipality,
            action: m.action,
            resource_type: m.resource_type,
            resource_id: m.resource_id,
            summary: m.summary,
        })
    }
}

crate::page_object!(AuditEntryPage, AuditEntry);

#[derive(ApiResponse)]
pub enum AuditListResponse {
    /// A page of audit entries, newest first.
    #[oai(status = 200)]
    Ok(Json<AuditEntryPage>),
}
