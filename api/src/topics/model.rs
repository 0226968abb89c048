//! The wire types of guidance topics and the checked set of fields a topic is stored from.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::types::{Example, MaybeUndefined};

use entity::topic;

use crate::common::stored::stored_enum;
use crate::common::validation::Fields;
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
    pub fn from_model(m: topic::Model, location_count: i64) -> Self {
        Self {
            slug: m.slug,
            name_nb: m.name_nb,
            name_nn: m.name_nn,
            name_en: m.name_en,
            description_nb: m.description_nb,
            description_nn: m.description_nn,
            description_en: m.description_en,
            category: TopicCategory::from_name(&m.category).unwrap_or(TopicCategory::Other),
            in_scope: m.in_scope,
            sort_order: m.sort_order,
            retired_at: m.retired_at,
            location_count,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

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

/// Whether `slug` has the shape of a topic slug.
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

/// Trimmed text of 1 to `max` characters.
pub fn bounded(text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    match text.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must be at most {max} characters")),
        _ => Ok(text.to_string()),
    }
}

fn sort_order(value: SortOrder) -> Result<i32, String> {
    if (0..=SORT_ORDER_MAX).contains(&value.0) {
        Ok(value.0)
    } else {
        Err(format!("must be between 0 and {SORT_ORDER_MAX}"))
    }
}

/// Every stored field of a topic but its slug, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicFields {
    pub name_nb: String,
    pub name_nn: Option<String>,
    pub name_en: Option<String>,
    pub description_nb: String,
    pub description_nn: Option<String>,
    pub description_en: Option<String>,
    pub category: TopicCategory,
    pub in_scope: bool,
    pub sort_order: i32,
    pub retired: bool,
}

/// A checked new topic.
pub struct ValidNewTopic {
    pub slug: String,
    pub fields: TopicFields,
}

impl TopicFields {
    pub fn from_new(new: &NewTopic) -> Result<ValidNewTopic, ApiError> {
        let mut f = Fields::default();
        let slug = f.check("slug", parse_slug(&new.slug));
        let name_nb = f.check("name_nb", bounded(&new.name_nb, NAME_MAX));
        let optional = |f: &mut Fields, field: &str, value: Option<&str>, max: usize| {
            f.check_optional(field, value.map(|v| bounded(v, max)))
        };
        let name_nn = optional(&mut f, "name_nn", new.name_nn.as_deref(), NAME_MAX);
        let name_en = optional(&mut f, "name_en", new.name_en.as_deref(), NAME_MAX);
        let description_nb = f.check(
            "description_nb",
            bounded(&new.description_nb, DESCRIPTION_MAX),
        );
        let description_nn = optional(
            &mut f,
            "description_nn",
            new.description_nn.as_deref(),
            DESCRIPTION_MAX,
        );
        let description_en = optional(
            &mut f,
            "description_en",
            new.description_en.as_deref(),
            DESCRIPTION_MAX,
        );
        let sort_order = f.check("sort_order", sort_order(new.sort_order));
        f.finish()?;
        Ok(ValidNewTopic {
            slug: slug.expect("checked"),
            fields: Self {
                name_nb: name_nb.expect("checked"),
                name_nn: name_nn.expect("checked"),
                name_en: name_en.expect("checked"),
                description_nb: description_nb.expect("checked"),
                description_nn: description_nn.expect("checked"),
                description_en: description_en.expect("checked"),
                category: new.category,
                in_scope: new.in_scope,
                sort_order: sort_order.expect("checked"),
                retired: false,
            },
        })
    }

    pub fn from_stored(m: &topic::Model) -> Self {
        Self {
            name_nb: m.name_nb.clone(),
            name_nn: m.name_nn.clone(),
            name_en: m.name_en.clone(),
            description_nb: m.description_nb.clone(),
            description_nn: m.description_nn.clone(),
            description_en: m.description_en.clone(),
            category: TopicCategory::from_name(&m.category).unwrap_or(TopicCategory::Other),
            in_scope: m.in_scope,
            sort_order: m.sort_order,
            retired: m.retired_at.is_some(),
        }
    }

