//! The rules of grants as plain functions: a scheme's status changes, when a municipality may
//! apply or edit, and what a decision must carry.

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::Enum;

/// Where a grant scheme is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SchemeStatus {
    /// Being prepared by the ministry; visible so municipalities can plan, but takes no
    /// applications.
    Draft,
    /// Takes applications from `opens_at` until `deadline`.
    Open,
    /// Takes no more applications; the ministry decides the submitted ones.
    Closed,
    /// Every application has been decided or withdrawn (final).
    Decided,
}

impl SchemeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Closed => "closed",
            Self::Decided => "decided",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "open" => Self::Open,
            "closed" => Self::Closed,
            "decided" => Self::Decided,
            _ => Self::Draft,
        }
    }
}

/// Where an application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Sent; the municipality may edit it while the scheme takes applications, or withdraw it.
    Submitted,
    /// Withdrawn by the municipality (final).
    Withdrawn,
    /// Granted `granted_nok` by the ministry (final).
    Approved,
    /// Refused by the ministry (final).
    Rejected,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Withdrawn => "withdrawn",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "withdrawn" => Self::Withdrawn,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            _ => Self::Submitted,
        }
    }
}

/// The ministry's decision on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum DecisionOutcome {
    Approved,
    Rejected,
}

impl From<DecisionOutcome> for ApplicationStatus {
    fn from(outcome: DecisionOutcome) -> Self {
        match outcome {
            DecisionOutcome::Approved => Self::Approved,
            DecisionOutcome::Rejected => Self::Rejected,
        }
    }
}

/// Whether a scheme may go from one status to another: `draft → open → closed → decided`;
/// `decided` only once no application is left `submitted`. Staying in the same status is no
/// change and always allowed.
pub fn transition(
    from: SchemeStatus,
    to: SchemeStatus,
    undecided_applications: u64,
) -> Result<(), String> {
    use SchemeStatus::*;
    if from == to {
        return Ok(());
    }
    if !matches!(
        (from, to),
        (Draft, Open) | (Open, Closed) | (Closed, Decided)
    ) {
        return Err(format!(
            "cannot change from {} to {}",
            from.as_str(),
            to.as_str()
        ));
    }
    if to == Decided && undecided_applications > 0 {
        return Err(format!(
            "{undecided_applications} application(s) are still submitted: decide them first"
        ));
    }
    Ok(())
}

/// Whether a scheme takes applications (and edits of them) at `now`: it must be `open`, and
/// `opens_at <= now < deadline`.
pub fn application_window(
    status: SchemeStatus,
    opens_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let instant = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
    if status != SchemeStatus::Open {
        return Err(format!(
            "the scheme takes no applications: it is {}",
            status.as_str()
        ));
    }
    if now < opens_at {
        return Err(format!(
            "the scheme opens for applications at {}",
            instant(opens_at)
        ));
    }
    if now >= deadline {
        return Err(format!("the deadline ({}) has passed", instant(deadline)));
    }
    Ok(())
}

/// An application can change (be edited, withdrawn or decided) only while it is submitted.
pub fn still_submitted(status: ApplicationStatus) -> Result<(), String> {
    match status {
        ApplicationStatus::Submitted => Ok(()),
        ApplicationStatus::Withdrawn => Err("the application has been withdrawn".into()),
        decided => Err(format!(
            "the application has been {}: a decision is final",
            decided.as_str()
        )),
    }
}

/// The kroner an approval grants: present, at least 1 and at most the amount asked for; a
/// rejection grants nothing and carries no amount.
pub fn granted_amount(
    outcome: DecisionOutcome,
    granted_nok: Option<i64>,
    amount_nok: i64,
) -> Result<Option<i64>, String> {
    match (outcome, granted_nok) {
        (DecisionOutcome::Approved, None) => Err("is required for an approval".into()),
        (DecisionOutcome::Approved, Some(n)) if n < 1 => Err("must be at least 1".into()),
        (DecisionOutcome::Approved, Some(n)) if n > amount_nok => Err(format!(
            "must be at most the {amount_nok} kroner applied for"
        )),
        (DecisionOutcome::Approved, Some(n)) => Ok(Some(n)),
        (DecisionOutcome::Rejected, None) => Ok(None),
        (DecisionOutcome::Rejected, Some(_)) => Err("goes with an approval only".into()),
    }
}

/// A text field trimmed, not empty, and at most `max` characters.
pub fn bounded(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    match value.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must be at most {max} characters")),
        _ => Ok(value.to_string()),
    }
}

/// The most kroner a scheme's budget may be: ten billion.
pub const MAX_NOK: i64 = 10_000_000_000;

pub fn parse_budget(budget_nok: i64) -> Result<i64, String> {
    if (1..=MAX_NOK).contains(&budget_nok) {
        Ok(budget_nok)
    } else {
        Err(format!("must be between 1 and {MAX_NOK}"))
    }
}

