//! Resources per topic: courses, videos and guides (such as HK-dir's free packages on
//! digidel.no), with the languages they are available in. KS keeps them.

pub mod model;
pub mod rules;
pub mod store;

use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use crate::topics::store::find_model as find_topic;
use model::{
    NewTopicResource, ResourceFormat, TopicResourceChanges, TopicResourceCreatedResponse,
    TopicResourceDeletedResponse, TopicResourceListResponse, TopicResourceResponse,
    TopicResourceUpdatedResponse,
};

#[derive(Default)]
pub struct TopicResourcesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Topics")]
impl TopicResourcesApi {
    /// List a topic's resources
    ///
    /// Courses, videos and guides for the topic, by title, then id; filter by the language
    /// they are available in and by format. A retired topic's resources stay readable.
    #[oai(
        path = "/topics/:slug/resources",
        method = "get",
        operation_id = "list_topic_resources"
    )]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        /// The topic's slug, e.g. `online-security`.
        slug: Path<String>,
        /// Only resources available in this language (a code of `/languages`), e.g. `ti`.
        language: Query<Option<crate::http::params::LanguageParam>>,
        /// Only resources of this format.
        format: Query<Option<ResourceFormat>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TopicResourceListResponse, Failure<{ E400 | E404 | E422 }>> {
        let page = PageRequest::new(limit.0, cursor.0.as_deref())?;
        let filter = store::ListFilter {
            language: rules::language_filter(crate::http::params::value(language.0).as_deref())?,
            format: format.0,
        };
        let page = store::list(state.db.conn(), &slug.0, &filter, page).await?;
        Ok(TopicResourceListResponse::Ok(Json(page.into())))
    }

    /// Get a topic resource
    ///
    /// One piece of course material linked from a topic: its title, link, publisher, languages
    /// and format. Anyone may read it; a resource of another topic is 404.
    #[oai(
        path = "/topics/:slug/resources/:id",
        method = "get",
        operation_id = "get_topic_resource"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The topic's slug, e.g. `online-security`.
        slug: Path<String>,
        /// The resource's id (a UUID).
        id: Path<Uuid>,
    ) -> Result<TopicResourceResponse, Failure<{ E400 | E404 }>> {
        let resource = store::find(state.db.conn(), &slug.0, id.0).await?;
        let tag = etag(resource.version);
        Ok(TopicResourceResponse::Ok(Json(Box::new(resource)), tag))
    }

    /// Add a resource to a topic
    ///
    /// KS only. Send an `Idempotency-Key` to make a retry safe.
    #[oai(
        path = "/topics/:slug/resources",
        method = "post",
        operation_id = "create_topic_resource"
    )]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The topic's slug, e.g. `online-security`.
        slug: Path<String>,
        body: Json<NewTopicResource>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<TopicResourceCreatedResponse, Failure<{ E400 | AUTH | E404 | E409 | E422 }>> {
        let caller = &auth.0;
        policy::manage_topics(caller)?;
        let fields = rules::check_new(&body.0)?;
        let topic = find_topic(state.db.conn(), &slug.0).await?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            // One key at two topics is two requests.
            &format!("create_topic_resource {}", topic.slug),
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| store::create(tx, caller, &topic.slug, &fields).await,
        )
        .await?;
        let location = format!("/api/v1/topics/{}/resources/{}", topic.slug, created.id);
        let tag = etag(created.version);
        Ok(TopicResourceCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Update a topic resource
    ///
    /// KS only. Send `If-Match` with the ETag you read; a stale one is refused with 412.
    #[oai(
        path = "/topics/:slug/resources/:id",
        method = "patch",
        operation_id = "update_topic_resource"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The topic's slug, e.g. `online-security`.
        slug: Path<String>,
        /// The resource's id (a UUID).
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<TopicResourceChanges>,
    ) -> Result<TopicResourceUpdatedResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>>
    {
        policy::manage_topics(&auth.0)?;
        let tx = state.db.begin_write().await?;
        let current = store::find(&tx, &slug.0, id.0).await?;
        let changes = rules::check_changes(body.0)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let update = rules::plan_update(&current, changes);
        let updated = store::update(&tx, &auth.0, &current, &update).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(TopicResourceUpdatedResponse::Ok(
            Json(Box::new(updated)),
            tag,
        ))
    }

    /// Delete a topic resource
    ///
    /// KS only. Send `If-Match` with the ETag you read.
    #[oai(
        path = "/topics/:slug/resources/:id",
        method = "delete",
        operation_id = "delete_topic_resource"
    )]
    async fn delete(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The topic's slug, e.g. `online-security`.
        slug: Path<String>,
        /// The resource's id (a UUID).
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<TopicResourceDeletedResponse, Failure<{ E400 | AUTH | E404 | E412 | E428 }>> {
        policy::manage_topics(&auth.0)?;
        let tx = state.db.begin_write().await?;
        let current = store::find(&tx, &slug.0, id.0).await?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        store::delete(&tx, &auth.0, &current).await?;
        tx.commit().await?;
        Ok(TopicResourceDeletedResponse::Deleted)
    }
}
