//! A weekly opening interval of a location, optionally limited to a season.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "opening_rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub location_id: Uuid,
    /// The rule's place in the list as the client sent it.
    pub position: i32,
    /// ISO weekday: 1 is Monday, 7 is Sunday.
    pub weekday: i16,
    pub opens: Time,
    pub closes: Time,
    pub service_mode: String,
    pub valid_from: Option<Date>,
    pub valid_to: Option<Date>,
    pub note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
