//! Guidance topics: what Digihjelp helps with (and what it does not), in Bokmål, Nynorsk and
//! English, with the course material and guides linked from each.

pub mod model;
pub mod resources;
pub mod rules;
pub mod store;

use chrono::Utc;
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;

use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    NewTopic, TopicCategory, TopicChanges, TopicCreatedResponse, TopicListResponse, TopicResponse,
    TopicUpdatedResponse,
};

#[derive(Default)]
pub struct TopicsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Topics")]
impl TopicsApi {
    /// List guidance topics
    ///
    /// Ordered by `sort_order`, then slug. Retired topics are left out unless
    /// `include_retired=true`. `in_scope=false` lists what Digihjelp does not help with.
    #[oai(path = "/topics", method = "get", operation_id = "list_topics")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        /// Words in a name or description in any of the three languages, in any case
        /// (`personvern`, `tryggleik`, `privacy`).
        #[oai(validator(min_length = 1, max_length = 100))]
        q: Query<Option<String>>,
        /// Only topics of this category.
        category: Query<Option<TopicCategory>>,
        /// Only topics Digihjelp helps with (`true`) or does not (`false`).
        in_scope: Query<Option<bool>>,
        /// `true`: include retired topics.
        include_retired: Query<Option<bool>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TopicListResponse, Failure<{ E400 }>> {
        let filter = store::ListFilter {
            q: q.0,
            category: category.0,
            in_scope: in_scope.0,
            include_retired: include_retired.0.unwrap_or(false),
        };
        let page = store::list(state.db.conn(), &filter, limit.0, cursor.0.as_deref()).await?;
        Ok(TopicListResponse::Ok(Json(page.into())))
    }

    /// Get a guidance topic
    ///
    /// Retired topics stay readable by their slug.
    #[oai(path = "/topics/:slug", method = "get", operation_id = "get_topic")]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The topic's slug, e.g. `online-security`.
        slug: Path<String>,
    ) -> Result<TopicResponse, Failure<{ E400 | E404 }>> {
        let topic = store::find(state.db.conn(), &slug.0).await?;
        let tag = etag(topic.version);
        Ok(TopicResponse::Ok(Json(Box::new(topic)), tag))
    }

    /// Create a guidance topic
    ///
    /// KS only. The slug is chosen here and never changes; a second topic with the same slug
    /// is 409. Send an `Idempotency-Key` to make a retry safe.
    #[oai(path = "/topics", method = "post", operation_id = "create_topic")]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewTopic>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<TopicCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        policy::manage_topics(caller)?;
        let new = rules::check_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_topic",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| store::create(tx, caller, &new).await,
        )
        .await?;
        let location = format!("/api/v1/topics/{}", created.slug);
        let tag = etag(created.version);
        Ok(TopicCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Update or retire a guidance topic
    ///
    /// KS only. Changes names, descriptions, category, scope and order; `retired: true`
    /// retires the topic (it stays readable and on the locations that offer it, but leaves
    /// lists and cannot be newly linked), `retired: false` brings it back. Send `If-Match`
    /// with the ETag you read; a stale one is refused with 412.
    #[oai(
        path = "/topics/:slug",
        method = "patch",
        operation_id = "update_topic"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The topic's slug, e.g. `online-security`.
        slug: Path<String>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<TopicChanges>,
    ) -> Result<TopicUpdatedResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>> {
        policy::manage_topics(&auth.0)?;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, &slug.0).await?;
        let changes = rules::check_changes(body.0)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let update = rules::plan_update(&current, changes, Utc::now())?;
        let updated = store::update(&tx, &auth.0, &current.slug, current.version, &update).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(TopicUpdatedResponse::Ok(Json(Box::new(updated)), tag))
    }
}
