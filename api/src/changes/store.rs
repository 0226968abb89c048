//! Writing the feed in the writers' transactions, and reading it back by role.
//!
//! Every write transaction bumps the one `change_counter` row and numbers its entries with
//! the result. The bump holds the row's lock until the transaction ends, so a second writer
//! waits for the first to commit (or roll back) before it gets the next number: numbers are
//! handed out in commit order, and a reader that has seen number `n` has seen every number
//! below it that will ever commit. On SQLite, where writers are serialised anyway, the same
//! statement does the same.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Condition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};

use entity::{change, ticket_message};

use super::model::{Audience, ChangeAction, ChangeEntry, FeedType};
use super::subject::{self, Subject};
use crate::audit::{Action, ResourceType};
use crate::auth::{Caller, Role};
use crate::common::clock;

/// The committed change count: the sequence of the newest entry any reader can see. A
/// cache keyed by it is never older than what had committed when it was read.
pub async fn counter(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(counters(conn).await?.0)
}

/// (the newest sequence, the last sequence pruned)
async fn counters(conn: &impl ConnectionTrait) -> Result<(i64, i64), DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT value, pruned_through FROM change_counter WHERE id = 1",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the change counter".into()))?;
    Ok((
        row.try_get("", "value")?,
        row.try_get("", "pruned_through")?,
    ))
}

/// The next sequence; the caller's transaction holds the counter until it ends.
async fn next_sequence(conn: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the change counter".into()))?;
    row.try_get("", "value")
}

async fn insert(conn: &impl ConnectionTrait, s: Subject) -> Result<i64, DbErr> {
    let sequence = next_sequence(conn).await?;
    change::ActiveModel {
        sequence: Set(sequence),
        resource_type: Set(s.resource_type.as_str().to_string()),
        resource_id: Set(s.resource_id),
        parent_id: Set(s.parent_id),
        action: Set(s.action.as_str().to_string()),
        version: Set(s.version),
        occurred_at: Set(clock::now()),
        audience: Set(s.audience.as_str().to_string()),
        municipality_number: Set(s.municipality),
        ticket_id: Set(s.ticket_id),
    }
    .insert(conn)
    .await?;
    Ok(sequence)
}

/// The entry of an audited write, in its transaction (called by [`crate::audit::record`],
/// so no write leaves the feed out).
pub async fn record(
    conn: &impl ConnectionTrait,
    resource: ResourceType,
    action: Action,
    id: &str,
) -> Result<(), DbErr> {
    if let Some(subject) = subject::describe(conn, resource, action, id).await? {
        insert(conn, subject).await?;
    }
    Ok(())
}

/// The entry of a new message on a ticket: the ticket's readers see replies, KS alone
/// sees internal notes.
pub async fn record_message(
    conn: &impl ConnectionTrait,
    message: &ticket_message::Model,
    ticket_municipality: &str,
) -> Result<(), DbErr> {
    let subject = Subject {
        resource_type: FeedType::TicketMessage,
        resource_id: message.id.to_string(),
        parent_id: Some(message.ticket_id.to_string()),
        action: ChangeAction::Created,
        version: None,
        audience: if message.internal {
            Audience::Internal
        } else {
            Audience::Ticket
        },
        municipality: Some(ticket_municipality.to_string()),
        ticket_id: Some(message.ticket_id),
    };
    insert(conn, subject).await.map(|_| ())
}

/// Why a page cannot be read.
#[derive(Debug)]
pub enum FeedError {
    /// `after` is older than what is kept: (the last sequence pruned).
    Expired(i64),
    Db(DbErr),
}

impl From<DbErr> for FeedError {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

/// The condition on entries that `caller` (`None`: anonymous) may read.
pub fn visible_to(caller: Option<&Caller>) -> Condition {
    let audience = change::Column::Audience;
    let public = audience.eq(Audience::Public.as_str());
    let Some(caller) = caller else {
        return Condition::all().add(public);
    };
    match caller.role {
        Role::Ks => Condition::all(),
        Role::Kmd => Condition::any()
            .add(audience.is_in([
                Audience::Public.as_str(),
                Audience::Staff.as_str(),
                Audience::Owner.as_str(),
            ]))
            .add(
                Condition::all()
                    .add(audience.eq(Audience::Ticket.as_str()))
                    .add(
                        change::Column::TicketId
                            .in_subquery(crate::tickets::store::visible_ids_query(caller)),
                    ),
            ),
        Role::Municipality => {
            let own = caller.municipality.as_ref().map_or("", |m| m.as_str());
            Condition::any().add(public).add(
                Condition::all()
                    .add(audience.is_in([Audience::Owner.as_str(), Audience::Ticket.as_str()]))
                    .add(change::Column::MunicipalityNumber.eq(own)),
            )
        }
    }
}

/// A page of the feed: the entries, and the newest sequence committed.
pub struct FeedPage {
    pub items: Vec<ChangeEntry>,
    pub latest_sequence: i64,
}

/// Up to `limit` entries after `after` that the caller may read, oldest first.
pub async fn list(
    conn: &impl ConnectionTrait,
    caller: Option<&Caller>,
    after: i64,
    types: &[FeedType],
    actions: &[ChangeAction],
    limit: u64,
) -> Result<FeedPage, FeedError> {
    let (latest_sequence, pruned_through) = counters(conn).await?;
    if after < pruned_through {
        return Err(FeedError::Expired(pruned_through));
    }
    let mut query = change::Entity::find()
        .filter(change::Column::Sequence.gt(after))
        .filter(visible_to(caller))
        .order_by_asc(change::Column::Sequence)
        .limit(limit);
    if !types.is_empty() {
        query = query.filter(change::Column::ResourceType.is_in(types.iter().map(|t| t.as_str())));
    }
    if !actions.is_empty() {
        query = query.filter(change::Column::Action.is_in(actions.iter().map(|a| a.as_str())));
    }
    let rows = query.all(conn).await?;
    Ok(FeedPage {
        items: rows.into_iter().filter_map(ChangeEntry::from_row).collect(),
        latest_sequence,
    })
}

/// Removes the entries older than `before`, and remembers up to where, so that a reader
/// asking from before it is told to resync (410). The entries go by sequence, so what is
/// kept is always one unbroken run. Returns how many went.
pub async fn prune(conn: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let newest_old: Option<i64> = change::Entity::find()
        .select_only()
        .column_as(change::Column::Sequence.max(), "max")
        .filter(change::Column::OccurredAt.lt(before))
        .into_tuple()
        .one(conn)
        .await?
        .flatten();
    let Some(through) = newest_old else {
        return Ok(0);
    };
    let removed = change::Entity::delete_many()
        .filter(change::Column::Sequence.lte(through))
        .exec(conn)
        .await?
        .rows_affected;
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        match conn.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                "UPDATE change_counter SET pruned_through = GREATEST(pruned_through, $1) WHERE id = 1"
            }
            _ => "UPDATE change_counter SET pruned_through = MAX(pruned_through, ?) WHERE id = 1",
        },
        [through.into()],
    ))
    .await?;
    Ok(removed)
}
