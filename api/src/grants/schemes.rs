//! Grant schemes: validation and the plain functions behind the operations.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use poem_openapi::types::MaybeUndefined;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use entity::{grant_application as application, grant_scheme as scheme};

use super::rules::{self, ApplicationStatus, SchemeStatus, bounded};
use super::{ApplicationCounts, GrantScheme, GrantSchemeChanges, NewGrantScheme};
use crate::audit;
use crate::auth::Caller;
use crate::common::validation::Fields;
use crate::http::error::ApiError;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::check_if_match;

pub const RESOURCE: audit::ResourceType = audit::ResourceType::GrantScheme;

/// A scheme whose every field has been checked.
pub struct Draft {
    year: i32,
    title: String,
    description: String,
    budget_nok: i64,
    opens_at: DateTime<Utc>,
    deadline: DateTime<Utc>,
    status: SchemeStatus,
}

fn second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(0)
}

fn check_dates(opens_at: DateTime<Utc>, deadline: DateTime<Utc>, fields: &mut Fields) {
    if deadline <= opens_at {
        fields.add("deadline", "must be after opens_at");
    }
}

pub fn validate_new(new: &NewGrantScheme) -> Result<Draft, ApiError> {
    let mut fields = Fields::default();
    let year = fields.check("year", rules::parse_year(new.year));
    let title = fields.check("title", bounded(&new.title, 200));
    let description = fields.check("description", bounded(&new.description, 10_000));
    let budget_nok = fields.check("budget_nok", rules::parse_budget(new.budget_nok));
    let status = new.status.0.unwrap_or(SchemeStatus::Draft);
    if !matches!(status, SchemeStatus::Draft | SchemeStatus::Open) {
        fields.add("status", "a new scheme is draft or open");
    }
    let opens_at = second(new.opens_at);
    let deadline = second(new.deadline);
    check_dates(opens_at, deadline, &mut fields);
    fields.finish()?;
    Ok(Draft {
        year: year.expect("checked"),
        title: title.expect("checked"),
        description: description.expect("checked"),
        budget_nok: budget_nok.expect("checked"),
        opens_at,
        deadline,
        status,
    })
}

pub fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("there is no grant scheme {id}"))
}

pub async fn find_model(conn: &impl ConnectionTrait, id: Uuid) -> Result<scheme::Model, ApiError> {
    scheme::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))
}

/// The applications of each scheme, counted by status, in one query for the lot.
async fn counts_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, ApplicationCounts>, ApiError> {
    let mut counts: HashMap<Uuid, ApplicationCounts> = HashMap::new();
    if ids.is_empty() {
        return Ok(counts);
    }
    let rows: Vec<(Uuid, String, i64)> = application::Entity::find()
        .select_only()
        .column(application::Column::SchemeId)
        .column(application::Column::Status)
        .column_as(application::Column::Id.count(), "n")
        .filter(application::Column::SchemeId.is_in(ids.iter().copied()))
        .group_by(application::Column::SchemeId)
        .group_by(application::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    for (id, status, n) in rows {
        let entry = counts.entry(id).or_default();
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        match ApplicationStatus::from_db(&status) {
            ApplicationStatus::Submitted => entry.submitted = n,
            ApplicationStatus::Withdrawn => entry.withdrawn = n,
            ApplicationStatus::Approved => entry.approved = n,
            ApplicationStatus::Rejected => entry.rejected = n,
        }
    }
    Ok(counts)
}

fn to_wire(m: scheme::Model, applications: ApplicationCounts) -> GrantScheme {
    GrantScheme {
        id: m.id,
        year: m.year,
        title: m.title,
        description: m.description,
        budget_nok: m.budget_nok,
        granted_nok: m.granted_nok,
        remaining_nok: m.budget_nok - m.granted_nok,
        opens_at: m.opens_at,
        deadline: m.deadline,
        status: SchemeStatus::from_db(&m.status),
        applications,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

async fn with_counts(
    conn: &impl ConnectionTrait,
    rows: Vec<scheme::Model>,
) -> Result<Vec<GrantScheme>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let mut counts = counts_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let c = counts.remove(&m.id).unwrap_or_default();
            to_wire(m, c)
        })
        .collect())
}

pub async fn find(conn: &impl ConnectionTrait, id: Uuid) -> Result<GrantScheme, ApiError> {
    let found = find_model(conn, id).await?;
    Ok(with_counts(conn, vec![found]).await?.remove(0))
}

