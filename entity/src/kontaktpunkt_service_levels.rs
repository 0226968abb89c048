//! The service-level targets of the kontaktpunkt: one row (`id` 1), in business minutes
//! per priority.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "kontaktpunkt_service_levels")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub low_first_response_minutes: i32,
    pub low_resolution_minutes: i32,
    pub normal_first_response_minutes: i32,
    pub normal_resolution_minutes: i32,
    pub high_first_response_minutes: i32,
    pub high_resolution_minutes: i32,
    pub version: i32,
    /// `null` until KS first changes the targets.
    pub updated_at: Option<DateTimeUtc>,
    pub updated_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
