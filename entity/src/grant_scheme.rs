//! A grant scheme of the ministry that municipalities apply to.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "grant_schemes")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub year: i32,
    pub title: String,
    /// The rules and what the scheme funds.
    pub description: String,
    /// Whole kroner.
    pub budget_nok: i64,
    /// The sum granted to approved applications; never above `budget_nok` (a check
    /// constraint).
    pub granted_nok: i64,
    pub opens_at: DateTimeUtc,
    /// Applications are taken until this instant (exclusive).
    pub deadline: DateTimeUtc,
    /// `draft`, `open`, `closed` or `decided`.
    pub status: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::grant_application::Entity")]
    Application,
}

impl Related<super::grant_application::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Application.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
