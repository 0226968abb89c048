//! The guidance topics a location offers: read, and replaced as a whole set of slugs.

use std::collections::{BTreeSet, HashMap, HashSet};

use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use entity::{location_topic, topic};

use super::store;
use crate::audit;
use crate::auth::{BearerAuth, policy};
use crate::common::validation::Fields;
use crate::http::error::{AUTH, ApiError, E400, E404, E412, E422, E428, Failure};
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use crate::topics::model::{SlugText, parse_slug};

const MAX_TOPICS: usize = 100;

/// The topics a location offers.
#[derive(Debug, Clone, Object)]
pub struct LocationTopics {
    pub location_id: Uuid,
    /// Topic slugs in alphabetical order; see `/topics/{slug}` for names and descriptions.
    pub topics: Vec<String>,
    /// The location's version: send it back as `If-Match` to replace the topics.
    pub version: i32,
}

/// The whole set of topics a location offers, replacing the current one.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct LocationTopicsInput {
    /// At most 100 topic slugs; repeats count once.
    pub topics: Vec<SlugText>,
}

impl Example for LocationTopicsInput {
    fn example() -> Self {
        Self {
            topics: ["getting-online", "municipal-services", "online-security"]
                .map(|slug| SlugText(slug.into()))
                .to_vec(),
        }
    }
}

#[derive(ApiResponse)]
pub enum LocationTopicsResponse {
    /// The location's topics.
    #[oai(status = 200)]
    Ok(
        Json<LocationTopics>,
        /// The location's version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum LocationTopicsReplacedResponse {
    /// The location's topics as replaced.
    #[oai(status = 200)]
    Ok(
        Json<LocationTopics>,
        /// The location's new version.
        #[oai(header = "ETag")]
        String,
    ),
}

/// What is known of a topic when linking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkable {
    Yes,
    Retired,
}

/// The set of slugs to store, or a 422 naming each bad one: every slug must name a topic,
/// and a retired topic is accepted only where the location already offers it.
pub fn checked_slugs(
    requested: &[SlugText],
    topics: &HashMap<String, Linkable>,
    linked: &HashSet<String>,
) -> Result<Vec<String>, ApiError> {
    let mut f = Fields::default();
    if requested.len() > MAX_TOPICS {
        f.add("topics", format!("at most {MAX_TOPICS} topics"));
    }
    let mut slugs = BTreeSet::new();
    for (i, slug) in requested.iter().enumerate() {
        let field = format!("topics[{i}]");
        let Some(slug) = f.check(&field, parse_slug(slug)) else {
            continue;
        };
        match topics.get(&slug) {
            None => f.add(&field, format!("there is no topic {slug}")),
            Some(Linkable::Retired) if !linked.contains(&slug) => f.add(
                &field,
                format!("the topic {slug} is retired and cannot be newly linked"),
            ),
            Some(_) => {
                slugs.insert(slug);
            }
        }
    }
    f.finish()?;
    Ok(slugs.into_iter().collect())
}

async fn linked(conn: &impl ConnectionTrait, id: Uuid) -> Result<Vec<String>, ApiError> {
    Ok(store::topics_of(conn, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

pub struct LocationTopicsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Locations")]
impl LocationTopicsApi {
    /// Get the topics a location offers
    ///
    /// The slugs of the guidance topics the location offers, in alphabetical order, with the
    /// location's version: send that version as `If-Match` when replacing the set. Anyone may
    /// read them; `/topics/{slug}` gives each topic's names and descriptions.
    #[oai(
        path = "/locations/:id/topics",
        method = "get",
        operation_id = "get_location_topics"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The location's id (a UUID).
        id: Path<String>,
    ) -> Result<LocationTopicsResponse, Failure<{ E400 | E404 }>> {
        let conn = state.db.conn();
        let location = store::find_model(conn, store::parse_id(&id.0)?).await?;
        let topics = linked(conn, location.id).await?;
        Ok(LocationTopicsResponse::Ok(
            Json(LocationTopics {
                location_id: location.id,
                topics,
                version: location.version,
            }),
            etag(location.version),
        ))
    }

    /// Replace the topics a location offers
    ///
    /// Replaces the whole set at once; an empty list removes them all. A slug that names no
    /// topic, or a retired topic the location does not already offer, is refused with 422
    /// naming each such slug, and nothing changes. Send `If-Match` with the location's ETag.
    #[oai(
        path = "/locations/:id/topics",
        method = "put",
        operation_id = "replace_location_topics"
    )]
    async fn replace(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The location's id (a UUID).
        id: Path<String>,
        /// The location's ETag, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<LocationTopicsInput>,
    ) -> Result<LocationTopicsReplacedResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>>
    {
        let id = store::parse_id(&id.0)?;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &current.municipality_number)?;
        let requested: Vec<String> = body.0.topics.iter().map(|s| s.0.clone()).collect();
        let topics: HashMap<String, Linkable> = topic::Entity::find()
            .filter(topic::Column::Slug.is_in(requested))
            .all(&tx)
            .await?
            .into_iter()
            .map(|t| {
                let linkable = match t.retired_at {
                    Some(_) => Linkable::Retired,
                    None => Linkable::Yes,
                };
                (t.slug, linkable)
            })
            .collect();
        let before: HashSet<String> = linked(&tx, id).await?.into_iter().collect();
        let slugs = checked_slugs(&body.0.topics, &topics, &before)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        location_topic::Entity::delete_many()
            .filter(location_topic::Column::LocationId.eq(id))
            .exec(&tx)
            .await?;
        if !slugs.is_empty() {
            location_topic::Entity::insert_many(slugs.iter().map(|slug| {
                location_topic::ActiveModel {
                    location_id: Set(id),
                    topic_slug: Set(slug.clone()),
                }
            }))
            .exec(&tx)
            .await?;
        }
        // The location's response lists its topics, so its version (and ETag) moves too.
        store::bump(&tx, id, current.version, Default::default()).await?;
        let summary = if slugs.is_empty() {
            "removed every topic".to_string()
        } else {
            format!("topics: {}", slugs.join(", "))
        };
        audit::record(
            &tx,
            &auth.0,
            audit::Action::ReplaceTopics,
            audit::ResourceType::Location,
            &id.to_string(),
            summary,
        )
        .await?;
        tx.commit().await?;
        let version = current.version + 1;
        Ok(LocationTopicsReplacedResponse::Ok(
            Json(LocationTopics {
                location_id: id,
                topics: slugs,
                version,
            }),
            etag(version),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slugs(values: &[&str]) -> Vec<SlugText> {
        values.iter().map(|s| SlugText(s.to_string())).collect()
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn unknown_malformed_and_newly_linked_retired_slugs_are_each_named() {
        let topics = HashMap::from([
            ("nav".to_string(), Linkable::Yes),
            ("old".to_string(), Linkable::Retired),
            ("kept".to_string(), Linkable::Retired),
        ]);
        let linked = HashSet::from(["kept".to_string()]);
        let ok = checked_slugs(&slugs(&["nav", "kept", "nav"]), &topics, &linked).unwrap();
        assert_eq!(ok, ["kept", "nav"]);
        let err =
            checked_slugs(&slugs(&["nav", "nope", "Old", "old"]), &topics, &linked).unwrap_err();
        assert_eq!(fields(err), ["topics[1]", "topics[2]", "topics[3]"]);
        assert!(checked_slugs(&[], &topics, &linked).unwrap().is_empty());
    }
}
