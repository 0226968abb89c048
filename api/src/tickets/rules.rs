//! The ticket workflow as plain functions: which status changes are allowed, what a request
//! body becomes once checked, and what an update, a reply or a referral changes on a ticket.

use chrono::{DateTime, Datelike, Utc};
use uuid::Uuid;

use entity::ticket;

use super::model::{
    NewReferral, NewTicket, NewTicketMessage, ReferralTarget, StatusChangeReason, TicketCategory,
    TicketChanges, TicketPriority, TicketStatus, split_tags,
};
use crate::auth::Role;
use crate::common::text::{Text, bounded, bounded_verbatim};
use crate::common::validation::Fields;
use crate::common::values::MunicipalityNumber;
use crate::http::error::{ApiError, ProblemCode};

use TicketStatus::*;

const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 20_000;
const NOTE_MAX: usize = 5_000;
const TAGS_MAX: usize = 10;
const TAG_MAX: usize = 30;
const SUB_MAX: usize = 255;

/// A ticket's id from a path.
#[derive(Debug, Clone, Copy)]
pub struct TicketId(pub Uuid);

impl TicketId {
    pub fn not_found(self) -> ApiError {
        not_found(&self.0.to_string())
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no ticket {id}"))
}

/// The allowed status changes, from → to. `referred` is entered through a referral only;
/// `closed` is final; nothing goes back to `new`.
const TRANSITIONS: &[(TicketStatus, &[TicketStatus])] = &[
    (
        New,
        &[Open, WaitingOnMunicipality, Referred, Resolved, Closed],
    ),
    (Open, &[WaitingOnMunicipality, Referred, Resolved, Closed]),
    (WaitingOnMunicipality, &[Open, Referred, Resolved, Closed]),
    (Referred, &[Open, WaitingOnMunicipality, Resolved, Closed]),
    (Resolved, &[Open, Closed]),
    (Closed, &[]),
];

fn allowed(from: TicketStatus, to: TicketStatus) -> bool {
    TRANSITIONS
        .iter()
        .any(|(f, targets)| *f == from && targets.contains(&to))
}

/// 409 naming both statuses when a ticket may not go from `from` to `to`.
fn check_transition(from: TicketStatus, to: TicketStatus) -> Result<(), ApiError> {
    if allowed(from, to) {
        Ok(())
    } else {
        Err(ApiError::Conflict(
            ProblemCode::InvalidTransition,
            format!(
                "a ticket cannot go from {} to {}",
                from.as_str(),
                to.as_str()
            ),
        ))
    }
}

/// `resolved_at` once a ticket enters `status`: set on resolving, kept (or set) on closing,
/// cleared when a resolved ticket is reopened.
fn resolved_at_on_entering(
    status: TicketStatus,
    resolved_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match status {
        Resolved => Some(now),
        Closed => resolved_at.or(Some(now)),
        _ => None,
    }
}

/// What a new message does to its ticket.
#[derive(Debug, PartialEq, Eq)]
struct ReplyEffect {
    /// The status the ticket moves to, and why, if it moves.
    status: Option<(TicketStatus, StatusChangeReason)>,
    /// Whether this is the first public reply of KS, which sets `first_response_at`.
    first_response: bool,
}

/// The effect of a message by `role` on a ticket in `status`: the first public reply of KS
/// opens a new ticket; a municipality's reply reopens a ticket waiting on it or resolved;
/// a closed ticket takes no messages (409).
fn reply_effect(
    status: TicketStatus,
    role: Role,
    internal: bool,
    responded: bool,
) -> Result<ReplyEffect, ApiError> {
    if status == Closed {
        return Err(ApiError::Conflict(
            ProblemCode::WrongStatus,
            "the ticket is closed: it takes no more messages; create a new ticket".into(),
        ));
    }
    if internal {
        return Ok(ReplyEffect {
            status: None,
            first_response: false,
        });
    }
    Ok(match role {
        Role::Ks => ReplyEffect {
            status: (status == New).then_some((Open, StatusChangeReason::FirstResponse)),
            first_response: !responded,
        },
        Role::Municipality => ReplyEffect {
            status: matches!(status, WaitingOnMunicipality | Resolved)
                .then_some((Open, StatusChangeReason::MunicipalityReply)),
            first_response: false,
        },
        Role::Kmd => ReplyEffect {
            status: None,
            first_response: false,
        },
    })
}

/// Ticket numbers run per calendar year in Norway: a ticket created at 00:30 on New Year's
/// Day in Oslo (still 31 December in UTC) belongs to the new year.
pub fn numbering_year(at: DateTime<Utc>) -> i32 {
    at.with_timezone(&chrono_tz::Europe::Oslo).year()
}

/// A tag: 1 to 30 lower-case letters (a–z), digits and inner hyphens.
fn parse_tag(tag: &str) -> Result<String, String> {
    let slug = !tag.is_empty()
        && tag.len() <= TAG_MAX
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !tag.starts_with('-')
        && !tag.ends_with('-');
    if slug {
        Ok(tag.to_string())
    } else {
        Err(format!(
            "a tag is 1 to {TAG_MAX} lower-case letters a-z, digits and inner hyphens"
        ))
    }
}

/// At most ten tags, each a slug; a repeated one is kept once, in its first place.
fn parse_tags(tags: &[Text]) -> Result<Vec<String>, String> {
    if tags.len() > TAGS_MAX {
        return Err(format!("at most {TAGS_MAX} tags"));
    }
    let mut parsed: Vec<String> = Vec::new();
    for tag in tags {
        let tag = parse_tag(tag)?;
        if !parsed.contains(&tag) {
            parsed.push(tag);
        }
    }
    Ok(parsed)
}

fn parse_assignee(sub: &str) -> Result<String, String> {
    let sub = sub.trim();
    if sub.is_empty() || sub.len() > SUB_MAX || sub.chars().any(char::is_control) {
        Err("must be the sub of a KS staff member: 1 to 255 characters".into())
    } else {
        Ok(sub.to_string())
    }
}

/// The list filters whose text must have a shape, every bad one named at once.
pub fn list_filters(
    municipality: Option<&str>,
    tag: Option<&str>,
) -> Result<(Option<MunicipalityNumber>, Option<String>), ApiError> {
    let mut fields = Fields::default();
    let municipality =
        fields.check_optional("municipality", municipality.map(MunicipalityNumber::parse));
    let tag = fields.check_optional("tag", tag.map(parse_tag));
    fields.finish()?;
    Ok((municipality.flatten(), tag.flatten()))
}

/// A new ticket whose every field has been checked.
#[derive(Debug, PartialEq, Eq)]
pub struct ValidNewTicket {
    pub subject: String,
    pub body: String,
    pub category: TicketCategory,
    pub priority: TicketPriority,
}

pub fn new_ticket(body: &NewTicket) -> Result<ValidNewTicket, ApiError> {
    let mut fields = Fields::default();
    let subject = fields.check("subject", bounded(&body.subject, SUBJECT_MAX));
    let text = fields.check("body", bounded_verbatim(&body.body, BODY_MAX));
    fields.finish()?;
    Ok(ValidNewTicket {
        subject: subject.expect("checked"),
        body: text.expect("checked"),
        category: body.category,
        priority: body.priority.0.unwrap_or(TicketPriority::Normal),
    })
}

/// A message whose body has been checked.
#[derive(Debug, PartialEq, Eq)]
pub struct ValidMessage {
    pub body: String,
    pub internal: bool,
}

pub fn new_message(message: &NewTicketMessage) -> Result<ValidMessage, ApiError> {
    Ok(ValidMessage {
        body: bounded_verbatim(&message.body, BODY_MAX)
            .map_err(|m| ApiError::invalid("body", m))?,
        internal: message.internal.0 == Some(true),
    })
}

/// A referral whose note has been checked.
#[derive(Debug, PartialEq, Eq)]
pub struct ValidReferral {
    pub to: ReferralTarget,
    pub note: String,
}

pub fn new_referral(referral: &NewReferral) -> Result<ValidReferral, ApiError> {
    Ok(ValidReferral {
        to: referral.to,
        note: bounded_verbatim(&referral.note, NOTE_MAX)
            .map_err(|m| ApiError::invalid("note", m))?,
    })
}

/// A checked set of requested changes; `None` leaves a field alone.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ValidChanges {
    pub status: Option<TicketStatus>,
    pub priority: Option<TicketPriority>,
    pub category: Option<TicketCategory>,
    pub tags: Option<Vec<String>>,
    pub assignee: Option<Option<String>>,
}

