//! Reading and writing subscriptions, and reading their delivery attempts.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use entity::{webhook, webhook_attempt, webhook_delivery};

use super::model::{DeliveryAttempt, Webhook, WebhookEvent};
use super::rules::{WebhookFields, WebhookUpdate, join, split};
use crate::audit;
use crate::auth::{Caller, Role};
use crate::changes::model::{ChangeAction, FeedType};
use crate::common::clock;
use crate::http::error::ApiError;
use crate::http::pagination::{Page, PageRequest};
use crate::http::preconditions::{delete_versioned, update_versioned};

const RESOURCE: audit::ResourceType = audit::ResourceType::Webhook;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("there is no webhook {id}"))
}

/// The subscription `id`, if the caller may see it: KS sees every one, a municipality its
/// own; anyone else's is not found.
pub async fn find_model(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<webhook::Model, ApiError> {
    let found = webhook::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))?;
    let visible = match caller.role {
        Role::Ks => true,
        Role::Municipality => {
            found.owner_role == Role::Municipality.as_str()
                && found.owner_municipality.as_deref()
                    == caller.municipality.as_ref().map(|m| m.as_str())
        }
        Role::Kmd => false,
    };
    if visible {
        Ok(found)
    } else {
        Err(not_found(id))
    }
}

pub async fn find(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<Webhook, ApiError> {
    let model = find_model(conn, caller, id).await?;
    to_wire(conn, model).await
}

pub async fn to_wire(conn: &impl ConnectionTrait, m: webhook::Model) -> Result<Webhook, ApiError> {
    let pending = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(m.id))
        .filter(webhook_delivery::Column::State.eq(PENDING))
        .count(conn)
        .await?;
    Ok(Webhook {
        id: m.id,
        url: m.url,
        description: m.description,
        resource_types: split(&m.resource_types, FeedType::from_stored),
        actions: split(&m.actions, ChangeAction::from_stored),
        enabled: m.enabled,
        disabled_reason: m.disabled_reason,
        failing_since: m.failing_since,
        pending_deliveries: pending,
        queued_through: m.after_sequence,
        municipality_number: m.owner_municipality,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Stores a new subscription that starts with the changes after `after_sequence`.
pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    fields: &WebhookFields,
    secret: &str,
    after_sequence: i64,
) -> Result<webhook::Model, ApiError> {
    let now = clock::now();
    let id = Uuid::now_v7();
    let row = webhook::ActiveModel {
        id: Set(id),
        url: Set(fields.url.clone()),
        description: Set(fields.description.clone()),
        resource_types: Set(join(&fields.resource_types, FeedType::as_str)),
        actions: Set(join(&fields.actions, ChangeAction::as_str)),
        secret: Set(secret.to_string()),
        owner_role: Set(caller.role.as_str().to_string()),
        owner_sub: Set(caller.sub.clone()),
        owner_municipality: Set(caller.municipality.as_ref().map(|m| m.to_string())),
        after_sequence: Set(after_sequence),
        enabled: Set(true),
        disabled_reason: Set(None),
        failing_since: Set(None),
        lease_until: Set(None),
        lease_token: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &id.to_string(),
        format!("subscribed {}", fields.url),
    )
    .await?;
    Ok(row)
}

/// Subscriptions the caller may see, oldest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<Webhook>, ApiError> {
    let page = PageRequest::<Uuid>::new(limit, cursor)?;
    let mut query = webhook::Entity::find().order_by_asc(webhook::Column::Id);
    if caller.role != Role::Ks {
        let own = caller.municipality.as_ref().map_or("", |m| m.as_str());
        query = query
            .filter(webhook::Column::OwnerRole.eq(Role::Municipality.as_str()))
            .filter(webhook::Column::OwnerMunicipality.eq(own));
    }
    if let Some(after) = page.after {
        query = query.filter(webhook::Column::Id.gt(after));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    let rows = page.page::<_, webhook::Model>(rows, |m| m.id);
    let mut items = Vec::with_capacity(rows.items.len());
    for m in rows.items {
        items.push(to_wire(conn, m).await?);
    }
    Ok(Page {
        items,
        next_cursor: rows.next_cursor,
    })
}

/// Writes `update` over `current` (at the version `If-Match` named), with its audit entry.
/// Turning a subscription back on forgets its failures and tries its deliveries at once.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &webhook::Model,
    update: &WebhookUpdate,
) -> Result<Webhook, ApiError> {
    let now = clock::now();
    let mut row = webhook::ActiveModel {
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(url) = &update.url {
        row.url = Set(url.clone());
    }
    if let Some(description) = &update.description {
        row.description = Set(description.clone());
    }
    if let Some(types) = &update.resource_types {
        row.resource_types = Set(join(types, FeedType::as_str));
    }
    if let Some(actions) = &update.actions {
        row.actions = Set(join(actions, ChangeAction::as_str));
    }
    let enabling = update.enabled == Some(true) && !current.enabled;
    if let Some(enabled) = update.enabled {
        row.enabled = Set(enabled);
    }
    if enabling {
        row.disabled_reason = Set(None);
        row.failing_since = Set(None);
    }
    update_versioned(
        conn,
        row,
        webhook::Column::Id.eq(current.id),
        webhook::Column::Version,
        current.version,
    )
    .await?;
    if enabling {
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
            .filter(webhook_delivery::Column::WebhookId.eq(current.id))
            .filter(webhook_delivery::Column::State.eq(PENDING))
            .exec(conn)
            .await?;
    }
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &current.id.to_string(),
        "changed the subscription",
    )
    .await?;
    find(conn, caller, current.id).await
}

/// Removes a subscription with its deliveries and their attempts.
pub async fn delete(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &webhook::Model,
) -> Result<(), ApiError> {
    // Children first: SQLite enforces the keys but the cascade is not relied on.
    webhook_attempt::Entity::delete_many()
        .filter(webhook_attempt::Column::WebhookId.eq(current.id))
        .exec(conn)
        .await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(current.id))
        .exec(conn)
        .await?;
    delete_versioned::<webhook::Entity>(
        conn,
        webhook::Column::Id.eq(current.id),
        webhook::Column::Version,
        current.version,
    )
    .await?;
    audit::record(
        conn,
        caller,
        audit::Action::Delete,
        RESOURCE,
        &current.id.to_string(),
        format!("unsubscribed {}", current.url),
    )
    .await?;
    Ok(())
}

