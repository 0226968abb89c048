//! Counties (fylker): the reference list of 2024.

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use entity::{county, municipality};

use crate::http::error::{ApiError, E400, E404, Failure};
use crate::http::pagination::PageRequest;
use crate::state::AppState;
use crate::tags::ApiTags;

/// A county (fylke).
#[derive(Debug, Object)]
pub struct County {
    /// The official two-digit county number.
    pub number: String,
    pub name: String,
    /// The official name, with Sami and Kven parallel names where there are any.
    pub official_name: String,
    pub municipality_count: u32,
}

type CountyRow = (county::Model, i64);

impl From<CountyRow> for County {
    fn from((c, municipality_count): CountyRow) -> Self {
        Self {
            number: c.number,
            name: c.name,
            official_name: c.official_name,
            municipality_count: u32::try_from(municipality_count).unwrap_or_default(),
        }
    }
}

crate::page_object!(CountyPage, County);

#[derive(ApiResponse)]
pub enum CountyListResponse {
    /// A page of counties, ordered by number.
    #[oai(status = 200)]
    Ok(Json<CountyPage>),
}

#[derive(ApiResponse)]
pub enum CountyResponse {
    /// The county.
    #[oai(status = 200)]
    Ok(Json<County>),
}

pub struct CountiesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Counties")]
impl CountiesApi {
    /// List counties
    ///
    /// The 15 counties, ordered by number, each with its number of municipalities.
    #[oai(path = "/counties", method = "get", operation_id = "list_counties")]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<CountyListResponse, Failure<E400>> {
        let page = PageRequest::<String>::new(limit.0, cursor.0.as_deref())?;
        let mut query = counties_with_counts().order_by_asc(county::Column::Number);
        if let Some(after) = page.after.clone() {
            query = query.filter(county::Column::Number.gt(after));
        }
        let rows: Vec<CountyRow> = query
            .limit(page.fetch())
            .into_tuple::<(String, String, String, i64)>()
            .all(state.db.conn())
            .await?
            .into_iter()
            .map(into_row)
            .collect();
        Ok(CountyListResponse::Ok(Json(
            page.page(rows, |(c, _)| c.number.clone()).into(),
        )))
    }

    /// Get a county
    ///
    /// Anyone. 404 for a number that is not a county.
    #[oai(
        path = "/counties/:number",
        method = "get",
        operation_id = "get_county"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The two-digit county number, e.g. `03`.
        number: Path<String>,
    ) -> Result<CountyResponse, Failure<{ E400 | E404 }>> {
        let row = counties_with_counts()
            .filter(county::Column::Number.eq(number.0.as_str()))
            .into_tuple::<(String, String, String, i64)>()
            .one(state.db.conn())
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("there is no county {}", number.0)))?;
        Ok(CountyResponse::Ok(Json(into_row(row).into())))
    }
}

fn counties_with_counts() -> sea_orm::Select<county::Entity> {
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
