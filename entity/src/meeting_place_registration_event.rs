//! One change of a meeting place's registrations (registered, waitlisted, promoted, changed,
//! cancelled), numbered per meeting place in the order the writes committed. A
//! registration's history is its events; they outlive a cancelled registration.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_place_registration_events")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub meeting_place_id: Uuid,
    /// 1, 2, 3, ... per meeting place, unique: the order of the writes.
    pub sequence: i32,
    pub registration_id: Uuid,
    pub municipality_number: String,
    /// `registered`, `waitlisted`, `promoted`, `changed` or `cancelled`.
    pub kind: String,
    /// The registration's status after the event: `confirmed`, `waitlisted` or `cancelled`.
    pub status: String,
    /// The registration's participants after the event.
    pub participants: i32,
    /// Who made the write (for a promotion: the caller whose change freed the places).
    pub actor_sub: String,
    pub actor_role: String,
    pub occurred_at: DateTimeUtc,
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
