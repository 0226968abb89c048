//! A place where Digihjelp is given.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "locations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub municipality_number: String,
    /// The county of the municipality, kept in step with it, so that a county's locations
    /// are listed from one index.
    pub county_number: String,
    pub name: String,
    /// Name, description and postal place in lower case, for case-insensitive search on every
    /// database.
    pub search_text: String,
    /// The same folded the way people type without Norwegian and Sámi letters (`tromso`).
    pub search_ascii: String,
    pub host_type: String,
    pub street_address: String,
    pub postal_code: String,
    pub postal_place: String,
    pub latitude: f64,
    pub longitude: f64,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub offers_drop_in: bool,
    pub offers_appointment: bool,
    /// Comma-separated accessibility features.
    pub accessibility: String,
    pub description: Option<String>,
    pub status: String,
    pub alert: Option<String>,
    pub opens_on_holidays: bool,
    pub last_verified_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