pub fn ticket_changes(changes: TicketChanges) -> Result<ValidChanges, ApiError> {
    let mut fields = Fields::default();
    let status = fields.required("status", changes.status);
    if status == Some(Referred) {
        fields.add(
            "status",
            "a ticket is referred with POST /api/v1/tickets/{id}/referral",
        );
    }
    let priority = fields.required("priority", changes.priority);
    let category = fields.required("category", changes.category);
    let tags = fields
        .required("tags", changes.tags)
        .and_then(|tags| fields.check("tags", parse_tags(&tags)));
    let assignee = fields.check_patch("assignee", changes.assignee, parse_assignee);
    fields.finish()?;
    let valid = ValidChanges {
        status,
        priority,
        category,
        tags,
        assignee,
    };
    if valid == ValidChanges::default() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    Ok(valid)
}

/// A ticket as the workflow sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketState {
    pub status: TicketStatus,
    pub priority: TicketPriority,
    pub category: TicketCategory,
    pub tags: Vec<String>,
    pub assignee: Option<String>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl TryFrom<&ticket::Model> for TicketState {
    type Error = ApiError;

    fn try_from(t: &ticket::Model) -> Result<Self, ApiError> {
        Ok(Self {
            status: TicketStatus::from_stored(&t.status)?,
            priority: TicketPriority::from_stored(&t.priority)?,
            category: TicketCategory::from_stored(&t.category)?,
            tags: split_tags(&t.tags),
            assignee: t.assignee.clone(),
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
        })
    }
}