/// The amount asked for: at least 1 and at most the scheme's budget.
pub fn parse_amount(amount_nok: i64, budget_nok: i64) -> Result<i64, String> {
    if amount_nok < 1 {
        Err("must be at least 1".into())
    } else if amount_nok > budget_nok {
        Err(format!(
            "must be at most the scheme's budget of {budget_nok} kroner"
        ))
    } else {
        Ok(amount_nok)
    }
}

/// The years a scheme (and coverage statistics) may be for.
pub const FIRST_YEAR: i32 = 2017;
pub const LAST_YEAR: i32 = 2100;

pub fn parse_year(year: i32) -> Result<i32, String> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
        Ok(year)
    } else {
        Err(format!("must be between {FIRST_YEAR} and {LAST_YEAR}"))
    }
}

#[cfg(test)]
mod tests {
    use super::SchemeStatus::*;
    use super::*;
    use chrono::Duration;

    const ALL: [SchemeStatus; 4] = [Draft, Open, Closed, Decided];

    #[test]
    fn the_scheme_transition_table() {
        let allowed = [(Draft, Open), (Open, Closed), (Closed, Decided)];
        for from in ALL {
            for to in ALL {
                let expected = from == to || allowed.contains(&(from, to));
                assert_eq!(
                    transition(from, to, 0).is_ok(),
                    expected,
                    "{from:?} → {to:?}"
                );
            }
        }
        assert_eq!(
            transition(Decided, Open, 0).unwrap_err(),
            "cannot change from decided to open"
        );
    }

    #[test]
    fn a_scheme_is_decided_only_when_nothing_is_left_submitted() {
        let refused = transition(Closed, Decided, 2).unwrap_err();
        assert!(refused.contains("2 application"), "{refused}");
        assert!(transition(Closed, Decided, 0).is_ok());
        // Submitted applications do not hold back other changes.
        assert!(transition(Open, Closed, 5).is_ok());
    }

    #[test]
    fn applications_are_taken_while_open_from_opens_at_until_the_deadline() {
        let opens = Utc::now();
        let deadline = opens + Duration::days(10);
        let inside = opens + Duration::days(1);
        assert!(application_window(Open, opens, deadline, opens).is_ok());
        assert!(application_window(Open, opens, deadline, inside).is_ok());
        let early = application_window(Open, opens, deadline, opens - Duration::seconds(1));
        assert!(early.unwrap_err().contains("opens"));
        // The deadline itself is too late.
        let late = application_window(Open, opens, deadline, deadline).unwrap_err();
        assert!(late.contains("deadline"), "{late}");
        for status in [Draft, Closed, Decided] {
            let refused = application_window(status, opens, deadline, inside).unwrap_err();
            assert!(refused.contains(status.as_str()), "{refused}");
        }
    }

    #[test]
    fn only_a_submitted_application_changes() {
        assert!(still_submitted(ApplicationStatus::Submitted).is_ok());
        assert!(
            still_submitted(ApplicationStatus::Approved)
                .unwrap_err()
                .contains("final")
        );
        assert!(still_submitted(ApplicationStatus::Rejected).is_err());
        assert!(
            still_submitted(ApplicationStatus::Withdrawn)
                .unwrap_err()
                .contains("withdrawn")
        );
    }

    #[test]
    fn an_approval_grants_between_one_krone_and_the_amount_asked() {
        use DecisionOutcome::*;
        assert_eq!(granted_amount(Approved, Some(500), 500), Ok(Some(500)));
        assert_eq!(granted_amount(Approved, Some(1), 500), Ok(Some(1)));
        assert!(granted_amount(Approved, Some(501), 500).is_err());
        assert!(granted_amount(Approved, Some(0), 500).is_err());
        assert!(granted_amount(Approved, None, 500).is_err());
        assert_eq!(granted_amount(Rejected, None, 500), Ok(None));
        assert!(granted_amount(Rejected, Some(10), 500).is_err());
    }

    #[test]
    fn amounts_budgets_and_years_are_bounded() {
        assert!(parse_budget(1).is_ok());
        assert!(parse_budget(MAX_NOK).is_ok());
        assert!(parse_budget(0).is_err());
        assert!(parse_budget(MAX_NOK + 1).is_err());
        assert!(parse_amount(100, 100).is_ok());
        assert!(parse_amount(101, 100).unwrap_err().contains("100"));
        assert!(parse_amount(0, 100).is_err());
        assert!(parse_year(2017).is_ok());
        assert!(parse_year(2100).is_ok());
        assert!(parse_year(2016).is_err());
        assert!(parse_year(2101).is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(bounded("  Plan  ", 10).unwrap(), "Plan");
        assert!(bounded("  ", 10).is_err());
        assert!(bounded(&"å".repeat(11), 10).is_err());
    }
}
