//! Reading and writing grant schemes, including the two conditional writes that keep a
//! scheme's version and granted sum right under concurrent applications and decisions.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, UpdateMany,
};
use uuid::Uuid;

use entity::grant_scheme as scheme;

use super::applications::store::counts_by_scheme;
use super::model::{GrantScheme, SchemeStatus};
use super::rules::{self, SchemeChanges, SchemeDraft, SchemeFields, StatusChange};
use crate::audit;
use crate::auth::Caller;
use crate::http::error::ApiError;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::update_versioned_if;

const RESOURCE: audit::ResourceType = audit::ResourceType::GrantScheme;

/// Audits a change to a scheme or one of its applications, in the caller's transaction.
pub(super) async fn audited(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    action: audit::Action,
    resource: audit::ResourceType,
    id: Uuid,
    summary: String,
) -> Result<(), ApiError> {
    Ok(audit::record(conn, caller, action, resource, &id.to_string(), summary).await?)
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("there is no grant scheme {id}"))
}

pub async fn find_model(conn: &impl ConnectionTrait, id: Uuid) -> Result<scheme::Model, ApiError> {
    scheme::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))
}

/// A scheme as a reader may know of it: a draft is 404 unless `drafts` (see
/// [`rules::sees_draft_schemes`]).
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    id: Uuid,
    drafts: bool,
) -> Result<scheme::Model, ApiError> {
    let found = find_model(conn, id).await?;
    if !drafts && found.status == SchemeStatus::Draft.as_str() {
        return Err(not_found(id));
    }
    Ok(found)
}

/// The wire schemes of stored rows, their applications counted in one query for the lot.
async fn with_counts(
    conn: &impl ConnectionTrait,
    rows: Vec<scheme::Model>,
) -> Result<Vec<GrantScheme>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let mut counts = counts_by_scheme(conn, &ids).await?;
    rows.into_iter()
        .map(|m| {
            let applications = counts.remove(&m.id).unwrap_or_default();
            GrantScheme::try_from((m, applications))
        })
        .collect()
}

pub async fn find(
    conn: &impl ConnectionTrait,
    id: Uuid,
    drafts: bool,
) -> Result<GrantScheme, ApiError> {
    let found = find_visible(conn, id, drafts).await?;
    Ok(with_counts(conn, vec![found]).await?.remove(0))
}

pub async fn list(
    conn: &impl ConnectionTrait,
    year: Option<i32>,
    status: Option<SchemeStatus>,
    drafts: bool,
    page: &PageRequest<(i32, Uuid)>,
) -> Result<Vec<GrantScheme>, ApiError> {
    let mut query = scheme::Entity::find()
        .order_by_asc(scheme::Column::Year)
        .order_by_asc(scheme::Column::Id);
    if !drafts {
        query = query.filter(scheme::Column::Status.ne(SchemeStatus::Draft.as_str()));
    }
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

/// The columns a scheme's own fields and its status are stored in.
fn row(fields: SchemeFields, status: SchemeStatus) -> scheme::ActiveModel {
    scheme::ActiveModel {
        year: Set(fields.year),
        title: Set(fields.title),
        description: Set(fields.description),
        budget_nok: Set(fields.budget_nok),
        opens_at: Set(fields.opens_at),
        deadline: Set(fields.deadline),
        status: Set(status.as_str().to_string()),
        updated_at: Set(Utc::now()),
        ..Default::default()
    }
}

pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    draft: SchemeDraft,
) -> Result<GrantScheme, ApiError> {
    let id = Uuid::now_v7();
    let summary = format!(
        "created {} ({}, budget {} kr)",
        draft.fields.title,
        draft.status.as_str(),
        draft.fields.budget_nok
    );
    let mut new = row(draft.fields, draft.status);
    new.id = Set(id);
    new.granted_nok = Set(0);
    new.version = Set(1);
    new.created_at = new.updated_at.clone();
    new.insert(conn).await?;
    audited(conn, caller, audit::Action::Create, RESOURCE, id, summary).await?;
    find(conn, id, true).await
}

/// Writes a checked change over the scheme as it was read, and audits it. The version and
/// the budget check are in the one `UPDATE`, so an approval arriving meanwhile either comes
/// first (412) or finds the new budget.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &scheme::Model,
    changes: SchemeChanges,
    status: StatusChange,
) -> Result<GrantScheme, ApiError> {
    let id = current.id;
    let guard = Condition::all().add(scheme::Column::GrantedNok.lte(changes.fields.budget_nok));
    // Every grant raises the version, so when the version still matches, the granted sum
    // is the one read.
    update_versioned_if(
        conn,
        row(changes.fields, status.to),
        scheme::Column::Id.eq(id),
        scheme::Column::Version,
        current.version,
        guard,
        || rules::budget_below_granted(current.granted_nok),
    )
    .await?;
    let named = changes.named.join(", ");
    let summary = if status.from == status.to {
        format!("changed {named}")
    } else {
        let (from, to) = (status.from.as_str(), status.to.as_str());
        format!("changed {named} (status {from} → {to})")
    };
    audited(conn, caller, audit::Action::Update, RESOURCE, id, summary).await?;
    find(conn, id, true).await
}

/// An `UPDATE` of one scheme that raises its version, so that its ETag changes with what the
/// statement writes.
fn raise_version(id: Uuid, now: DateTime<Utc>) -> UpdateMany<scheme::Entity> {
    let version = Expr::col(scheme::Column::Version).add(1);
    scheme::Entity::update_many()
        .col_expr(scheme::Column::Version, version)
        .col_expr(scheme::Column::UpdatedAt, Expr::value(now))
        .filter(scheme::Column::Id.eq(id))
}

/// Raises a scheme's version after a change to one of its applications, so that its ETag
/// changes with its counts. It succeeds only while the scheme takes applications when
/// `window` is set, which makes the window check and the write one step.
pub async fn touch(conn: &impl ConnectionTrait, id: Uuid, window: bool) -> Result<bool, ApiError> {
    let now = Utc::now();
    let mut query = raise_version(id, now);
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
    let granted = Expr::col(scheme::Column::GrantedNok).add(granted_nok);
    let result = raise_version(id, Utc::now())
        .col_expr(scheme::Column::GrantedNok, granted.clone())
        .filter(scheme::Column::Status.eq(SchemeStatus::Closed.as_str()))
        .filter(granted.lte(Expr::col(scheme::Column::BudgetNok)))
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        return Ok(());
    }
    // Refused: read the scheme again to say why.
    let now = find_model(conn, id).await?;
    rules::decisions_open(SchemeStatus::from_stored(&now.status)?)?;
    let remaining = now.budget_nok - now.granted_nok;
    Err(ApiError::BudgetExceeded {
        detail: format!("the scheme has {remaining} kroner left of its budget, not {granted_nok}"),
        remaining_nok: remaining,
    })
}
