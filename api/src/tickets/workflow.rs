//! The ticket workflow: which status changes are allowed, and what a reply does to a ticket.

use chrono::{DateTime, Utc};

use super::{StatusChangeReason, TicketStatus, to_db};
use crate::auth::Role;
use crate::http::error::ApiError;

use TicketStatus::*;

/// The allowed status changes, from → to. `referred` is entered through a referral only;
/// `closed` is final; nothing goes back to `new`.
pub const TRANSITIONS: &[(TicketStatus, &[TicketStatus])] = &[
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

pub fn allowed(from: TicketStatus, to: TicketStatus) -> bool {
    TRANSITIONS
        .iter()
        .any(|(f, targets)| *f == from && targets.contains(&to))
}

/// 409 naming both statuses when a ticket may not go from `from` to `to`.
pub fn check_transition(from: TicketStatus, to: TicketStatus) -> Result<(), ApiError> {
    if allowed(from, to) {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!(
            "a ticket cannot go from {} to {}",
            to_db(&from),
            to_db(&to)
        )))
    }
}

/// `resolved_at` once a ticket enters `status`: set on resolving, kept (or set) on closing,
/// cleared when a resolved ticket is reopened.
pub fn resolved_at_on_entering(
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
pub struct ReplyEffect {
    /// The status the ticket moves to, and why, if it moves.
    pub status: Option<(TicketStatus, StatusChangeReason)>,
    /// Whether this is the first public reply of KS, which sets `first_response_at`.
    pub first_response: bool,
}

/// The effect of a message by `role` on a ticket in `status`: the first public reply of KS
/// opens a new ticket; a municipality's reply reopens a ticket waiting on it or resolved;
/// a closed ticket takes no messages (409).
pub fn reply_effect(
    status: TicketStatus,
    role: Role,
    internal: bool,
    responded: bool,
) -> Result<ReplyEffect, ApiError> {
    if status == Closed {
        return Err(ApiError::Conflict(
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

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [TicketStatus; 6] = [New, Open, WaitingOnMunicipality, Referred, Resolved, Closed];

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
                    to_db(&from),
                    to_db(&to)
                );
            }
        }
    }

    #[test]
    fn a_refused_transition_names_both_statuses() {
        let Err(ApiError::Conflict(message)) = check_transition(Closed, Open) else {
            panic!("closed is final");
        };
        assert_eq!(message, "a ticket cannot go from closed to open");
        assert!(check_transition(Resolved, WaitingOnMunicipality).is_err());
        assert!(check_transition(Open, New).is_err());
        assert!(check_transition(Open, Open).is_err());
    }

    #[test]
    fn resolving_sets_resolved_at_and_reopening_clears_it() {
        let t1 = DateTime::from_timestamp(1_000, 0).unwrap();
        let t2 = DateTime::from_timestamp(2_000, 0).unwrap();
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
}
