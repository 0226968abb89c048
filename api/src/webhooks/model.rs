//! The webhooks' wire types.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Enum, Object};
use uuid::Uuid;

use crate::changes::model::{ChangeAction, ChangeEntry, FeedType};
use crate::common::optional::NotNull;

pub const URL_MAX: usize = 2000;
pub const DESCRIPTION_MAX: usize = 500;

crate::checked_text!(
    /// Where deliveries are POSTed: an `https` URL of at most 2,000 characters.
    UrlText,
    min = 1,
    max = URL_MAX,
    pattern = "^https?://"
);
crate::checked_text!(
    /// What the subscription is for, at most 500 characters.
    DescriptionText,
    min = 0,
    max = DESCRIPTION_MAX
);

/// A new subscription. Without `resource_types` (or with an empty list) every kind of
/// resource its owner may read is sent; the same for `actions`.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewWebhook {
    pub url: UrlText,
    pub description: NotNull<DescriptionText>,
    pub resource_types: NotNull<Vec<FeedType>>,
    pub actions: NotNull<Vec<ChangeAction>>,
}

impl Example for NewWebhook {
    fn example() -> Self {
        Self {
            url: UrlText("https://intranett.oslo.kommune.no/digihjelp/hendelser".into()),
            description: NotNull(Some(DescriptionText(
                "Oppdaterer kommunens nettside når åpningstidene endres".into(),
            ))),
            resource_types: NotNull(Some(vec![FeedType::Location, FeedType::OpeningHours])),
            actions: NotNull(None),
        }
    }
}

/// The fields to change; absent fields stay. `enabled: true` turns a subscription back on
/// (also one turned off after a day of failures): its waiting deliveries are tried at once.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct WebhookChanges {
    pub url: MaybeUndefined<UrlText>,
    /// `null` clears it.
    #[oai(nullable)]
    pub description: MaybeUndefined<DescriptionText>,
    /// `null` or `[]`: every kind.
    #[oai(nullable)]
    pub resource_types: MaybeUndefined<Vec<FeedType>>,
    /// `null` or `[]`: every action.
    #[oai(nullable)]
    pub actions: MaybeUndefined<Vec<ChangeAction>>,
    pub enabled: MaybeUndefined<bool>,
}

impl Example for WebhookChanges {
    fn example() -> Self {
        Self {
            url: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
            resource_types: MaybeUndefined::Undefined,
            actions: MaybeUndefined::Undefined,
            enabled: MaybeUndefined::Value(true),
        }
    }
}

/// A subscription to the change feed.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// The kinds of resource sent; empty for every kind.
    pub resource_types: Vec<FeedType>,
    /// The actions sent; empty for every action.
    pub actions: Vec<ChangeAction>,
    /// Off when its owner turned it off, or after 24 hours of failed deliveries.
    pub enabled: bool,
    /// Why it was turned off by the server.
    #[oai(nullable)]
    pub disabled_reason: Option<String>,
    /// The first failed attempt since the last delivery that succeeded.
    #[oai(nullable)]
    pub failing_since: Option<DateTime<Utc>>,
    /// Deliveries waiting to be sent (or sent again).
    pub pending_deliveries: u64,
    /// The feed's sequence up to which changes have been queued for this subscription.
    pub queued_through: i64,
    /// The municipality whose subscription it is; null for KS's own.
    #[oai(nullable)]
    pub municipality_number: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Example for Webhook {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-12-04T09:30:00Z")
            .expect("a valid instant")
            .with_timezone(&Utc);
        Self {
            id: Uuid::parse_str("01936f0e-8c1a-7b3e-9a51-2f0c4d6e8b10").expect("a valid id"),
            url: "https://intranett.oslo.kommune.no/digihjelp/hendelser".into(),
            description: "Oppdaterer kommunens nettside når åpningstidene endres".into(),
            resource_types: vec![FeedType::Location, FeedType::OpeningHours],
            actions: Vec::new(),
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            pending_deliveries: 0,
            queued_through: 1042,
            municipality_number: Some("0301".into()),
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }
}

/// A subscription as created: the only answer that shows its signing secret.
#[derive(Debug, Clone, Object)]
pub struct CreatedWebhook {
    #[oai(flatten)]
    pub webhook: Webhook,
    /// The key of the `Digihjelpen-Signature` HMAC. Shown once: keep it now.
    pub secret: String,
}

crate::page_object!(WebhookPage, Webhook);

/// What a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WebhookEvent {
    /// A change entry of the feed.
    Change,
    /// A test sent by `POST /webhooks/{id}/test`.
    Ping,
}

impl WebhookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Change => "change",
            Self::Ping => "ping",
        }
    }

    pub fn from_stored(value: &str) -> Self {
        if value == "ping" {
            Self::Ping
        } else {
            Self::Change
        }
    }
}

/// The body of every delivery (signed as sent; see the README for how to verify it).
#[derive(Debug, Clone, Object)]
pub struct DeliveryBody {
    pub event: WebhookEvent,
    pub webhook_id: Uuid,
    pub delivery_id: Uuid,
    /// The change; null for a ping.
    #[oai(nullable)]
    pub change: Option<ChangeEntry>,
    /// The resource as its public `GET` shows it, read when the delivery was queued, for a
    /// public resource that still exists; null for a deletion and for private resources
    /// (tickets, registrations, applications, ...) and exceptions: read those with your token.
    #[oai(nullable)]
    pub resource: Option<serde_json::Value>,
}

/// One try at sending a delivery.
#[derive(Debug, Clone, Object)]
pub struct DeliveryAttempt {
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub event: WebhookEvent,
    /// The change entry's sequence; null for a ping.
    #[oai(nullable)]
    pub sequence: Option<i64>,
    pub attempted_at: DateTime<Utc>,
    /// Whether the receiver answered 2xx.
    pub succeeded: bool,
    /// The receiver's status; null when it did not answer.
    #[oai(nullable)]
    pub status_code: Option<i32>,
    /// Why it failed, when it did.
    #[oai(nullable)]
    pub error: Option<String>,
    pub latency_ms: i32,
}

crate::page_object!(DeliveryAttemptPage, DeliveryAttempt);

/// A ping queued for sending.
#[derive(Debug, Clone, Object)]
pub struct PingQueued {
    pub delivery_id: Uuid,
}

#[derive(ApiResponse)]
pub enum WebhookCreatedResponse {
    /// The subscription, with its secret (shown this once).
    #[oai(status = 201)]
    Created(
        Json<Box<CreatedWebhook>>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum WebhookResponse {
    /// The subscription.
    #[oai(status = 200)]
    Ok(
        Json<Box<Webhook>>,
        /// The current version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum WebhookListResponse {
    /// A page of subscriptions, oldest first.
    #[oai(status = 200)]
    Ok(Json<WebhookPage>),
}

#[derive(ApiResponse)]
pub enum WebhookDeletedResponse {
    /// The subscription and its deliveries are gone.
    #[oai(status = 204)]
    Deleted,
}

#[derive(ApiResponse)]
pub enum PingResponse {
    /// The ping is queued; its attempts appear under `/deliveries`.
    #[oai(status = 202)]
    Accepted(Json<PingQueued>),
}

#[derive(ApiResponse)]
pub enum DeliveryAttemptListResponse {
    /// A page of attempts, newest first.
    #[oai(status = 200)]
    Ok(Json<DeliveryAttemptPage>),
}
