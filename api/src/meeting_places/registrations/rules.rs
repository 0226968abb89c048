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

/// The changes of an update, each field checked alone: `None` leaves a field as it is, and
/// `sharing_topic: Some(None)` clears the topic.
#[derive(Debug)]
pub struct RequestedChanges {
    participants: Option<i32>,
    contact_name: Option<String>,
    contact_email: Option<Email>,
    will_share_experience: Option<bool>,
    sharing_topic: Option<Option<String>>,
}

/// Checks each changed field on its own, before anything is read: every invalid field is
/// named at once, and a body that names no field is refused.
pub fn parse_changes(body: RegistrationChanges) -> Result<RequestedChanges, ApiError> {
    if body.participants.is_undefined()
        && body.contact_name.is_undefined()
        && body.contact_email.is_undefined()
        && body.will_share_experience.is_undefined()
        && body.sharing_topic.is_undefined()
    {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let mut f = Fields::default();
    let requested = RequestedChanges {
        participants: f
            .required("participants", body.participants)
            .and_then(|n| f.check("participants", parse_participants(n))),
        contact_name: f
            .check_required_patch("contact_name", body.contact_name, |v| bounded(v, 200)),
        contact_email: f.check_required_patch("contact_email", body.contact_email, Email::parse),
        will_share_experience: f.required("will_share_experience", body.will_share_experience),
        sharing_topic: f.check_patch("sharing_topic", body.sharing_topic, |v| bounded(v, 300)),
    };
    f.finish()?;
    Ok(requested)
}

/// An allowed update: the registration as it will be stored, and the participants it adds
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

/// What an update changes, and whether it is allowed: a topic goes with sharing, and the
/// meeting place takes more participants only while it is open, other changes while it is
/// open or closed, and none after the registration deadline. Room for more participants is
/// checked by the write itself.
pub fn plan_update(
    current: &registration::Model,
    place: &meeting_place::Model,
    now: DateTime<Utc>,
    requested: RequestedChanges,
) -> Result<Update, ApiError> {
    let will_share = requested
        .will_share_experience
        .unwrap_or(current.will_share_experience);
    let topic = requested
        .sharing_topic
        .unwrap_or_else(|| current.sharing_topic.clone());
    let mut f = Fields::default();
    check_sharing(will_share, topic.as_ref(), &mut f);
    f.finish()?;
    let participants = requested.participants.unwrap_or(current.participants);
    let added = participants - current.participants;
    let change = if added > 0 {
        RegistrationChange::Grow
    } else {
        RegistrationChange::Other
    };
    window(place, now, change)?;
    let municipality = &current.municipality_number;
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
        contact_name: requested
            .contact_name
            .unwrap_or_else(|| current.contact_name.clone()),
        contact_email: requested
            .contact_email
            .map_or_else(|| current.contact_email.clone(), Email::into_inner),
        will_share_experience: will_share,
        sharing_topic: topic,
        summary,
    })
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

    fn plan(
        current: &registration::Model,
        status: &str,
        body: RegistrationChanges,
    ) -> Result<Update, ApiError> {
        plan_update(current, &place(status), now(), parse_changes(body)?)
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
        assert_eq!(invalid_fields(parse_changes(nothing())), ["body"]);
        let nulls = RegistrationChanges {
            participants: MaybeUndefined::Null,
            contact_name: MaybeUndefined::Null,
            will_share_experience: MaybeUndefined::Null,
            sharing_topic: MaybeUndefined::Null,
            ..nothing()
        };
        assert_eq!(
            invalid_fields(parse_changes(nulls)),
            ["participants", "contact_name", "will_share_experience"]
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
        let requested = parse_changes(participants(1)).unwrap();
        assert_eq!(
            invalid_fields(plan_update(&registered(2), &late, now(), requested)),
            ["id"]
        );
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