/// A change of a ticket's status, as its history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusMove {
    pub from: TicketStatus,
    pub to: TicketStatus,
    pub reason: StatusChangeReason,
}

/// What a write changes on a ticket at instant `at` (its new `updated_at`); `None` leaves a
/// column alone. Every write raises the version by one.
#[derive(Debug, PartialEq, Eq)]
pub struct ChangeSet {
    pub at: DateTime<Utc>,
    pub status: Option<StatusMove>,
    pub resolved_at: Option<Option<DateTime<Utc>>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub priority: Option<TicketPriority>,
    pub category: Option<TicketCategory>,
    pub tags: Option<Vec<String>>,
    pub assignee: Option<Option<String>>,
    pub referral: Option<ValidReferral>,
}

impl ChangeSet {
    fn at(at: DateTime<Utc>) -> Self {
        Self {
            at,
            status: None,
            resolved_at: None,
            first_response_at: None,
            priority: None,
            category: None,
            tags: None,
            assignee: None,
            referral: None,
        }
    }

    /// Moves the ticket from `current` to `to`, with `resolved_at` as the workflow says.
    fn move_status(&mut self, current: &TicketState, to: TicketStatus, reason: StatusChangeReason) {
        self.status = Some(StatusMove {
            from: current.status,
            to,
            reason,
        });
        self.resolved_at = Some(resolved_at_on_entering(to, current.resolved_at, self.at));
    }

    /// The fields an update changed, in a few words, for the audit log.
    pub fn summary(&self) -> String {
        let mut changed = Vec::new();
        if let Some(m) = self.status {
            changed.push(format!("status {} → {}", m.from.as_str(), m.to.as_str()));
        }
        if let Some(v) = self.priority {
            changed.push(format!("priority {}", v.as_str()));
        }
        if let Some(v) = self.category {
            changed.push(format!("category {}", v.as_str()));
        }
        if self.tags.is_some() {
            changed.push("tags".into());
        }
        match &self.assignee {
            Some(Some(sub)) => changed.push(format!("assignee {sub}")),
            Some(None) => changed.push("unassigned".into()),
            None => {}
        }
        changed.join(", ")
    }
}

