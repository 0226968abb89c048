//! Counties (fylker): the reference list of 2024.

pub mod model;
pub mod store;

use poem_openapi::OpenApi;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;

use crate::http::error::{E400, E404, Failure};
use crate::http::pagination::PageRequest;
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{CountyListResponse, CountyResponse};

#[derive(Default)]
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
        let page = store::list(state.db.conn(), &page).await?;
        Ok(CountyListResponse::Ok(Json(page.into())))
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
        let county = store::find(state.db.conn(), &number.0).await?;
        Ok(CountyResponse::Ok(Json(county)))
    }
}
