//! The guidance topics a location offers: read, and replaced as a whole set of slugs.

pub mod model;
pub mod rules;
pub mod store;

use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;

use super::store as locations;
use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E404, E412, E422, E428, Failure};
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{LocationTopicsInput, LocationTopicsReplacedResponse, LocationTopicsResponse};
use uuid::Uuid;

#[derive(Default)]
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
        id: Path<Uuid>,
    ) -> Result<LocationTopicsResponse, Failure<{ E400 | E404 }>> {
        let conn = state.db.conn();
        let location = locations::find_model(conn, id.0).await?;
        let topics = store::offered_by(conn, &location).await?;
        let tag = etag(topics.version);
        Ok(LocationTopicsResponse::Ok(Json(topics), tag))
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
        id: Path<Uuid>,
        /// The location's ETag, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<LocationTopicsInput>,
    ) -> Result<LocationTopicsReplacedResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>>
    {
        let id = id.0;
        let tx = state.db.begin_write().await?;
        let current = locations::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &current.municipality_number)?;
        let topics = store::linkable(&tx, &body.0.topics).await?;
        let before = store::linked_set(&tx, id).await?;
        // Every slug, retired ones against the topics stored for the location included, is
        // checked before `If-Match`, so that one 422 names them all.
        let slugs = rules::checked_slugs(&body.0.topics, &topics, &before)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let replaced = store::replace(&tx, &auth.0, &current, slugs).await?;
        tx.commit().await?;
        let tag = etag(replaced.version);
        Ok(LocationTopicsReplacedResponse::Ok(Json(replaced), tag))
    }
}
