//! Grant applications: validation, visibility, and the decisions that keep a scheme within
//! its budget.

use chrono::Utc;
use poem_openapi::types::MaybeUndefined;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use entity::grant_application as application;

use super::rules::{self, ApplicationStatus, SchemeStatus, bounded};
use super::schemes;
use super::{GrantApplication, GrantApplicationChanges, NewDecision, NewGrantApplication};
use crate::audit;
use crate::auth::{Caller, policy};
use crate::common::validation::Fields;
use crate::common::values::Email;
use crate::http::error::ApiError;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::check_if_match;

const RESOURCE: audit::ResourceType = audit::ResourceType::GrantApplication;

impl From<application::Model> for GrantApplication {
    fn from(a: application::Model) -> Self {
        Self {
            id: a.id,
            scheme_id: a.scheme_id,
            municipality_number: a.municipality_number,
            amount_nok: a.amount_nok,
            plan: a.plan,
            has_existing_offer: a.has_existing_offer,
            contact_name: a.contact_name,
            contact_email: a.contact_email,
            status: ApplicationStatus::from_db(&a.status),
            granted_nok: a.granted_nok,
            reasoning: a.reasoning,
            decided_at: a.decided_at,
            version: a.version,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A new application whose every field has been checked (the amount against the budget
/// once the scheme is read).
pub struct ValidApplication {
    amount_nok: i64,
    plan: String,
    has_existing_offer: bool,
    contact_name: String,
    contact_email: Email,
}

pub fn validate_new(new: &NewGrantApplication) -> Result<ValidApplication, ApiError> {
    let mut fields = Fields::default();
    let amount_nok = fields.check("amount_nok", rules::parse_budget(new.amount_nok));
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

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("there is no grant application {id}"))
}

/// The application, if the caller may see it: another municipality's is 404, as if it did
/// not exist.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<application::Model, ApiError> {
    let found = application::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))?;
    match policy::applications_visible_to(caller) {
        Some(own) if own != found.municipality_number => Err(not_found(id)),
        _ => Ok(found),
    }
}

pub async fn list(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    scheme_id: Uuid,
    status: Option<ApplicationStatus>,
    page: &PageRequest<Uuid>,
) -> Result<Vec<GrantApplication>, ApiError> {
    schemes::find_model(conn, scheme_id).await?;
    let mut query = application::Entity::find()
        .filter(application::Column::SchemeId.eq(scheme_id))
        .order_by_asc(application::Column::Id);
    if let Some(own) = policy::applications_visible_to(caller) {
        query = query.filter(application::Column::MunicipalityNumber.eq(own));
    }
    if let Some(status) = status {
        query = query.filter(application::Column::Status.eq(status.as_str()));
    }
    if let Some(after) = page.after {
        query = query.filter(application::Column::Id.gt(after));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    Ok(rows.into_iter().map(GrantApplication::from).collect())
}

/// 422 naming why the scheme takes no applications now.
fn window(scheme: &entity::grant_scheme::Model) -> Result<(), ApiError> {
    rules::application_window(
        SchemeStatus::from_db(&scheme.status),
        scheme.opens_at,
        scheme.deadline,
        Utc::now(),
    )
    .map_err(|message| ApiError::invalid("id", message))
}

/// Raises the scheme's version while it takes applications; refused (422 with the reason)
/// when it has stopped taking them since it was read.
async fn touch_open(conn: &impl ConnectionTrait, scheme_id: Uuid) -> Result<(), ApiError> {
    if schemes::touch(conn, scheme_id, true).await? {
        return Ok(());
    }
    window(&schemes::find_model(conn, scheme_id).await?)?;
    // The window was open at the check but not at the write: the deadline passed between.
    Err(ApiError::invalid("id", "the deadline has passed"))
}

pub async fn apply(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    municipality: &str,
    scheme_id: Uuid,
    new: ValidApplication,
) -> Result<GrantApplication, ApiError> {
    let scheme = schemes::find_model(conn, scheme_id).await?;
    window(&scheme)?;
    rules::parse_amount(new.amount_nok, scheme.budget_nok)
        .map_err(|message| ApiError::invalid("amount_nok", message))?;
    let existing = application::Entity::find()
        .filter(application::Column::SchemeId.eq(scheme_id))
        .filter(application::Column::MunicipalityNumber.eq(municipality))
        .one(conn)
        .await?;
    if let Some(existing) = existing {
        return Err(ApiError::Conflict(format!(
            "municipality {municipality} has already applied to this scheme (application {}, {})",
            existing.id, existing.status
        )));
    }
    touch_open(conn, scheme_id).await?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    // The unique index (scheme, municipality) refuses a concurrent second one.
    let created = application::ActiveModel {
        id: Set(id),
        scheme_id: Set(scheme_id),
        municipality_number: Set(municipality.to_string()),
        amount_nok: Set(new.amount_nok),
        plan: Set(new.plan),
        has_existing_offer: Set(new.has_existing_offer),
        contact_name: Set(new.contact_name),
        contact_email: Set(new.contact_email.into_inner()),
        status: Set(ApplicationStatus::Submitted.as_str().to_string()),
        granted_nok: Set(None),
        reasoning: Set(None),
        decided_at: Set(None),
        decided_by: Set(None),
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
            "{municipality} applied for {} kr from scheme {scheme_id}",
            new.amount_nok
        ),
    )
    .await?;
    Ok(created.into())
}

