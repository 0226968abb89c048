//! The checks of topic resources: a new resource's fields, a change's fields, what a checked
//! change does to the stored resource, and the list's language filter. Pure functions; the
//! writes are in `store`.

use std::ops::RangeInclusive;

use super::model::{
    NewTopicResource, PUBLISHER_MAX, ResourceFormat, TITLE_MAX, TopicResource, TopicResourceChanges,
};
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::common::values::{LanguageCode, WebUrl};
use crate::http::error::ApiError;
use crate::topics::model::DESCRIPTION_MAX;
use crate::topics::rules::{clearable_text, optional_text, required_text};

/// How many languages a resource names.
const LANGUAGES: RangeInclusive<usize> = 1..=30;

/// Every stored field of a resource, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceFields {
    pub title: String,
    pub url: String,
    pub publisher: String,
    /// ISO 639-1 codes in code order, each once.
    pub languages: Vec<String>,
    pub format: ResourceFormat,
    pub description: Option<String>,
}

impl ResourceFields {
    fn from_stored(resource: &TopicResource) -> Self {
        Self {
            title: resource.title.clone(),
            url: resource.url.clone(),
            publisher: resource.publisher.clone(),
            languages: resource.languages.clone(),
            format: resource.format,
            description: resource.description.clone(),
        }
    }
}

/// Checks a new resource, naming every invalid field.
pub fn check_new(new: &NewTopicResource) -> Result<ResourceFields, ApiError> {
    let mut f = Fields::default();
    let title = f.check("title", bounded(&new.title, TITLE_MAX));
    let url = f.check("url", url(&new.url));
    let publisher = f.check("publisher", bounded(&new.publisher, PUBLISHER_MAX));
    let languages = languages(&mut f, &new.languages);
    let description = optional_text(
        &mut f,
        "description",
        new.description.as_deref(),
        DESCRIPTION_MAX,
    );
    f.finish()?;
    Ok(ResourceFields {
        title: title.expect("checked"),
        url: url.expect("checked"),
        publisher: publisher.expect("checked"),
        languages: languages.expect("checked"),
        format: new.format,
        description: description.expect("checked"),
    })
}

/// A checked change to a resource: `None` leaves a field as it is; for the description
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceChangeSet {
    pub title: Option<String>,
    pub url: Option<String>,
    pub publisher: Option<String>,
    pub languages: Option<Vec<String>>,
    pub format: Option<ResourceFormat>,
    pub description: Option<Option<String>>,
}

impl ResourceChangeSet {
    /// The names of the fields it changes, in the order the audit log lists them.
    pub fn changed(&self) -> Vec<&'static str> {
        [
            ("title", self.title.is_some()),
            ("url", self.url.is_some()),
            ("publisher", self.publisher.is_some()),
            ("languages", self.languages.is_some()),
            ("format", self.format.is_some()),
            ("description", self.description.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, named)| named.then_some(field))
        .collect()
    }
}

/// Checks a change, naming every invalid field; a change that names no field is refused.
pub fn check_changes(changes: TopicResourceChanges) -> Result<ResourceChangeSet, ApiError> {
    let mut f = Fields::default();
    let set = ResourceChangeSet {
        title: required_text(&mut f, "title", changes.title, TITLE_MAX),
        url: f
            .required("url", changes.url)
            .and_then(|v| f.check("url", url(&v))),
        publisher: required_text(&mut f, "publisher", changes.publisher, PUBLISHER_MAX),
        languages: f
            .required("languages", changes.languages)
            .and_then(|codes| languages(&mut f, &codes)),
        format: f.required("format", changes.format),
        description: clearable_text(&mut f, "description", changes.description, DESCRIPTION_MAX),
    };
    f.finish()?;
    if set.changed().is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    Ok(set)
}

/// What an update writes: every field as it will be stored, and the audit summary.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceUpdate {
    pub fields: ResourceFields,
    pub summary: String,
}

/// What a checked change does to the stored resource. Nothing in a resource's state refuses
/// a change.
pub fn plan_update(current: &TopicResource, changes: ResourceChangeSet) -> ResourceUpdate {
    let summary = format!("changed {}", changes.changed().join(", "));
    let current = ResourceFields::from_stored(current);
    ResourceUpdate {
        fields: ResourceFields {
            title: changes.title.unwrap_or(current.title),
            url: changes.url.unwrap_or(current.url),
            publisher: changes.publisher.unwrap_or(current.publisher),
            languages: changes.languages.unwrap_or(current.languages),
            format: changes.format.unwrap_or(current.format),
            description: changes.description.unwrap_or(current.description),
        },
        summary,
    }
}

/// The `language` filter of the list: an offered language code, or a 422 naming it.
pub fn language_filter(language: Option<&str>) -> Result<Option<LanguageCode>, ApiError> {
    language
        .map(LanguageCode::parse)
        .transpose()
        .map_err(|message| ApiError::invalid("language", message))
}

fn url(value: &str) -> Result<String, String> {
    WebUrl::parse(value).map(WebUrl::into_inner)
}

