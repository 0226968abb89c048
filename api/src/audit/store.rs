//! Writing and reading audit entries.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use entity::audit_entry;

use super::model::{Action, AuditEntry, ResourceType};
use crate::auth::Caller;
use crate::http::error::ApiError;
use crate::http::pagination::{Page, PageRequest};

/// Records one successful write, and its entry in the change feed. Call it with the
/// transaction that makes the change, after the change, so the entries exist exactly when
/// the change does and the feed's entry names the version the change left.
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
    .await?;
    crate::changes::record(conn, resource_type, action, resource_id).await
}

/// What a reader of the log filters by; every filter is optional.
#[derive(Debug, Default)]
pub struct Filters {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The entries about tickets a reader may see: the role matrix hides tickets and internal
/// notes from some roles, and their entries must not tell what the tickets do not.
#[derive(Debug)]
pub struct TicketEntries {
    /// The tickets whose entries may be read; `None` for every ticket.
    pub ids: Option<Vec<String>>,
    pub internal_notes: bool,
}

/// A page of entries, newest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    filters: Filters,
    tickets: TicketEntries,
    page: &PageRequest<Uuid>,
) -> Result<Page<AuditEntry>, ApiError> {
    let mut query = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
    let ticket = ResourceType::Ticket.as_str();
    if let Some(ids) = tickets.ids {
        query = query.filter(
            Condition::any()
                .add(audit_entry::Column::ResourceType.ne(ticket))
                .add(audit_entry::Column::ResourceId.is_in(ids)),
        );
    }
    if !tickets.internal_notes {
        query = query.filter(
            Condition::any()
                .add(audit_entry::Column::ResourceType.ne(ticket))
                .add(audit_entry::Column::Action.ne(Action::Note.as_str())),
        );
    }
    if let Some(v) = filters.resource_type {
        query = query.filter(audit_entry::Column::ResourceType.eq(v));
    }
    if let Some(v) = filters.resource_id {
        query = query.filter(audit_entry::Column::ResourceId.eq(v));
    }
    if let Some(v) = filters.actor {
        query = query.filter(audit_entry::Column::ActorSub.eq(v));
    }
    if let Some(v) = filters.from {
        query = query.filter(audit_entry::Column::OccurredAt.gte(v));
    }
    if let Some(v) = filters.to {
        query = query.filter(audit_entry::Column::OccurredAt.lt(v));
    }
    if let Some(after) = page.after {
        query = query.filter(audit_entry::Column::Id.lt(after));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    let entries = rows
        .into_iter()
        .map(AuditEntry::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page.page(entries, |e: &AuditEntry| e.id))
}
