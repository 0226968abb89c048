//! The plain functions behind the registration operations: validation, visibility, and
//! the conditional updates of `reserved` that keep a meeting place within its capacity.

use chrono::Utc;
use poem_openapi::types::MaybeUndefined;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use uuid::Uuid;

use entity::{meeting_place, meeting_place_registration as registration};

use super::super::places;
use super::super::status::{MeetingPlaceStatus, RegistrationChange, registration_window};
use super::{NewRegistration, RESOURCE, Registration, RegistrationChanges};
use crate::audit;
use crate::auth::{Caller, policy};
use crate::common::validation::Fields;
use crate::common::values::Email;
use crate::http::error::ApiError;
use crate::http::preconditions::check_if_match;

/// A new registration whose every field has been checked.
pub struct ValidRegistration {
    participants: i32,
    contact_name: String,
    contact_email: Email,
    will_share_experience: bool,
    sharing_topic: Option<String>,
}

fn parse_participants(participants: i32) -> Result<i32, String> {
    if (1..=500).contains(&participants) {
        Ok(participants)
    } else {
        Err("must be between 1 and 500".into())
    }
}

fn bounded(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    match value.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must be at most {max} characters")),
        _ => Ok(value.to_string()),
    }
}

fn check_sharing(will_share: bool, topic: Option<&String>, fields: &mut Fields) {
    match (will_share, topic) {
        (true, None) => fields.add(
            "sharing_topic",
            "is required when the municipality will share its experience",
        ),
        (false, Some(_)) => fields.add(
            "sharing_topic",
            "goes with will_share_experience: true only",
        ),
        _ => {}
    }
}

pub(super) fn validate_new(body: &NewRegistration) -> Result<ValidRegistration, ApiError> {
    let mut fields = Fields::default();
    let participants = fields.check("participants", parse_participants(body.participants));
    let contact_name = fields.check("contact_name", bounded(&body.contact_name, 200));
    let contact_email = fields.check("contact_email", Email::parse(&body.contact_email));
    let sharing_topic = fields.check_optional(
        "sharing_topic",
        body.sharing_topic.as_deref().map(|t| bounded(t, 300)),
    );
    if let Some(topic) = &sharing_topic {
        check_sharing(body.will_share_experience, topic.as_ref(), &mut fields);
    }
    fields.finish()?;
    Ok(ValidRegistration {
        participants: participants.expect("checked"),
        contact_name: contact_name.expect("checked"),
        contact_email: contact_email.expect("checked"),
        will_share_experience: body.will_share_experience,
        sharing_topic: sharing_topic.expect("checked"),
    })
}

fn registration_not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!(
        "there is no registration {id} for this meeting place"
    ))
}

/// A registration of the meeting place that the caller may see.
pub(super) async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    id: Uuid,
) -> Result<registration::Model, ApiError> {
    let found = registration::Entity::find_by_id(id)
        .filter(registration::Column::MeetingPlaceId.eq(meeting_place_id))
        .one(conn)
        .await?
        .ok_or_else(|| registration_not_found(id))?;
    match policy::registrations_visible_to(caller) {
        Some(own) if own != found.municipality_number => Err(registration_not_found(id)),
        _ => Ok(found),
    }
}

fn window(place: &meeting_place::Model, change: RegistrationChange) -> Result<(), ApiError> {
    registration_window(
        MeetingPlaceStatus::from_db(&place.status),
        place.registration_deadline,
        Utc::now(),
        change,
    )
    .map_err(|message| ApiError::invalid("id", message))
}

