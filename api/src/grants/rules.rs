//! The rules of grant schemes as plain functions: what a new scheme must hold, what a change
//! may do, when a scheme takes applications, and the bounds of years and kroner.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

use entity::grant_scheme as scheme;

use super::model::{GrantSchemeChanges, NewGrantScheme, SchemeStatus};
use crate::auth::{Caller, Role};
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::http::error::{ApiError, ProblemCode};

/// Who sees a scheme in `draft`: the ministry, which prepares it, and KS, which reads every
/// scheme (the role matrix); to the public and the municipalities it does not exist yet.
pub fn sees_draft_schemes(reader: Option<&Caller>) -> bool {
    reader.is_some_and(|caller| matches!(caller.role, Role::Kmd | Role::Ks))
}

/// The most kroner a scheme's budget may be: ten billion.
pub const MAX_NOK: i64 = 10_000_000_000;

/// The years a scheme (and coverage statistics) may be for.
pub const FIRST_YEAR: i32 = 2017;
pub const LAST_YEAR: i32 = 2100;

pub fn parse_budget(budget_nok: i64) -> Result<i64, String> {
    if (1..=MAX_NOK).contains(&budget_nok) {
        Ok(budget_nok)
    } else {
        Err(format!("must be between 1 and {MAX_NOK}"))
    }
}

pub fn parse_year(year: i32) -> Result<i32, String> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
        Ok(year)
    } else {
        Err(format!("must be between {FIRST_YEAR} and {LAST_YEAR}"))
    }
}

/// Instants are stored to the second.
fn second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(0)
}

fn check_dates(opens_at: DateTime<Utc>, deadline: DateTime<Utc>, fields: &mut Fields) {
    if deadline <= opens_at {
        fields.add("deadline", "must be after opens_at");
    }
}

/// A scheme's own fields, every one checked.
#[derive(Debug)]
pub struct SchemeFields {
    pub year: i32,
    pub title: String,
    pub description: String,
    pub budget_nok: i64,
    pub opens_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

/// A new scheme, checked.
pub struct SchemeDraft {
    pub fields: SchemeFields,
    pub status: SchemeStatus,
}

pub fn validate_new(new: &NewGrantScheme) -> Result<SchemeDraft, ApiError> {
    let mut fields = Fields::default();
    let year = fields.check("year", parse_year(new.year));
    let title = fields.check("title", bounded(&new.title, 200));
    let description = fields.check("description", bounded(&new.description, 10_000));
    let budget_nok = fields.check("budget_nok", parse_budget(new.budget_nok));
    let status = new.status.0.unwrap_or(SchemeStatus::Draft);
    if !matches!(status, SchemeStatus::Draft | SchemeStatus::Open) {
        fields.add("status", "a new scheme is draft or open");
    }
    let opens_at = second(new.opens_at);
    let deadline = second(new.deadline);
    check_dates(opens_at, deadline, &mut fields);
    fields.finish()?;
    Ok(SchemeDraft {
        fields: SchemeFields {
            year: year.expect("checked"),
            title: title.expect("checked"),
            description: description.expect("checked"),
            budget_nok: budget_nok.expect("checked"),
            opens_at,
            deadline,
        },
        status,
    })
}

/// A scheme as a change leaves it: every field, changed or kept, and the status asked for.
#[derive(Debug)]
pub struct SchemeChanges {
    pub fields: SchemeFields,
    pub status: Option<SchemeStatus>,
    /// The fields the request names, for the audit entry.
    pub named: Vec<&'static str>,
}

/// Checks every field of a change, on its own and against the stored scheme (the deadline
/// after the opening, whichever of them changes), so one 422 names them all.
pub fn scheme_changes(
    current: &scheme::Model,
    changes: GrantSchemeChanges,
) -> Result<SchemeChanges, ApiError> {
    let named: Vec<&'static str> = [
        ("year", changes.year.is_undefined()),
        ("title", changes.title.is_undefined()),
        ("description", changes.description.is_undefined()),
        ("budget_nok", changes.budget_nok.is_undefined()),
        ("opens_at", changes.opens_at.is_undefined()),
        ("deadline", changes.deadline.is_undefined()),
        ("status", changes.status.is_undefined()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| (!absent).then_some(name))
    .collect();
    if named.is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let mut fields = Fields::default();
    let year = fields
        .required("year", changes.year)
        .and_then(|v| fields.check("year", parse_year(v)));
    let title = fields.check_required_patch("title", changes.title, |v| bounded(v, 200));
    let description =
        fields.check_required_patch("description", changes.description, |v| bounded(v, 10_000));
    let budget_nok = fields
        .required("budget_nok", changes.budget_nok)
        .and_then(|v| fields.check("budget_nok", parse_budget(v)));
    let opens_at = fields.required("opens_at", changes.opens_at).map(second);
    let deadline = fields.required("deadline", changes.deadline).map(second);
    let status = fields.required("status", changes.status);
    let opens_at = opens_at.unwrap_or(current.opens_at);
    let deadline = deadline.unwrap_or(current.deadline);
    check_dates(opens_at, deadline, &mut fields);
    fields.finish()?;
    Ok(SchemeChanges {
        fields: SchemeFields {
            year: year.unwrap_or(current.year),
            title: title.unwrap_or_else(|| current.title.clone()),
            description: description.unwrap_or_else(|| current.description.clone()),
            budget_nok: budget_nok.unwrap_or(current.budget_nok),
            opens_at,
            deadline,
        },
        status,
        named,
    })
}

/// The status of a scheme before and after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusChange {
    pub from: SchemeStatus,
    pub to: SchemeStatus,
}

