//! A webhook subscription: where to send the change entries its owner may read.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// Comma-separated feed types; empty for every type.
    pub resource_types: String,
    /// Comma-separated actions; empty for every action.
    pub actions: String,
    pub secret: String,
    pub owner_role: String,
    pub owner_sub: String,
    pub owner_municipality: Option<String>,
    /// The last feed sequence turned into deliveries (or passed over by the filter).
    pub after_sequence: i64,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last success.
    pub failing_since: Option<DateTimeUtc>,
    pub lease_until: Option<DateTimeUtc>,
    pub lease_token: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
