//! The checks of guidance topics: a new topic's fields, a change's fields, and what a checked
//! change does to the stored topic. Pure functions; the writes are in `store`.

use std::ops::Deref;

use chrono::{DateTime, Utc};
use poem_openapi::types::MaybeUndefined;

use entity::topic;

use super::model::{
    DESCRIPTION_MAX, NAME_MAX, NewTopic, SORT_ORDER_MAX, SortOrder, TopicCategory, TopicChanges,
    parse_slug,
};
use crate::audit;
use crate::common::text::{Text, bounded};
use crate::common::validation::Fields;
use crate::http::error::ApiError;

/// Every stored field of a topic but its slug and retirement, checked.
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
}

impl TopicFields {
    /// The fields of a stored topic; an unknown stored category is a 500.
    pub fn from_stored(m: &topic::Model) -> Result<Self, ApiError> {
        Ok(Self {
            name_nb: m.name_nb.clone(),
            name_nn: m.name_nn.clone(),
            name_en: m.name_en.clone(),
            description_nb: m.description_nb.clone(),
            description_nn: m.description_nn.clone(),
            description_en: m.description_en.clone(),
            category: TopicCategory::from_stored(&m.category)?,
            in_scope: m.in_scope,
            sort_order: m.sort_order,
        })
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

/// A checked new topic.
#[derive(Debug)]
pub struct ValidNewTopic {
    pub slug: String,
    pub fields: TopicFields,
}

/// Checks a new topic, naming every invalid field.
pub fn check_new(new: &NewTopic) -> Result<ValidNewTopic, ApiError> {
    let mut f = Fields::default();
    let slug = f.check("slug", parse_slug(&new.slug));
    let name_nb = f.check("name_nb", bounded(&new.name_nb, NAME_MAX));
    let name_nn = optional_text(&mut f, "name_nn", new.name_nn.as_deref(), NAME_MAX);
    let name_en = optional_text(&mut f, "name_en", new.name_en.as_deref(), NAME_MAX);
    let description_nb = f.check(
        "description_nb",
        bounded(&new.description_nb, DESCRIPTION_MAX),
    );
    let description_nn = optional_text(
        &mut f,
        "description_nn",
        new.description_nn.as_deref(),
        DESCRIPTION_MAX,
    );
    let description_en = optional_text(
        &mut f,
        "description_en",
        new.description_en.as_deref(),
        DESCRIPTION_MAX,
    );
    let sort_order = f.check("sort_order", sort_order(new.sort_order));
    f.finish()?;
    Ok(ValidNewTopic {
        slug: slug.expect("checked"),
        fields: TopicFields {
            name_nb: name_nb.expect("checked"),
            name_nn: name_nn.expect("checked"),
            name_en: name_en.expect("checked"),
            description_nb: description_nb.expect("checked"),
            description_nn: description_nn.expect("checked"),
            description_en: description_en.expect("checked"),
            category: new.category,
            in_scope: new.in_scope,
            sort_order: sort_order.expect("checked"),
        },
    })
}

/// A checked change to a topic: `None` leaves a field as it is; for the Nynorsk and English
/// texts `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicChangeSet {
    pub name_nb: Option<String>,
    pub description_nb: Option<String>,
    pub name_nn: Option<Option<String>>,
    pub name_en: Option<Option<String>>,
    pub description_nn: Option<Option<String>>,
    pub description_en: Option<Option<String>>,
    pub category: Option<TopicCategory>,
    pub in_scope: Option<bool>,
    pub sort_order: Option<i32>,
    pub retired: Option<bool>,
}

impl TopicChangeSet {
    /// The names of the fields it changes, in the order the audit log lists them.
    pub fn changed(&self) -> Vec<&'static str> {
        [
            ("name_nb", self.name_nb.is_some()),
            ("description_nb", self.description_nb.is_some()),
            ("name_nn", self.name_nn.is_some()),
            ("name_en", self.name_en.is_some()),
            ("description_nn", self.description_nn.is_some()),
            ("description_en", self.description_en.is_some()),
            ("category", self.category.is_some()),
            ("in_scope", self.in_scope.is_some()),
            ("sort_order", self.sort_order.is_some()),
            ("retired", self.retired.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, named)| named.then_some(field))
        .collect()
    }
}

/// Checks a change, naming every invalid field; a change that names no field is refused.
pub fn check_changes(changes: TopicChanges) -> Result<TopicChangeSet, ApiError> {
    let mut f = Fields::default();
    let set = TopicChangeSet {
        name_nb: required_text(&mut f, "name_nb", changes.name_nb, NAME_MAX),
        description_nb: required_text(
            &mut f,
            "description_nb",
            changes.description_nb,
            DESCRIPTION_MAX,
        ),
        name_nn: clearable_text(&mut f, "name_nn", changes.name_nn, NAME_MAX),
        name_en: clearable_text(&mut f, "name_en", changes.name_en, NAME_MAX),
        description_nn: clearable_text(
            &mut f,
            "description_nn",
            changes.description_nn,
            DESCRIPTION_MAX,
        ),
        description_en: clearable_text(
            &mut f,
            "description_en",
            changes.description_en,
            DESCRIPTION_MAX,
        ),
        category: f.required("category", changes.category),
        in_scope: f.required("in_scope", changes.in_scope),
        sort_order: f
            .required("sort_order", changes.sort_order)
            .and_then(|v| f.check("sort_order", sort_order(v))),
        retired: f.required("retired", changes.retired),
    };
    f.finish()?;
    if set.changed().is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    Ok(set)
}

