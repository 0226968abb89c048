//! The rules of a registration: its fields checked alone and together, what an update
//! changes and whether the meeting place still takes it, and the waiting list: where a new
//! registration goes, who is promoted when places free up, and how a waitlisted one reads
//! once the deadline has passed. Pure functions over plain values; the writes are in `store`.
//!
//! The waiting list keeps strict order: places that free up go to the first in line; when
//! it needs more places than are free, it waits and those behind it wait with it, and a new
//! registration (or more participants on a confirmed one) does not take places while
//! anyone waits.

use chrono::{DateTime, Utc};

use entity::{meeting_place, meeting_place_registration as registration};

use super::super::model::MeetingPlaceStatus;
use super::super::rules::{RegistrationChange, registration_window};
use super::model::{NewRegistration, RegistrationChanges, RegistrationStatus};
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::common::values::Email;
use crate::http::error::{ApiError, ProblemCode};

/// A new registration whose every field has been checked.
pub struct ValidRegistration {
    pub participants: i32,
    pub contact_name: String,
    pub contact_email: Email,
    pub will_share_experience: bool,
    pub sharing_topic: Option<String>,
    /// Join the waiting list when it does not fit.
    pub waitlist: bool,
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
        waitlist: body.waitlist.0.unwrap_or(false),
    })
}

/// Where a new registration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Confirmed,
    Waitlisted,
}

/// The 409 of a registration (or more participants) the meeting place has no places for:
/// `free` places are free and `waiting` registrations wait.
fn no_room(participants: i32, free: i32, waiting: usize) -> ApiError {
    let detail = if waiting == 0 {
        format!("the meeting place has room for {free} more participants, not {participants}")
    } else {
        format!(
            "{waiting} registrations are on the waiting list: the {free} free places are \
             theirs first (register with \"waitlist\": true to join the list)"
        )
    };
    ApiError::CapacityExceeded {
        detail,
        remaining_capacity: free,
    }
}

/// Where a new registration of `participants` goes, with `free` places free and `waiting`
/// registrations on the waiting list: confirmed when it fits and nobody waits; otherwise
/// on the waiting list if it asked to be (`waitlist`), else refused with 409.
pub fn placement(
    participants: i32,
    free: i32,
    waiting: usize,
    waitlist: bool,
) -> Result<Placement, ApiError> {
    if waiting == 0 && participants <= free {
        Ok(Placement::Confirmed)
    } else if waitlist {
        Ok(Placement::Waitlisted)
    } else {
        Err(no_room(participants, free, waiting))
    }
}

/// Whether a confirmed registration may take `added` more places: they must be free, and
/// nobody may be waiting for them.
pub fn may_grow(added: i32, free: i32, waiting: usize) -> Result<(), ApiError> {
    if waiting == 0 && added <= free {
        Ok(())
    } else {
        Err(no_room(added, free, waiting))
    }
}

/// How many of the first in line are promoted when `free` places are free; `waiting` holds
/// the participants of each waitlisted registration in the order they joined. Strict order:
/// the first that does not fit stops the promotions.
pub fn promotions(mut free: i32, waiting: &[i32]) -> usize {
    let mut promoted = 0;
    for &participants in waiting {
        if participants > free {
            break;
        }
        free -= participants;
        promoted += 1;
    }
    promoted
}

/// Whether the waiting list of a meeting place still moves at `now`: while the meeting
/// place is open or closed, until its registration deadline.
pub fn waitlist_moves(
    status: MeetingPlaceStatus,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    matches!(
        status,
        MeetingPlaceStatus::Open | MeetingPlaceStatus::Closed
    ) && now < deadline
}

/// Whether the waiting list has closed: at the registration deadline.
pub fn waitlist_closed(deadline: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= deadline
}

/// The stored status a list filtered by the status a reader sees (`wanted`) selects, or
/// `None` when no registration can read as it: waitlisted ones read as `not_admitted` once
/// the list is `closed`.
pub fn stored_status_for(wanted: RegistrationStatus, closed: bool) -> Option<RegistrationStatus> {
    use RegistrationStatus::*;
    match (wanted, closed) {
        (Confirmed, _) => Some(Confirmed),
        (Waitlisted, false) | (NotAdmitted, true) => Some(Waitlisted),
        (Waitlisted, true) | (NotAdmitted, false) => None,
    }
}

