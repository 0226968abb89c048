//! One committed write in the change feed, numbered in commit order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i64,
    pub resource_type: String,
    pub resource_id: String,
    pub parent_id: Option<String>,
    pub action: String,
    pub version: Option<i32>,
    pub occurred_at: DateTimeUtc,
    /// Who may read the entry: `public`, `staff`, `owner`, `ticket` or `internal`.
    pub audience: String,
    pub municipality_number: Option<String>,
    pub ticket_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