/// What an update by KS changes on `current`: only what differs from it, `None` when nothing
/// does. A status must follow the transitions; a closed ticket takes no other change (409).
pub fn update(
    current: &TicketState,
    requested: ValidChanges,
    at: DateTime<Utc>,
) -> Result<Option<ChangeSet>, ApiError> {
    let mut change = ChangeSet::at(at);
    if let Some(status) = requested.status
        && status != current.status
    {
        check_transition(current.status, status)?;
        change.move_status(current, status, StatusChangeReason::Changed);
    } else if current.status == Closed {
        return Err(ApiError::Conflict(
            ProblemCode::WrongStatus,
            "the ticket is closed: it takes no more changes".into(),
        ));
    }
    change.priority = requested.priority.filter(|v| *v != current.priority);
    change.category = requested.category.filter(|v| *v != current.category);
    change.tags = requested.tags.filter(|v| *v != current.tags);
    change.assignee = requested.assignee.filter(|v| *v != current.assignee);
    let unchanged = change.status.is_none()
        && change.priority.is_none()
        && change.category.is_none()
        && change.tags.is_none()
        && change.assignee.is_none();
    Ok((!unchanged).then_some(change))
}

/// What a message by `role` changes on `current` (see [`reply_effect`]): `None` for an
/// internal note, which leaves the ticket untouched. A public message changes at least
/// `updated_at`, so that syncing clients see it.
pub fn reply(
    current: &TicketState,
    role: Role,
    internal: bool,
    at: DateTime<Utc>,
) -> Result<Option<ChangeSet>, ApiError> {
    let effect = reply_effect(
        current.status,
        role,
        internal,
        current.first_response_at.is_some(),
    )?;
    if internal {
        return Ok(None);
    }
    let mut change = ChangeSet::at(at);
    if effect.first_response {
        change.first_response_at = Some(at);
    }
    if let Some((to, reason)) = effect.status {
        change.move_status(current, to, reason);
    }
    Ok(Some(change))
}