/// One to 30 language codes, sorted, each once; each bad code named by its index.
fn languages(f: &mut Fields, codes: &[impl std::ops::Deref<Target = str>]) -> Option<Vec<String>> {
    let codes: Vec<&str> = codes.iter().map(|code| &**code).collect();
    f.languages("languages", &codes, LANGUAGES)
        .map(|codes| codes.into_iter().map(LanguageCode::into_inner).collect())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use poem_openapi::types::MaybeUndefined;
    use uuid::Uuid;

    use super::*;
    use crate::topics::model::DescriptionText;
    use crate::topics::resources::model::{LanguageText, PublisherText, TitleText, UrlText};

    fn codes(codes: &[&str]) -> Vec<LanguageText> {
        codes.iter().map(|c| LanguageText(c.to_string())).collect()
    }

    fn course() -> NewTopicResource {
        NewTopicResource {
            title: TitleText(" Trygg på nett ".into()),
            url: UrlText("https://www.digidel.no/trygg-pa-nett".into()),
            publisher: PublisherText("HK-dir".into()),
            languages: codes(&["ur", "ti", "so", "nb", "ti"]),
            format: ResourceFormat::Course,
            description: Some(DescriptionText("Kursopplegg for veiledere.".into())),
        }
    }

    fn stored() -> TopicResource {
        let now = Utc::now();
        TopicResource {
            id: Uuid::now_v7(),
            topic_slug: "online-security".into(),
            title: "Trygg på nett".into(),
            url: "https://www.digidel.no/trygg-pa-nett".into(),
            publisher: "HK-dir".into(),
            languages: vec!["nb".into(), "so".into()],
            format: ResourceFormat::Course,
            description: Some("Kursopplegg for veiledere.".into()),
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    fn no_changes() -> TopicResourceChanges {
        TopicResourceChanges {
            title: MaybeUndefined::Undefined,
            url: MaybeUndefined::Undefined,
            publisher: MaybeUndefined::Undefined,
            languages: MaybeUndefined::Undefined,
            format: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
        }
    }

    fn invalid_fields(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_new_resource_keeps_its_languages_sorted_and_once_each() {
        let fields = check_new(&course()).unwrap();
        assert_eq!(fields.title, "Trygg på nett");
        assert_eq!(fields.languages, ["nb", "so", "ti", "ur"]);
    }

    #[test]
    fn a_new_resource_names_every_invalid_field_and_each_bad_code() {
        let bad = NewTopicResource {
            title: TitleText("t".repeat(201)),
            url: UrlText("ftp://digidel.no/kurs".into()),
            publisher: PublisherText("".into()),
            languages: codes(&["nb", "xx", "NB"]),
            description: Some(DescriptionText("d".repeat(1001))),
            ..course()
        };
        assert_eq!(
            invalid_fields(check_new(&bad)),
            [
                "title",
                "url",
                "publisher",
                "languages[1]",
                "languages[2]",
                "description"
            ]
        );
    }

    #[test]
    fn a_resource_names_one_to_thirty_languages() {
        let mut f = Fields::default();
        assert!(languages(&mut f, &codes(&["nb"; 30])).is_some());
        assert!(languages(&mut f, &codes(&[])).is_none());
        assert!(languages(&mut f, &codes(&["nb"; 31])).is_none());
        let Err(ApiError::Validation(errors)) = f.finish() else {
            panic!("expected a validation error");
        };
        let messages: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            messages,
            ["name at least one language", "at most 30 languages"]
        );
    }

    #[test]
    fn a_change_may_not_null_what_a_resource_cannot_lose() {
        let changes = TopicResourceChanges {
            title: MaybeUndefined::Null,
            url: MaybeUndefined::Value(UrlText("not a url".into())),
            languages: MaybeUndefined::Null,
            ..no_changes()
        };
        assert_eq!(
            invalid_fields(check_changes(changes)),
            ["title", "url", "languages"]
        );
    }

    #[test]
    fn a_change_that_names_no_field_is_refused() {
        assert_eq!(invalid_fields(check_changes(no_changes())), ["body"]);
    }

    #[test]
    fn a_change_replaces_what_it_names_and_null_clears_the_description() {
        let changes = TopicResourceChanges {
            languages: MaybeUndefined::Value(codes(&["en"])),
            description: MaybeUndefined::Null,
            format: MaybeUndefined::Value(ResourceFormat::Guide),
            ..no_changes()
        };
        let update = plan_update(&stored(), check_changes(changes).unwrap());
        assert_eq!(update.fields.languages, ["en"]);
        assert_eq!(update.fields.description, None);
        assert_eq!(update.fields.format, ResourceFormat::Guide);
        assert_eq!(update.fields.title, "Trygg på nett");
        assert_eq!(update.summary, "changed languages, format, description");
    }

    #[test]
    fn the_language_filter_takes_only_iso_639_1_codes() {
        assert_eq!(
            language_filter(Some("ti"))
                .unwrap()
                .map(LanguageCode::into_inner),
            Some("ti".to_string())
        );
        assert!(language_filter(None).unwrap().is_none());
        assert_eq!(invalid_fields(language_filter(Some("xx"))), ["language"]);
    }
}
