//! The rules of the topics a location offers: which requested slugs may be linked.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::common::validation::Fields;
use crate::http::error::ApiError;
use crate::topics::model::{SlugText, parse_slug};

const MAX_TOPICS: usize = 100;

/// What is known of a topic when linking it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkable {
    Yes,
    Retired,
}

/// The set of slugs to store, or a 422 naming each bad one: every slug must name a topic,
/// and a retired topic is accepted only where the location already offers it.
pub fn checked_slugs(
    requested: &[SlugText],
    topics: &HashMap<String, Linkable>,
    linked: &HashSet<String>,
) -> Result<Vec<String>, ApiError> {
    let mut f = Fields::default();
    if requested.len() > MAX_TOPICS {
        f.add("topics", format!("at most {MAX_TOPICS} topics"));
    }
    let mut slugs = BTreeSet::new();
    for (i, slug) in requested.iter().enumerate() {
        let field = format!("topics[{i}]");
        let Some(slug) = f.check(&field, parse_slug(slug)) else {
            continue;
        };
        match topics.get(&slug) {
            None => f.add(&field, format!("there is no topic {slug}")),
            Some(Linkable::Retired) if !linked.contains(&slug) => f.add(
                &field,
                format!("the topic {slug} is retired and cannot be newly linked"),
            ),
            Some(_) => {
                slugs.insert(slug);
            }
        }
    }
    f.finish()?;
    Ok(slugs.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slugs(values: &[&str]) -> Vec<SlugText> {
        values.iter().map(|s| SlugText(s.to_string())).collect()
    }

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn unknown_malformed_and_newly_linked_retired_slugs_are_each_named() {
        let topics = HashMap::from([
            ("nav".to_string(), Linkable::Yes),
            ("old".to_string(), Linkable::Retired),
            ("kept".to_string(), Linkable::Retired),
        ]);
        let linked = HashSet::from(["kept".to_string()]);
        let ok = checked_slugs(&slugs(&["nav", "kept", "nav"]), &topics, &linked).unwrap();
        assert_eq!(ok, ["kept", "nav"]);
        let err =
            checked_slugs(&slugs(&["nav", "nope", "Old", "old"]), &topics, &linked).unwrap_err();
        assert_eq!(fields(err), ["topics[1]", "topics[2]", "topics[3]"]);
        assert!(checked_slugs(&[], &topics, &linked).unwrap().is_empty());
    }

    #[test]
    fn a_location_offers_at_most_100_topics() {
        let topics: HashMap<String, Linkable> = (0..101)
            .map(|i| (format!("topic-{i}"), Linkable::Yes))
            .collect();
        let requested: Vec<String> = topics.keys().cloned().collect();
        let requested: Vec<&str> = requested.iter().map(String::as_str).collect();
        let err = checked_slugs(&slugs(&requested), &topics, &HashSet::new()).unwrap_err();
        assert_eq!(fields(err), ["topics"]);
        assert_eq!(
            checked_slugs(&slugs(&requested[..100]), &topics, &HashSet::new())
                .unwrap()
                .len(),
            100
        );
    }
}
