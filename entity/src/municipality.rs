//! A municipality (kommune), keyed by its official four-digit number.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "municipalities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub number: String,
    pub name: String,
    /// `name` in lower case, so that a search is case-insensitive for æ, ø and å on every
    /// database (SQLite's `lower` folds ASCII only).
    pub name_folded: String,
    /// The name folded the way people type without Norwegian and Sámi letters (`baerum`).
    pub name_ascii: String,
    pub county_number: String,
    pub organization_number: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub website: Option<String>,
    pub digihjelp_email: Option<String>,
    pub digihjelp_phone: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::county::Entity",
        from = "Column::CountyNumber",
        to = "super::county::Column::Number"
    )]
    County,
}

impl Related<super::county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::County.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