pub async fn list(
    conn: &impl ConnectionTrait,
    year: Option<i32>,
    status: Option<SchemeStatus>,
    page: &PageRequest<(i32, Uuid)>,
) -> Result<Vec<GrantScheme>, ApiError> {
    let mut query = scheme::Entity::find()
        .order_by_asc(scheme::Column::Year)
        .order_by_asc(scheme::Column::Id);
    if let Some(year) = year {
        query = query.filter(scheme::Column::Year.eq(year));
    }
    if let Some(status) = status {
        query = query.filter(scheme::Column::Status.eq(status.as_str()));
    }
    if let Some((year, id)) = page.after {
        query = query.filter(
            Condition::any().add(scheme::Column::Year.gt(year)).add(
                Condition::all()
                    .add(scheme::Column::Year.eq(year))
                    .add(scheme::Column::Id.gt(id)),
            ),
        );
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    with_counts(conn, rows).await
}

pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    draft: Draft,
) -> Result<GrantScheme, ApiError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    scheme::ActiveModel {
        id: Set(id),
        year: Set(draft.year),
        title: Set(draft.title.clone()),
        description: Set(draft.description),
        budget_nok: Set(draft.budget_nok),
        granted_nok: Set(0),
        opens_at: Set(draft.opens_at),
        deadline: Set(draft.deadline),
        status: Set(draft.status.as_str().to_string()),
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
            "created {} ({}, budget {} kr)",
            draft.title,
            draft.status.as_str(),
            draft.budget_nok
        ),
    )
    .await?;
    find(conn, id).await
}

/// A change to a field that cannot be cleared: `null` is refused.
fn required<T>(fields: &mut Fields, field: &str, value: MaybeUndefined<T>) -> Option<T> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            fields.add(field, "must not be null");
            None
        }
        MaybeUndefined::Value(v) => Some(v),
    }
}

