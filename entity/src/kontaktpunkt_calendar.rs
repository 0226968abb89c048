//! The business calendar of the kontaktpunkt: one row (`id` 1), the hours its service
//! levels are counted in.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "kontaktpunkt_calendar")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    /// JSON: `[{"weekday": "monday", "opens": "08:00", "closes": "15:30"}, ...]`.
    pub weekly_hours: String,
    pub open_on_public_holidays: bool,
    /// JSON: `[{"date": "2026-12-24", "hours": [], "note": "..."}, ...]`; no hours is closed.
    pub dated_hours: String,
    pub version: i32,
    /// `null` until KS first changes the calendar.
    pub updated_at: Option<DateTimeUtc>,
    pub updated_by: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
