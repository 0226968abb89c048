//! The queries and writes of tickets. Each write runs in the caller's transaction and leaves
//! its audit entry there.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set,
};
use uuid::Uuid;

use entity::{ticket, ticket_counter, ticket_message, ticket_status_change};

use super::model::{
    ReferralTarget, SlaFilter, StatusChange, StatusChangeReason, Ticket, TicketCategory,
    TicketMessage, TicketMessagePage, TicketPage, TicketPriority, TicketStatus, join_tags,
    ticket_tag,
};
use super::rules::{self, ChangeSet, TicketId, ValidMessage, ValidNewTicket};
use super::service_levels::store::{self as service_levels, Hold, Settings};
use super::sla::{Clock, Clocks, Progress};
use super::statistics::TicketTimes;
use crate::audit;
use crate::auth::Caller;
use crate::auth::policy::{self, TicketScope};
use crate::common::clock;
use crate::common::text::{Needle, fold};
use crate::common::values::MunicipalityNumber;
use crate::http::error::ApiError;
use crate::http::pagination::{Page, PageRequest};
use crate::http::preconditions::update_versioned;

const RESOURCE: audit::ResourceType = audit::ResourceType::Ticket;

/// The clocks stored on `row`; `None` for a ticket created before service levels were kept.
fn stored_clocks(row: &ticket::Model) -> Option<Clocks> {
    let clock = |counted: Option<i64>, since, due_at, due_soon_at, met| {
        Some(Clock {
            counted: chrono::TimeDelta::microseconds(counted?),
            running_since: since,
            due_at,
            due_soon_at,
            met,
        })
    };
    Some(Clocks {
        first_response: clock(
            row.first_response_counted_micros,
            row.first_response_clock_since,
            row.first_response_due_at,
            row.first_response_due_soon_at,
            row.first_response_met,
        )?,
        resolution: clock(
            row.resolution_counted_micros,
            row.resolution_clock_since,
            row.resolution_due_at,
            row.resolution_due_soon_at,
            row.resolution_met,
        )?,
    })
}

/// Business time in whole microseconds, as it is stored (no clock counts centuries).
fn micros(counted: chrono::TimeDelta) -> i64 {
    counted.num_microseconds().unwrap_or(i64::MAX)
}

