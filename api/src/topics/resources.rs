//! Resources per topic: courses, videos and guides (such as HK-dir's free packages on
//! digidel.no), with the languages they are available in. KS keeps them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query as SqlQuery};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use entity::{topic_resource, topic_resource_language};

use super::model::{DESCRIPTION_MAX, DescriptionText, NOT_BLANK, bounded};
use super::store::find_model as find_topic;
use crate::audit;
use crate::auth::{BearerAuth, Caller, policy};
use crate::common::stored::stored_enum;
use crate::common::validation::Fields;
use crate::common::values::{LanguageCode, WebUrl};
use crate::http::error::{AUTH, ApiError, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;

const RESOURCE: audit::ResourceType = audit::ResourceType::TopicResource;
const TITLE_MAX: usize = 200;
const PUBLISHER_MAX: usize = 200;
const MAX_LANGUAGES: usize = 30;

crate::checked_text!(
    /// A resource title, 1 to 200 characters.
    TitleText,
    min = 1,
    max = TITLE_MAX,
    pattern = NOT_BLANK
);
crate::checked_text!(
    /// An absolute http or https URL of at most 500 characters.
    UrlText,
    min = 1,
    max = 500,
    pattern = "^https?://"
);
crate::checked_text!(
    /// A publisher, 1 to 200 characters.
    PublisherText,
    min = 1,
    max = PUBLISHER_MAX,
    pattern = NOT_BLANK
);
crate::checked_text!(
    /// An ISO 639-1 language code.
    LanguageText,
    min = 2,
    max = 2,
    pattern = "^[a-z]{2}$"
);

stored_enum! {
    /// What kind of material a resource is.
    ResourceFormat {
        Course = "course",
        Video = "video",
        Guide = "guide",
        Other = "other",
    }
}

/// Material for a topic, published elsewhere.
#[derive(Debug, Clone, Object)]
pub struct TopicResource {
    pub id: Uuid,
    pub topic_slug: String,
    pub title: String,
    pub url: String,
    /// Who publishes it, e.g. `HK-dir`.
    pub publisher: String,
    /// ISO 639-1 codes of the languages it is available in, in code order.
    pub languages: Vec<String>,
    pub format: ResourceFormat,
    #[oai(nullable)]
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

crate::page_object!(TopicResourcePage, TopicResource);

/// A new resource for a topic (KS).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewTopicResource {
    pub title: TitleText,
    pub url: UrlText,
    pub publisher: PublisherText,
    /// One to 30 ISO 639-1 codes, e.g. `["nb", "ur", "ti", "so"]`.
    pub languages: Vec<LanguageText>,
    pub format: ResourceFormat,
    #[oai(nullable)]
    pub description: Option<DescriptionText>,
}

impl Example for NewTopicResource {
    fn example() -> Self {
        Self {
            title: TitleText("Digidel: trygg på nett".into()),
            url: UrlText("https://www.digidel.no/".into()),
            publisher: PublisherText("HK-dir".into()),
            languages: ["nb", "en", "ar", "so", "ti", "ur", "pl"]
                .map(|code| LanguageText(code.into()))
                .to_vec(),
            format: ResourceFormat::Course,
            description: Some(DescriptionText(
                "Kursopplegg for veiledere om sikkerhet på nett.".into(),
            )),
        }
    }
}

/// The fields to change; absent fields stay, `null` clears the description.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TopicResourceChanges {
    pub title: MaybeUndefined<TitleText>,
    pub url: MaybeUndefined<UrlText>,
    pub publisher: MaybeUndefined<PublisherText>,
    pub languages: MaybeUndefined<Vec<LanguageText>>,
    pub format: MaybeUndefined<ResourceFormat>,
    #[oai(nullable)]
    pub description: MaybeUndefined<DescriptionText>,
}

impl Example for TopicResourceChanges {
    fn example() -> Self {
        Self {
            title: MaybeUndefined::Undefined,
            url: MaybeUndefined::Undefined,
            publisher: MaybeUndefined::Undefined,
            languages: MaybeUndefined::Value(
                ["nb", "en", "ar"]
                    .map(|code| LanguageText(code.into()))
                    .to_vec(),
            ),
            format: MaybeUndefined::Undefined,
            description: MaybeUndefined::Null,
        }
    }
}

