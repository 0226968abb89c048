//! A municipality's registration for a meeting place: one per municipality per meeting place.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_place_registrations")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub meeting_place_id: Uuid,
    pub municipality_number: String,
    pub participants: i32,
    pub contact_name: String,
    pub contact_email: String,
    pub will_share_experience: bool,
    pub sharing_topic: Option<String>,
    /// `confirmed` (its participants hold places) or `waitlisted` (they wait for places).
    pub status: String,
    /// For a waitlisted registration, the number of the event it joined the waiting list
    /// at: the list's order.
    pub queue_number: Option<i32>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::meeting_place::Entity",
        from = "Column::MeetingPlaceId",
        to = "super::meeting_place::Column::Id"
    )]
    MeetingPlace,
}

impl Related<super::meeting_place::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MeetingPlace.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
