//! The audit log: every successful write leaves an entry, in the same transaction as the
//! change, and KS and the ministry can read it.

use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use entity::audit_entry;

use crate::auth::{BearerAuth, Caller, Role, policy};
use crate::http::error::{AUTH, ApiError, E400, E422, Failure};
use crate::http::pagination::PageRequest;
use crate::state::AppState;
use crate::tags::ApiTags;

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
        }
    }
}

/// Records one successful write. Call it with the transaction that makes the change, so the
/// entry exists exactly when the change does.
pub async fn record(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    action: Action,
    resource_type: ResourceType,
    resource_id: &str,
    summary: impl Into<String>,
) -> Result<(), DbErr> {
    audit_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        occurred_at: Set(Utc::now()),
        actor_sub: Set(caller.sub.clone()),
        actor_role: Set(caller.role.as_str().to_string()),
        actor_municipality: Set(caller.municipality.as_ref().map(|m| m.to_string())),
        action: Set(action.as_str().to_string()),
        resource_type: Set(resource_type.as_str().to_string()),
        resource_id: Set(resource_id.to_string()),
        summary: Set(summary.into()),
    }
    .insert(conn)
    .await
    .map(|_| ())
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

impl From<audit_entry::Model> for AuditEntry {
    fn from(m: audit_entry::Model) -> Self {
        Self {
            id: m.id,
            occurred_at: m.occurred_at,
            actor_role: match m.actor_role.as_str() {
                "ks" => Role::Ks,
                "kmd" => Role::Kmd,
                _ => Role::Municipality,
            },
            actor_sub: m.actor_sub,
            actor_municipality: m.actor_municipality,
            action: m.action,
            resource_type: m.resource_type,
            resource_id: m.resource_id,
            summary: m.summary,
        }
    }
}

crate::page_object!(AuditEntryPage, AuditEntry);

#[derive(ApiResponse)]
pub enum AuditListResponse {
    /// A page of audit entries, newest first.
    #[oai(status = 200)]
    Ok(Json<AuditEntryPage>),
}

#[derive(Default)]
pub struct AuditApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Audit")]
impl AuditApi {
    /// List audit entries
    ///
    /// Every successful write, newest first, filtered by resource, actor and time. For KS and
    /// the ministry.
    #[oai(path = "/audit", method = "get", operation_id = "list_audit_entries")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// Only entries about this kind of resource, e.g. `municipality`.
        #[oai(validator(max_length = 50))]
        resource_type: Query<Option<String>>,
        /// Only entries about this resource id, e.g. `0301`.
        #[oai(validator(max_length = 100))]
        resource_id: Query<Option<String>>,
        /// Only entries made by this `sub`.
        #[oai(validator(max_length = 255))]
        actor: Query<Option<String>>,
        /// Only entries at or after this instant (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Only entries before this instant (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<AuditListResponse, Failure<{ E400 | AUTH | E422 }>> {
        policy::read_audit_log(&auth.0)?;
        if let (Some(from), Some(to)) = (from.0, to.0)
            && from > to
        {
            return Err(ApiError::invalid("from", "must not be after to").into());
        }
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        let mut query = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
        if let Some(v) = resource_type.0 {
            query = query.filter(audit_entry::Column::ResourceType.eq(v));
        }
        if let Some(v) = resource_id.0 {
            query = query.filter(audit_entry::Column::ResourceId.eq(v));
        }
        if let Some(v) = actor.0 {
            query = query.filter(audit_entry::Column::ActorSub.eq(v));
        }
        if let Some(v) = from.0 {
            query = query.filter(audit_entry::Column::OccurredAt.gte(v));
        }
        if let Some(v) = to.0 {
            query = query.filter(audit_entry::Column::OccurredAt.lt(v));
        }
        if let Some(after) = page.after {
            query = query.filter(audit_entry::Column::Id.lt(after));
        }
        let rows = query.limit(page.fetch()).all(state.db.conn()).await?;
        Ok(AuditListResponse::Ok(Json(
            page.page(rows, |r| r.id).into(),
        )))
    }
}
