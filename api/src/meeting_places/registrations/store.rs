//! Reading and writing registrations, the conditional updates of `reserved` that keep a
//! meeting place within its capacity, and the waiting list. Each function takes `&impl
//! ConnectionTrait`, so it runs in the caller's transaction.
//!
//! Every write here runs with the meeting place's row locked
//! ([`places::find_row_locked`]: `SELECT ... FOR UPDATE` on PostgreSQL, the write lock
//! SQLite's write transactions take up front), so the writes to one meeting place's
//! registrations happen one after another: the waiting list's order, the events' numbers
//! and the promotions are those of the commits.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, UpdateMany,
};
use uuid::Uuid;

use entity::{
    meeting_place, meeting_place_registration as registration,
    meeting_place_registration_event as event,
};

use super::super::model::MeetingPlaceStatus;
use super::super::rules::RegistrationChange;
use super::super::store as places;
use super::model::{Registration, RegistrationEvent, RegistrationEventKind, RegistrationStatus};
use super::rules::{self, Placement, Update, ValidRegistration, window};
use crate::audit;
use crate::auth::{Caller, policy};
use crate::http::error::{ApiError, ProblemCode};
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{delete_versioned, update_versioned};

const RESOURCE: audit::ResourceType = audit::ResourceType::MeetingPlaceRegistration;

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!(
        "there is no registration {id} for this meeting place"
    ))
}

/// The waitlisted registrations of a meeting place, first in line first.
async fn waiting_list(
    conn: &impl ConnectionTrait,
    meeting_place_id: Uuid,
) -> Result<Vec<registration::Model>, DbErr> {
    registration::Entity::find()
        .filter(registration::Column::MeetingPlaceId.eq(meeting_place_id))
        .filter(registration::Column::Status.eq(RegistrationStatus::Waitlisted.as_str()))
        .order_by_asc(registration::Column::QueueNumber)
        .all(conn)
        .await
}

/// How many registrations wait at each of the meeting places, by the stored status (what a
/// reader is shown also depends on the deadline: [`rules::waitlist_closed`]).
pub async fn waiting_counts(
    conn: &impl ConnectionTrait,
    meeting_place_ids: &[Uuid],
) -> Result<HashMap<Uuid, i32>, DbErr> {
    if meeting_place_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64)> = registration::Entity::find()
        .select_only()
        .column(registration::Column::MeetingPlaceId)
        .column_as(registration::Column::Id.count(), "waiting")
        .filter(registration::Column::MeetingPlaceId.is_in(meeting_place_ids.iter().copied()))
        .filter(registration::Column::Status.eq(RegistrationStatus::Waitlisted.as_str()))
        .group_by(registration::Column::MeetingPlaceId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, i32::try_from(n).unwrap_or(i32::MAX)))
        .collect())
}

