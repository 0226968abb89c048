//! The rules of applications as plain functions: what an application must hold, when it may
//! be made or changed, and what a decision must carry.

use chrono::{DateTime, Utc};

use entity::grant_application as application;
use entity::grant_scheme as scheme;

use super::model::{
    ApplicationStatus, DecisionOutcome, GrantApplicationChanges, NewDecision, NewGrantApplication,
};
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::common::values::Email;
use crate::grants::model::SchemeStatus;
use crate::grants::rules::{decisions_open, parse_budget, takes_applications};
use crate::http::error::{ApiError, ProblemCode};

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

/// A new application whose every field has been checked (the amount against the budget
/// once the scheme is read: [`may_apply`]).
pub struct ValidApplication {
    pub amount_nok: i64,
    pub plan: String,
    pub has_existing_offer: bool,
    pub contact_name: String,
    pub contact_email: Email,
}

pub fn validate_new(new: &NewGrantApplication) -> Result<ValidApplication, ApiError> {
    let mut fields = Fields::default();
    let amount_nok = fields.check("amount_nok", parse_budget(new.amount_nok));
    let plan = fields.check("plan", bounded(&new.plan, 10_000));
    let contact_name = fields.check("contact_name", bounded(&new.contact_name, 200));
    let contact_email = fields.check("contact_email", Email::parse(&new.contact_email));
    fields.finish()?;
    Ok(ValidApplication {
        amount_nok: amount_nok.expect("checked"),
        plan: plan.expect("checked"),
        has_existing_offer: new.has_existing_offer,
        contact_name: contact_name.expect("checked"),
        contact_email: contact_email.expect("checked"),
    })
}

/// A municipality applies while the scheme takes applications, for at most its budget.
pub fn may_apply(
    scheme: &scheme::Model,
    new: &ValidApplication,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    takes_applications(scheme, now)?;
    parse_amount(new.amount_nok, scheme.budget_nok)
        .map(|_| ())
        .map_err(|message| ApiError::invalid("amount_nok", message))
}

/// The fields a change sets; `None` leaves one as it is.
#[derive(Debug)]
pub struct ApplicationChanges {
    pub amount_nok: Option<i64>,
    pub plan: Option<String>,
    pub has_existing_offer: Option<bool>,
    pub contact_name: Option<String>,
    pub contact_email: Option<Email>,
}