/// Every field of a resource, checked.
#[derive(Debug, Clone)]
struct ResourceFields {
    title: String,
    url: String,
    publisher: String,
    languages: Vec<String>,
    format: ResourceFormat,
    description: Option<String>,
}

fn languages(codes: &[LanguageText], f: &mut Fields) -> Option<Vec<String>> {
    let mut parsed = Vec::new();
    let mut ok = true;
    for (i, code) in codes.iter().enumerate() {
        match LanguageCode::parse(code) {
            Ok(code) => parsed.push(code.to_string()),
            Err(message) => {
                f.add(&format!("languages[{i}]"), message);
                ok = false;
            }
        }
    }
    if codes.is_empty() {
        f.add("languages", "name at least one language");
        ok = false;
    } else if codes.len() > MAX_LANGUAGES {
        f.add("languages", format!("at most {MAX_LANGUAGES} languages"));
        ok = false;
    }
    parsed.sort();
    parsed.dedup();
    ok.then_some(parsed)
}

fn url(value: &str) -> Result<String, String> {
    WebUrl::parse(value).map(WebUrl::into_inner)
}

impl ResourceFields {
    fn from_new(new: &NewTopicResource) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let title = f.check("title", bounded(&new.title, TITLE_MAX));
        let url = f.check("url", url(&new.url));
        let publisher = f.check("publisher", bounded(&new.publisher, PUBLISHER_MAX));
        let languages = languages(&new.languages, &mut f);
        let description = f.check_optional(
            "description",
            new.description
                .as_deref()
                .map(|d| bounded(d, DESCRIPTION_MAX)),
        );
        f.finish()?;
        Ok(Self {
            title: title.expect("checked"),
            url: url.expect("checked"),
            publisher: publisher.expect("checked"),
            languages: languages.expect("checked"),
            format: new.format,
            description: description.expect("checked"),
        })
    }

    fn from_stored(resource: &TopicResource) -> Self {
        Self {
            title: resource.title.clone(),
            url: resource.url.clone(),
            publisher: resource.publisher.clone(),
            languages: resource.languages.clone(),
            format: resource.format,
            description: resource.description.clone(),
        }
    }

    /// Applies a set of changes, naming every invalid field; returns the names changed.
    fn apply(&mut self, changes: TopicResourceChanges) -> Result<Vec<&'static str>, ApiError> {
        let mut f = Fields::default();
        let mut changed = Vec::new();
        let null = |f: &mut Fields, field: &str| f.add(field, "must not be null");
        match changes.title {
            MaybeUndefined::Value(v) => {
                if let Some(v) = f.check("title", bounded(&v, TITLE_MAX)) {
                    self.title = v;
                }
                changed.push("title");
            }
            MaybeUndefined::Null => null(&mut f, "title"),
            MaybeUndefined::Undefined => {}
        }
        match changes.url {
            MaybeUndefined::Value(v) => {
                if let Some(v) = f.check("url", url(&v)) {
                    self.url = v;
                }
                changed.push("url");
            }
            MaybeUndefined::Null => null(&mut f, "url"),
            MaybeUndefined::Undefined => {}
        }
        match changes.publisher {
            MaybeUndefined::Value(v) => {
                if let Some(v) = f.check("publisher", bounded(&v, PUBLISHER_MAX)) {
                    self.publisher = v;
                }
                changed.push("publisher");
            }
            MaybeUndefined::Null => null(&mut f, "publisher"),
            MaybeUndefined::Undefined => {}
        }
        match changes.languages {
            MaybeUndefined::Value(codes) => {
                if let Some(codes) = languages(&codes, &mut f) {
                    self.languages = codes;
                }
                changed.push("languages");
            }
            MaybeUndefined::Null => null(&mut f, "languages"),
            MaybeUndefined::Undefined => {}
        }
        match changes.format {
            MaybeUndefined::Value(v) => {
                self.format = v;
                changed.push("format");
            }
            MaybeUndefined::Null => null(&mut f, "format"),
            MaybeUndefined::Undefined => {}
        }
        match changes.description {
            MaybeUndefined::Value(v) => {
                if let Some(v) = f.check("description", bounded(&v, DESCRIPTION_MAX)) {
                    self.description = Some(v);
                }
                changed.push("description");
            }
            MaybeUndefined::Null => {
                self.description = None;
                changed.push("description");
            }
            MaybeUndefined::Undefined => {}
        }
        f.finish()?;
        if changed.is_empty() {
            return Err(ApiError::invalid("body", "names no field to change"));
        }
        Ok(changed)
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no resource {id} for this topic"))
}

