//! Reading and writing registrations, and the conditional updates of `reserved` that keep a
//! meeting place within its capacity. Each function takes `&impl ConnectionTrait`, so it runs
//! in the caller's transaction.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, UpdateMany,
};
use uuid::Uuid;

use entity::{meeting_place, meeting_place_registration as registration};

use super::super::model::MeetingPlaceStatus;
use super::super::rules::RegistrationChange;
use super::super::store as places;
use super::model::Registration;
use super::rules::{Update, ValidRegistration, window};
use crate::audit;
use crate::auth::{Caller, policy};
use crate::http::error::ApiError;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{delete_versioned, update_versioned};

const RESOURCE: audit::ResourceType = audit::ResourceType::MeetingPlaceRegistration;

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!(
        "there is no registration {id} for this meeting place"
    ))
}

/// A page of a meeting place's registrations that the caller may see, oldest first; 404
/// when there is no such meeting place.
pub async fn list(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    page: &PageRequest<Uuid>,
) -> Result<Vec<registration::Model>, ApiError> {
    places::find_row(conn, meeting_place_id).await?;
    let mut query = registration::Entity::find()
        .filter(registration::Column::MeetingPlaceId.eq(meeting_place_id))
        .order_by_asc(registration::Column::Id);
    if let Some(own) = policy::registrations_visible_to(caller) {
        query = query.filter(registration::Column::MunicipalityNumber.eq(own));
    }
    if let Some(after) = page.after {
        query = query.filter(registration::Column::Id.gt(after));
    }
    Ok(query.limit(page.fetch()).all(conn).await?)
}

/// A registration of the meeting place that the caller may see; 404 otherwise.
pub async fn find_visible(
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

/// The registration a change is for, and its meeting place: 404 when the caller may not see
/// the registration.
pub async fn find_for_change(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    id: Uuid,
) -> Result<(registration::Model, meeting_place::Model), ApiError> {
    let current = find_visible(conn, caller, meeting_place_id, id).await?;
    let place = places::find_row(conn, meeting_place_id).await?;
    Ok((current, place))
}

/// Moves a meeting place's `reserved` by `by` participants. Its version rises with its
/// `remaining_capacity`, so its ETag changes whenever what a reader sees does.
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
/// only while the meeting place is open, before its deadline and has the room. Refused for
/// lack of room: 409 with the remaining capacity.
async fn reserve(
    conn: &impl ConnectionTrait,
    meeting_place_id: Uuid,
    participants: i32,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let result = move_reserved(meeting_place_id, participants)
        .filter(meeting_place::Column::Status.eq(MeetingPlaceStatus::Open.as_str()))
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
    window(&place, now, RegistrationChange::Grow)?;
    let remaining = place.capacity - place.reserved;
    Err(ApiError::CapacityExceeded {
        detail: format!(
            "the meeting place has room for {remaining} more participants, not {participants}"
        ),
        remaining_capacity: remaining,
    })
}

/// Gives back `participants` places.
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

/// Registers `municipality` for `place`, audited: 409 when it is registered already, or
/// when the meeting place has no room for the participants.
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
        return Err(ApiError::Conflict(format!(
            "municipality {municipality} is already registered for this meeting place"
        )));
    }
    reserve(conn, place.id, new.participants).await?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    // The unique index (meeting place, municipality) refuses a concurrent second one.
    let created = registration::ActiveModel {
        id: Set(id),
        meeting_place_id: Set(place.id),
        municipality_number: Set(municipality.to_string()),
        participants: Set(new.participants),
        contact_name: Set(new.contact_name),
        contact_email: Set(new.contact_email.into_inner()),
        will_share_experience: Set(new.will_share_experience),
        sharing_topic: Set(new.sharing_topic),
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
        format!(
            "registered {municipality} with {} participants for meeting place {}",
            new.participants, place.id
        ),
    )
    .await?;
    Ok(created.into())
}

/// Writes an allowed update over the version `current` was read at, audited, taking or
/// giving back places: 409 when the meeting place has no room for more participants, 412
/// when someone else changed the registration first.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &registration::Model,
    update: &Update,
) -> Result<Registration, ApiError> {
    let place_id = current.meeting_place_id;
    if update.added_participants > 0 {
        reserve(conn, place_id, update.added_participants).await?;
    } else if update.added_participants < 0 {
        release(conn, place_id, -update.added_participants).await?;
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
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &current.id.to_string(),
        update.summary(),
    )
    .await?;
    let updated = registration::Entity::find_by_id(current.id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(current.id))?;
    Ok(updated.into())
}

/// Deletes the registration if it is still at the version `current` was read at (412
/// otherwise) and gives back its places, audited.
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
    release(conn, current.meeting_place_id, current.participants).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Delete,
        RESOURCE,
        &current.id.to_string(),
        format!(
            "cancelled the registration of {} ({} participants) for meeting place {}",
            current.municipality_number, current.participants, current.meeting_place_id
        ),
    )
    .await?;
    Ok(())
}
