//! Reading counties, each with its number of municipalities.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use entity::{county, municipality};

use super::model::{County, CountyRow};
use crate::http::error::ApiError;
use crate::http::pagination::{Page, PageRequest};

/// A page of counties, ordered by number.
pub async fn list(
    conn: &impl ConnectionTrait,
    page: &PageRequest<String>,
) -> Result<Page<County>, ApiError> {
    let mut query = with_counts().order_by_asc(county::Column::Number);
    if let Some(after) = page.after.clone() {
        query = query.filter(county::Column::Number.gt(after));
    }
    let rows: Vec<CountyRow> = query
        .limit(page.fetch())
        .into_tuple::<(String, String, String, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .map(into_row)
        .collect();
    Ok(page.page(rows, |(c, _)| c.number.clone()))
}

/// The county with `number`; 404 for anything else.
pub async fn find(conn: &impl ConnectionTrait, number: &str) -> Result<County, ApiError> {
    let row = with_counts()
        .filter(county::Column::Number.eq(number))
        .into_tuple::<(String, String, String, i64)>()
        .one(conn)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("there is no county {number}")))?;
    Ok(into_row(row).into())
}

/// Whether there is a county with `number`.
pub async fn exists(conn: &impl ConnectionTrait, number: &str) -> Result<bool, ApiError> {
    Ok(county::Entity::find_by_id(number).count(conn).await? > 0)
}

/// Which of `numbers` are counties.
pub async fn known(
    conn: &impl ConnectionTrait,
    numbers: impl IntoIterator<Item = String>,
) -> Result<HashSet<String>, ApiError> {
    Ok(county::Entity::find()
        .select_only()
        .column(county::Column::Number)
        .filter(county::Column::Number.is_in(numbers))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect())
}

fn with_counts() -> sea_orm::Select<county::Entity> {
    county::Entity::find()
        .select_only()
        .columns([
            county::Column::Number,
            county::Column::Name,
            county::Column::OfficialName,
        ])
        .expr_as(
            Func::count(Expr::col((
                municipality::Entity,
                municipality::Column::Number,
            ))),
            "municipality_count",
        )
        .left_join(municipality::Entity)
        .group_by(county::Column::Number)
        .group_by(county::Column::Name)
        .group_by(county::Column::OfficialName)
}

fn into_row((number, name, official_name, count): (String, String, String, i64)) -> CountyRow {
    (
        county::Model {
            number,
            name,
            official_name,
        },
        count,
    )
}