/// The languages of each of the given resources, in code order.
async fn languages_of(
    conn: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<String>>, ApiError> {
    let mut languages: HashMap<Uuid, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(languages);
    }
    let rows = topic_resource_language::Entity::find()
        .filter(topic_resource_language::Column::ResourceId.is_in(ids.iter().copied()))
        .order_by_asc(topic_resource_language::Column::Code)
        .all(conn)
        .await?;
    for row in rows {
        languages.entry(row.resource_id).or_default().push(row.code);
    }
    Ok(languages)
}

async fn assemble(
    conn: &impl ConnectionTrait,
    rows: Vec<topic_resource::Model>,
) -> Result<Vec<TopicResource>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut languages = languages_of(conn, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|m| TopicResource {
            languages: languages.remove(&m.id).unwrap_or_default(),
            id: m.id,
            topic_slug: m.topic_slug,
            title: m.title,
            url: m.url,
            publisher: m.publisher,
            format: ResourceFormat::from_name(&m.format).unwrap_or(ResourceFormat::Other),
            description: m.description,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
        .collect())
}

/// The resource `id` of topic `slug`; another topic's resource is not found here.
async fn find(
    conn: &impl ConnectionTrait,
    slug: &str,
    id: &str,
) -> Result<TopicResource, ApiError> {
    let topic = find_topic(conn, slug).await?;
    let parsed = Uuid::parse_str(id).map_err(|_| not_found(id))?;
    let row = topic_resource::Entity::find_by_id(parsed)
        .filter(topic_resource::Column::TopicSlug.eq(topic.slug))
        .one(conn)
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(assemble(conn, vec![row]).await?.remove(0))
}

async fn replace_languages(
    conn: &impl ConnectionTrait,
    id: Uuid,
    codes: &[String],
) -> Result<(), ApiError> {
    topic_resource_language::Entity::delete_many()
        .filter(topic_resource_language::Column::ResourceId.eq(id))
        .exec(conn)
        .await?;
    topic_resource_language::Entity::insert_many(codes.iter().map(|code| {
        topic_resource_language::ActiveModel {
            resource_id: Set(id),
            code: Set(code.clone()),
        }
    }))
    .exec(conn)
    .await?;
    Ok(())
}

fn columns(fields: &ResourceFields, row: &mut topic_resource::ActiveModel) {
    row.title = Set(fields.title.clone());
    row.url = Set(fields.url.clone());
    row.publisher = Set(fields.publisher.clone());
    row.format = Set(fields.format.as_str().to_string());
    row.description = Set(fields.description.clone());
}

async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    slug: &str,
    fields: &ResourceFields,
) -> Result<TopicResource, ApiError> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    let mut row = topic_resource::ActiveModel {
        id: Set(id),
        topic_slug: Set(slug.to_string()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    columns(fields, &mut row);
    row.insert(conn).await?;
    replace_languages(conn, id, &fields.languages).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &id.to_string(),
        format!("added {} to topic {slug}", fields.title),
    )
    .await?;
    find(conn, slug, &id.to_string()).await
}

