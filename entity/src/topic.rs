//! A guidance topic: an area Digihjelp helps with, or (not in scope) one it does not.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "topics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub slug: String,
    pub name_nb: String,
    pub name_nn: Option<String>,
    pub name_en: Option<String>,
    pub description_nb: String,
    pub description_nn: Option<String>,
    pub description_en: Option<String>,
    pub category: String,
    pub in_scope: bool,
    pub sort_order: i32,
    /// Every name and description in lower case, for case-insensitive search on every
    /// database.
    pub search_text: String,
    /// The same folded the way people type without Norwegian and Sámi letters.
    pub search_ascii: String,
    pub retired_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
