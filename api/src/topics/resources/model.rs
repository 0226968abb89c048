//! The wire types of topic resources: what is read, what is sent, and the answers.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use entity::topic_resource;

use crate::common::stored::stored_enum;
use crate::http::error::ApiError;
use crate::topics::model::{DescriptionText, NOT_BLANK};

pub const TITLE_MAX: usize = 200;
pub const PUBLISHER_MAX: usize = 200;

crate::checked_text!(
    /// A resource title, 1 to 200 characters.
    TitleText,
    min = 1,
    max = TITLE_MAX,
    pattern = NOT_BLANK
);
crate::checked_text!(
    /// An absolute http or https URL of at most 500 characters.
    UrlText,
    min = 1,
    max = 500,
    pattern = "^https?://"
);
crate::checked_text!(
    /// A publisher, 1 to 200 characters.
    PublisherText,
    min = 1,
    max = PUBLISHER_MAX,
    pattern = NOT_BLANK
);
pub use crate::common::languages::LanguageText;

stored_enum! {
    /// What kind of material a resource is.
    ResourceFormat {
        Course = "course",
        Video = "video",
        Guide = "guide",
        Other = "other",
    }
}

/// Material for a topic, published elsewhere.
#[derive(Debug, Clone, Object)]
pub struct TopicResource {
    pub id: Uuid,
    pub topic_slug: String,
    pub title: String,
    pub url: String,
    /// Who publishes it, e.g. `HK-dir`.
    pub publisher: String,
    /// Codes of the languages it is available in (see `/languages`), in code order.
    pub languages: Vec<String>,
    pub format: ResourceFormat,
    #[oai(nullable)]
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TopicResource {
    /// The wire resource of a stored row and its languages; an unknown stored format is a
    /// 500.
    pub fn from_model(m: topic_resource::Model, languages: Vec<String>) -> Result<Self, ApiError> {
        Ok(Self {
            id: m.id,
            topic_slug: m.topic_slug,
            title: m.title,
            url: m.url,
            publisher: m.publisher,
            languages,
            format: ResourceFormat::from_stored(&m.format)?,
            description: m.description,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

crate::page_object!(TopicResourcePage, TopicResource);

/// A new resource for a topic (KS).
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewTopicResource {
    pub title: TitleText,
    pub url: UrlText,
    pub publisher: PublisherText,
    /// One to 30 language codes of `/languages`, e.g. `["nb", "ur", "ti", "so"]`.
    pub languages: Vec<LanguageText>,
    pub format: ResourceFormat,
    #[oai(nullable)]
    pub description: Option<DescriptionText>,
}

impl Example for NewTopicResource {
    fn example() -> Self {
        Self {
            title: TitleText("Digidel: trygg på nett".into()),
            url: UrlText("https://www.digidel.no/".into()),
            publisher: PublisherText("HK-dir".into()),
            languages: ["nb", "en", "ar", "so", "ti", "ur", "pl"]
                .map(|code| LanguageText(code.into()))
                .to_vec(),
            format: ResourceFormat::Course,
            description: Some(DescriptionText(
                "Kursopplegg for veiledere om sikkerhet på nett.".into(),
            )),
        }
    }
}

/// The fields to change; absent fields stay, `null` clears the description.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TopicResourceChanges {
    pub title: MaybeUndefined<TitleText>,
    pub url: MaybeUndefined<UrlText>,
    pub publisher: MaybeUndefined<PublisherText>,
    pub languages: MaybeUndefined<Vec<LanguageText>>,
    pub format: MaybeUndefined<ResourceFormat>,
    #[oai(nullable)]
    pub description: MaybeUndefined<DescriptionText>,
}

impl Example for TopicResourceChanges {
    fn example() -> Self {
        Self {
            title: MaybeUndefined::Undefined,
            url: MaybeUndefined::Undefined,
            publisher: MaybeUndefined::Undefined,
            languages: MaybeUndefined::Value(
                ["nb", "en", "ar"]
                    .map(|code| LanguageText(code.into()))
                    .to_vec(),
            ),
            format: MaybeUndefined::Undefined,
            description: MaybeUndefined::Null,
        }
    }
}

#[derive(ApiResponse)]
pub enum TopicResourceListResponse {
    /// A page of the topic's resources, by title, then id.
    #[oai(status = 200)]
    Ok(Json<TopicResourcePage>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum TopicResourceResponse {
    /// The resource.
    #[oai(status = 200)]
    Ok(
        Json<Box<TopicResource>>,
        /// The current version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum TopicResourceUpdatedResponse {
    /// The resource as changed.
    #[oai(status = 200)]
    Ok(
        Json<Box<TopicResource>>,
        /// The new version.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum TopicResourceCreatedResponse {
    /// The resource was added (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<TopicResource>>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum TopicResourceDeletedResponse {
    /// The resource is gone.
    #[oai(status = 204)]
    Deleted,
}