/// Checks every field of a change, the amount against the scheme's budget included, so one
/// 422 names them all.
pub fn application_changes(
    changes: GrantApplicationChanges,
    budget_nok: i64,
) -> Result<ApplicationChanges, ApiError> {
    if changes.amount_nok.is_undefined()
        && changes.plan.is_undefined()
        && changes.has_existing_offer.is_undefined()
        && changes.contact_name.is_undefined()
        && changes.contact_email.is_undefined()
    {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let mut fields = Fields::default();
    let amount_nok = fields
        .required("amount_nok", changes.amount_nok)
        .and_then(|n| fields.check("amount_nok", parse_amount(n, budget_nok)));
    let plan = fields.check_required_patch("plan", changes.plan, |v| bounded(v, 10_000));
    let has_existing_offer = fields.required("has_existing_offer", changes.has_existing_offer);
    let contact_name =
        fields.check_required_patch("contact_name", changes.contact_name, |v| bounded(v, 200));
    let contact_email =
        fields.check_required_patch("contact_email", changes.contact_email, Email::parse);
    fields.finish()?;
    Ok(ApplicationChanges {
        amount_nok,
        plan,
        has_existing_offer,
        contact_name,
        contact_email,
    })
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

/// [`still_submitted`] of a stored application: 409 otherwise.
pub fn submitted(current: &application::Model) -> Result<(), ApiError> {
    still_submitted(ApplicationStatus::from_stored(&current.status)?)
        .map_err(|message| ApiError::Conflict(ProblemCode::WrongStatus, message))
}

/// The municipality edits its application while it is submitted (409) and the scheme takes
/// applications (422).
pub fn may_edit(
    current: &application::Model,
    scheme: &scheme::Model,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    submitted(current)?;
    takes_applications(scheme, now)
}

/// A decision whose fields have been checked, the grant against the amount applied for.
#[derive(Debug, PartialEq, Eq)]
pub struct Decision {
    pub outcome: ApplicationStatus,
    pub granted_nok: Option<i64>,
    pub reasoning: String,
}

/// The kroner an approval grants: present and at least 1; a rejection grants nothing and
/// carries no amount.
pub fn granted_amount(
    outcome: DecisionOutcome,
    granted_nok: Option<i64>,
) -> Result<Option<i64>, String> {
    match (outcome, granted_nok) {
        (DecisionOutcome::Approved, None) => Err("is required for an approval".into()),
        (DecisionOutcome::Approved, Some(n)) if n < 1 => Err("must be at least 1".into()),
        (DecisionOutcome::Approved, Some(n)) => Ok(Some(n)),
        (DecisionOutcome::Rejected, None) => Ok(None),
        (DecisionOutcome::Rejected, Some(_)) => Err("goes with an approval only".into()),
    }
}

/// The kroner an approval of `current` grants: at most the amount applied for.
fn within_amount(granted_nok: Option<i64>, current: &application::Model) -> Result<(), String> {
    match granted_nok {
        Some(granted) if granted > current.amount_nok => Err(format!(
            "must be at most the {} kroner applied for",
            current.amount_nok
        )),
        _ => Ok(()),
    }
}

/// Checks every field of a decision on `current`, each on its own and the grant against the
/// amount applied for, so one 422 names them all. Whether the application may be decided
/// now is [`may_decide`]'s.
pub fn checked_decision(
    decision: &NewDecision,
    current: &application::Model,
) -> Result<Decision, ApiError> {
    let mut fields = Fields::default();
    let granted = granted_amount(decision.outcome, decision.granted_nok)
        .and_then(|granted| within_amount(granted, current).map(|()| granted));
    let granted = fields.check("granted_nok", granted);
    let reasoning = fields.check("reasoning", bounded(&decision.reasoning, 4000));
    fields.finish()?;
    Ok(Decision {
        outcome: decision.outcome.into(),
        granted_nok: granted.expect("checked"),
        reasoning: reasoning.expect("checked"),
    })
}

/// The ministry decides a submitted application (409 otherwise) of a closed scheme (409).
pub fn may_decide(
    current: &application::Model,
    scheme_status: SchemeStatus,
) -> Result<(), ApiError> {
    submitted(current)?;
    decisions_open(scheme_status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::text::Text;
    use crate::grants::rules::fixtures::{invalid_fields, open_scheme};
    use chrono::Duration;
    use poem_openapi::types::MaybeUndefined;
    use uuid::Uuid;

    fn application_of(amount_nok: i64, status: ApplicationStatus) -> application::Model {
        let at = Utc::now();
        application::Model {
            id: Uuid::nil(),
            scheme_id: Uuid::nil(),
            municipality_number: "0301".into(),
            amount_nok,
            plan: "Plan".into(),
            has_existing_offer: false,
            contact_name: "Kari".into(),
            contact_email: "kari@oslo.kommune.no".into(),
            status: status.as_str().into(),
            granted_nok: None,
            reasoning: None,
            decided_at: None,
            decided_by: None,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    fn no_changes() -> GrantApplicationChanges {
        GrantApplicationChanges {
            amount_nok: MaybeUndefined::Undefined,
            plan: MaybeUndefined::Undefined,
            has_existing_offer: MaybeUndefined::Undefined,
            contact_name: MaybeUndefined::Undefined,
            contact_email: MaybeUndefined::Undefined,
        }
    }

    fn approval(granted_nok: Option<i64>) -> NewDecision {
        NewDecision {
            outcome: DecisionOutcome::Approved,
            granted_nok,
            reasoning: Text("Godt forankret.".into()),
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
    fn a_stored_application_with_an_unknown_status_is_a_fault_not_submitted() {
        let mut current = application_of(100, ApplicationStatus::Submitted);
        current.status = "pending".into();
        assert!(matches!(submitted(&current), Err(ApiError::Internal)));
    }

    #[test]
    fn an_approval_names_at_least_one_krone_and_a_rejection_none() {
        use DecisionOutcome::*;
        assert_eq!(granted_amount(Approved, Some(500)), Ok(Some(500)));
        assert_eq!(granted_amount(Approved, Some(1)), Ok(Some(1)));
        assert!(granted_amount(Approved, Some(0)).is_err());
        assert!(granted_amount(Approved, None).is_err());
        assert_eq!(granted_amount(Rejected, None), Ok(None));
        assert!(granted_amount(Rejected, Some(10)).is_err());
    }

    #[test]
    fn an_approval_grants_at_most_the_amount_asked_of_a_submitted_application_of_a_closed_scheme() {
        let current = application_of(500, ApplicationStatus::Submitted);
        let decision = checked_decision(&approval(Some(500)), &current).unwrap();
        assert_eq!(decision.granted_nok, Some(500));
        assert!(may_decide(&current, SchemeStatus::Closed).is_ok());
        let asked_less = application_of(499, ApplicationStatus::Submitted);
        assert_eq!(
            invalid_fields(checked_decision(&approval(Some(500)), &asked_less).unwrap_err()),
            ["granted_nok"]
        );
        let decided = application_of(500, ApplicationStatus::Rejected);
        assert!(matches!(
            may_decide(&decided, SchemeStatus::Closed),
            Err(ApiError::Conflict(..))
        ));
        assert!(matches!(
            may_decide(&current, SchemeStatus::Open),
            Err(ApiError::Conflict(..))
        ));
    }

    #[test]
    fn a_decision_names_its_bad_fields_at_once() {
        let current = application_of(500, ApplicationStatus::Submitted);
        let mut blank = approval(None);
        blank.reasoning = Text("  ".into());
        assert_eq!(
            invalid_fields(checked_decision(&blank, &current).unwrap_err()),
            ["granted_nok", "reasoning"]
        );
    }

    #[test]
    fn a_grant_above_the_amount_applied_for_and_a_blank_reasoning_are_named_at_once() {
        let current = application_of(499, ApplicationStatus::Withdrawn);
        let mut too_much = approval(Some(500));
        too_much.reasoning = Text("  ".into());
        let refused = checked_decision(&too_much, &current).unwrap_err();
        let ApiError::Validation(errors) = &refused else {
            panic!("expected a 422, got {refused:?}");
        };
        assert!(errors[0].message.contains("499"), "{}", errors[0].message);
        assert_eq!(invalid_fields(refused), ["granted_nok", "reasoning"]);
    }

    #[test]
    fn amounts_are_between_one_krone_and_the_budget() {
        assert!(parse_amount(100, 100).is_ok());
        assert!(parse_amount(101, 100).unwrap_err().contains("100"));
        assert!(parse_amount(0, 100).is_err());
    }

    #[test]
    fn a_change_names_every_bad_field_at_once_the_amount_against_the_budget() {
        let mut changes = no_changes();
        changes.amount_nok = MaybeUndefined::Value(100_001);
        changes.plan = MaybeUndefined::Value(Text(" ".into()));
        changes.has_existing_offer = MaybeUndefined::Null;
        changes.contact_email = MaybeUndefined::Value(Text("ikke-en-adresse".into()));
        let refused = application_changes(changes, 100_000).unwrap_err();
        assert_eq!(
            invalid_fields(refused),
            ["amount_nok", "plan", "has_existing_offer", "contact_email"]
        );
        assert_eq!(
            invalid_fields(application_changes(no_changes(), 100_000).unwrap_err()),
            ["body"]
        );
    }

    #[test]
    fn a_change_sets_only_what_it_names() {
        let mut changes = no_changes();
        changes.plan = MaybeUndefined::Value(Text(" En ny plan. ".into()));
        let changed = application_changes(changes, 100_000).unwrap();
        assert_eq!(changed.plan.as_deref(), Some("En ny plan."));
        assert_eq!(changed.amount_nok, None);
        assert_eq!(changed.contact_email, None);
    }

    #[test]
    fn an_application_is_edited_while_submitted_and_before_the_deadline() {
        let scheme = open_scheme();
        let inside = scheme.opens_at + Duration::days(1);
        let current = application_of(100, ApplicationStatus::Submitted);
        assert!(may_edit(&current, &scheme, inside).is_ok());
        let late = may_edit(&current, &scheme, scheme.deadline).unwrap_err();
        assert_eq!(invalid_fields(late), ["id"]);
        let withdrawn = application_of(100, ApplicationStatus::Withdrawn);
        assert!(matches!(
            may_edit(&withdrawn, &scheme, scheme.deadline),
            Err(ApiError::Conflict(..))
        ));
    }

    #[test]
    fn a_municipality_applies_for_at_most_the_budget_while_the_scheme_is_open() {
        let scheme = open_scheme();
        let inside = scheme.opens_at + Duration::days(1);
        let new = |amount_nok| ValidApplication {
            amount_nok,
            plan: "Plan".into(),
            has_existing_offer: false,
            contact_name: "Kari".into(),
            contact_email: Email::parse("kari@oslo.kommune.no").unwrap(),
        };
        assert!(may_apply(&scheme, &new(1_000), inside).is_ok());
        assert_eq!(
            invalid_fields(may_apply(&scheme, &new(1_001), inside).unwrap_err()),
            ["amount_nok"]
        );
        assert_eq!(
            invalid_fields(may_apply(&scheme, &new(1), scheme.deadline).unwrap_err()),
            ["id"]
        );
    }
}
