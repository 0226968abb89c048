//! Reading the facts the coverage figures are computed from: five small queries, however
//! many municipalities; offers, funding and tickets come from their resources' stores.

use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, QuerySelect};

use entity::{county, municipality};

use super::rules::Facts;
use crate::grants;
use crate::http::error::ApiError;
use crate::municipalities;
use crate::tickets;

/// The facts of every county and municipality, with funding counted up to `year`.
pub async fn facts(conn: &impl ConnectionTrait, year: i32) -> Result<Facts, ApiError> {
    let counties: Vec<(String, String)> = county::Entity::find()
        .select_only()
        .columns([county::Column::Number, county::Column::Name])
        .order_by_asc(county::Column::Number)
        .into_tuple()
        .all(conn)
        .await?;
    let municipalities: Vec<(String, String)> = municipality::Entity::find()
        .select_only()
        .columns([
            municipality::Column::Number,
            municipality::Column::CountyNumber,
        ])
        .into_tuple()
        .all(conn)
        .await?;
    Ok(Facts {
        counties,
        municipalities,
        offering: municipalities::store::with_offer(conn, None).await?,
        funded: grants::applications::store::funded_municipalities(conn, year).await?,
        open_tickets: tickets::store::open_per_municipality(conn).await?,
    })
}
