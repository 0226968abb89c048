//! The rules of a meeting place's life: which status changes are allowed, and when a
//! municipality may register or change its registration.

use chrono::{DateTime, Utc};
use poem_openapi::Enum;

/// Where a meeting place is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum MeetingPlaceStatus {
    /// Announced; registration has not opened.
    Planned,
    /// Municipalities may register until the registration deadline.
    Open,
    /// Registration is closed; the meeting place will take place.
    Closed,
    /// It will not take place (final; carries a reason).
    Cancelled,
    /// It has taken place (final).
    Completed,
}

impl MeetingPlaceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
            Self::Completed => "completed",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "open" => Self::Open,
            "closed" => Self::Closed,
            "cancelled" => Self::Cancelled,
            "completed" => Self::Completed,
            _ => Self::Planned,
        }
    }
}

/// Whether a meeting place may go from one status to another: `planned → open → closed →
/// completed`, and `cancelled` from any but `completed`. Staying in the same status is no
/// change and always allowed.
pub fn transition(from: MeetingPlaceStatus, to: MeetingPlaceStatus) -> Result<(), String> {
    use MeetingPlaceStatus::*;
    let allowed = from == to
        || matches!(
            (from, to),
            (Planned, Open)
                | (Open, Closed)
                | (Closed, Completed)
                | (Planned | Open | Closed, Cancelled)
        );
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "cannot change from {} to {}",
            from.as_str(),
            to.as_str()
        ))
    }
}

/// What a municipality wants to do to its registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationChange {
    /// Register, or bring more participants.
    Grow,
    /// Bring fewer participants, change the contact, or cancel.
    Other,
}

/// Registering and adding participants need an `open` meeting place; other changes an
/// `open` or `closed` one. Nothing changes once the registration deadline has passed.
pub fn registration_window(
    status: MeetingPlaceStatus,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
    change: RegistrationChange,
) -> Result<(), String> {
    use MeetingPlaceStatus::*;
    if now >= deadline {
        return Err(format!(
            "the registration deadline ({}) has passed",
            deadline.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    match (status, change) {
        (Open, _) | (Closed, RegistrationChange::Other) => Ok(()),
        (Closed, RegistrationChange::Grow) => {
            Err("registration is closed: participants can be reduced, not added".to_string())
        }
        (status, _) => Err(format!(
            "registration is not open: the meeting place is {}",
            status.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::MeetingPlaceStatus::*;
    use super::*;

    const ALL: [MeetingPlaceStatus; 5] = [Planned, Open, Closed, Cancelled, Completed];

    #[test]
    fn the_transition_table() {
        let allowed = [
            (Planned, Open),
            (Open, Closed),
            (Closed, Completed),
            (Planned, Cancelled),
            (Open, Cancelled),
            (Closed, Cancelled),
        ];
        for from in ALL {
            for to in ALL {
                let expected = from == to || allowed.contains(&(from, to));
                assert_eq!(transition(from, to).is_ok(), expected, "{from:?} → {to:?}");
            }
        }
        assert_eq!(
            transition(Completed, Cancelled).unwrap_err(),
            "cannot change from completed to cancelled"
        );
    }

    #[test]
    fn registration_is_open_only_while_open_and_before_the_deadline() {
        let deadline = Utc::now();
        let before = deadline - chrono::Duration::seconds(1);
        let grow = RegistrationChange::Grow;
        let other = RegistrationChange::Other;
        assert!(registration_window(Open, deadline, before, grow).is_ok());
        assert!(registration_window(Open, deadline, before, other).is_ok());
        assert!(registration_window(Closed, deadline, before, other).is_ok());
        assert!(registration_window(Closed, deadline, before, grow).is_err());
        for status in [Planned, Cancelled, Completed] {
            assert!(registration_window(status, deadline, before, grow).is_err());
            assert!(registration_window(status, deadline, before, other).is_err());
        }
        let late = registration_window(Open, deadline, deadline, other).unwrap_err();
        assert!(late.contains("deadline"), "{late}");
    }
}