/// What an update writes: every field as it will be stored, and how the log records it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicUpdate {
    pub fields: TopicFields,
    pub retired_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub action: audit::Action,
    pub summary: String,
}

/// What a checked change does to the stored topic at `now`. No state refuses a change:
/// `retired: true` on a retired topic (or `false` on an active one) keeps it as it is.
pub fn plan_update(
    current: &topic::Model,
    changes: TopicChangeSet,
    now: DateTime<Utc>,
) -> Result<TopicUpdate, ApiError> {
    let summary = format!("changed {}", changes.changed().join(", "));
    let (action, retired_at) = match (current.retired_at, changes.retired) {
        (None, Some(true)) => (audit::Action::Retire, Some(now)),
        (Some(_), Some(false)) => (audit::Action::Reinstate, None),
        (kept, _) => (audit::Action::Update, kept),
    };
    let current = TopicFields::from_stored(current)?;
    let fields = TopicFields {
        name_nb: changes.name_nb.unwrap_or(current.name_nb),
        name_nn: changes.name_nn.unwrap_or(current.name_nn),
        name_en: changes.name_en.unwrap_or(current.name_en),
        description_nb: changes.description_nb.unwrap_or(current.description_nb),
        description_nn: changes.description_nn.unwrap_or(current.description_nn),
        description_en: changes.description_en.unwrap_or(current.description_en),
        category: changes.category.unwrap_or(current.category),
        in_scope: changes.in_scope.unwrap_or(current.in_scope),
        sort_order: changes.sort_order.unwrap_or(current.sort_order),
    };
    Ok(TopicUpdate {
        fields,
        retired_at,
        updated_at: now,
        action,
        summary,
    })
}

fn sort_order(value: SortOrder) -> Result<i32, String> {
    if (0..=SORT_ORDER_MAX).contains(&value.0) {
        Ok(value.0)
    } else {
        Err(format!("must be between 0 and {SORT_ORDER_MAX}"))
    }
}

