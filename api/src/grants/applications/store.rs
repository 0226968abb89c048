//! Reading and writing grant applications: visibility, the writes that claim a submitted
//! application, and the decisions that keep a scheme within its budget.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::ActiveValue::NotSet;
use sea_orm::sea_query::IntoCondition;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
};
use uuid::Uuid;

use entity::grant_application as application;
use entity::grant_scheme;

use super::model::{ApplicationStatus, GrantApplication};
use super::rules::{ApplicationChanges, Decision, ValidApplication, submitted};
use crate::audit;
use crate::auth::{Caller, policy};
use crate::common::values::Email;
use crate::grants::model::ApplicationCounts;
use crate::grants::rules::takes_applications;
use crate::grants::store::{self as schemes, audited};
use crate::http::error::{ApiError, ProblemCode};
use crate::http::pagination::PageRequest;
use crate::http::preconditions::update_versioned_if;

const RESOURCE: audit::ResourceType = audit::ResourceType::GrantApplication;

fn not_found(id: Uuid) -> ApiError {
    ApiError::NotFound(format!("there is no grant application {id}"))
}

async fn find_model(conn: &impl ConnectionTrait, id: Uuid) -> Result<application::Model, ApiError> {
    application::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))
}

/// The application, if the caller may see it: another municipality's is 404, as if it did
/// not exist.
pub async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: Uuid,
) -> Result<application::Model, ApiError> {
    let found = find_model(conn, id).await?;
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
    let drafts = crate::grants::rules::sees_draft_schemes(Some(caller));
    schemes::find_visible(conn, scheme_id, drafts).await?;
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
    rows.into_iter().map(GrantApplication::try_from).collect()
}

/// The applications of each scheme, counted by status, in one query for the lot.
pub async fn counts_by_scheme(
    conn: &impl ConnectionTrait,
    scheme_ids: &[Uuid],
) -> Result<HashMap<Uuid, ApplicationCounts>, ApiError> {
    let mut counts: HashMap<Uuid, ApplicationCounts> = HashMap::new();
    if scheme_ids.is_empty() {
        return Ok(counts);
    }
    let rows: Vec<(Uuid, String, i64)> = application::Entity::find()
        .select_only()
        .column(application::Column::SchemeId)
        .column(application::Column::Status)
        .column_as(application::Column::Id.count(), "n")
        .filter(application::Column::SchemeId.is_in(scheme_ids.iter().copied()))
        .group_by(application::Column::SchemeId)
        .group_by(application::Column::Status)
        .into_tuple()
        .all(conn)
        .await?;
    for (id, status, n) in rows {
        let entry = counts.entry(id).or_default();
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        match ApplicationStatus::from_stored(&status)? {
            ApplicationStatus::Submitted => entry.submitted = n,
            ApplicationStatus::Withdrawn => entry.withdrawn = n,
            ApplicationStatus::Approved => entry.approved = n,
            ApplicationStatus::Rejected => entry.rejected = n,
        }
    }
    Ok(counts)
}

/// How many applications to a scheme wait for a decision.
pub async fn submitted_count(
    conn: &impl ConnectionTrait,
    scheme_id: Uuid,
) -> Result<u64, ApiError> {
    Ok(application::Entity::find()
        .filter(application::Column::SchemeId.eq(scheme_id))
        .filter(application::Column::Status.eq(ApplicationStatus::Submitted.as_str()))
        .count(conn)
        .await?)
}

/// Raises the scheme's version while it takes applications; refused (422 with the reason)
/// when it has stopped taking them since it was read.
async fn touch_open(conn: &impl ConnectionTrait, scheme_id: Uuid) -> Result<(), ApiError> {
    if schemes::touch(conn, scheme_id, true).await? {
        return Ok(());
    }
    takes_applications(&schemes::find_model(conn, scheme_id).await?, Utc::now())?;
    // The window was open at the check but not at the write: the deadline passed between.
    Err(ApiError::invalid("id", "the deadline has passed"))
}

