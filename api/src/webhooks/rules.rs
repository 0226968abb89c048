//! The rules of webhooks that need no database: checking a subscription's fields, the
//! signing secret and signature, and when a failed delivery is tried again.

use std::time::Duration;

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use poem_openapi::types::MaybeUndefined;

use super::model::{NewWebhook, WebhookChanges};
use super::target::TargetPolicy;
use crate::changes::model::{ChangeAction, FeedType};
use crate::http::error::{ApiError, FieldError};

/// A subscription's checked fields.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookFields {
    pub url: String,
    pub description: String,
    pub resource_types: Vec<FeedType>,
    pub actions: Vec<ChangeAction>,
}

/// The checked changes of a PATCH: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdate {
    pub url: Option<String>,
    pub description: Option<String>,
    pub resource_types: Option<Vec<FeedType>>,
    pub actions: Option<Vec<ChangeAction>>,
    pub enabled: Option<bool>,
}

async fn check_url(url: &str, policy: TargetPolicy, errors: &mut Vec<FieldError>) -> String {
    let url = url.trim();
    if url.chars().count() > super::model::URL_MAX {
        errors.push(FieldError::new(
            "url",
            format!("must be at most {} characters", super::model::URL_MAX),
        ));
    } else if let Some(why) = policy.refusal(url).await {
        errors.push(FieldError::new("url", why));
    }
    url.to_string()
}

fn check_description(description: &str, errors: &mut Vec<FieldError>) -> String {
    let description = description.trim();
    if description.chars().count() > super::model::DESCRIPTION_MAX {
        errors.push(FieldError::new(
            "description",
            format!(
                "must be at most {} characters",
                super::model::DESCRIPTION_MAX
            ),
        ));
    }
    description.to_string()
}

/// Each listed once, in the order given.
fn distinct<T: PartialEq + Copy>(items: &[T]) -> Vec<T> {
    let mut kept = Vec::new();
    for item in items {
        if !kept.contains(item) {
            kept.push(*item);
        }
    }
    kept
}

pub async fn check_new(new: &NewWebhook, policy: TargetPolicy) -> Result<WebhookFields, ApiError> {
    let mut errors = Vec::new();
    let url = check_url(&new.url, policy, &mut errors).await;
    let description = check_description(
        new.description.0.as_ref().map_or("", |d| d.as_ref()),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(WebhookFields {
        url,
        description,
        resource_types: distinct(new.resource_types.0.as_deref().unwrap_or_default()),
        actions: distinct(new.actions.0.as_deref().unwrap_or_default()),
    })
}

pub async fn check_changes(
    changes: WebhookChanges,
    policy: TargetPolicy,
) -> Result<WebhookUpdate, ApiError> {
    let mut errors = Vec::new();
    let mut update = WebhookUpdate::default();
    let null = |field: &str| FieldError::new(field, "must not be null");
    match changes.url {
        MaybeUndefined::Value(url) => update.url = Some(check_url(&url, policy, &mut errors).await),
        MaybeUndefined::Null => errors.push(null("url")),
        MaybeUndefined::Undefined => {}
    }
    match changes.description {
        MaybeUndefined::Value(d) => update.description = Some(check_description(&d, &mut errors)),
        // Null clears the description.
        MaybeUndefined::Null => update.description = Some(String::new()),
        MaybeUndefined::Undefined => {}
    }
    // Null, like an empty list, sends every kind and every action.
    match changes.resource_types {
        MaybeUndefined::Value(types) => update.resource_types = Some(distinct(&types)),
        MaybeUndefined::Null => update.resource_types = Some(Vec::new()),
        MaybeUndefined::Undefined => {}
    }
    match changes.actions {
        MaybeUndefined::Value(actions) => update.actions = Some(distinct(&actions)),
        MaybeUndefined::Null => update.actions = Some(Vec::new()),
        MaybeUndefined::Undefined => {}
    }
    match changes.enabled {
        MaybeUndefined::Value(enabled) => update.enabled = Some(enabled),
        MaybeUndefined::Null => errors.push(null("enabled")),
        MaybeUndefined::Undefined => {}
    }
    if errors.is_empty() {
        Ok(update)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A new signing secret: 32 random bytes, hex, behind a prefix that says what it is.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("whsec_{}", hex::encode(bytes))
}

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the `Digihjelpen-Signature`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// How long after its `attempts`-th failure a delivery is tried again: `first`, doubling,
/// at most `cap`, each spread by up to ±20 % so that receivers coming back are not hit by
/// every sender at once.
pub fn retry_after(attempts: i32, first: Duration, cap: Duration) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(30);
    let plain = first.saturating_mul(1 << doublings).min(cap);
    let spread = rand::rng().random_range(0.8..=1.2);
    plain.mul_f64(spread).min(cap)
}

/// Stored lists are comma-separated names; an empty one stands for every value.
pub fn join<T: Copy>(items: &[T], name: impl Fn(T) -> &'static str) -> String {
    items.iter().map(|i| name(*i)).collect::<Vec<_>>().join(",")
}

pub fn split<T>(stored: &str, parse: impl Fn(&str) -> Option<T>) -> Vec<T> {
    stored.split(',').filter_map(parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // HMAC-SHA256("whsec_test", "1764840600.{}"), computed independently with Python's hmac.
        assert_eq!(
            signature("whsec_test", 1_764_840_600, b"{}"),
            format!("v1={}", expected_hmac())
        );
        assert_ne!(
            signature("whsec_other", 1_764_840_600, b"{}"),
            signature("whsec_test", 1_764_840_600, b"{}")
        );
    }

    fn expected_hmac() -> &'static str {
        include_str!("signature_fixture.txt").trim()
    }

    #[test]
    fn retries_double_from_the_first_wait_to_the_cap_with_jitter() {
        let first = Duration::from_secs(1);
        let cap = Duration::from_secs(3600);
        for (attempts, plain) in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (13, 3600.0)] {
            let wait = retry_after(attempts, first, cap).as_secs_f64();
            assert!(
                wait >= plain * 0.8 - 1e-9 && wait <= (plain * 1.2).min(3600.0) + 1e-9,
                "attempt {attempts}: {wait}"
            );
        }
        assert!(retry_after(500, first, cap) <= cap);
    }

    #[test]
    fn secrets_are_random_and_marked() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with("whsec_") && a.len() == 6 + 64);
        assert_ne!(a, b);
    }
}