/// 409 unless the application is still submitted.
fn submitted(current: &application::Model) -> Result<(), ApiError> {
    rules::still_submitted(ApplicationStatus::from_db(&current.status)).map_err(ApiError::Conflict)
}

/// Writes `row` over the application at `current.version`; 412 when another change came
/// first.
async fn write(
    conn: &impl ConnectionTrait,
    current: &application::Model,
    mut row: application::ActiveModel,
) -> Result<GrantApplication, ApiError> {
    row.version = Set(current.version + 1);
    row.updated_at = Set(Utc::now());
    let result = application::Entity::update_many()
        .set(row)
        .filter(application::Column::Id.eq(current.id))
        .filter(application::Column::Version.eq(current.version))
        .filter(application::Column::Status.eq(ApplicationStatus::Submitted.as_str()))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        let now = application::Entity::find_by_id(current.id)
            .one(conn)
            .await?
            .ok_or_else(|| not_found(current.id))?;
        submitted(&now)?;
        return Err(ApiError::PreconditionFailed {
            current_version: now.version,
        });
    }
    let updated = application::Entity::find_by_id(current.id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(current.id))?;
    Ok(updated.into())
}

pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
    if_match: Option<&str>,
    changes: GrantApplicationChanges,
) -> Result<GrantApplication, ApiError> {
    let current = find_visible(conn, caller, id).await?;
    check_if_match(if_match, current.version)?;
    if changes.amount_nok.is_undefined()
        && changes.plan.is_undefined()
        && changes.has_existing_offer.is_undefined()
        && changes.contact_name.is_undefined()
        && changes.contact_email.is_undefined()
    {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    submitted(&current)?;
    let scheme = schemes::find_model(conn, current.scheme_id).await?;
    window(&scheme)?;

    let mut fields = Fields::default();
    let amount_nok = match changes.amount_nok {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            fields.add("amount_nok", "must not be null");
            None
        }
        MaybeUndefined::Value(n) => {
            fields.check("amount_nok", rules::parse_amount(n, scheme.budget_nok))
        }
    };
    let plan = fields.check_required_patch("plan", changes.plan, |v| bounded(v, 10_000));
    let has_existing_offer = match changes.has_existing_offer {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            fields.add("has_existing_offer", "must not be null");
            None
        }
        MaybeUndefined::Value(v) => Some(v),
    };
    let contact_name =
        fields.check_required_patch("contact_name", changes.contact_name, |v| bounded(v, 200));
    let contact_email =
        fields.check_required_patch("contact_email", changes.contact_email, Email::parse);
    fields.finish()?;

    let mut row = <application::ActiveModel as Default>::default();
    if let Some(v) = amount_nok {
        row.amount_nok = Set(v);
    }
    if let Some(v) = plan {
        row.plan = Set(v);
    }
    if let Some(v) = has_existing_offer {
        row.has_existing_offer = Set(v);
    }
    if let Some(v) = contact_name {
        row.contact_name = Set(v);
    }
    if let Some(v) = contact_email {
        row.contact_email = Set(v.into_inner());
    }
    let updated = write(conn, &current, row).await?;
    touch_open(conn, current.scheme_id).await?;
    let summary = match amount_nok {
        Some(n) if n != current.amount_nok => format!(
            "changed the application of {}: amount {} → {n} kr",
            current.municipality_number, current.amount_nok
        ),
        _ => format!("changed the application of {}", current.municipality_number),
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
    Ok(updated)
}

