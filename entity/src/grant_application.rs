//! A municipality's application to a grant scheme: one per municipality per scheme.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "grant_applications")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub scheme_id: Uuid,
    pub municipality_number: String,
    /// Whole kroner asked for.
    pub amount_nok: i64,
    pub plan: String,
    pub has_existing_offer: bool,
    pub contact_name: String,
    pub contact_email: String,
    /// `submitted`, `withdrawn`, `approved` or `rejected`.
    pub status: String,
    /// Whole kroner granted (approved only; at most `amount_nok`).
    pub granted_nok: Option<i64>,
    /// The ministry's reasoning for its decision.
    pub reasoning: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    /// The `sub` of the ministry's case officer.
    pub decided_by: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::grant_scheme::Entity",
        from = "Column::SchemeId",
        to = "super::grant_scheme::Column::Id"
    )]
    Scheme,
}

impl Related<super::grant_scheme::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Scheme.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