#[derive(ApiResponse)]
pub enum TopicResourceListResponse {
    /// A page of the topic's resources, by title, then id.
    #[oai(status = 200)]
    Ok(Json<TopicResourcePage>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum TopicResourceResponse {
    /// The resource.
    #[oai(status = 200)]
    Ok(
        Json<Box<TopicResource>>,
        /// The current version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum TopicResourceUpdatedResponse {
    /// The resource as changed.
    #[oai(status = 200)]
    Ok(
        Json<Box<TopicResource>>,
        /// The new version.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum TopicResourceCreatedResponse {
    /// The resource was added (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<TopicResource>>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum TopicResourceDeletedResponse {
    /// The resource is gone.
    #[oai(status = 204)]
    Deleted,
}

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
        /// Only resources available in this language (ISO 639-1), e.g. `ti`.
        #[oai(validator(pattern = "^[a-z]{2}$"))]
        language: Query<Option<String>>,
        /// Only resources of this format.
        format: Query<Option<ResourceFormat>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TopicResourceListResponse, Failure<{ E400 | E404 | E422 }>> {
        use topic_resource::Column;
        let conn = state.db.conn();
        let page = PageRequest::<(String, Uuid)>::new(limit.0, cursor.0.as_deref())?;
        let language = language
            .0
            .as_deref()
            .map(LanguageCode::parse)
            .transpose()
            .map_err(|message| ApiError::invalid("language", message))?;
        let topic = find_topic(conn, &slug.0).await?;
        let mut query = topic_resource::Entity::find()
            .filter(Column::TopicSlug.eq(topic.slug))
            .order_by_asc(Column::Title)
            .order_by_asc(Column::Id);
        if let Some(language) = language {
            query = query.filter(
                Column::Id.in_subquery(
                    SqlQuery::select()
                        .column(topic_resource_language::Column::ResourceId)
                        .from(topic_resource_language::Entity)
                        .and_where(
                            Expr::col(topic_resource_language::Column::Code).eq(language.as_str()),
                        )
                        .to_owned(),
                ),
            );
        }
        if let Some(format) = format.0 {
            query = query.filter(Column::Format.eq(format.as_str()));
        }
        if let Some((title, id)) = &page.after {
            query = query.filter(
                Cond::any()
                    .add(Column::Title.gt(title.as_str()))
                    .add(Column::Title.eq(title.as_str()).and(Column::Id.gt(*id))),
            );
        }
        let rows = query.limit(page.fetch()).all(conn).await?;
        let rows = page.page::<_, topic_resource::Model>(rows, |r| (r.title.clone(), r.id));
        Ok(TopicResourceListResponse::Ok(Json(TopicResourcePage {
            items: assemble(conn, rows.items).await?,
            next_cursor: rows.next_cursor,
        })))
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
        id: Path<String>,
    ) -> Result<TopicResourceResponse, Failure<{ E400 | E404 }>> {
        let resource = find(state.db.conn(), &slug.0, &id.0).await?;
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
        let topic = find_topic(state.db.conn(), &slug.0).await?;
        let fields = ResourceFields::from_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_topic_resource",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| create(tx, caller, &topic.slug, &fields).await,
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
        id: Path<String>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<TopicResourceChanges>,
    ) -> Result<TopicResourceUpdatedResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>>
    {
        policy::manage_topics(&auth.0)?;
        let tx = state.db.begin_write().await?;
        let current = find(&tx, &slug.0, &id.0).await?;
        let mut fields = ResourceFields::from_stored(&current);
        let changed = fields.apply(body.0)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let mut row = topic_resource::ActiveModel {
            version: Set(current.version + 1),
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        columns(&fields, &mut row);
        let result = topic_resource::Entity::update_many()
            .set(row)
            .filter(topic_resource::Column::Id.eq(current.id))
            .filter(topic_resource::Column::Version.eq(current.version))
            .exec(&tx)
            .await?;
        if result.rows_affected != 1 {
            return Err(ApiError::PreconditionFailed {
                current_version: current.version + 1,
            }
            .into());
        }
        replace_languages(&tx, current.id, &fields.languages).await?;
        audit::record(
            &tx,
            &auth.0,
            audit::Action::Update,
            RESOURCE,
            &current.id.to_string(),
            format!("changed {}", changed.join(", ")),
        )
        .await?;
        let updated = find(&tx, &current.topic_slug, &current.id.to_string()).await?;
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
        id: Path<String>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<TopicResourceDeletedResponse, Failure<{ E400 | AUTH | E404 | E412 | E428 }>> {
        policy::manage_topics(&auth.0)?;
        let tx = state.db.begin_write().await?;
        let current = find(&tx, &slug.0, &id.0).await?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let result = topic_resource::Entity::delete_many()
            .filter(topic_resource::Column::Id.eq(current.id))
            .filter(topic_resource::Column::Version.eq(current.version))
            .exec(&tx)
            .await?;
        if result.rows_affected != 1 {
            return Err(ApiError::PreconditionFailed {
                current_version: current.version + 1,
            }
            .into());
        }
        audit::record(
            &tx,
            &auth.0,
            audit::Action::Delete,
            RESOURCE,
            &current.id.to_string(),
            format!(
                "removed {} from topic {}",
                current.title, current.topic_slug
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(TopicResourceDeletedResponse::Deleted)
    }
}