pub async fn withdraw(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
    if_match: Option<&str>,
) -> Result<GrantApplication, ApiError> {
    let current = find_visible(conn, caller, id).await?;
    check_if_match(if_match, current.version)?;
    submitted(&current)?;
    let row = application::ActiveModel {
        status: Set(ApplicationStatus::Withdrawn.as_str().to_string()),
        ..Default::default()
    };
    let withdrawn = write(conn, &current, row).await?;
    schemes::touch(conn, current.scheme_id, false).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Withdraw,
        RESOURCE,
        &id.to_string(),
        format!(
            "{} withdrew its application to scheme {}",
            current.municipality_number, current.scheme_id
        ),
    )
    .await?;
    Ok(withdrawn)
}

pub async fn decide(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
    if_match: Option<&str>,
    decision: NewDecision,
) -> Result<GrantApplication, ApiError> {
    let current = find_visible(conn, caller, id).await?;
    check_if_match(if_match, current.version)?;
    let mut fields = Fields::default();
    let granted = fields.check(
        "granted_nok",
        rules::granted_amount(decision.outcome, decision.granted_nok, current.amount_nok),
    );
    let reasoning = fields.check("reasoning", bounded(&decision.reasoning, 4000));
    fields.finish()?;
    let (granted, reasoning) = (granted.expect("checked"), reasoning.expect("checked"));
    submitted(&current)?;
    let scheme = schemes::find_model(conn, current.scheme_id).await?;
    let status = SchemeStatus::from_db(&scheme.status);
    if status != SchemeStatus::Closed {
        return Err(schemes::decisions_closed(status));
    }

    let outcome = ApplicationStatus::from(decision.outcome);
    let row = application::ActiveModel {
        status: Set(outcome.as_str().to_string()),
        granted_nok: Set(granted),
        reasoning: Set(Some(reasoning)),
        decided_at: Set(Some(Utc::now())),
        decided_by: Set(Some(caller.sub.clone())),
        ..Default::default()
    };
    let decided = write(conn, &current, row).await?;
    // The budget is taken after the application is claimed, in the same transaction: a
    // refusal rolls both back.
    match granted {
        Some(kroner) => schemes::grant(conn, current.scheme_id, kroner).await?,
        None => {
            schemes::touch(conn, current.scheme_id, false).await?;
        }
    }
    let summary = match granted {
        Some(kroner) => format!(
            "approved {} kr of {} kr for {}",
            kroner, current.amount_nok, current.municipality_number
        ),
        None => format!(
            "rejected the application of {}",
            current.municipality_number
        ),
    };
    audit::record(
        conn,
        caller,
        audit::Action::Decide,
        RESOURCE,
        &id.to_string(),
        summary,
    )
    .await?;
    Ok(decided)
}
