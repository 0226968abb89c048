//! Reading and replacing the topics a location offers.

use std::collections::{HashMap, HashSet};

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

use entity::{location, location_topic, topic};

use super::super::store::{offering_locations, record, topics_of, write_versioned};
use super::model::LocationTopics;
use super::rules::Linkable;
use crate::audit;
use crate::auth::Caller;
use crate::common::rows::replace_children;
use crate::http::error::ApiError;
use crate::topics::model::SlugText;

/// The slugs a location offers now, in alphabetical order.
pub async fn linked(conn: &impl ConnectionTrait, id: Uuid) -> Result<Vec<String>, ApiError> {
    Ok(topics_of(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

/// The topics a location offers, with its version.
pub async fn offered_by(
    conn: &impl ConnectionTrait,
    location: &location::Model,
) -> Result<LocationTopics, ApiError> {
    Ok(LocationTopics {
        location_id: location.id,
        topics: linked(conn, location.id).await?,
        version: location.version,
    })
}

/// The slugs a location offers now, as a set.
pub async fn linked_set(
    conn: &impl ConnectionTrait,
    id: Uuid,
) -> Result<HashSet<String>, ApiError> {
    Ok(linked(conn, id).await?.into_iter().collect())
}

/// Which of the requested slugs name a topic, and whether it is retired.
pub async fn linkable(
    conn: &impl ConnectionTrait,
    requested: &[SlugText],
) -> Result<HashMap<String, Linkable>, ApiError> {
    let slugs = requested.iter().map(|s| s.0.clone());
    Ok(topic::Entity::find()
        .filter(topic::Column::Slug.is_in(slugs))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| {
            let linkable = match t.retired_at {
                Some(_) => Linkable::Retired,
                None => Linkable::Yes,
            };
            (t.slug, linkable)
        })
        .collect())
}

/// Replaces the location's topics over the version read, with the audit entry; 412 when
/// someone else changed the location first.
pub async fn replace(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &location::Model,
    slugs: Vec<String>,
) -> Result<LocationTopics, ApiError> {
    let id = current.id;
    // The location's answer lists its topics, so its version (and ETag) moves too.
    write_versioned(conn, id, current.version, Default::default()).await?;
    let rows = slugs.iter().map(|slug| location_topic::ActiveModel {
        location_id: Set(id),
        topic_slug: Set(slug.clone()),
    });
    replace_children(conn, location_topic::Column::LocationId.eq(id), rows).await?;
    let summary = if slugs.is_empty() {
        "removed every topic".to_string()
    } else {
        format!("topics: {}", slugs.join(", "))
    };
    record(conn, caller, audit::Action::ReplaceTopics, id, summary).await?;
    Ok(LocationTopics {
        location_id: id,
        topics: slugs,
        version: current.version + 1,
    })
}

/// How many locations that count as an offer offer each of `slugs`, in one query for the lot.
pub async fn offering_counts(
    conn: &impl ConnectionTrait,
    slugs: Vec<String>,
) -> Result<HashMap<String, i64>, ApiError> {
    if slugs.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(location_topic::Entity::find()
        .select_only()
        .column(location_topic::Column::TopicSlug)
        .column_as(Expr::col(location_topic::Column::LocationId).count(), "n")
        .filter(location_topic::Column::TopicSlug.is_in(slugs))
        .filter(location_topic::Column::LocationId.in_subquery(offering_locations()))
        .group_by(location_topic::Column::TopicSlug)
        .into_tuple::<(String, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}