/// The status a reader sees: a registration still waiting when the deadline has passed was
/// not admitted. Read from the deadline, so every list, read and count agrees at once.
pub fn seen_status(
    stored: RegistrationStatus,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> RegistrationStatus {
    match stored {
        RegistrationStatus::Waitlisted if waitlist_closed(deadline, now) => {
            RegistrationStatus::NotAdmitted
        }
        other => other,
    }
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
/// deadline (a 422 on the meeting place's `id`). A waitlisted registration keeps its place
/// in line with fewer participants but cannot raise them (409): more would make those
/// behind it wait longer, so it cancels and joins again at the end.
pub fn may_change(
    update: &Update,
    status: RegistrationStatus,
    place: &meeting_place::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if status == RegistrationStatus::Waitlisted {
        window(place, now, RegistrationChange::Other)?;
        if update.added_participants > 0 {
            return Err(ApiError::Conflict(
                ProblemCode::WrongStatus,
                "a waitlisted registration can bring fewer participants, not more: cancel it \
                 and join the waiting list again at its end"
                    .into(),
            ));
        }
        return Ok(());
    }
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
    use crate::common::optional::NotNull;
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
            status: "confirmed".into(),
            queue_number: None,
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
        may_change(
            &update,
            RegistrationStatus::Confirmed,
            &place(status),
            now(),
        )?;
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
            waitlist: NotNull(Some(true)),
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
            invalid_fields(may_change(
                &update,
                RegistrationStatus::Confirmed,
                &place("closed"),
                now()
            )),
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
        let confirmed = RegistrationStatus::Confirmed;
        assert_eq!(
            invalid_fields(may_change(&update, confirmed, &late, now())),
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

    #[test]
    fn a_registration_is_confirmed_only_when_it_fits_and_nobody_waits() {
        assert_eq!(placement(3, 3, 0, false).unwrap(), Placement::Confirmed);
        assert_eq!(placement(3, 3, 0, true).unwrap(), Placement::Confirmed);
        assert_eq!(placement(4, 3, 0, true).unwrap(), Placement::Waitlisted);
        // Free places are held for those already waiting, even when it would fit.
        assert_eq!(placement(1, 3, 2, true).unwrap(), Placement::Waitlisted);
        for (participants, free, waiting) in [(4, 3, 0), (1, 3, 2)] {
            match placement(participants, free, waiting, false) {
                Err(ApiError::CapacityExceeded {
                    remaining_capacity, ..
                }) => assert_eq!(remaining_capacity, free),
                other => panic!("expected a 409, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_confirmed_registration_grows_only_into_places_nobody_waits_for() {
        assert!(may_grow(2, 2, 0).is_ok());
        assert!(may_grow(3, 2, 0).is_err());
        assert!(may_grow(1, 2, 1).is_err());
    }

    #[test]
    fn promotions_follow_the_order_and_the_first_that_does_not_fit_stops_them() {
        assert_eq!(promotions(0, &[1, 1]), 0);
        assert_eq!(promotions(3, &[1, 2, 1]), 2);
        assert_eq!(promotions(5, &[1, 2, 1]), 3);
        // Strict order: the 3 at the head waits with 2 free, and the 1 behind it too.
        assert_eq!(promotions(2, &[3, 1]), 0);
        assert_eq!(promotions(4, &[2, 3, 1]), 1);
        assert_eq!(promotions(7, &[]), 0);
    }

    #[test]
    fn the_waiting_list_moves_while_open_or_closed_until_the_deadline() {
        use MeetingPlaceStatus::*;
        let deadline = now();
        let before = deadline - chrono::Duration::seconds(1);
        assert!(waitlist_moves(Open, deadline, before));
        assert!(waitlist_moves(Closed, deadline, before));
        assert!(!waitlist_moves(Open, deadline, deadline));
        for status in [Planned, Cancelled, Completed] {
            assert!(!waitlist_moves(status, deadline, before));
        }
    }

    #[test]
    fn a_registration_still_waiting_at_the_deadline_reads_as_not_admitted() {
        use RegistrationStatus::*;
        let deadline = now();
        let before = deadline - chrono::Duration::seconds(1);
        assert_eq!(seen_status(Waitlisted, deadline, before), Waitlisted);
        assert_eq!(seen_status(Waitlisted, deadline, deadline), NotAdmitted);
        assert_eq!(seen_status(Confirmed, deadline, deadline), Confirmed);
    }

    #[test]
    fn a_waitlisted_registration_may_shrink_and_change_contact_but_not_grow() {
        let waitlisted = RegistrationStatus::Waitlisted;
        let open = place("open");
        let fewer = changes(&registered(2), participants(1)).unwrap();
        assert!(may_change(&fewer, waitlisted, &open, now()).is_ok());
        assert!(may_change(&fewer, waitlisted, &place("closed"), now()).is_ok());
        let more = changes(&registered(2), participants(3)).unwrap();
        assert!(matches!(
            may_change(&more, waitlisted, &open, now()),
            Err(ApiError::Conflict(..))
        ));
        let mut late = place("open");
        late.registration_deadline = now();
        assert_eq!(
            invalid_fields(may_change(&fewer, waitlisted, &late, now())),
            ["id"]
        );
    }

    #[test]
    fn a_status_filter_selects_by_what_readers_see() {
        use RegistrationStatus::*;
        assert_eq!(stored_status_for(Confirmed, false), Some(Confirmed));
        assert_eq!(stored_status_for(Confirmed, true), Some(Confirmed));
        assert_eq!(stored_status_for(Waitlisted, false), Some(Waitlisted));
        assert_eq!(stored_status_for(Waitlisted, true), None);
        assert_eq!(stored_status_for(NotAdmitted, false), None);
        assert_eq!(stored_status_for(NotAdmitted, true), Some(Waitlisted));
    }
}
