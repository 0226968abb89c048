//! The wire types of guidance topics: what is read, what is sent, and the answers.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object};

use entity::topic;

use crate::common::stored::stored_enum;
use crate::http::error::ApiError;

/// Some character that is not white space: text is trimmed, and must not end up empty.
pub const NOT_BLANK: &str = r"\S";
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";
pub const SLUG_MAX: usize = 60;
pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 1000;
pub const SORT_ORDER_MAX: i32 = 100_000;

crate::checked_text!(
    /// A topic slug: lower-case letters, digits and single hyphens, 2 to 60 characters.
    SlugText,
    min = 2,
    max = SLUG_MAX,
    pattern = SLUG_PATTERN
);
crate::checked_text!(
    /// A topic name, 1 to 100 characters, not only spaces.
    NameText,
    min = 1,
    max = NAME_MAX,
    pattern = NOT_BLANK
);
crate::checked_text!(
    /// A topic description, 1 to 1,000 characters, not only spaces.
    DescriptionText,
    min = 1,
    max = DESCRIPTION_MAX,
    pattern = NOT_BLANK
);

/// Where a topic stands in lists: 0 to 100,000, lower first. The range is in the schema and
/// checked by the operation (422 naming the field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortOrder(pub i32);

impl poem_openapi::types::Type for SortOrder {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> std::borrow::Cow<'static, str> {
        "integer_int32".into()
    }

    fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
        let mut schema = poem_openapi::registry::MetaSchema::new_with_format("integer", "int32");
        schema.minimum = Some(0.0);
        schema.maximum = Some(f64::from(SORT_ORDER_MAX));
        poem_openapi::registry::MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl poem_openapi::types::ParseFromJSON for SortOrder {
    fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
        <i32 as poem_openapi::types::ParseFromJSON>::parse_from_json(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

impl poem_openapi::types::ToJSON for SortOrder {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(self.0.into())
    }
}

stored_enum! {
    /// What a topic is about. Out-of-scope topics use `case_handling` and
    /// `private_equipment`.
    TopicCategory {
        /// Using a tablet, smartphone or PC to get online.
        GettingOnline = "getting_online",
        /// Municipal digital services, and the way to central government services.
        PublicServices = "public_services",
        /// Digital judgement, online security and privacy.
        OnlineSafety = "online_safety",
        /// Applications, appeals and payments made for someone: not Digihjelp's task.
        CaseHandling = "case_handling",
        /// Buying, installing or repairing private equipment and broadband: not Digihjelp's
        /// task.
        PrivateEquipment = "private_equipment",
        Other = "other",
    }
}

/// A guidance topic: an area Digihjelp gives guidance in, or (`in_scope: false`) one it does
/// not, so front-ends can show both.
#[derive(Debug, Clone, Object)]
pub struct Topic {
    /// Lower-case letters, digits and hyphens; never changes.
    pub slug: String,
    /// The name in Norwegian Bokmål.
    pub name_nb: String,
    /// The name in Norwegian Nynorsk.
    #[oai(nullable)]
    pub name_nn: Option<String>,
    /// The name in English.
    #[oai(nullable)]
    pub name_en: Option<String>,
    pub description_nb: String,
    #[oai(nullable)]
    pub description_nn: Option<String>,
    #[oai(nullable)]
    pub description_en: Option<String>,
    pub category: TopicCategory,
    /// Whether Digihjelp gives guidance in it; `false` for what it does not help with.
    pub in_scope: bool,
    /// Lists are ordered by it (then by slug).
    pub sort_order: i32,
    /// When KS retired it: it stays readable and linked but leaves lists and cannot be newly
    /// linked.
    #[oai(nullable)]
    pub retired_at: Option<DateTime<Utc>>,
    /// How many active or temporarily closed locations offer it.
    pub location_count: i64,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Topic {
    /// The wire topic of a stored row; an unknown stored category is a 500.
    pub fn from_model(m: topic::Model, location_count: i64) -> Result<Self, ApiError> {
        Ok(Self {
            slug: m.slug,
            name_nb: m.name_nb,
            name_nn: m.name_nn,
            name_en: m.name_en,
            description_nb: m.description_nb,
            description_nn: m.description_nn,
            description_en: m.description_en,
            category: TopicCategory::from_stored(&m.category)?,
            in_scope: m.in_scope,
            sort_order: m.sort_order,
            retired_at: m.retired_at,
            location_count,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

crate::page_object!(TopicPage, Topic);

/// A new guidance topic (KS). The Bokmål name and description are required.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewTopic {
    pub slug: SlugText,
    pub name_nb: NameText,
    #[oai(nullable)]
    pub name_nn: Option<NameText>,
    #[oai(nullable)]
    pub name_en: Option<NameText>,
    pub description_nb: DescriptionText,
    #[oai(nullable)]
    pub description_nn: Option<DescriptionText>,
    #[oai(nullable)]
    pub description_en: Option<DescriptionText>,
    pub category: TopicCategory,
    pub in_scope: bool,
    pub sort_order: SortOrder,
}

impl Example for NewTopic {
    fn example() -> Self {
        Self {
            slug: SlugText("video-calls".into()),
            name_nb: NameText("Videosamtaler med familie og venner".into()),
            name_nn: Some(NameText("Videosamtalar med familie og vener".into())),
            name_en: Some(NameText("Video calls with family and friends".into())),
            description_nb: DescriptionText(
                "Hvordan du ringer med video på mobil, nettbrett eller PC.".into(),
            ),
            description_nn: Some(DescriptionText(
                "Korleis du ringjer med video på mobil, nettbrett eller PC.".into(),
            )),
            description_en: Some(DescriptionText(
                "How to make video calls on a mobile phone, tablet or PC.".into(),
            )),
            category: TopicCategory::GettingOnline,
            in_scope: true,
            sort_order: SortOrder(15),
        }
    }
}

/// The fields to change; absent fields stay, `null` clears a Nynorsk or English text. The
/// slug never changes. `retired: true` retires the topic, `false` brings it back.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TopicChanges {
    pub name_nb: MaybeUndefined<NameText>,
    #[oai(nullable)]
    pub name_nn: MaybeUndefined<NameText>,
    #[oai(nullable)]
    pub name_en: MaybeUndefined<NameText>,
    pub description_nb: MaybeUndefined<DescriptionText>,
    #[oai(nullable)]
    pub description_nn: MaybeUndefined<DescriptionText>,
    #[oai(nullable)]
    pub description_en: MaybeUndefined<DescriptionText>,
    pub category: MaybeUndefined<TopicCategory>,
    pub in_scope: MaybeUndefined<bool>,
    pub sort_order: MaybeUndefined<SortOrder>,
    pub retired: MaybeUndefined<bool>,
}

impl Example for TopicChanges {
    fn example() -> Self {
        Self {
            name_nb: MaybeUndefined::Undefined,
            name_nn: MaybeUndefined::Undefined,
            name_en: MaybeUndefined::Value(NameText("Video calls".into())),
            description_nb: MaybeUndefined::Undefined,
            description_nn: MaybeUndefined::Undefined,
            description_en: MaybeUndefined::Undefined,
            category: MaybeUndefined::Undefined,
            in_scope: MaybeUndefined::Undefined,
            sort_order: MaybeUndefined::Value(SortOrder(20)),
            retired: MaybeUndefined::Undefined,
        }
    }
}

/// Whether `slug` has the shape of a topic slug. Beside [`SlugText`], so that what names a
/// topic elsewhere (a location's topics, the search filter) is checked the same way.
pub fn parse_slug(slug: &str) -> Result<String, String> {
    let shaped = (2..=SLUG_MAX).contains(&slug.len())
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if shaped {
        Ok(slug.to_string())
    } else {
        Err(format!(
            "'{slug}' is not a topic slug: 2 to {SLUG_MAX} lower-case letters, digits and single hyphens, e.g. online-security"
        ))
    }
}

#[derive(ApiResponse)]
pub enum TopicListResponse {
    /// A page of topics, by `sort_order`, then slug.
    #[oai(status = 200)]
    Ok(Json<TopicPage>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum TopicResponse {
    /// The topic.
    #[oai(status = 200)]
    Ok(
        Json<Box<Topic>>,
        /// The current version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum TopicUpdatedResponse {
    /// The topic as changed.
    #[oai(status = 200)]
    Ok(
        Json<Box<Topic>>,
        /// The new version.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum TopicCreatedResponse {
    /// The topic was created (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<Topic>>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_case_words_joined_by_single_hyphens() {
        for good in ["online-security", "nav", "a1", "step-2-go"] {
            assert!(parse_slug(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a",
            "Online",
            "online_security",
            "-nav",
            "nav-",
            "on--line",
            "sikkerhet-på-nett",
            &"a".repeat(61),
        ] {
            assert!(parse_slug(bad).is_err(), "{bad}");
        }
    }
}