/// An optional text of a new topic or resource: trimmed and bounded when given.
pub(super) fn optional_text(
    f: &mut Fields,
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Option<Option<String>> {
    f.check_optional(field, value.map(|v| bounded(v, max)))
}

/// A change to a text that cannot be cleared: `null` refused, the value trimmed and bounded.
pub(super) fn required_text<T: Deref<Target = str>>(
    f: &mut Fields,
    field: &str,
    value: MaybeUndefined<T>,
    max: usize,
) -> Option<String> {
    f.required(field, value)
        .and_then(|v| f.check(field, bounded(&v, max)))
}

/// A change to a text that `null` clears.
pub(super) fn clearable_text<T: Deref<Target = str>>(
    f: &mut Fields,
    field: &str,
    value: MaybeUndefined<T>,
    max: usize,
) -> Option<Option<String>> {
    let value = value.map_value(|v| Text(v.to_string()));
    f.check_patch(field, value, |v| bounded(v, max))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::topics::model::{DescriptionText, NameText, SlugText};

    fn online_security() -> topic::Model {
        let created = Utc.with_ymd_and_hms(2024, 1, 2, 9, 0, 0).unwrap();
        topic::Model {
            slug: "online-security".into(),
            name_nb: "Sikkerhet på nett".into(),
            name_nn: Some("Tryggleik på nett".into()),
            name_en: Some("Online security".into()),
            description_nb: "Antivirus og svindel.".into(),
            description_nn: None,
            description_en: None,
            category: "online_safety".into(),
            in_scope: true,
            sort_order: 50,
            search_text: String::new(),
            search_ascii: String::new(),
            retired_at: None,
            version: 1,
            created_at: created,
            updated_at: created,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 6, 12, 0, 0).unwrap()
    }

    fn no_changes() -> TopicChanges {
        TopicChanges {
            name_nb: MaybeUndefined::Undefined,
            name_nn: MaybeUndefined::Undefined,
            name_en: MaybeUndefined::Undefined,
            description_nb: MaybeUndefined::Undefined,
            description_nn: MaybeUndefined::Undefined,
            description_en: MaybeUndefined::Undefined,
            category: MaybeUndefined::Undefined,
            in_scope: MaybeUndefined::Undefined,
            sort_order: MaybeUndefined::Undefined,
            retired: MaybeUndefined::Undefined,
        }
    }

    fn retire(retired: bool) -> TopicChangeSet {
        TopicChangeSet {
            retired: Some(retired),
            ..Default::default()
        }
    }

    fn invalid_fields(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_new_topics_texts_are_trimmed_and_the_rest_kept_as_given() {
        let new = NewTopic {
            slug: SlugText("video-calls".into()),
            name_nb: NameText("  Videosamtaler ".into()),
            name_nn: None,
            name_en: Some(NameText("Video calls".into())),
            description_nb: DescriptionText("Ring med video.".into()),
            description_nn: None,
            description_en: None,
            category: TopicCategory::GettingOnline,
            in_scope: true,
            sort_order: SortOrder(15),
        };
        let valid = check_new(&new).unwrap();
        assert_eq!(valid.slug, "video-calls");
        assert_eq!(valid.fields.name_nb, "Videosamtaler");
        assert_eq!(valid.fields.name_nn, None);
        assert_eq!(valid.fields.sort_order, 15);
    }

    #[test]
    fn a_new_topic_names_every_invalid_field_in_body_order() {
        let new = NewTopic {
            slug: SlugText("Video_Calls".into()),
            name_nb: NameText("n".repeat(101)),
            name_nn: None,
            name_en: Some(NameText("  ".into())),
            description_nb: DescriptionText("d".repeat(1001)),
            description_nn: None,
            description_en: None,
            category: TopicCategory::GettingOnline,
            in_scope: true,
            sort_order: SortOrder(-1),
        };
        assert_eq!(
            invalid_fields(check_new(&new)),
            ["slug", "name_nb", "name_en", "description_nb", "sort_order"]
        );
    }

    #[test]
    fn a_change_may_not_null_what_a_topic_cannot_lose() {
        let changes = TopicChanges {
            name_nb: MaybeUndefined::Null,
            description_nb: MaybeUndefined::Value(DescriptionText("".into())),
            in_scope: MaybeUndefined::Null,
            sort_order: MaybeUndefined::Value(SortOrder(100_001)),
            ..no_changes()
        };
        assert_eq!(
            invalid_fields(check_changes(changes)),
            ["name_nb", "description_nb", "in_scope", "sort_order"]
        );
    }

    #[test]
    fn a_change_that_names_no_field_is_refused() {
        assert_eq!(invalid_fields(check_changes(no_changes())), ["body"]);
    }

    #[test]
    fn null_clears_a_nynorsk_or_english_text_and_the_rest_stays() {
        let changes = TopicChanges {
            name_nn: MaybeUndefined::Null,
            name_en: MaybeUndefined::Value(NameText(" Staying safe online ".into())),
            sort_order: MaybeUndefined::Value(SortOrder(5)),
            ..no_changes()
        };
        let set = check_changes(changes).unwrap();
        let update = plan_update(&online_security(), set, now()).unwrap();
        assert_eq!(update.fields.name_nn, None);
        assert_eq!(
            update.fields.name_en.as_deref(),
            Some("Staying safe online")
        );
        assert_eq!(update.fields.name_nb, "Sikkerhet på nett");
        assert_eq!(update.fields.sort_order, 5);
        assert_eq!(update.action, audit::Action::Update);
        assert_eq!(update.retired_at, None);
        assert_eq!(update.summary, "changed name_nn, name_en, sort_order");
    }

    #[test]
    fn the_log_lists_the_bokmal_texts_first_whatever_order_they_came_in() {
        let set = TopicChangeSet {
            name_en: Some(None),
            description_nb: Some("Ny".into()),
            category: Some(TopicCategory::Other),
            ..Default::default()
        };
        assert_eq!(set.changed(), ["description_nb", "name_en", "category"]);
    }

    #[test]
    fn retiring_an_active_topic_stamps_it_now_and_is_logged_as_retire() {
        let update = plan_update(&online_security(), retire(true), now()).unwrap();
        assert_eq!(update.retired_at, Some(now()));
        assert_eq!(update.action, audit::Action::Retire);
        assert_eq!(
            update.fields,
            TopicFields::from_stored(&online_security()).unwrap()
        );
    }

    #[test]
    fn reinstating_a_retired_topic_clears_its_stamp() {
        let retired = topic::Model {
            retired_at: Some(now() - chrono::Duration::days(3)),
            ..online_security()
        };
        let update = plan_update(&retired, retire(false), now()).unwrap();
        assert_eq!(update.retired_at, None);
        assert_eq!(update.action, audit::Action::Reinstate);
    }

    #[test]
    fn retiring_a_retired_topic_again_keeps_the_first_stamp() {
        let first = now() - chrono::Duration::days(3);
        let retired = topic::Model {
            retired_at: Some(first),
            ..online_security()
        };
        let update = plan_update(&retired, retire(true), now()).unwrap();
        assert_eq!(update.retired_at, Some(first));
        assert_eq!(update.action, audit::Action::Update);
        let active = plan_update(&online_security(), retire(false), now()).unwrap();
        assert_eq!(active.retired_at, None);
        assert_eq!(active.action, audit::Action::Update);
    }

    #[test]
    fn an_unknown_stored_category_is_an_error_not_a_default() {
        let odd = topic::Model {
            category: "cooking".into(),
            ..online_security()
        };
        assert!(matches!(
            plan_update(&odd, retire(true), now()),
            Err(ApiError::Internal)
        ));
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
