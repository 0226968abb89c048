//! Reading and writing topic resources and their languages, with their audit entries.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use entity::{topic_resource, topic_resource_language};

use super::model::{ResourceFormat, TopicResource};
use super::rules::{ResourceFields, ResourceUpdate};
use crate::audit;
use crate::auth::Caller;
use crate::common::rows::replace_children;
use crate::common::values::LanguageCode;
use crate::http::error::ApiError;
use crate::http::pagination::{Page, PageRequest};
use crate::http::preconditions::{delete_versioned, update_versioned};
use crate::topics::store::find_model as find_topic;

const RESOURCE: audit::ResourceType = audit::ResourceType::TopicResource;

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

/// Turns stored rows into wire resources, reading their languages in one query for the lot.
async fn assemble(
    conn: &impl ConnectionTrait,
    rows: Vec<topic_resource::Model>,
) -> Result<Vec<TopicResource>, ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut languages = languages_of(conn, &ids).await?;
    rows.into_iter()
        .map(|m| {
            let codes = languages.remove(&m.id).unwrap_or_default();
            TopicResource::from_model(m, codes)
        })
        .collect()
}

/// The resource `id` of topic `slug`; another topic's resource is not found here. The topic
/// is looked up first, so an unknown topic is named as such.
pub async fn find(
    conn: &impl ConnectionTrait,
    slug: &str,
    id: Uuid,
) -> Result<TopicResource, ApiError> {
    let topic = find_topic(conn, slug).await?;
    find_in(conn, &topic.slug, id).await
}

async fn find_in(
    conn: &impl ConnectionTrait,
    slug: &str,
    id: Uuid,
) -> Result<TopicResource, ApiError> {
    let row = topic_resource::Entity::find_by_id(id)
        .filter(topic_resource::Column::TopicSlug.eq(slug))
        .one(conn)
        .await?
        .ok_or_else(|| not_found(&id.to_string()))?;
    Ok(assemble(conn, vec![row]).await?.remove(0))
}

/// The filters of a topic's resource list.
pub struct ListFilter {
    pub language: Option<LanguageCode>,
    pub format: Option<ResourceFormat>,
}

/// The resources of topic `slug`, by title, then id.
pub async fn list(
    conn: &impl ConnectionTrait,
    slug: &str,
    filter: &ListFilter,
    page: PageRequest<(String, Uuid)>,
) -> Result<Page<TopicResource>, ApiError> {
    use topic_resource::Column;
    let topic = find_topic(conn, slug).await?;
    let mut query = topic_resource::Entity::find()
        .filter(Column::TopicSlug.eq(topic.slug))
        .order_by_asc(Column::Title)
        .order_by_asc(Column::Id);
    if let Some(language) = &filter.language {
        let available_in = Query::select()
            .column(topic_resource_language::Column::ResourceId)
            .from(topic_resource_language::Entity)
            .and_where(Expr::col(topic_resource_language::Column::Code).eq(language.as_str()))
            .to_owned();
        query = query.filter(Column::Id.in_subquery(available_in));
    }
    if let Some(format) = filter.format {
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
    Ok(Page {
        items: assemble(conn, rows.items).await?,
        next_cursor: rows.next_cursor,
    })
}

async fn replace_languages(
    conn: &impl ConnectionTrait,
    id: Uuid,
    codes: &[String],
) -> Result<(), ApiError> {
    let rows = codes
        .iter()
        .map(|code| topic_resource_language::ActiveModel {
            resource_id: Set(id),
            code: Set(code.clone()),
        });
    replace_children(
        conn,
        topic_resource_language::Column::ResourceId.eq(id),
        rows,
    )
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

/// Adds a checked resource to topic `slug`, with its audit entry.
pub async fn create(
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
    find_in(conn, slug, id).await
}

/// Writes a planned update over the version `If-Match` named, with its audit entry.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &TopicResource,
    update: &ResourceUpdate,
) -> Result<TopicResource, ApiError> {
    let mut row = topic_resource::ActiveModel {
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    columns(&update.fields, &mut row);
    update_versioned(
        conn,
        row,
        topic_resource::Column::Id.eq(current.id),
        topic_resource::Column::Version,
        current.version,
    )
    .await?;
    replace_languages(conn, current.id, &update.fields.languages).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &current.id.to_string(),
        &update.summary,
    )
    .await?;
    find_in(conn, &current.topic_slug, current.id).await
}

/// Deletes the resource if it is still at the version `If-Match` named, with its audit
/// entry; its languages go with it.
pub async fn delete(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &TopicResource,
) -> Result<(), ApiError> {
    delete_versioned::<topic_resource::Entity>(
        conn,
        topic_resource::Column::Id.eq(current.id),
        topic_resource::Column::Version,
        current.version,
    )
    .await?;
    audit::record(
        conn,
        caller,
        audit::Action::Delete,
        RESOURCE,
        &current.id.to_string(),
        format!(
            "removed {} from topic {}",
            current.title, current.topic_slug
        ),
    )
    .await?;
    Ok(())
}