/// Takes `participants` places at a meeting place in one conditional `UPDATE`: it succeeds
/// only while the meeting place is open, before its deadline and has the room. Refused for
/// lack of room: 409 with the remaining capacity. The meeting place's version rises with
/// its `remaining_capacity`, so its ETag changes whenever what a reader sees does.
async fn reserve(
    conn: &impl ConnectionTrait,
    meeting_place_id: Uuid,
    participants: i32,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let result = meeting_place::Entity::update_many()
        .col_expr(
            meeting_place::Column::Reserved,
            Expr::col(meeting_place::Column::Reserved).add(participants),
        )
        .col_expr(
            meeting_place::Column::Version,
            Expr::col(meeting_place::Column::Version).add(1),
        )
        .col_expr(meeting_place::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(meeting_place::Column::Id.eq(meeting_place_id))
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
    let place = places::find_model(conn, meeting_place_id).await?;
    window(&place, RegistrationChange::Grow)?;
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
    meeting_place::Entity::update_many()
        .col_expr(
            meeting_place::Column::Reserved,
            Expr::col(meeting_place::Column::Reserved).sub(participants),
        )
        .col_expr(
            meeting_place::Column::Version,
            Expr::col(meeting_place::Column::Version).add(1),
        )
        .col_expr(meeting_place::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(meeting_place::Column::Id.eq(meeting_place_id))
        .exec(conn)
        .await?;
    Ok(())
}

pub(super) async fn register(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    municipality: &str,
    meeting_place_id: Uuid,
    new: ValidRegistration,
) -> Result<Registration, ApiError> {
    let place = places::find_model(conn, meeting_place_id).await?;
    window(&place, RegistrationChange::Grow)?;
    let existing = registration::Entity::find()
        .filter(registration::Column::MeetingPlaceId.eq(meeting_place_id))
        .filter(registration::Column::MunicipalityNumber.eq(municipality))
        .count(conn)
        .await?;
    if existing > 0 {
        return Err(ApiError::Conflict(format!(
            "municipality {municipality} is already registered for this meeting place"
        )));
    }
    reserve(conn, meeting_place_id, new.participants).await?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    // The unique index (meeting place, municipality) refuses a concurrent second one.
    let created = registration::ActiveModel {
        id: Set(id),
        meeting_place_id: Set(meeting_place_id),
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
            "registered {municipality} with {} participants for meeting place {meeting_place_id}",
            new.participants
        ),
    )
    .await?;
    Ok(created.into())
}

pub(super) async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    id: Uuid,
    if_match: Option<&str>,
    changes: RegistrationChanges,
) -> Result<Registration, ApiError> {
    let current = find_visible(conn, caller, meeting_place_id, id).await?;
    check_if_match(if_match, current.version)?;
    if changes.participants.is_undefined()
        && changes.contact_name.is_undefined()
        && changes.contact_email.is_undefined()
        && changes.will_share_experience.is_undefined()
        && changes.sharing_topic.is_undefined()
    {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let mut fields = Fields::default();
    let participants = match changes.participants {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            fields.add("participants", "must not be null");
            None
        }
        MaybeUndefined::Value(n) => fields.check("participants", parse_participants(n)),
    };
    let contact_name =
        fields.check_required_patch("contact_name", changes.contact_name, |v| bounded(v, 200));
    let contact_email =
        fields.check_required_patch("contact_email", changes.contact_email, Email::parse);
    let will_share = match changes.will_share_experience {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            fields.add("will_share_experience", "must not be null");
            None
        }
        MaybeUndefined::Value(v) => Some(v),
    };
    let topic = fields.check_patch("sharing_topic", changes.sharing_topic, |v| bounded(v, 300));
    let will_share = will_share.unwrap_or(current.will_share_experience);
    let topic = topic.unwrap_or_else(|| current.sharing_topic.clone());
    check_sharing(will_share, topic.as_ref(), &mut fields);
    fields.finish()?;

    let place = places::find_model(conn, meeting_place_id).await?;
    let delta = participants.map_or(0, |n| n - current.participants);
    if delta > 0 {
        window(&place, RegistrationChange::Grow)?;
        reserve(conn, meeting_place_id, delta).await?;
    } else {
        window(&place, RegistrationChange::Other)?;
        if delta < 0 {
            release(conn, meeting_place_id, -delta).await?;
        }
    }

    let mut row = registration::ActiveModel {
        will_share_experience: Set(will_share),
        sharing_topic: Set(topic),
        version: Set(current.version + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(n) = participants {
        row.participants = Set(n);
    }
    if let Some(v) = contact_name {
        row.contact_name = Set(v);
    }
    if let Some(v) = contact_email {
        row.contact_email = Set(v.into_inner());
    }
    let result = registration::Entity::update_many()
        .set(row)
        .filter(registration::Column::Id.eq(id))
        .filter(registration::Column::Version.eq(current.version))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(ApiError::PreconditionFailed {
            current_version: current.version + 1,
        });
    }
    let summary = match participants {
        Some(n) if n != current.participants => format!(
            "changed the registration of {}: participants {} → {n}",
            current.municipality_number, current.participants
        ),
        _ => format!(
            "changed the registration of {}",
            current.municipality_number
        ),
    };
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &id.to_string(),
        summary,
    )
    .await?;
    let updated = registration::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| registration_not_found(id))?;
    Ok(updated.into())
}

pub(super) async fn cancel(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    meeting_place_id: Uuid,
    id: Uuid,
    if_match: Option<&str>,
) -> Result<(), ApiError> {
    let current = find_visible(conn, caller, meeting_place_id, id).await?;
    check_if_match(if_match, current.version)?;
    let place = places::find_model(conn, meeting_place_id).await?;
    window(&place, RegistrationChange::Other)?;
    let result = registration::Entity::delete_many()
        .filter(registration::Column::Id.eq(id))
        .filter(registration::Column::Version.eq(current.version))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(ApiError::PreconditionFailed {
            current_version: current.version + 1,
        });
    }
    release(conn, meeting_place_id, current.participants).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Delete,
        RESOURCE,
        &id.to_string(),
        format!(
            "cancelled the registration of {} ({} participants) for meeting place {meeting_place_id}",
            current.municipality_number, current.participants
        ),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_goes_with_sharing_and_sharing_needs_a_topic() {
        let topic = "Frivillige".to_string();
        for (share, topic, ok) in [
            (true, Some(&topic), true),
            (false, None, true),
            (true, None, false),
            (false, Some(&topic), false),
        ] {
            let mut fields = Fields::default();
            check_sharing(share, topic, &mut fields);
            assert_eq!(fields.finish().is_ok(), ok, "{share} {topic:?}");
        }
    }

    #[test]
    fn participants_are_bounded() {
        assert!(parse_participants(1).is_ok());
        assert!(parse_participants(500).is_ok());
        assert!(parse_participants(0).is_err());
        assert!(parse_participants(-3).is_err());
        assert!(parse_participants(501).is_err());
    }
}