/// Registrations as `place`'s readers see them at `now`: each with the status it reads as,
/// its position on the waiting list and its history.
async fn present(
    conn: &impl ConnectionTrait,
    place: &meeting_place::Model,
    rows: Vec<registration::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<Registration>, ApiError> {
    let deadline = place.registration_deadline;
    let positions: HashMap<Uuid, i32> = if rules::waitlist_closed(deadline, now) {
        HashMap::new()
    } else {
        waiting_list(conn, place.id)
            .await?
            .iter()
            .zip(1..)
            .map(|(r, position)| (r.id, position))
            .collect()
    };
    let mut histories: HashMap<Uuid, Vec<RegistrationEvent>> = HashMap::new();
    if !rows.is_empty() {
        let events = event::Entity::find()
            .filter(event::Column::RegistrationId.is_in(rows.iter().map(|r| r.id)))
            .order_by_asc(event::Column::Sequence)
            .all(conn)
            .await?;
        for e in &events {
            histories
                .entry(e.registration_id)
                .or_default()
                .push(RegistrationEvent::from_stored(e)?);
        }
    }
    rows.into_iter()
        .map(|r| {
            let stored = RegistrationStatus::from_stored(&r.status)?;
            let status = rules::seen_status(stored, deadline, now);
            let mut history = histories.remove(&r.id).unwrap_or_default();
            if status == RegistrationStatus::NotAdmitted {
                // The deadline closed the list: an entry of its own, at the deadline.
                history.push(RegistrationEvent {
                    kind: RegistrationEventKind::NotAdmitted,
                    status,
                    participants: r.participants,
                    occurred_at: deadline,
                });
            }
            let position = positions.get(&r.id).copied();
            Ok(Registration::from_stored(r, status, position, history))
        })
        .collect()
}

async fn present_one(
    conn: &impl ConnectionTrait,
    place: &meeting_place::Model,
    row: registration::Model,
) -> Result<Registration, ApiError> {
    let mut one = present(conn, place, vec![row], Utc::now()).await?;
    one.pop().ok_or(ApiError::Internal)
}

/// A page of a meeting place's registrations that the caller may see, oldest first,
/// optionally only those that read as `status`; 404 when there is no such meeting place.
pub async fn list(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    status: Option<RegistrationStatus>,
    page: &PageRequest<Uuid>,
) -> Result<Vec<Registration>, ApiError> {
    let place = places::find_row(conn, meeting_place_id).await?;
    let now = Utc::now();
    let mut query = registration::Entity::find()
        .filter(registration::Column::MeetingPlaceId.eq(meeting_place_id))
        .order_by_asc(registration::Column::Id);
    if let Some(wanted) = status {
        let closed = rules::waitlist_closed(place.registration_deadline, now);
        let Some(stored) = rules::stored_status_for(wanted, closed) else {
            return Ok(Vec::new());
        };
        query = query.filter(registration::Column::Status.eq(stored.as_str()));
    }
    if let Some(own) = policy::registrations_visible_to(caller) {
        query = query.filter(registration::Column::MunicipalityNumber.eq(own));
    }
    if let Some(after) = page.after {
        query = query.filter(registration::Column::Id.gt(after));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    present(conn, &place, rows, now).await
}

/// The stored registration of the meeting place, if the caller may see it; 404 otherwise.
async fn find_visible_row(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    id: Uuid,
) -> Result<registration::Model, ApiError> {
    let found = registration::Entity::find_by_id(id)
        .filter(registration::Column::MeetingPlaceId.eq(meeting_place_id))
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))?;
    match policy::registrations_visible_to(caller) {
        Some(own) if own != found.municipality_number => Err(not_found(id)),
        _ => Ok(found),
    }
}

/// A registration of the meeting place that the caller may see; 404 otherwise.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    id: Uuid,
) -> Result<Registration, ApiError> {
    let place = places::find_row(conn, meeting_place_id).await?;
    let found = find_visible_row(conn, caller, meeting_place_id, id).await?;
    present_one(conn, &place, found).await
}

/// The registration a change is for, and its meeting place, locked: 404 when the caller may
/// not see the registration. The meeting place is locked before the registration is read,
/// so what is read is what the change applies to.
pub async fn find_for_change(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    id: Uuid,
) -> Result<(registration::Model, meeting_place::Model), ApiError> {
    let place = places::find_row_locked(conn, meeting_place_id).await?;
    let current = find_visible_row(conn, caller, meeting_place_id, id).await?;
    Ok((current, place))
}

/// The status a change finds the registration in.
pub fn stored_status(current: &registration::Model) -> Result<RegistrationStatus, ApiError> {
    RegistrationStatus::from_stored(&current.status)
}

/// The status a reader sees the registration in at `now`.
pub fn seen_status(
    current: &registration::Model,
    place: &meeting_place::Model,
    now: DateTime<Utc>,
) -> Result<RegistrationStatus, ApiError> {
    Ok(rules::seen_status(
        stored_status(current)?,
        place.registration_deadline,
        now,
    ))
}