/// Queues a delivery of `payload` (made by `body` from the new delivery's id), to be sent
/// after the deliveries queued before it.
pub async fn queue(
    conn: &impl ConnectionTrait,
    webhook_id: Uuid,
    event: WebhookEvent,
    sequence: Option<i64>,
    body: impl FnOnce(Uuid) -> String,
) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    let now = clock::now();
    webhook_delivery::ActiveModel {
        id: Set(id),
        webhook_id: Set(webhook_id),
        sequence: Set(sequence),
        event: Set(event.as_str().to_string()),
        payload: Set(body(id)),
        state: Set(PENDING.to_string()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        delivered_at: Set(None),
    }
    .insert(conn)
    .await?;
    Ok(id)
}

/// A subscription's attempts, newest first.
pub async fn attempts(
    conn: &impl ConnectionTrait,
    webhook_id: Uuid,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<DeliveryAttempt>, ApiError> {
    let page = PageRequest::<Uuid>::new(limit, cursor)?;
    let mut query = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_attempt::Column::Id);
    if let Some(before) = page.after {
        query = query.filter(webhook_attempt::Column::Id.lt(before));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    let rows = page.page::<_, webhook_attempt::Model>(rows, |m| m.id);
    let ids: Vec<Uuid> = rows.items.iter().map(|a| a.delivery_id).collect();
    let deliveries: std::collections::HashMap<Uuid, webhook_delivery::Model> =
        webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Id.is_in(ids))
            .all(conn)
            .await?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
    let items = rows
        .items
        .into_iter()
        .map(|a| {
            let delivery = deliveries.get(&a.delivery_id);
            DeliveryAttempt {
                id: a.id,
                delivery_id: a.delivery_id,
                event: delivery.map_or(WebhookEvent::Change, |d| {
                    WebhookEvent::from_stored(&d.event)
                }),
                sequence: delivery.and_then(|d| d.sequence),
                attempted_at: a.attempted_at,
                succeeded: a.status_code.is_some_and(|s| (200..300).contains(&s)),
                status_code: a.status_code,
                error: a.error,
                latency_ms: a.latency_ms,
            }
        })
        .collect();
    Ok(Page {
        items,
        next_cursor: rows.next_cursor,
    })
}
