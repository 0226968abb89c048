//! Reading the facts the coverage figures are computed from: five small queries, however
//! many municipalities.

use std::collections::HashSet;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};

use entity::{county, grant_application, grant_scheme, municipality};

use super::rules::Facts;
use crate::grants::applications::model::ApplicationStatus;
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
        funded: funded(conn, year).await?,
        open_tickets: tickets::store::open_per_municipality(conn).await?,
    })
}

/// The municipalities with an approved application in a scheme of `year` or earlier.
async fn funded(conn: &impl ConnectionTrait, year: i32) -> Result<HashSet<String>, ApiError> {
    let funded: Vec<String> = grant_application::Entity::find()
        .select_only()
        .column(grant_application::Column::MunicipalityNumber)
        .distinct()
        .join(
            JoinType::InnerJoin,
            grant_application::Relation::Scheme.def(),
        )
        .filter(grant_application::Column::Status.eq(ApplicationStatus::Approved.as_str()))
        .filter(grant_scheme::Column::Year.lte(year))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(funded.into_iter().collect())
}
