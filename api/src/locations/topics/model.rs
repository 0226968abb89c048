//! The wire types of the topics a location offers.

use poem_openapi::payload::Json;
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use crate::topics::model::SlugText;

/// The topics a location offers.
#[derive(Debug, Clone, Object)]
pub struct LocationTopics {
    pub location_id: Uuid,
    /// Topic slugs in alphabetical order; see `/topics/{slug}` for names and descriptions.
    pub topics: Vec<String>,
    /// The location's version: send it back as `If-Match` to replace the topics.
    pub version: i32,
}

/// The whole set of topics a location offers, replacing the current one.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct LocationTopicsInput {
    /// At most 100 topic slugs; repeats count once.
    pub topics: Vec<SlugText>,
}

impl Example for LocationTopicsInput {
    fn example() -> Self {
        Self {
            topics: ["getting-online", "municipal-services", "online-security"]
                .map(|slug| SlugText(slug.into()))
                .to_vec(),
        }
    }
}

#[derive(ApiResponse)]
pub enum LocationTopicsResponse {
    /// The location's topics.
    #[oai(status = 200)]
    Ok(
        Json<LocationTopics>,
        /// The location's version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum LocationTopicsReplacedResponse {
    /// The location's topics as replaced.
    #[oai(status = 200)]
    Ok(
        Json<LocationTopics>,
        /// The location's new version.
        #[oai(header = "ETag")]
        String,
    ),
}