/// The status a change leaves a scheme in, if the scheme may change at all: a decided one
/// no longer does, and a new status must follow [`transition`].
pub fn status_after(
    from: SchemeStatus,
    to: Option<SchemeStatus>,
    undecided_applications: u64,
) -> Result<StatusChange, ApiError> {
    if from == SchemeStatus::Decided {
        return Err(ApiError::invalid(
            "status",
            "the scheme is decided: it can no longer be changed",
        ));
    }
    let to = to.unwrap_or(from);
    transition(from, to, undecided_applications)
        .map(|()| StatusChange { from, to })
        .map_err(|message| ApiError::invalid("status", message))
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

/// The answer when the budget would drop below what is granted; the database refuses it.
pub fn budget_below_granted(granted_nok: i64) -> ApiError {
    ApiError::invalid(
        "budget_nok",
        format!("must be at least the {granted_nok} kroner already granted"),
    )
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

/// [`application_window`] of a stored scheme: 422 naming why it takes no applications now.
pub fn takes_applications(scheme: &scheme::Model, now: DateTime<Utc>) -> Result<(), ApiError> {
    let status = SchemeStatus::from_stored(&scheme.status)?;
    application_window(status, scheme.opens_at, scheme.deadline, now)
        .map_err(|message| ApiError::invalid("id", message))
}

/// Decisions are made on a closed scheme only: while it is open applications may still
/// change, and a decided one is done.
pub fn decisions_open(status: SchemeStatus) -> Result<(), ApiError> {
    if status == SchemeStatus::Closed {
        return Ok(());
    }
    Err(ApiError::Conflict(
        ProblemCode::WrongStatus,
        format!(
            "the scheme is {}: applications are decided while it is closed",
            status.as_str()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::SchemeStatus::*;
    use super::fixtures::{invalid_fields, open_scheme};
    use super::*;
    use crate::common::text::Text;
    use chrono::Duration;
    use poem_openapi::types::MaybeUndefined;

    const ALL: [SchemeStatus; 4] = [Draft, Open, Closed, Decided];

    fn nothing() -> GrantSchemeChanges {
        GrantSchemeChanges {
            year: MaybeUndefined::Undefined,
            title: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
            budget_nok: MaybeUndefined::Undefined,
            opens_at: MaybeUndefined::Undefined,
            deadline: MaybeUndefined::Undefined,
            status: MaybeUndefined::Undefined,
        }
    }

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
    fn a_decided_scheme_no_longer_changes_and_other_changes_keep_or_move_the_status() {
        assert!(matches!(
            status_after(Decided, None, 0),
            Err(ApiError::Validation(_))
        ));
        assert_eq!(status_after(Open, None, 3).unwrap().to, Open);
        assert_eq!(status_after(Open, Some(Closed), 3).unwrap().to, Closed);
        assert_eq!(
            invalid_fields(status_after(Draft, Some(Closed), 0).unwrap_err()),
            ["status"]
        );
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_lists_what_it_names() {
        let current = open_scheme();
        let mut changes = nothing();
        changes.title = MaybeUndefined::Value(Text(" Ny runde ".into()));
        changes.budget_nok = MaybeUndefined::Value(5_000);
        let changed = scheme_changes(&current, changes).unwrap();
        assert_eq!(changed.fields.title, "Ny runde");
        assert_eq!(changed.fields.budget_nok, 5_000);
        assert_eq!(changed.fields.year, 2027);
        assert_eq!(changed.fields.deadline, current.deadline);
        assert_eq!(changed.status, None);
        assert_eq!(changed.named, ["title", "budget_nok"]);
    }

    #[test]
    fn a_change_names_every_bad_field_at_once_the_deadline_against_the_stored_opening() {
        let current = open_scheme();
        let mut changes = nothing();
        changes.title = MaybeUndefined::Value(Text(" ".into()));
        changes.opens_at = MaybeUndefined::Null;
        changes.deadline = MaybeUndefined::Value(current.opens_at - Duration::days(1));
        let refused = scheme_changes(&current, changes).unwrap_err();
        assert_eq!(invalid_fields(refused), ["title", "opens_at", "deadline"]);
        assert_eq!(
            invalid_fields(scheme_changes(&current, nothing()).unwrap_err()),
            ["body"]
        );
    }

    #[test]
    fn instants_are_kept_to_the_second() {
        let current = open_scheme();
        let mut changes = nothing();
        changes.opens_at = MaybeUndefined::Value(current.opens_at + Duration::milliseconds(1_750));
        let changed = scheme_changes(&current, changes).unwrap();
        assert_eq!(changed.fields.opens_at.timestamp_subsec_nanos(), 0);
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
    fn a_stored_scheme_with_an_unknown_status_is_a_fault_not_a_draft() {
        let mut current = open_scheme();
        current.status = "archived".into();
        assert!(matches!(
            takes_applications(&current, current.opens_at),
            Err(ApiError::Internal)
        ));
    }

    #[test]
    fn decisions_are_made_while_the_scheme_is_closed() {
        assert!(decisions_open(Closed).is_ok());
        for status in [Draft, Open, Decided] {
            assert!(matches!(
                decisions_open(status),
                Err(ApiError::Conflict(..))
            ));
        }
    }

    #[test]
    fn budgets_and_years_are_bounded() {
        assert!(parse_budget(1).is_ok());
        assert!(parse_budget(MAX_NOK).is_ok());
        assert!(parse_budget(0).is_err());
        assert!(parse_budget(MAX_NOK + 1).is_err());
        assert!(parse_year(2017).is_ok());
        assert!(parse_year(2100).is_ok());
        assert!(parse_year(2016).is_err());
        assert!(parse_year(2101).is_err());
    }
}

/// The stored rows the unit tests of grants start from.
#[cfg(test)]
pub(crate) mod fixtures {
    use uuid::Uuid;

    use super::scheme;
    use crate::grants::model::instant;
    use crate::http::error::ApiError;

    /// The fields a 422 names, in order.
    pub fn invalid_fields(refused: ApiError) -> Vec<String> {
        let ApiError::Validation(errors) = refused else {
            panic!("expected a 422, got {refused:?}");
        };
        errors.into_iter().map(|e| e.field).collect()
    }

    /// A scheme open for applications from 4 January until 1 March 2027, with a budget of
    /// 1 000 kroner.
    pub fn open_scheme() -> scheme::Model {
        scheme::Model {
            id: Uuid::nil(),
            year: 2027,
            title: "Tilskudd".into(),
            description: "Regler".into(),
            budget_nok: 1_000,
            granted_nok: 0,
            opens_at: instant("2027-01-04T07:00:00Z"),
            deadline: instant("2027-03-01T11:00:00Z"),
            status: "open".into(),
            version: 1,
            created_at: instant("2026-12-01T09:00:00Z"),
            updated_at: instant("2026-12-01T09:00:00Z"),
        }
    }
}
#[test]
fn drafts_are_seen_by_the_ministry_and_ks_only() {
    let caller = |role, municipality: Option<&str>| Caller {
        sub: "x".into(),
        role,
        municipality: municipality
            .map(|m| crate::common::values::MunicipalityNumber::parse(m).unwrap()),
        name: None,
        expires_at: 0,
        via: crate::auth::Via::Secret,
        organization_number: None,
    };
    assert!(sees_draft_schemes(Some(&caller(Role::Kmd, None))));
    assert!(sees_draft_schemes(Some(&caller(Role::Ks, None))));
    assert!(!sees_draft_schemes(Some(&caller(
        Role::Municipality,
        Some("0301")
    ))));
    assert!(!sees_draft_schemes(None));
}
