//! Reading and writing guidance topics.

use chrono::Utc;
use sea_orm::sea_query::{Cond, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use entity::topic;

use super::model::{Topic, TopicCategory, parse_slug};
use super::rules::{TopicFields, TopicUpdate, ValidNewTopic};
use crate::audit;
use crate::auth::Caller;
use crate::common::text::Needle;
use crate::http::error::{ApiError, ProblemCode};
use crate::http::pagination::{Page, PageRequest};
use crate::http::preconditions::update_versioned;
use crate::locations::topics::store as location_topics;

const RESOURCE: audit::ResourceType = audit::ResourceType::Topic;

fn not_found(slug: &str) -> ApiError {
    ApiError::NotFound(format!("there is no topic {slug}"))
}

/// The stored topic `slug`. The one place a slug from a path is read: anything not shaped
/// like a slug cannot name a topic, so it is not found without asking.
pub async fn find_model(conn: &impl ConnectionTrait, slug: &str) -> Result<topic::Model, ApiError> {
    parse_slug(slug).map_err(|_| not_found(slug))?;
    topic::Entity::find_by_id(slug)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(slug))
}

pub async fn find(conn: &impl ConnectionTrait, slug: &str) -> Result<Topic, ApiError> {
    let model = find_model(conn, slug).await?;
    Ok(assemble(conn, vec![model]).await?.remove(0))
}

/// Turns stored rows into wire topics, counting their locations in one query for the lot.
async fn assemble(
    conn: &impl ConnectionTrait,
    models: Vec<topic::Model>,
) -> Result<Vec<Topic>, ApiError> {
    let slugs: Vec<String> = models.iter().map(|m| m.slug.clone()).collect();
    let counts = location_topics::offering_counts(conn, slugs).await?;
    models
        .into_iter()
        .map(|m| {
            let count = counts.get(&m.slug).copied().unwrap_or(0);
            Topic::from_model(m, count)
        })
        .collect()
}

/// The filters of the topic list.
pub struct ListFilter {
    pub q: Option<String>,
    pub category: Option<TopicCategory>,
    pub in_scope: Option<bool>,
    pub include_retired: bool,
}

/// Topics by `sort_order`, then slug.
pub async fn list(
    conn: &impl ConnectionTrait,
    filter: &ListFilter,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Page<Topic>, ApiError> {
    use topic::Column;
    let page = PageRequest::<(i32, String)>::new(limit, cursor)?;
    let mut query = topic::Entity::find()
        .order_by_asc(Column::SortOrder)
        .order_by_asc(Column::Slug);
    if !filter.include_retired {
        query = query.filter(Column::RetiredAt.is_null());
    }
    if let Some(q) = &filter.q {
        query = query.filter(Needle::of(q).condition(
            (topic::Entity, Column::SearchAscii),
            (topic::Entity, Column::SearchText),
        ));
    }
    if let Some(category) = filter.category {
        query = query.filter(Column::Category.eq(category.as_str()));
    }
    if let Some(in_scope) = filter.in_scope {
        query = query.filter(Column::InScope.eq(in_scope));
    }
    if let Some((order, slug)) = &page.after {
        query = query.filter(
            Cond::any().add(Column::SortOrder.gt(*order)).add(
                Column::SortOrder
                    .eq(*order)
                    .and(Column::Slug.gt(slug.as_str())),
            ),
        );
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    let rows = page.page::<_, topic::Model>(rows, |m| (m.sort_order, m.slug.clone()));
    Ok(Page {
        items: assemble(conn, rows.items).await?,
        next_cursor: rows.next_cursor,
    })
}

fn columns(fields: &TopicFields, row: &mut topic::ActiveModel) {
    row.name_nb = Set(fields.name_nb.clone());
    row.name_nn = Set(fields.name_nn.clone());
    row.name_en = Set(fields.name_en.clone());
    row.description_nb = Set(fields.description_nb.clone());
    row.description_nn = Set(fields.description_nn.clone());
    row.description_en = Set(fields.description_en.clone());
    row.category = Set(fields.category.as_str().to_string());
    row.in_scope = Set(fields.in_scope);
    row.sort_order = Set(fields.sort_order);
    row.search_text = Set(fields.search_text());
    row.search_ascii = Set(crate::common::text::fold(&fields.search_text()));
}

pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    new: &ValidNewTopic,
) -> Result<Topic, ApiError> {
    if topic::Entity::find_by_id(new.slug.as_str())
        .count(conn)
        .await?
        > 0
    {
        return Err(ApiError::Conflict(
            ProblemCode::AlreadyExists,
            format!("there is already a topic {}", new.slug),
        ));
    }
    let now = Utc::now();
    let mut row = topic::ActiveModel {
        slug: Set(new.slug.clone()),
        retired_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    columns(&new.fields, &mut row);
    row.insert(conn).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &new.slug,
        format!("created {}", new.fields.name_nb),
    )
    .await?;
    find(conn, &new.slug).await
}

/// Writes a planned update over `version` (the one `If-Match` named), with its audit entry.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    slug: &str,
    version: i32,
    update: &TopicUpdate,
) -> Result<Topic, ApiError> {
    let mut row = topic::ActiveModel {
        retired_at: Set(update.retired_at),
        updated_at: Set(update.updated_at),
        ..Default::default()
    };
    columns(&update.fields, &mut row);
    update_versioned(
        conn,
        row,
        topic::Column::Slug.eq(slug),
        topic::Column::Version,
        version,
    )
    .await?;
    audit::record(conn, caller, update.action, RESOURCE, slug, &update.summary).await?;
    find(conn, slug).await
}