/// Moves a meeting place's `reserved` by `by` participants. Its version rises with its
/// `remaining_capacity` (and `waitlist_length`), so its ETag changes whenever what a reader
/// sees does.
fn move_reserved(meeting_place_id: Uuid, by: i32) -> UpdateMany<meeting_place::Entity> {
    meeting_place::Entity::update_many()
        .col_expr(
            meeting_place::Column::Reserved,
            Expr::col(meeting_place::Column::Reserved).add(by),
        )
        .col_expr(
            meeting_place::Column::Version,
            Expr::col(meeting_place::Column::Version).add(1),
        )
        .col_expr(meeting_place::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(meeting_place::Column::Id.eq(meeting_place_id))
}

/// Takes `participants` places at a meeting place in one conditional `UPDATE`: it succeeds
/// only while the meeting place is open or closed, before its deadline, and has the room.
/// The rules have already decided that the places are there; the condition holds the
/// capacity even so.
async fn reserve(
    conn: &impl ConnectionTrait,
    meeting_place_id: Uuid,
    participants: i32,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let result = move_reserved(meeting_place_id, participants)
        .filter(meeting_place::Column::Status.is_in([
            MeetingPlaceStatus::Open.as_str(),
            MeetingPlaceStatus::Closed.as_str(),
        ]))
        .filter(meeting_place::Column::RegistrationDeadline.gt(now))
        .filter(
            Expr::col(meeting_place::Column::Reserved)
                .add(participants)
                .lte(Expr::col(meeting_place::Column::Capacity)),
        )
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        return Ok(());
    }
    // Refused: read the meeting place again to say why.
    let place = places::find_row(conn, meeting_place_id).await?;
    window(&place, now, RegistrationChange::Other)?;
    let remaining = place.capacity - place.reserved;
    Err(ApiError::CapacityExceeded {
        detail: format!(
            "the meeting place has room for {remaining} more participants, not {participants}"
        ),
        remaining_capacity: remaining,
    })
}

/// Gives back `participants` places (none: only the version rises, for a change of the
/// waiting list).
async fn release(
    conn: &impl ConnectionTrait,
    meeting_place_id: Uuid,
    participants: i32,
) -> Result<(), ApiError> {
    move_reserved(meeting_place_id, -participants)
        .exec(conn)
        .await?;
    Ok(())
}

/// What an event records about a registration.
struct Happened<'a> {
    registration: &'a registration::Model,
    kind: RegistrationEventKind,
    status: &'a str,
    participants: i32,
}