    /// Applies a set of changes, naming every invalid field; returns the names changed.
    pub fn apply(&mut self, changes: TopicChanges) -> Result<Vec<&'static str>, ApiError> {
        let mut f = Fields::default();
        let mut changed = Vec::new();
        let mut required =
            |f: &mut Fields, field: &'static str, value: MaybeUndefined<String>, max: usize| {
                match value {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => {
                        f.add(field, "must not be null");
                        None
                    }
                    MaybeUndefined::Value(v) => {
                        changed.push(field);
                        f.check(field, bounded(&v, max))
                    }
                }
            };
        let name_nb = required(
            &mut f,
            "name_nb",
            changes.name_nb.map_value(|v| v.0),
            NAME_MAX,
        );
        let description_nb = required(
            &mut f,
            "description_nb",
            changes.description_nb.map_value(|v| v.0),
            DESCRIPTION_MAX,
        );
        if let Some(v) = name_nb {
            self.name_nb = v;
        }
        if let Some(v) = description_nb {
            self.description_nb = v;
        }
        let optionals: [(
            &'static str,
            MaybeUndefined<String>,
            usize,
            &mut Option<String>,
        ); 4] = [
            (
                "name_nn",
                changes.name_nn.map_value(|v| v.0),
                NAME_MAX,
                &mut self.name_nn,
            ),
            (
                "name_en",
                changes.name_en.map_value(|v| v.0),
                NAME_MAX,
                &mut self.name_en,
            ),
            (
                "description_nn",
                changes.description_nn.map_value(|v| v.0),
                DESCRIPTION_MAX,
                &mut self.description_nn,
            ),
            (
                "description_en",
                changes.description_en.map_value(|v| v.0),
                DESCRIPTION_MAX,
                &mut self.description_en,
            ),
        ];
        for (field, value, max, target) in optionals {
            match value {
                MaybeUndefined::Undefined => {}
                MaybeUndefined::Null => {
                    *target = None;
                    changed.push(field);
                }
                MaybeUndefined::Value(v) => {
                    if let Some(v) = f.check(field, bounded(&v, max)) {
                        *target = Some(v);
                    }
                    changed.push(field);
                }
            }
        }
        match changes.category {
            MaybeUndefined::Value(v) => {
                self.category = v;
                changed.push("category");
            }
            MaybeUndefined::Null => f.add("category", "must not be null"),
            MaybeUndefined::Undefined => {}
        }
        match changes.in_scope {
            MaybeUndefined::Value(v) => {
                self.in_scope = v;
                changed.push("in_scope");
            }
            MaybeUndefined::Null => f.add("in_scope", "must not be null"),
            MaybeUndefined::Undefined => {}
        }
        match changes.sort_order {
            MaybeUndefined::Value(v) => {
                if let Some(v) = f.check("sort_order", sort_order(v)) {
                    self.sort_order = v;
                }
                changed.push("sort_order");
            }
            MaybeUndefined::Null => f.add("sort_order", "must not be null"),
            MaybeUndefined::Undefined => {}
        }
        match changes.retired {
            MaybeUndefined::Value(v) => {
                self.retired = v;
                changed.push("retired");
            }
            MaybeUndefined::Null => f.add("retired", "must not be null"),
            MaybeUndefined::Undefined => {}
        }
        f.finish()?;
        if changed.is_empty() {
            return Err(ApiError::invalid("body", "names no field to change"));
        }
        Ok(changed)
    }

    /// Every name and description in lower case, for search in all three languages.
    pub fn search_text(&self) -> String {
        [
            Some(self.name_nb.as_str()),
            self.name_nn.as_deref(),
            self.name_en.as_deref(),
            Some(self.description_nb.as_str()),
            self.description_nn.as_deref(),
            self.description_en.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
    }
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

    #[test]
    fn search_text_folds_every_language_including_norwegian_letters() {
        let fields = TopicFields {
            name_nb: "Personvern PÅ nett".into(),
            name_nn: Some("Tryggleik".into()),
            name_en: None,
            description_nb: "DØMMEKRAFT og ÆRLIGHET".into(),
            description_nn: None,
            description_en: Some("Privacy ONLINE".into()),
            category: TopicCategory::OnlineSafety,
            in_scope: true,
            sort_order: 1,
            retired: false,
        };
        let text = fields.search_text();
        for needle in [
            "på",
            "tryggleik",
            "dømmekraft",
            "ærlighet",
            "privacy online",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
    }
}