/// Stores a checked application of `municipality` to a scheme that takes it, and audits it;
/// 409 when the municipality has applied before (withdrawn applications included).
pub async fn apply(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    municipality: &str,
    scheme_id: Uuid,
    new: ValidApplication,
) -> Result<GrantApplication, ApiError> {
    let existing = application::Entity::find()
        .filter(application::Column::SchemeId.eq(scheme_id))
        .filter(application::Column::MunicipalityNumber.eq(municipality))
        .one(conn)
        .await?;
    if let Some(existing) = existing {
        return Err(ApiError::Conflict(
            ProblemCode::AlreadyRegistered,
            format!(
                "municipality {municipality} has already applied to this scheme (application {}, {})",
                existing.id, existing.status
            ),
        ));
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
    let summary = format!(
        "{municipality} applied for {} kr from scheme {scheme_id}",
        new.amount_nok
    );
    audited(conn, caller, audit::Action::Create, RESOURCE, id, summary).await?;
    created.try_into()
}

/// Writes `row` over the application as it was read, while it is still submitted. When
/// another change came first: 409 if that change ended it (a decision, a withdrawal), 412
/// otherwise.
async fn write_submitted(
    conn: &impl ConnectionTrait,
    current: &application::Model,
    mut row: application::ActiveModel,
) -> Result<GrantApplication, ApiError> {
    row.updated_at = Set(Utc::now());
    let written = update_versioned_if(
        conn,
        row,
        application::Column::Id.eq(current.id),
        application::Column::Version,
        current.version,
        application::Column::Status
            .eq(ApplicationStatus::Submitted.as_str())
            .into_condition(),
        || {
            ApiError::Conflict(
                ProblemCode::WrongStatus,
                "the application is no longer submitted".into(),
            )
        },
    )
    .await;
    if let Err(ApiError::PreconditionFailed { .. }) = written {
        submitted(&find_model(conn, current.id).await?)?;
    }
    written?;
    find_model(conn, current.id).await?.try_into()
}

pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &application::Model,
    changes: ApplicationChanges,
) -> Result<GrantApplication, ApiError> {
    let id = current.id;
    let row = application::ActiveModel {
        amount_nok: changes.amount_nok.map_or(NotSet, Set),
        plan: changes.plan.map_or(NotSet, Set),
        has_existing_offer: changes.has_existing_offer.map_or(NotSet, Set),
        contact_name: changes.contact_name.map_or(NotSet, Set),
        contact_email: changes
            .contact_email
            .map(Email::into_inner)
            .map_or(NotSet, Set),
        ..Default::default()
    };
    let updated = write_submitted(conn, current, row).await?;
    touch_open(conn, current.scheme_id).await?;
    let municipality = &current.municipality_number;
    let summary = match changes.amount_nok {
        Some(n) if n != current.amount_nok => format!(
            "changed the application of {municipality}: amount {} → {n} kr",
            current.amount_nok
        ),
        _ => format!("changed the application of {municipality}"),
    };
    audited(conn, caller, audit::Action::Update, RESOURCE, id, summary).await?;
    Ok(updated)
}

pub async fn withdraw(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &application::Model,
) -> Result<GrantApplication, ApiError> {
    let id = current.id;
    let row = application::ActiveModel {
        status: Set(ApplicationStatus::Withdrawn.as_str().to_string()),
        ..Default::default()
    };
    let withdrawn = write_submitted(conn, current, row).await?;
    schemes::touch(conn, current.scheme_id, false).await?;
    let summary = format!(
        "{} withdrew its application to scheme {}",
        current.municipality_number, current.scheme_id
    );
    audited(conn, caller, audit::Action::Withdraw, RESOURCE, id, summary).await?;
    Ok(withdrawn)
}

/// Records a decision and, for an approval, takes its grant from the scheme's budget: after
/// the application is claimed, in the same transaction, so a refusal rolls both back.
pub async fn decide(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &application::Model,
    decision: Decision,
) -> Result<GrantApplication, ApiError> {
    let id = current.id;
    let row = application::ActiveModel {
        status: Set(decision.outcome.as_str().to_string()),
        granted_nok: Set(decision.granted_nok),
        reasoning: Set(Some(decision.reasoning)),
        decided_at: Set(Some(Utc::now())),
        decided_by: Set(Some(caller.sub.clone())),
        ..Default::default()
    };
    let decided = write_submitted(conn, current, row).await?;
    let municipality = &current.municipality_number;
    let summary = match decision.granted_nok {
        Some(kroner) => {
            schemes::grant(conn, current.scheme_id, kroner).await?;
            format!(
                "approved {kroner} kr of {} kr for {municipality}",
                current.amount_nok
            )
        }
        None => {
            schemes::touch(conn, current.scheme_id, false).await?;
            format!("rejected the application of {municipality}")
        }
    };
    audited(conn, caller, audit::Action::Decide, RESOURCE, id, summary).await?;
    Ok(decided)
}

/// The municipalities with an approved application in a scheme of `year` or earlier.
pub async fn funded_municipalities(
    conn: &impl ConnectionTrait,
    year: i32,
) -> Result<HashSet<String>, ApiError> {
    let funded: Vec<String> = application::Entity::find()
        .select_only()
        .column(application::Column::MunicipalityNumber)
        .distinct()
        .join(JoinType::InnerJoin, application::Relation::Scheme.def())
        .filter(application::Column::Status.eq(ApplicationStatus::Approved.as_str()))
        .filter(grant_scheme::Column::Year.lte(year))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(funded.into_iter().collect())
}