/// Records an event of the meeting place's registrations under the next number, which it
/// answers. The meeting place is locked, so the largest number so far is final; the unique
/// index on (meeting place, number) would refuse a second writer all the same.
async fn record_event(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    happened: Happened<'_>,
) -> Result<i32, DbErr> {
    let place_id = happened.registration.meeting_place_id;
    let last: Option<Option<i32>> = event::Entity::find()
        .select_only()
        .column_as(event::Column::Sequence.max(), "last")
        .filter(event::Column::MeetingPlaceId.eq(place_id))
        .into_tuple()
        .one(conn)
        .await?;
    let sequence = last.flatten().unwrap_or(0) + 1;
    event::ActiveModel {
        id: Set(Uuid::now_v7()),
        meeting_place_id: Set(place_id),
        sequence: Set(sequence),
        registration_id: Set(happened.registration.id),
        municipality_number: Set(happened.registration.municipality_number.clone()),
        kind: Set(happened.kind.as_str().to_string()),
        status: Set(happened.status.to_string()),
        participants: Set(happened.participants),
        actor_sub: Set(caller.sub.clone()),
        actor_role: Set(caller.role.as_str().to_string()),
        occurred_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(sequence)
}

/// Registers `municipality` for `place` (read locked), audited: confirmed when it fits and
/// nobody waits, otherwise on the waiting list if it asked to be; 409 when it is registered
/// already, or when there is no room and it did not ask to wait.
pub async fn register(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    municipality: &str,
    place: &meeting_place::Model,
    new: ValidRegistration,
) -> Result<Registration, ApiError> {
    let existing = registration::Entity::find()
        .filter(registration::Column::MeetingPlaceId.eq(place.id))
        .filter(registration::Column::MunicipalityNumber.eq(municipality))
        .count(conn)
        .await?;
    if existing > 0 {
        return Err(ApiError::Conflict(
            ProblemCode::AlreadyRegistered,
            format!("municipality {municipality} is already registered for this meeting place"),
        ));
    }
    let waiting = waiting_list(conn, place.id).await?.len();
    let free = place.capacity - place.reserved;
    let placement = rules::placement(new.participants, free, waiting, new.waitlist)?;
    let (status, kind) = match placement {
        Placement::Confirmed => {
            reserve(conn, place.id, new.participants).await?;
            (
                RegistrationStatus::Confirmed,
                RegistrationEventKind::Registered,
            )
        }
        Placement::Waitlisted => {
            release(conn, place.id, 0).await?;
            (
                RegistrationStatus::Waitlisted,
                RegistrationEventKind::Waitlisted,
            )
        }
    };
    let id = Uuid::now_v7();
    let now = Utc::now();
    let mut row = registration::Model {
        id,
        meeting_place_id: place.id,
        municipality_number: municipality.to_string(),
        participants: new.participants,
        contact_name: new.contact_name,
        contact_email: new.contact_email.into_inner(),
        will_share_experience: new.will_share_experience,
        sharing_topic: new.sharing_topic,
        status: status.as_str().to_string(),
        queue_number: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let happened = Happened {
        registration: &row,
        kind,
        status: status.as_str(),
        participants: new.participants,
    };
    let sequence = record_event(conn, caller, happened).await?;
    if placement == Placement::Waitlisted {
        // The list's order is the order of the joins.
        row.queue_number = Some(sequence);
    }
    // The unique index (meeting place, municipality) refuses a concurrent second one.
    let created = registration::ActiveModel::from(row).insert(conn).await?;
    let summary = match placement {
        Placement::Confirmed => format!(
            "registered {municipality} with {} participants for meeting place {}",
            new.participants, place.id
        ),
        Placement::Waitlisted => format!(
            "put {municipality} with {} participants on the waiting list of meeting place {} \
             at position {}",
            new.participants,
            place.id,
            waiting + 1
        ),
    };
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &id.to_string(),
        summary,
    )
    .await?;
    present_one(conn, place, created).await
}

/// Promotes the first in line of `meeting_place_id`'s waiting list while the places they
/// need are free, in the caller's transaction (the meeting place is locked), each audited
/// with the caller as actor and `cause` as what freed the places. Nothing moves once the
/// waiting list is closed. Answers how many were promoted.
pub async fn promote(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    cause: &str,
) -> Result<usize, ApiError> {
    let place = places::find_row(conn, meeting_place_id).await?;
    let status = MeetingPlaceStatus::from_stored(&place.status)?;
    if !rules::waitlist_moves(status, place.registration_deadline, Utc::now()) {
        return Ok(0);
    }
    let waiting = waiting_list(conn, meeting_place_id).await?;
    let needs: Vec<i32> = waiting.iter().map(|r| r.participants).collect();
    let promoted = rules::promotions(place.capacity - place.reserved, &needs);
    let confirmed = RegistrationStatus::Confirmed.as_str();
    for r in &waiting[..promoted] {
        reserve(conn, meeting_place_id, r.participants).await?;
        let written = registration::Entity::update_many()
            .col_expr(registration::Column::Status, Expr::value(confirmed))
            .col_expr(
                registration::Column::QueueNumber,
                Expr::value(Option::<i32>::None),
            )
            .col_expr(
                registration::Column::Version,
                Expr::col(registration::Column::Version).add(1),
            )
            .col_expr(registration::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(registration::Column::Id.eq(r.id))
            .filter(registration::Column::Version.eq(r.version))
            .exec(conn)
            .await?;
        if written.rows_affected != 1 {
            // The meeting place is locked: nobody else can have changed it.
            return Err(ApiError::Internal);
        }
        let happened = Happened {
            registration: r,
            kind: RegistrationEventKind::Promoted,
            status: confirmed,
            participants: r.participants,
        };
        record_event(conn, caller, happened).await?;
        audit::record(
            conn,
            caller,
            audit::Action::Promote,
            RESOURCE,
            &r.id.to_string(),
            format!(
                "promoted {} with {} participants from the waiting list of meeting place {} \
                 (places freed by {cause})",
                r.municipality_number, r.participants, meeting_place_id
            ),
        )
        .await?;
    }
    Ok(promoted)
}

/// Writes an allowed update over the version `current` was read at (with its meeting place
/// `place` locked), audited, taking or giving back places and promoting from the waiting
/// list when places free up: 409 when a confirmed registration asks for places that are
/// not free (or that others wait for), 412 when someone else changed the registration first.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &registration::Model,
    place: &meeting_place::Model,
    update: &Update,
) -> Result<Registration, ApiError> {
    let place_id = current.meeting_place_id;
    let status = stored_status(current)?;
    // Only a confirmed registration holds places; a waitlisted one's participants move
    // nothing the meeting place shows.
    if status == RegistrationStatus::Confirmed {
        if update.added_participants > 0 {
            let waiting = waiting_list(conn, place_id).await?.len();
            let free = place.capacity - place.reserved;
            rules::may_grow(update.added_participants, free, waiting)?;
            reserve(conn, place_id, update.added_participants).await?;
        } else if update.added_participants < 0 {
            release(conn, place_id, -update.added_participants).await?;
        }
    }
    let row = registration::ActiveModel {
        participants: Set(update.participants),
        contact_name: Set(update.contact_name.clone()),
        contact_email: Set(update.contact_email.clone()),
        will_share_experience: Set(update.will_share_experience),
        sharing_topic: Set(update.sharing_topic.clone()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    update_versioned(
        conn,
        row,
        registration::Column::Id.eq(current.id),
        registration::Column::Version,
        current.version,
    )
    .await?;
    let happened = Happened {
        registration: current,
        kind: RegistrationEventKind::Changed,
        status: status.as_str(),
        participants: update.participants,
    };
    record_event(conn, caller, happened).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &current.id.to_string(),
        update.summary(),
    )
    .await?;
    if update.added_participants < 0 {
        let cause = format!(
            "{} bringing {} participants, not {}",
            current.municipality_number, update.participants, current.participants
        );
        promote(conn, caller, place_id, &cause).await?;
    }
    let updated = registration::Entity::find_by_id(current.id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(current.id))?;
    present_one(conn, place, updated).await
}

/// Deletes the registration if it is still at the version `current` was read at (412
/// otherwise), audited; a confirmed one's places go to the waiting list in its order, or
/// are released.
pub async fn cancel(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &registration::Model,
) -> Result<(), ApiError> {
    delete_versioned::<registration::Entity>(
        conn,
        registration::Column::Id.eq(current.id),
        registration::Column::Version,
        current.version,
    )
    .await?;
    let status = stored_status(current)?;
    let freed = match status {
        RegistrationStatus::Confirmed => current.participants,
        _ => 0,
    };
    release(conn, current.meeting_place_id, freed).await?;
    let happened = Happened {
        registration: current,
        kind: RegistrationEventKind::Cancelled,
        status: RegistrationEventKind::Cancelled.as_str(),
        participants: current.participants,
    };
    record_event(conn, caller, happened).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Delete,
        RESOURCE,
        &current.id.to_string(),
        format!(
            "cancelled the {} registration of {} ({} participants) for meeting place {}",
            status.as_str(),
            current.municipality_number,
            current.participants,
            current.meeting_place_id
        ),
    )
    .await?;
    // Cancelling the first in line can let those behind it in, too.
    let cause = format!(
        "the cancellation of {}'s registration",
        current.municipality_number
    );
    promote(conn, caller, current.meeting_place_id, &cause).await?;
    Ok(())
}
