//! A dated exception to a location's weekly hours: closed all day, or other hours.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "opening_exceptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub location_id: Uuid,
    pub date: Date,
    pub closed: bool,
    /// The day's intervals as JSON (`[{"opens":"10:00","closes":"14:00","service_mode":"drop_in"}]`);
    /// empty when closed.
    pub hours: String,
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
