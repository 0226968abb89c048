//! The wire types of counties.

use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

use entity::county;

/// A county (fylke).
#[derive(Debug, Object)]
pub struct County {
    /// The official two-digit county number.
    pub number: String,
    pub name: String,
    /// The official name, with Sami and Kven parallel names where there are any.
    pub official_name: String,
    pub municipality_count: u32,
}

/// A county and how many municipalities it has.
pub type CountyRow = (county::Model, i64);

impl From<CountyRow> for County {
    fn from((c, municipality_count): CountyRow) -> Self {
        Self {
            number: c.number,
            name: c.name,
            official_name: c.official_name,
            municipality_count: u32::try_from(municipality_count).unwrap_or_default(),
        }
    }
}

crate::page_object!(CountyPage, County);

#[derive(ApiResponse)]
pub enum CountyListResponse {
    /// A page of counties, ordered by number.
    #[oai(status = 200)]
    Ok(Json<CountyPage>),
}

#[derive(ApiResponse)]
pub enum CountyResponse {
    /// The county.
    #[oai(status = 200)]
    Ok(Json<County>),
}