/// What referring `current` changes: the referral, and the status `referred` unless it is so
/// already (a referred ticket may be referred again, elsewhere).
pub fn refer(
    current: &TicketState,
    referral: ValidReferral,
    at: DateTime<Utc>,
) -> Result<ChangeSet, ApiError> {
    let mut change = ChangeSet::at(at);
    if current.status != Referred {
        check_transition(current.status, Referred)?;
        change.status = Some(StatusMove {
            from: current.status,
            to: Referred,
            reason: StatusChangeReason::Referred,
        });
    }
    change.referral = Some(referral);
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::types::MaybeUndefined;

    const ALL: [TicketStatus; 6] = [New, Open, WaitingOnMunicipality, Referred, Resolved, Closed];

    fn instant(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn ticket(status: TicketStatus) -> TicketState {
        TicketState {
            status,
            priority: TicketPriority::Normal,
            category: TicketCategory::Grants,
            tags: vec!["a".into()],
            assignee: None,
            first_response_at: None,
            resolved_at: None,
        }
    }

    #[test]
    fn the_transition_table_is_exactly_this() {
        let expected: &[(TicketStatus, TicketStatus)] = &[
            (New, Open),
            (New, WaitingOnMunicipality),
            (New, Referred),
            (New, Resolved),
            (New, Closed),
            (Open, WaitingOnMunicipality),
            (Open, Referred),
            (Open, Resolved),
            (Open, Closed),
            (WaitingOnMunicipality, Open),
            (WaitingOnMunicipality, Referred),
            (WaitingOnMunicipality, Resolved),
            (WaitingOnMunicipality, Closed),
            (Referred, Open),
            (Referred, WaitingOnMunicipality),
            (Referred, Resolved),
            (Referred, Closed),
            (Resolved, Open),
            (Resolved, Closed),
        ];
        for from in ALL {
            for to in ALL {
                assert_eq!(
                    allowed(from, to),
                    expected.contains(&(from, to)),
                    "{} -> {}",
                    from.as_str(),
                    to.as_str()
                );
            }
        }
    }

    #[test]
    fn a_refused_transition_names_both_statuses() {
        let Err(ApiError::Conflict(code, message)) = check_transition(Closed, Open) else {
            panic!("closed is final");
        };
        assert_eq!(code, ProblemCode::InvalidTransition);
        assert_eq!(message, "a ticket cannot go from closed to open");
        assert!(check_transition(Resolved, WaitingOnMunicipality).is_err());
        assert!(check_transition(Open, New).is_err());
        assert!(check_transition(Open, Open).is_err());
    }

    #[test]
    fn resolving_sets_resolved_at_and_reopening_clears_it() {
        let t1 = instant(1_000);
        let t2 = instant(2_000);
        assert_eq!(resolved_at_on_entering(Resolved, None, t1), Some(t1));
        assert_eq!(resolved_at_on_entering(Closed, Some(t1), t2), Some(t1));
        assert_eq!(resolved_at_on_entering(Closed, None, t2), Some(t2));
        assert_eq!(resolved_at_on_entering(Open, Some(t1), t2), None);
    }

    #[test]
    fn replies_move_the_ticket_as_the_workflow_says() {
        let ks_first = reply_effect(New, Role::Ks, false, false).unwrap();
        assert_eq!(
            ks_first,
            ReplyEffect {
                status: Some((Open, StatusChangeReason::FirstResponse)),
                first_response: true
            }
        );
        let ks_later = reply_effect(WaitingOnMunicipality, Role::Ks, false, true).unwrap();
        assert_eq!(ks_later.status, None);
        assert!(!ks_later.first_response);
        let note = reply_effect(New, Role::Ks, true, false).unwrap();
        assert_eq!(note.status, None);
        assert!(!note.first_response, "an internal note is no response");
        for status in [WaitingOnMunicipality, Resolved] {
            let reply = reply_effect(status, Role::Municipality, false, true).unwrap();
            assert_eq!(
                reply.status,
                Some((Open, StatusChangeReason::MunicipalityReply))
            );
        }
        for status in [New, Open, Referred] {
            let reply = reply_effect(status, Role::Municipality, false, false).unwrap();
            assert_eq!(reply.status, None);
        }
        assert_eq!(
            reply_effect(Referred, Role::Kmd, false, true)
                .unwrap()
                .status,
            None
        );
        for role in [Role::Ks, Role::Kmd, Role::Municipality] {
            assert!(reply_effect(Closed, role, false, true).is_err());
        }
    }

    #[test]
    fn the_first_reply_of_ks_opens_a_new_ticket_and_records_the_response() {
        let change = reply(&ticket(New), Role::Ks, false, instant(5))
            .unwrap()
            .unwrap();
        assert_eq!(change.first_response_at, Some(instant(5)));
        assert_eq!(
            change.status,
            Some(StatusMove {
                from: New,
                to: Open,
                reason: StatusChangeReason::FirstResponse
            })
        );
        assert_eq!(change.resolved_at, Some(None));
    }

    #[test]
    fn a_reply_of_the_municipality_reopens_a_resolved_ticket_and_clears_resolved_at() {
        let mut resolved = ticket(Resolved);
        resolved.resolved_at = Some(instant(1));
        let change = reply(&resolved, Role::Municipality, false, instant(5))
            .unwrap()
            .unwrap();
        assert_eq!(change.status.map(|m| m.to), Some(Open));
        assert_eq!(change.resolved_at, Some(None));
        assert_eq!(change.first_response_at, None);
    }

    #[test]
    fn an_internal_note_leaves_the_ticket_untouched_but_a_public_reply_always_changes_it() {
        assert_eq!(
            reply(&ticket(New), Role::Ks, true, instant(5)).unwrap(),
            None
        );
        let later = reply(&ticket(Open), Role::Kmd, false, instant(5))
            .unwrap()
            .unwrap();
        assert_eq!(later, ChangeSet::at(instant(5)));
        assert!(reply(&ticket(Closed), Role::Ks, true, instant(5)).is_err());
    }

    #[test]
    fn an_update_changes_only_what_differs() {
        let requested = ValidChanges {
            status: Some(Open),
            priority: Some(TicketPriority::Normal),
            tags: Some(vec!["a".into()]),
            assignee: Some(Some("ks-kari".into())),
            ..Default::default()
        };
        let change = update(&ticket(Open), requested, instant(5))
            .unwrap()
            .unwrap();
        assert_eq!(change.status, None);
        assert_eq!(change.priority, None);
        assert_eq!(change.tags, None);
        assert_eq!(change.assignee, Some(Some("ks-kari".into())));
        assert_eq!(change.summary(), "assignee ks-kari");
    }

    #[test]
    fn an_update_that_changes_nothing_is_no_change() {
        let requested = ValidChanges {
            category: Some(TicketCategory::Grants),
            assignee: Some(None),
            ..Default::default()
        };
        assert_eq!(update(&ticket(New), requested, instant(5)).unwrap(), None);
    }

    #[test]
    fn an_update_of_the_status_follows_the_transitions_and_says_what_it_did() {
        let requested = ValidChanges {
            status: Some(Resolved),
            priority: Some(TicketPriority::High),
            assignee: Some(None),
            ..Default::default()
        };
        let mut assigned = ticket(Open);
        assigned.assignee = Some("ks-kari".into());
        let change = update(&assigned, requested, instant(5)).unwrap().unwrap();
        assert_eq!(change.resolved_at, Some(Some(instant(5))));
        assert_eq!(
            change.summary(),
            "status open → resolved, priority high, unassigned"
        );
        let back_to_new = ValidChanges {
            status: Some(New),
            ..Default::default()
        };
        assert!(matches!(
            update(&ticket(Open), back_to_new, instant(5)),
            Err(ApiError::Conflict(..))
        ));
    }

    #[test]
    fn a_closed_ticket_takes_no_change_not_even_one_that_changes_nothing() {
        let same_status = ValidChanges {
            status: Some(Closed),
            ..Default::default()
        };
        assert!(update(&ticket(Closed), same_status, instant(5)).is_err());
        let priority = ValidChanges {
            priority: Some(TicketPriority::High),
            ..Default::default()
        };
        assert!(update(&ticket(Closed), priority, instant(5)).is_err());
    }

    #[test]
    fn referring_moves_the_ticket_to_referred_once() {
        let referral = || ValidReferral {
            to: ReferralTarget::Ministry,
            note: "tolkning".into(),
        };
        let first = refer(&ticket(Open), referral(), instant(5)).unwrap();
        assert_eq!(first.status.map(|m| m.to), Some(Referred));
        assert_eq!(first.referral, Some(referral()));
        let again = refer(&ticket(Referred), referral(), instant(5)).unwrap();
        assert_eq!(again.status, None);
        assert!(refer(&ticket(Resolved), referral(), instant(5)).is_err());
        assert!(refer(&ticket(Closed), referral(), instant(5)).is_err());
    }

    #[test]
    fn a_change_request_must_name_a_field_and_never_null_a_required_one() {
        let empty = TicketChanges {
            status: MaybeUndefined::Undefined,
            priority: MaybeUndefined::Undefined,
            category: MaybeUndefined::Undefined,
            tags: MaybeUndefined::Undefined,
            assignee: MaybeUndefined::Undefined,
        };
        assert!(ticket_changes(empty).is_err());
        let nulls = TicketChanges {
            status: MaybeUndefined::Null,
            priority: MaybeUndefined::Null,
            category: MaybeUndefined::Undefined,
            tags: MaybeUndefined::Value(vec![Text("Bad".into())]),
            assignee: MaybeUndefined::Null,
        };
        let Err(ApiError::Validation(errors)) = ticket_changes(nulls) else {
            panic!("null status and priority, and a bad tag, are refused");
        };
        let named: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["status", "priority", "tags"]);
    }

    #[test]
    fn tags_are_short_slugs_kept_once_each() {
        assert_eq!(parse_tag("tilskudd-2026").unwrap(), "tilskudd-2026");
        for bad in [
            "",
            "Store",
            "a_b",
            "-a",
            "a-",
            "æ",
            "a,b",
            "%",
            &"a".repeat(31),
        ] {
            assert!(parse_tag(bad).is_err(), "{bad}");
        }
        let tags = parse_tags(&[Text("a".into()), Text("b".into()), Text("a".into())]).unwrap();
        assert_eq!(tags, ["a", "b"]);
        let eleven: Vec<Text> = (0..11).map(|i| Text(format!("t{i}"))).collect();
        assert!(parse_tags(&eleven).is_err());
    }

    #[test]
    fn numbering_follows_the_oslo_calendar_year() {
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(numbering_year(utc("2026-12-31T22:59:59Z")), 2026);
        assert_eq!(numbering_year(utc("2026-12-31T23:00:00Z")), 2027);
        assert_eq!(numbering_year(utc("2027-06-30T21:59:59Z")), 2027);
    }
}
