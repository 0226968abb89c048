//! A regional meeting place where municipalities of a region share experience.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_places")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// Comma-separated: `ks`, `kmd`, `hk_dir`.
    pub organisers: String,
    /// `in_person`, `online` or `hybrid`.
    pub format: String,
    pub venue_address: Option<String>,
    pub online_url: Option<String>,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    /// Participants the meeting place has room for.
    pub capacity: i32,
    /// The participants of all registrations; never above `capacity` (a check constraint).
    pub reserved: i32,
    pub registration_deadline: DateTimeUtc,
    /// `planned`, `open`, `closed`, `cancelled` or `completed`.
    pub status: String,
    pub cancellation_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::meeting_place_county::Entity")]
    County,
    #[sea_orm(has_many = "super::meeting_place_registration::Entity")]
    Registration,
}

impl Related<super::meeting_place_county::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::County.def()
    }
}

impl Related<super::meeting_place_registration::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Registration.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