/// Writes a ticket's clocks alone: its version and `updated_at` stay, as no field of it
/// changed.
async fn store_clocks(
    conn: &impl ConnectionTrait,
    id: Uuid,
    clocks: &Clocks,
) -> Result<(), ApiError> {
    let mut update = ticket::ActiveModel {
        ..Default::default()
    };
    set_clocks(&mut update, clocks);
    ticket::Entity::update_many()
        .set(update)
        .filter(ticket::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Sets the clock columns of `row` to `clocks`.
fn set_clocks(row: &mut ticket::ActiveModel, clocks: &Clocks) {
    let (f, r) = (&clocks.first_response, &clocks.resolution);
    row.first_response_counted_micros = Set(Some(micros(f.counted)));
    row.first_response_clock_since = Set(f.running_since);
    row.first_response_due_at = Set(f.due_at);
    row.first_response_due_soon_at = Set(f.due_soon_at);
    row.first_response_met = Set(f.met);
    row.resolution_counted_micros = Set(Some(micros(r.counted)));
    row.resolution_clock_since = Set(r.running_since);
    row.resolution_due_at = Set(r.due_at);
    row.resolution_due_soon_at = Set(r.due_soon_at);
    row.resolution_met = Set(r.met);
    row.sla_next_due_at = Set(clocks.next_due_at());
}

/// The clocks of a ticket from before service levels were kept, replayed from its
/// `history` of (instant, new status) with `settings`.
fn replayed(
    row: &ticket::Model,
    history: &[(DateTime<Utc>, TicketStatus)],
    settings: &Settings,
) -> Result<Clocks, ApiError> {
    let priority = TicketPriority::from_stored(&row.priority)?;
    Ok(Clocks::replay(
        &settings.calendar,
        settings.targets.of(priority),
        row.created_at,
        history,
        row.first_response_at,
    ))
}

/// The clocks of `row`: stored, or replayed from its status history.
async fn clocks_of(
    conn: &impl ConnectionTrait,
    row: &ticket::Model,
    settings: &Settings,
) -> Result<Clocks, ApiError> {
    if let Some(clocks) = stored_clocks(row) {
        return Ok(clocks);
    }
    let history = ticket_status_change::Entity::find()
        .filter(ticket_status_change::Column::TicketId.eq(row.id))
        .order_by_asc(ticket_status_change::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|c| Ok((c.changed_at, TicketStatus::from_stored(&c.to_status)?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    replayed(row, &history, settings)
}

/// The settings that a ticket write counts with, held (shared) until it commits, so that a
/// change of the calendar or the targets waits for it and it for them. Taken before the
/// ticket itself, the one lock order of every writer.
pub async fn hold_settings(conn: &impl ConnectionTrait) -> Result<Settings, ApiError> {
    service_levels::settings(conn, Hold::Share).await
}

/// What a ticket list is narrowed by; `None` leaves a filter out.
#[derive(Debug, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    pub category: Option<TicketCategory>,
    pub priority: Option<TicketPriority>,
    pub assignee: Option<String>,
    pub municipality: Option<MunicipalityNumber>,
    pub tag: Option<String>,
    /// Part of the subject or body, in any case.
    pub text: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Where the service-level targets stand at `now`.
    pub sla: Option<(SlaFilter, DateTime<Utc>)>,
}

/// The order of a list and its cursor.
pub enum ListOrder {
    /// Newest first: the cursor is the last id.
    Newest(PageRequest<Uuid>),
    /// By `sla_next_due_at` (none last), then id: the cursor is both.
    NextDue(PageRequest<(Option<DateTime<Utc>>, Uuid)>),
}

/// The conditions on one clock's columns (`met`, `due_at`, `due_soon_at`) that say where
/// its target stands at `now`, as [`super::sla::Clock::state`] does; each is true or
/// false, never NULL, so that they can be combined.
struct ClockColumns {
    met: ticket::Column,
    due_at: ticket::Column,
    due_soon_at: ticket::Column,
}

impl ClockColumns {
    const FIRST_RESPONSE: Self = Self {
        met: ticket::Column::FirstResponseMet,
        due_at: ticket::Column::FirstResponseDueAt,
        due_soon_at: ticket::Column::FirstResponseDueSoonAt,
    };
    const RESOLUTION: Self = Self {
        met: ticket::Column::ResolutionMet,
        due_at: ticket::Column::ResolutionDueAt,
        due_soon_at: ticket::Column::ResolutionDueSoonAt,
    };

    fn met(&self) -> Condition {
        Condition::all()
            .add(self.met.is_not_null())
            .add(self.met.eq(true))
    }

    /// Counting, and its due time not passed.
    fn counting_in_time(&self, now: DateTime<Utc>) -> Condition {
        Condition::all().add(self.met.is_null()).add(
            Condition::any()
                .add(self.due_at.is_null())
                .add(self.due_at.gte(now)),
        )
    }

    fn breached(&self, now: DateTime<Utc>) -> Condition {
        Condition::any()
            .add(
                Condition::all()
                    .add(self.met.is_not_null())
                    .add(self.met.eq(false)),
            )
            .add(
                Condition::all()
                    .add(self.met.is_null())
                    .add(self.due_at.is_not_null())
                    .add(self.due_at.lt(now)),
            )
    }

    fn not_breached(&self, now: DateTime<Utc>) -> Condition {
        Condition::any()
            .add(self.met())
            .add(self.counting_in_time(now))
    }

    fn due_soon(&self, now: DateTime<Utc>) -> Condition {
        self.counting_in_time(now)
            .add(self.due_soon_at.is_not_null())
            .add(self.due_soon_at.lt(now))
    }

    fn on_track(&self, now: DateTime<Utc>) -> Condition {
        self.counting_in_time(now).add(
            Condition::any()
                .add(self.due_soon_at.is_null())
                .add(self.due_soon_at.gte(now)),
        )
    }
}

/// The tickets whose targets stand as `filter` says at `now` (see [`SlaFilter`]); tickets
/// whose clocks are not stored yet are left out.
fn sla_condition(filter: SlaFilter, now: DateTime<Utc>) -> Condition {
    let (f, r) = (ClockColumns::FIRST_RESPONSE, ClockColumns::RESOLUTION);
    let counted = Condition::all().add(ticket::Column::FirstResponseCountedMicros.is_not_null());
    let neither_breached = Condition::all()
        .add(f.not_breached(now))
        .add(r.not_breached(now));
    counted.add(match filter {
        SlaFilter::Breached => Condition::any().add(f.breached(now)).add(r.breached(now)),
        SlaFilter::DueSoon => {
            neither_breached.add(Condition::any().add(f.due_soon(now)).add(r.due_soon(now)))
        }
        SlaFilter::OnTrack => Condition::all()
            .add(Condition::any().add(f.met()).add(f.on_track(now)))
            .add(Condition::any().add(r.met()).add(r.on_track(now)))
            .add(Condition::any().add(f.on_track(now)).add(r.on_track(now))),
        SlaFilter::Met => Condition::all().add(f.met()).add(r.met()),
    })
}

/// The tickets the caller may see.
fn scoped(caller: &Caller) -> Select<ticket::Entity> {
    let query = ticket::Entity::find();
    match policy::ticket_scope(caller) {
        TicketScope::All => query,
        TicketScope::ReferredToMinistry => {
            query.filter(ticket::Column::ReferralTo.eq(ReferralTarget::Ministry.as_str()))
        }
        TicketScope::Municipality(number) => {
            query.filter(ticket::Column::MunicipalityNumber.eq(number))
        }
    }
}

/// The ids of the tickets the caller may see, as a subquery (the change feed's filter).
pub fn visible_ids_query(caller: &Caller) -> sea_orm::sea_query::SelectStatement {
    scoped(caller)
        .select_only()
        .column(ticket::Column::Id)
        .into_query()
}

/// The ids of the tickets the caller may see, as the audit log names them; `None` when the
/// caller sees every ticket.
pub async fn visible_ids(
    conn: &impl ConnectionTrait,
    caller: &Caller,
) -> Result<Option<Vec<String>>, DbErr> {
    if policy::ticket_scope(caller) == TicketScope::All {
        return Ok(None);
    }
    let ids: Vec<Uuid> = scoped(caller)
        .select_only()
        .column(ticket::Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(Some(ids.iter().map(Uuid::to_string).collect()))
}

/// The messages of a ticket the caller may see: internal notes for KS only.
fn messages_of(caller: &Caller, ticket_id: Uuid) -> Select<ticket_message::Entity> {
    let query =
        ticket_message::Entity::find().filter(ticket_message::Column::TicketId.eq(ticket_id));
    if policy::sees_internal_notes(caller) {
        query
    } else {
        query.filter(ticket_message::Column::Internal.eq(false))
    }
}

async fn visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
    lock: bool,
) -> Result<Option<ticket::Model>, DbErr> {
    let mut query = scoped(caller).filter(ticket::Column::Id.eq(id));
    if lock {
        // PostgreSQL: the row stays locked until commit; SQLite's write lock already
        // serialises writers.
        query = query.lock_exclusive();
    }
    query.one(conn).await
}

/// A ticket the caller may see; 404 for any other.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: TicketId,
) -> Result<ticket::Model, ApiError> {
    visible(conn, caller, id.0, false)
        .await?
        .ok_or_else(|| id.not_found())
}

/// [`find_visible`], locked for the rest of the transaction, to be changed.
pub async fn lock_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: TicketId,
) -> Result<ticket::Model, ApiError> {
    visible(conn, caller, id.0, true)
        .await?
        .ok_or_else(|| id.not_found())
}

/// A ticket as the caller sees it after a write in this transaction.
async fn reread(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<Ticket, ApiError> {
    let row = visible(conn, caller, id, false)
        .await?
        .ok_or(ApiError::Internal)?;
    view(conn, caller, row).await
}

/// A page of the tickets the caller may see that `filter` lets through, in `order`.
pub async fn list(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    filter: TicketFilter,
    order: &ListOrder,
) -> Result<TicketPage, ApiError> {
    use ticket::Column;
    let matching = Condition::all()
        .add_option(filter.status.map(|v| Column::Status.eq(v.as_str())))
        .add_option(filter.category.map(|v| Column::Category.eq(v.as_str())))
        .add_option(filter.priority.map(|v| Column::Priority.eq(v.as_str())))
        .add_option(filter.assignee.map(|v| Column::Assignee.eq(v)))
        .add_option(
            filter
                .municipality
                .map(|v| Column::MunicipalityNumber.eq(v.into_inner())),
        )
        // A slug holds no LIKE wildcards.
        .add_option(filter.tag.map(|v| Column::Tags.like(format!("%,{v},%"))))
        .add_option(filter.text.map(|v| {
            Needle::of(&v).condition(
                (ticket::Entity, Column::SearchAscii),
                (ticket::Entity, Column::SearchFolded),
            )
        }))
        .add_option(filter.updated_since.map(|v| Column::UpdatedAt.gte(v)))
        .add_option(filter.sla.map(|(f, now)| sla_condition(f, now)));
    let query = scoped(caller).filter(matching);
    let page: Page<ticket::Model> = match order {
        ListOrder::Newest(page) => {
            let mut query = query.order_by_desc(Column::Id);
            if let Some(after) = page.after {
                query = query.filter(Column::Id.lt(after));
            }
            let rows = query.limit(page.fetch()).all(conn).await?;
            page.page(rows, |t| t.id)
        }
        ListOrder::NextDue(page) => {
            // Tickets without a due time last: `sla_next_due_at IS NULL` sorts false first.
            let mut query = query
                .order_by_asc(Column::SlaNextDueAt.is_null())
                .order_by_asc(Column::SlaNextDueAt)
                .order_by_asc(Column::Id);
            if let Some((due, id)) = page.after {
                let later = match due {
                    Some(due) => Condition::any()
                        .add(Column::SlaNextDueAt.gt(due))
                        .add(
                            Condition::all()
                                .add(Column::SlaNextDueAt.eq(due))
                                .add(Column::Id.gt(id)),
                        )
                        .add(Column::SlaNextDueAt.is_null()),
                    None => Condition::all()
                        .add(Column::SlaNextDueAt.is_null())
                        .add(Column::Id.gt(id)),
                };
                query = query.filter(later);
            }
            let rows = query.limit(page.fetch()).all(conn).await?;
            page.page(rows, |t| (t.sla_next_due_at, t.id))
        }
    };
    Ok(TicketPage {
        items: views(conn, caller, page.items).await?,
        next_cursor: page.next_cursor,
    })
}

/// A page of the messages of `ticket_id` the caller may see, oldest first.
pub async fn list_messages(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    ticket_id: Uuid,
    page: &PageRequest<Uuid>,
) -> Result<TicketMessagePage, ApiError> {
    let mut query = messages_of(caller, ticket_id).order_by_asc(ticket_message::Column::Id);
    if let Some(after) = page.after {
        query = query.filter(ticket_message::Column::Id.gt(after));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    let page: Page<ticket_message::Model> = page.page(rows, |m| m.id);
    Ok(TicketMessagePage {
        items: page
            .items
            .into_iter()
            .map(TicketMessage::try_from)
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    })
}

/// The ticket as the caller sees it.
pub async fn view(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    row: ticket::Model,
) -> Result<Ticket, ApiError> {
    let mut views = views(conn, caller, vec![row]).await?;
    views.pop().ok_or(ApiError::Internal)
}

/// The tickets as the caller sees them, with their history and visible message counts, in
/// three queries whatever their number.
async fn views(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    rows: Vec<ticket::Model>,
) -> Result<Vec<Ticket>, ApiError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
    let mut histories: HashMap<Uuid, Vec<StatusChange>> = HashMap::new();
    for change in ticket_status_change::Entity::find()
        .filter(ticket_status_change::Column::TicketId.is_in(ids.clone()))
        .order_by_asc(ticket_status_change::Column::Id)
        .all(conn)
        .await?
    {
        histories
            .entry(change.ticket_id)
            .or_default()
            .push(StatusChange::try_from(change)?);
    }
    let mut counts_query = ticket_message::Entity::find()
        .select_only()
        .column(ticket_message::Column::TicketId)
        .column(ticket_message::Column::Internal)
        .column_as(Expr::col(ticket_message::Column::Id).count(), "n")
        .filter(ticket_message::Column::TicketId.is_in(ids))
        .group_by(ticket_message::Column::TicketId)
        .group_by(ticket_message::Column::Internal);
    if !policy::sees_internal_notes(caller) {
        counts_query = counts_query.filter(ticket_message::Column::Internal.eq(false));
    }
    // Per ticket: (all messages the caller sees, the internal notes among them).
    let mut counts: HashMap<Uuid, (i64, i64)> = HashMap::new();
    for (ticket, internal, n) in counts_query
        .into_tuple::<(Uuid, bool, i64)>()
        .all(conn)
        .await?
    {
        let entry = counts.entry(ticket).or_default();
        entry.0 += n;
        if internal {
            entry.1 += n;
        }
    }
    // Tickets from before service levels were kept are replayed with today's settings.
    let settings = if rows.iter().any(|t| stored_clocks(t).is_none()) {
        Some(service_levels::settings(conn, Hold::Read).await?)
    } else {
        None
    };
    let now = clock::now();
    let show_sla = policy::sees_service_level_states(caller);
    rows.into_iter()
        .map(|t| {
            let history = histories.remove(&t.id).unwrap_or_default();
            let (count, notes) = counts.get(&t.id).copied().unwrap_or_default();
            let clocks = match (stored_clocks(&t), &settings) {
                (Some(clocks), _) => clocks,
                (None, Some(settings)) => {
                    let changes: Vec<_> = history.iter().map(|c| (c.changed_at, c.to)).collect();
                    replayed(&t, &changes, settings)?
                }
                (None, None) => return Err(ApiError::Internal),
            };
            Ticket::from_row(t, history, count, notes, clocks, now, show_sla)
        })
        .collect()
}

/// The ETag of the stored ticket as `caller` sees it (see [`ticket_tag`]), for `If-Match`.
pub async fn current_tag(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    ticket: &ticket::Model,
) -> Result<String, ApiError> {
    let notes = if policy::sees_internal_notes(caller) {
        ticket_message::Entity::find()
            .filter(ticket_message::Column::TicketId.eq(ticket.id))
            .filter(ticket_message::Column::Internal.eq(true))
            .count(conn)
            .await?
    } else {
        0
    };
    Ok(ticket_tag(
        ticket.version,
        u32::try_from(notes).unwrap_or(u32::MAX),
    ))
}

/// The next readable number of `year`, taken inside the creating transaction: the counter
/// row stays locked until commit (PostgreSQL) or the write lock is held (SQLite), so
/// concurrent creations queue and a rolled-back creation gives its number back.
async fn next_number(conn: &impl ConnectionTrait, year: i32) -> Result<String, ApiError> {
    ticket_counter::Entity::insert(ticket_counter::ActiveModel {
        year: Set(year),
        last: Set(0),
    })
    .on_conflict_do_nothing_on([ticket_counter::Column::Year])
    .exec_without_returning(conn)
    .await?;
    ticket_counter::Entity::update_many()
        .col_expr(
            ticket_counter::Column::Last,
            Expr::col(ticket_counter::Column::Last).add(1),
        )
        .filter(ticket_counter::Column::Year.eq(year))
        .exec(conn)
        .await?;
    let last = ticket_counter::Entity::find_by_id(year)
        .one(conn)
        .await?
        .ok_or(ApiError::Internal)?
        .last;
    Ok(format!("KP-{year}-{last:05}"))
}

/// The audit entry of a write to ticket `id`.
async fn audited(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    action: audit::Action,
    id: Uuid,
    summary: String,
) -> Result<(), DbErr> {
    audit::record(conn, caller, action, RESOURCE, &id.to_string(), summary).await
}

/// One entry of a ticket's status history.
async fn record_status(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    ticket_id: Uuid,
    from: Option<TicketStatus>,
    to: TicketStatus,
    reason: StatusChangeReason,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    ticket_status_change::ActiveModel {
        id: Set(Uuid::now_v7()),
        ticket_id: Set(ticket_id),
        from_status: Set(from.map(|s| s.as_str().to_string())),
        to_status: Set(to.as_str().to_string()),
        actor_sub: Set(caller.sub.clone()),
        actor_role: Set(caller.role.as_str().to_string()),
        reason: Set(reason.as_str().to_string()),
        changed_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Creates a ticket of the caller's municipality, numbered and `new`.
pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    new: ValidNewTicket,
    settings: &Settings,
) -> Result<Ticket, ApiError> {
    let municipality = caller
        .municipality
        .as_ref()
        .ok_or(ApiError::Internal)?
        .to_string();
    let now = clock::now();
    let number = next_number(conn, rules::numbering_year(now)).await?;
    let id = Uuid::now_v7();
    let clocks = Clocks::start(&settings.calendar, settings.targets.of(new.priority), now);
    let mut row = ticket::ActiveModel {
        id: Set(id),
        number: Set(number.clone()),
        municipality_number: Set(municipality),
        created_by: Set(caller.sub.clone()),
        search_folded: Set(format!("{}\n{}", new.subject, new.body).to_lowercase()),
        search_ascii: Set(fold(&format!("{}\n{}", new.subject, new.body))),
        subject: Set(new.subject),
        body: Set(new.body),
        category: Set(new.category.as_str().to_string()),
        priority: Set(new.priority.as_str().to_string()),
        status: Set(TicketStatus::New.as_str().to_string()),
        assignee: Set(None),
        tags: Set(String::new()),
        referral_to: Set(None),
        referral_note: Set(None),
        referred_at: Set(None),
        referred_by: Set(None),
        first_response_at: Set(None),
        resolved_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    set_clocks(&mut row, &clocks);
    row.insert(conn).await?;
    let reason = StatusChangeReason::Created;
    record_status(conn, caller, id, None, TicketStatus::New, reason, now).await?;
    let summary = format!("created {number}");
    audited(conn, caller, audit::Action::Create, id, summary).await?;
    reread(conn, caller, id).await
}

/// Writes `change` to `current` (read, and locked, at its version) and records a status
/// move in the history.
async fn apply(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &ticket::Model,
    change: ChangeSet,
    settings: &Settings,
) -> Result<(), ApiError> {
    let set = |v: &str| Set(v.to_string());
    let mut row = ticket::ActiveModel {
        updated_at: Set(change.at),
        ..Default::default()
    };
    // The clocks move with the status, the first response and the priority.
    let progress = Progress {
        status: match change.status {
            Some(m) => m.to,
            None => TicketStatus::from_stored(&current.status)?,
        },
        responded: change.first_response_at.is_some() || current.first_response_at.is_some(),
    };
    let priority = match change.priority {
        Some(p) => p,
        None => TicketPriority::from_stored(&current.priority)?,
    };
    let cal = &settings.calendar;
    let clocks = clocks_of(conn, current, settings).await?.advance(
        cal,
        cal,
        settings.targets.of(priority),
        change.at,
        progress,
    );
    set_clocks(&mut row, &clocks);
    if let Some(m) = change.status {
        row.status = set(m.to.as_str());
    }
    if let Some(v) = change.resolved_at {
        row.resolved_at = Set(v);
    }
    if let Some(v) = change.first_response_at {
        row.first_response_at = Set(Some(v));
    }
    if let Some(v) = change.priority {
        row.priority = set(v.as_str());
    }
    if let Some(v) = change.category {
        row.category = set(v.as_str());
    }
    if let Some(v) = &change.tags {
        row.tags = Set(join_tags(v));
    }
    if let Some(v) = change.assignee {
        row.assignee = Set(v);
    }
    if let Some(referral) = change.referral {
        row.referral_to = Set(Some(referral.to.as_str().to_string()));
        row.referral_note = Set(Some(referral.note));
        row.referred_at = Set(Some(change.at));
        row.referred_by = Set(Some(caller.sub.clone()));
    }
    let key = ticket::Column::Id.eq(current.id);
    update_versioned(conn, row, key, ticket::Column::Version, current.version).await?;
    if let Some(m) = change.status {
        record_status(
            conn,
            caller,
            current.id,
            Some(m.from),
            m.to,
            m.reason,
            change.at,
        )
        .await?;
    }
    Ok(())
}

/// Writes an update of KS and audits it.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &ticket::Model,
    change: ChangeSet,
    settings: &Settings,
) -> Result<Ticket, ApiError> {
    let summary = format!("{}: {}", current.number, change.summary());
    apply(conn, caller, current, change, settings).await?;
    audited(conn, caller, audit::Action::Update, current.id, summary).await?;
    reread(conn, caller, current.id).await
}

/// Writes a referral and audits it.
pub async fn refer(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &ticket::Model,
    change: ChangeSet,
    settings: &Settings,
) -> Result<Ticket, ApiError> {
    // A referral's change set always carries the referral.
    let to = change.referral.as_ref().ok_or(ApiError::Internal)?.to;
    let summary = format!("{} referred to {}", current.number, to.as_str());
    apply(conn, caller, current, change, settings).await?;
    audited(conn, caller, audit::Action::Refer, current.id, summary).await?;
    reread(conn, caller, current.id).await
}

/// Adds a message to `ticket`, applies what it changes on the ticket (nothing for an internal
/// note) and audits it.
pub async fn add_message(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    ticket: &ticket::Model,
    message: ValidMessage,
    change: Option<ChangeSet>,
    at: DateTime<Utc>,
    settings: &Settings,
) -> Result<TicketMessage, ApiError> {
    let internal = message.internal;
    let created = ticket_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        ticket_id: Set(ticket.id),
        author_sub: Set(caller.sub.clone()),
        author_role: Set(caller.role.as_str().to_string()),
        author_municipality: Set(caller.municipality.as_ref().map(|m| m.to_string())),
        body: Set(message.body),
        internal: Set(internal),
        created_at: Set(at),
    }
    .insert(conn)
    .await?;
    let change_applied = change.is_some();
    if let Some(change) = change {
        apply(conn, caller, ticket, change, settings).await?;
    }
    let (action, kind) = if internal {
        (audit::Action::Note, "internal note")
    } else {
        (audit::Action::Reply, "reply")
    };
    let summary = format!("{kind} on {}", ticket.number);
    audited(conn, caller, action, ticket.id, summary).await?;
    crate::changes::record_message(conn, &created, &ticket.municipality_number).await?;
    if change_applied {
        let id = ticket.id.to_string();
        crate::changes::record(conn, RESOURCE, audit::Action::Update, &id).await?;
    }
    TicketMessage::try_from(created)
}

/// What the statistics need of the tickets created in `[from, to)`.
pub async fn ticket_times(
    conn: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<TicketTimes>, ApiError> {
    let mut query = ticket::Entity::find().order_by_asc(ticket::Column::Id);
    if let Some(from) = from {
        query = query.filter(ticket::Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(ticket::Column::CreatedAt.lt(to));
    }
    // Only the columns the figures need: a ticket's body can be long.
    #[derive(sea_orm::FromQueryResult)]
    struct Times {
        category: String,
        priority: String,
        status: String,
        created_at: DateTime<Utc>,
        first_response_at: Option<DateTime<Utc>>,
        resolved_at: Option<DateTime<Utc>>,
        first_response_counted_micros: Option<i64>,
        first_response_met: Option<bool>,
        resolution_counted_micros: Option<i64>,
        resolution_met: Option<bool>,
    }
    let found = query
        .select_only()
        .columns([
            ticket::Column::Category,
            ticket::Column::Priority,
            ticket::Column::Status,
            ticket::Column::CreatedAt,
            ticket::Column::FirstResponseAt,
            ticket::Column::ResolvedAt,
            ticket::Column::FirstResponseCountedMicros,
            ticket::Column::FirstResponseMet,
            ticket::Column::ResolutionCountedMicros,
            ticket::Column::ResolutionMet,
        ])
        .into_model::<Times>()
        .all(conn)
        .await?;
    found
        .into_iter()
        .map(|t| {
            let seconds =
                |at: Option<DateTime<Utc>>| at.map(|at| (at - t.created_at).num_seconds());
            // A settled clock counted up to the reply (or the resolution).
            let business = |at: Option<DateTime<Utc>>, counted: Option<i64>, met: Option<bool>| {
                at.and(met).and(counted).map(|micros| micros / 1_000_000)
            };
            Ok(TicketTimes {
                category: TicketCategory::from_stored(&t.category)?,
                priority: TicketPriority::from_stored(&t.priority)?,
                status: TicketStatus::from_stored(&t.status)?,
                first_response: seconds(t.first_response_at),
                resolution: seconds(t.resolved_at),
                first_response_business: business(
                    t.first_response_at,
                    t.first_response_counted_micros,
                    t.first_response_met,
                ),
                resolution_business: business(
                    t.resolved_at,
                    t.resolution_counted_micros,
                    t.resolution_met,
                ),
                first_response_met: t.first_response_met,
                resolution_met: t.resolution_met,
            })
        })
        .collect()
}

/// How many tickets that are neither resolved nor closed each municipality has.
pub async fn open_per_municipality(
    conn: &impl ConnectionTrait,
) -> Result<HashMap<String, u32>, ApiError> {
    let open: Vec<(String, i64)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::MunicipalityNumber)
        .column_as(ticket::Column::Id.count(), "n")
        .filter(ticket::Column::Status.is_not_in(TicketStatus::DONE.map(TicketStatus::as_str)))
        .group_by(ticket::Column::MunicipalityNumber)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(open
        .into_iter()
        .map(|(m, n)| (m, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect())
}

/// How many tickets a recount reads at a time.
const RECOUNT_BATCH: u64 = 500;

/// Moves the clocks of every ticket that is still open from `before` to `after` at `at`: the
/// business time each has run so far is counted with `before` and stays counted, and what
/// is left of its targets is placed with `after`. Runs in the transaction that changes the
/// calendar or the targets, holding them exclusively, so no ticket write is counted half
/// with one and half with the other. The tickets' versions do not change (nothing a client
/// wrote did); their ETags do. Returns how many tickets moved.
pub async fn recount_clocks(
    conn: &impl ConnectionTrait,
    before: &Settings,
    after: &Settings,
    at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    let mut moved = 0;
    let mut last: Option<Uuid> = None;
    loop {
        let mut query = ticket::Entity::find()
            .filter(ticket::Column::Status.is_not_in(TicketStatus::DONE.map(TicketStatus::as_str)))
            .order_by_asc(ticket::Column::Id)
            .limit(RECOUNT_BATCH);
        if let Some(last) = last {
            query = query.filter(ticket::Column::Id.gt(last));
        }
        let rows = query.all(conn).await?;
        let Some(tail) = rows.last() else { break };
        last = Some(tail.id);
        for row in rows {
            let progress = Progress {
                status: TicketStatus::from_stored(&row.status)?,
                responded: row.first_response_at.is_some(),
            };
            let targets = after
                .targets
                .of(TicketPriority::from_stored(&row.priority)?);
            let clocks = clocks_of(conn, &row, before).await?.advance(
                &before.calendar,
                &after.calendar,
                targets,
                at,
                progress,
            );
            store_clocks(conn, row.id, &clocks).await?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// Stores the clocks of every ticket created before service levels were kept, replayed from
/// its history with the settings in force (held, like any ticket write), so that lists and
/// statistics find them. Run once the database is migrated; returns how many it stored.
pub async fn store_missing_clocks(conn: &impl ConnectionTrait) -> Result<u64, ApiError> {
    let settings = hold_settings(conn).await?;
    let mut stored = 0;
    loop {
        let rows = ticket::Entity::find()
            .filter(ticket::Column::FirstResponseCountedMicros.is_null())
            .order_by_asc(ticket::Column::Id)
            .limit(RECOUNT_BATCH)
            .all(conn)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let clocks = clocks_of(conn, &row, &settings).await?;
            store_clocks(conn, row.id, &clocks).await?;
            stored += 1;
        }
    }
    Ok(stored)
}
