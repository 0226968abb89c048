//! The rules of a registration: its fields checked alone and together, and what an update
//! changes and whether the meeting place still takes it. Pure functions over plain values;
//! the writes are in `store`.

use chrono::{DateTime, Utc};

use entity::{meeting_place, meeting_place_registration as registration};

use super::super::model::MeetingPlaceStatus;
use super::super::rules::{RegistrationChange, registration_window};
use super::model::{NewRegistration, RegistrationChanges};
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::common::values::Email;
use crate::http::error::ApiError;

/// A new registration whose every field has been checked.
pub struct ValidRegistration {
    pub participants: i32,
    pub contact_name: String,
    pub contact_email: Email,
    pub will_share_experience: bool,
    pub sharing_topic: Option<String>,
}

fn parse_participants(participants: i32) -> Result<i32, String> {
    if (1..=500).contains(&participants) {
        Ok(participants)
    } else {
        Err("must be between 1 and 500".into())
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

pub fn validate_new(body: &NewRegistration) -> Result<ValidRegistration, ApiError> {
    let mut f = Fields::default();
    let participants = f.check("participants", parse_participants(body.participants));
    let contact_name = f.check("contact_name", bounded(&body.contact_name, 200));
    let contact_email = f.check("contact_email", Email::parse(&body.contact_email));
    let sharing_topic = f.check_optional(
        "sharing_topic",
        body.sharing_topic.as_deref().map(|t| bounded(t, 300)),
    );
    if let Some(topic) = &sharing_topic {
        check_sharing(body.will_share_experience, topic.as_ref(), &mut f);
    }
    f.finish()?;
    Ok(ValidRegistration {
        participants: participants.expect("checked"),
        contact_name: contact_name.expect("checked"),
        contact_email: contact_email.expect("checked"),
        will_share_experience: body.will_share_experience,
        sharing_topic: sharing_topic.expect("checked"),
    })
}

/// Whether the meeting place takes this kind of registration change at `now`: the answer
/// is a 422 on the meeting place's `id`.
pub fn window(
    place: &meeting_place::Model,
    now: DateTime<Utc>,
    change: RegistrationChange,
) -> Result<(), ApiError> {
    let status = MeetingPlaceStatus::from_stored(&place.status)?;
    registration_window(status, place.registration_deadline, now, change)
        .map_err(|message| ApiError::invalid("id", message))
}

/// A checked update: the registration as it will be stored, and the participants it adds
/// (or, below zero, gives back).
#[derive(Debug)]
pub struct Update {
    pub participants: i32,
    pub added_participants: i32,
    pub contact_name: String,
    pub contact_email: String,
    pub will_share_experience: bool,
    pub sharing_topic: Option<String>,
    summary: String,
}

impl Update {
    /// The audit summary: whose registration, and a change of participants if there is one.
    pub fn summary(&self) -> &str {
        &self.summary
    }
}

/// What an update changes, every field checked at once: each on its own, and sharing
/// against the stored topic (or the topic against the stored sharing), so one 422 names
/// them all. Whether the meeting place still takes it is [`may_change`]'s; room for more
/// participants is checked by the write itself.
pub fn changes(
    current: &registration::Model,
    body: RegistrationChanges,
) -> Result<Update, ApiError> {
    if body.participants.is_undefined()
        && body.contact_name.is_undefined()
        && body.contact_email.is_undefined()
        && body.will_share_experience.is_undefined()
        && body.sharing_topic.is_undefined()
    {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let mut f = Fields::default();
    let participants = f
        .required("participants", body.participants)
        .and_then(|n| f.check("participants", parse_participants(n)))
        .unwrap_or(current.participants);
    let contact_name = f
        .check_required_patch("contact_name", body.contact_name, |v| bounded(v, 200))
        .unwrap_or_else(|| current.contact_name.clone());
    let contact_email = f
        .check_required_patch("contact_email", body.contact_email, Email::parse)
        .map_or_else(|| current.contact_email.clone(), Email::into_inner);
    let will_share = f
        .required("will_share_experience", body.will_share_experience)
        .unwrap_or(current.will_share_experience);
    let topic = f
        .check_patch("sharing_topic", body.sharing_topic, |v| bounded(v, 300))
        .unwrap_or_else(|| current.sharing_topic.clone());
    if !f.refused("will_share_experience") && !f.refused("sharing_topic") {
        check_sharing(will_share, topic.as_ref(), &mut f);
    }
    f.finish()?;
    let municipality = &current.municipality_number;
    let added = participants - current.participants;
    let summary = if added == 0 {
        format!("changed the registration of {municipality}")
    } else {
        format!(
            "changed the registration of {municipality}: participants {} → {participants}",
            current.participants
        )
    };
    Ok(Update {
        participants,
        added_participants: added,
        contact_name,
        contact_email,
        will_share_experience: will_share,
        sharing_topic: topic,
        summary,
    })
}

/// Whether the meeting place takes a checked update at `now`: more participants only while
/// it is open, other changes while it is open or closed, and none after the registration
/// deadline (a 422 on the meeting place's `id`).
pub fn may_change(
    update: &Update,
    place: &meeting_place::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let change = if update.added_participants > 0 {
        RegistrationChange::Grow
    } else {
        RegistrationChange::Other
    };
    window(place, now, change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::types::{Example, MaybeUndefined};

    use super::super::super::model::stored_example;
    use crate::common::text::Text;

    fn invalid_fields(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    /// A meeting place whose registration deadline is after `now()`.
    fn place(status: &str) -> meeting_place::Model {
        let mut m = stored_example(MeetingPlaceStatus::Open);
        m.status = status.into();
        m
    }

    fn registered(participants: i32) -> registration::Model {
        registration::Model {
            id: uuid::Uuid::nil(),
            meeting_place_id: uuid::Uuid::nil(),
            municipality_number: "0301".into(),
            participants,
            contact_name: "Kari".into(),
            contact_email: "kari@oslo.kommune.no".into(),
            will_share_experience: true,
            sharing_topic: Some("Frivillige".into()),
            version: 1,
            created_at: now(),
            updated_at: now(),
        }
    }

    fn nothing() -> RegistrationChanges {
        RegistrationChanges {
            participants: MaybeUndefined::Undefined,
            ..RegistrationChanges::example()
        }
    }

    fn participants(n: i32) -> RegistrationChanges {
        RegistrationChanges {
            participants: MaybeUndefined::Value(n),
            ..nothing()
        }
    }

    /// A change checked as the operation checks it: its fields, then the meeting place.
    fn plan(
        current: &registration::Model,
        status: &str,
        body: RegistrationChanges,
    ) -> Result<Update, ApiError> {
        let update = changes(current, body)?;
        may_change(&update, &place(status), now())?;
        Ok(update)
    }

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

    #[test]
    fn a_new_registration_names_every_invalid_field() {
        let body = NewRegistration {
            participants: 0,
            contact_name: Text(" ".into()),
            contact_email: Text("kari@".into()),
            will_share_experience: true,
            sharing_topic: None,
        };
        assert_eq!(
            invalid_fields(validate_new(&body).map(|_| ())),
            [
                "participants",
                "contact_name",
                "contact_email",
                "sharing_topic"
            ]
        );
        assert!(validate_new(&NewRegistration::example()).is_ok());
    }

    #[test]
    fn an_update_that_names_no_field_is_refused_and_null_is_refused_but_for_the_topic() {
        assert_eq!(invalid_fields(changes(&registered(2), nothing())), ["body"]);
        let nulls = RegistrationChanges {
            participants: MaybeUndefined::Null,
            contact_name: MaybeUndefined::Null,
            will_share_experience: MaybeUndefined::Null,
            sharing_topic: MaybeUndefined::Null,
            ..nothing()
        };
        assert_eq!(
            invalid_fields(changes(&registered(2), nulls)),
            ["participants", "contact_name", "will_share_experience"]
        );
    }

    #[test]
    fn a_bad_field_and_a_topic_the_stored_sharing_refuses_are_named_at_once() {
        let mut not_sharing = registered(2);
        not_sharing.will_share_experience = false;
        not_sharing.sharing_topic = None;
        let body = RegistrationChanges {
            participants: MaybeUndefined::Value(501),
            contact_email: MaybeUndefined::Value(Text("kari@".into())),
            sharing_topic: MaybeUndefined::Value(Text("Frivillige".into())),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(changes(&not_sharing, body)),
            ["participants", "contact_email", "sharing_topic"]
        );
    }

    #[test]
    fn field_errors_come_before_the_meeting_place_is_asked() {
        let body = RegistrationChanges {
            contact_name: MaybeUndefined::Value(Text(" ".into())),
            participants: MaybeUndefined::Value(5),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(changes(&registered(2), body)),
            ["contact_name"]
        );
        let update = changes(&registered(2), participants(5)).unwrap();
        assert_eq!(
            invalid_fields(may_change(&update, &place("closed"), now())),
            ["id"]
        );
    }

    #[test]
    fn a_change_of_sharing_is_checked_with_the_stored_topic() {
        let stop_sharing = RegistrationChanges {
            will_share_experience: MaybeUndefined::Value(false),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(plan(&registered(2), "open", stop_sharing)),
            ["sharing_topic"]
        );
        let stop_sharing_and_clear = RegistrationChanges {
            will_share_experience: MaybeUndefined::Value(false),
            sharing_topic: MaybeUndefined::Null,
            ..nothing()
        };
        let update = plan(&registered(2), "open", stop_sharing_and_clear).unwrap();
        assert!(!update.will_share_experience);
        assert_eq!(update.sharing_topic, None);
        assert_eq!(update.contact_name, "Kari");
    }

    #[test]
    fn more_participants_need_an_open_meeting_place_and_fewer_an_open_or_closed_one() {
        assert_eq!(
            plan(&registered(2), "open", participants(5))
                .unwrap()
                .added_participants,
            3
        );
        assert_eq!(
            invalid_fields(plan(&registered(2), "closed", participants(5))),
            ["id"]
        );
        assert_eq!(
            plan(&registered(2), "closed", participants(1))
                .unwrap()
                .added_participants,
            -1
        );
        for status in ["planned", "cancelled", "completed"] {
            assert_eq!(
                invalid_fields(plan(&registered(2), status, participants(1))),
                ["id"]
            );
        }
    }

    #[test]
    fn nothing_changes_after_the_deadline() {
        let mut late = place("open");
        late.registration_deadline = now();
        let update = changes(&registered(2), participants(1)).unwrap();
        assert_eq!(invalid_fields(may_change(&update, &late, now())), ["id"]);
        assert_eq!(
            invalid_fields(window(&late, now(), RegistrationChange::Other)),
            ["id"]
        );
    }

    #[test]
    fn an_unknown_stored_status_is_an_error_not_a_default() {
        assert!(matches!(
            window(&place("postponed"), now(), RegistrationChange::Other),
            Err(ApiError::Internal)
        ));
    }

    #[test]
    fn the_summary_names_a_change_of_participants() {
        let update = plan(&registered(2), "open", participants(4)).unwrap();
        assert_eq!(
            update.summary(),
            "changed the registration of 0301: participants 2 → 4"
        );
        let same = plan(&registered(2), "open", participants(2)).unwrap();
        assert_eq!(same.summary(), "changed the registration of 0301");
    }
}