/// Applies a set of changes, refusing a stale `If-Match`, a transition the status rules do
/// not allow, and a budget below the kroner already granted.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
    if_match: Option<&str>,
    changes: GrantSchemeChanges,
) -> Result<GrantScheme, ApiError> {
    let current = find_model(conn, id).await?;
    check_if_match(if_match, current.version)?;
    let current_status = SchemeStatus::from_db(&current.status);

    let mut changed = Vec::new();
    for (name, present) in [
        ("year", !changes.year.is_undefined()),
        ("title", !changes.title.is_undefined()),
        ("description", !changes.description.is_undefined()),
        ("budget_nok", !changes.budget_nok.is_undefined()),
        ("opens_at", !changes.opens_at.is_undefined()),
        ("deadline", !changes.deadline.is_undefined()),
        ("status", !changes.status.is_undefined()),
    ] {
        if present {
            changed.push(name);
        }
    }
    if changed.is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    if current_status == SchemeStatus::Decided {
        return Err(ApiError::invalid(
            "status",
            "the scheme is decided: it can no longer be changed",
        ));
    }

    let mut fields = Fields::default();
    let year = required(&mut fields, "year", changes.year)
        .and_then(|v| fields.check("year", rules::parse_year(v)))
        .unwrap_or(current.year);
    let title = fields
        .check_required_patch("title", changes.title, |v| bounded(v, 200))
        .unwrap_or_else(|| current.title.clone());
    let description = fields
        .check_required_patch("description", changes.description, |v| bounded(v, 10_000))
        .unwrap_or_else(|| current.description.clone());
    let budget_nok = required(&mut fields, "budget_nok", changes.budget_nok)
        .and_then(|v| fields.check("budget_nok", rules::parse_budget(v)))
        .unwrap_or(current.budget_nok);
    let opens_at = required(&mut fields, "opens_at", changes.opens_at)
        .map(second)
        .unwrap_or(current.opens_at);
    let deadline = required(&mut fields, "deadline", changes.deadline)
        .map(second)
        .unwrap_or(current.deadline);
    let mut status = current_status;
    if let Some(to) = required(&mut fields, "status", changes.status) {
        let undecided = if to == SchemeStatus::Decided {
            application::Entity::find()
                .filter(application::Column::SchemeId.eq(id))
                .filter(application::Column::Status.eq(ApplicationStatus::Submitted.as_str()))
                .count(conn)
                .await?
        } else {
            0
        };
        match rules::transition(current_status, to, undecided) {
            Ok(()) => status = to,
            Err(message) => fields.add("status", message),
        }
    }
    check_dates(opens_at, deadline, &mut fields);
    fields.finish()?;

    let row = scheme::ActiveModel {
        year: Set(year),
        title: Set(title),
        description: Set(description),
        budget_nok: Set(budget_nok),
        opens_at: Set(opens_at),
        deadline: Set(deadline),
        status: Set(status.as_str().to_string()),
        version: Set(current.version + 1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    // The version and the budget check in the WHERE clause make the checks and the write
    // one atomic step, also against approvals arriving meanwhile.
    let result = scheme::Entity::update_many()
        .set(row)
        .filter(scheme::Column::Id.eq(id))
        .filter(scheme::Column::Version.eq(current.version))
        .filter(scheme::Column::GrantedNok.lte(budget_nok))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        let now = find_model(conn, id).await?;
        if now.version != current.version {
            return Err(ApiError::PreconditionFailed {
                current_version: now.version,
            });
        }
        return Err(ApiError::invalid(
            "budget_nok",
            format!(
                "must be at least the {} kroner already granted",
                now.granted_nok
            ),
        ));
    }
    let summary = if status == current_status {
        format!("changed {}", changed.join(", "))
    } else {
        format!(
            "changed {} (status {} → {})",
            changed.join(", "),
            current_status.as_str(),
            status.as_str()
        )
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
    find(conn, id).await
}

/// Raises a scheme's version after a change to one of its applications, so that its ETag
/// changes with its counts. It succeeds only while the scheme takes applications when
/// `window` is set, which makes the window check and the write one step.
pub async fn touch(conn: &impl ConnectionTrait, id: Uuid, window: bool) -> Result<bool, ApiError> {
    let now = Utc::now();
    let mut query = scheme::Entity::update_many()
        .col_expr(
            scheme::Column::Version,
            Expr::col(scheme::Column::Version).add(1),
        )
        .col_expr(scheme::Column::UpdatedAt, Expr::value(now))
        .filter(scheme::Column::Id.eq(id));
    if window {
        query = query
            .filter(scheme::Column::Status.eq(SchemeStatus::Open.as_str()))
            .filter(scheme::Column::OpensAt.lte(now))
            .filter(scheme::Column::Deadline.gt(now));
    }
    Ok(query.exec(conn).await?.rows_affected == 1)
}

/// Adds an approval's grant to its scheme in one conditional `UPDATE`: it succeeds only
/// while the scheme is `closed` and the grant fits in what remains of the budget. Refused
/// for lack of budget: 409 with the kroner that remain.
pub async fn grant(
    conn: &impl ConnectionTrait,
    id: Uuid,
    granted_nok: i64,
) -> Result<(), ApiError> {
    let result = scheme::Entity::update_many()
        .col_expr(
            scheme::Column::GrantedNok,
            Expr::col(scheme::Column::GrantedNok).add(granted_nok),
        )
        .col_expr(
            scheme::Column::Version,
            Expr::col(scheme::Column::Version).add(1),
        )
        .col_expr(scheme::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(scheme::Column::Id.eq(id))
        .filter(scheme::Column::Status.eq(SchemeStatus::Closed.as_str()))
        .filter(
            Expr::col(scheme::Column::GrantedNok)
                .add(granted_nok)
                .lte(Expr::col(scheme::Column::BudgetNok)),
        )
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        return Ok(());
    }
    // Refused: read the scheme again to say why.
    let now = find_model(conn, id).await?;
    let status = SchemeStatus::from_db(&now.status);
    if status != SchemeStatus::Closed {
        return Err(decisions_closed(status));
    }
    let remaining = now.budget_nok - now.granted_nok;
    Err(ApiError::BudgetExceeded {
        detail: format!("the scheme has {remaining} kroner left of its budget, not {granted_nok}"),
        remaining_nok: remaining,
    })
}

/// Decisions are made on a closed scheme only: while it is open applications may still
/// change, and a decided one is done.
pub fn decisions_closed(status: SchemeStatus) -> ApiError {
    ApiError::Conflict(format!(
        "the scheme is {}: applications are decided while it is closed",
        status.as_str()
    ))
}
