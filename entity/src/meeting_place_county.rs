//! A county a meeting place serves.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "meeting_place_counties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub meeting_place_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub county_number: String,
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
