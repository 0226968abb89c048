//! Sending the deliveries: a loop inside `serve` that, for each subscription whose lease it
//! wins, queues the feed entries after the subscription's place in the feed and sends its
//! pending deliveries in order, one at a time, retrying a failure with backoff.
//!
//! The lease is taken by one compare-and-set `UPDATE` (on both databases), so with several
//! server processes on one database each subscription is worked on by one of them at a
//! time, and each delivery is attempted by one process only. A process that dies with a
//! lease lets it expire; the next holder sends the delivery that was in flight again
//! (delivery is at least once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use poem_openapi::types::ToJSON;
use prometheus::{IntCounterVec, IntGauge, Opts};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use tokio::sync::watch;
use url::Url;
use uuid::Uuid;

use entity::{webhook, webhook_attempt, webhook_delivery};

use super::model::{DeliveryBody, WebhookEvent};
use super::resource::public_body;
use super::rules::{retry_after, signature, split};
use super::store::{self, DELIVERED, PENDING};
use super::target::{CheckedResolver, TargetPolicy, literal_host_allowed};
use crate::auth::{Caller, Role, Via};
use crate::changes::model::{ChangeAction, ChangeEntry, FeedType};
use crate::changes::store::{FeedError, list as feed};
use crate::common::clock;
use crate::common::values::MunicipalityNumber;
use crate::state::Db;

/// Feed entries queued per subscription per round.
const QUEUE_BATCH: u64 = 100;
/// Deliveries sent per subscription per round, before the lease is let go.
const SEND_BATCH: usize = 20;
/// Subscriptions looked at per round.
const ROUND: u64 = 200;
/// The part of a receiver's answer that is read (and dropped).
const ERROR_MAX: usize = 500;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Between rounds.
    pub poll: Duration,
    /// A receiver answers within this, or the attempt fails.
    pub timeout: Duration,
    /// The wait after the first failure, doubled after each next one …
    pub first_retry: Duration,
    /// … up to this.
    pub max_retry: Duration,
    /// A subscription whose deliveries have failed this long is turned off.
    pub give_up_after: Duration,
    /// How long a lease holds without being renewed.
    pub lease: Duration,
    pub targets: TargetPolicy,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(60),
            targets: TargetPolicy::default(),
        }
    }
}

/// `digihjelpen_webhook_deliveries_total{outcome}` and `digihjelpen_webhook_queue_depth`.
#[derive(Clone)]
pub struct WebhookMetrics {
    pub attempts: IntCounterVec,
    pub queue_depth: IntGauge,
}

impl WebhookMetrics {
    pub fn new() -> Self {
        Self {
            attempts: IntCounterVec::new(
                Opts::new(
                    "digihjelpen_webhook_attempts_total",
                    "Webhook delivery attempts by outcome (succeeded, failed, refused)",
                ),
                &["outcome"],
            )
            .expect("a valid metric"),
            queue_depth: IntGauge::new(
                "digihjelpen_webhook_queue_depth",
                "Webhook deliveries waiting to be sent, as this process last counted",
            )
            .expect("a valid metric"),
        }
    }

    pub fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.attempts.clone()),
            Box::new(self.queue_depth.clone()),
        ]
    }
}

impl Default for WebhookMetrics {
    fn default() -> Self {
        Self::new()
    }
}

type HttpsClient =
    Client<hyper_rustls::HttpsConnector<HttpConnector<CheckedResolver>>, Full<Bytes>>;

#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: WorkerSettings,
    metrics: WebhookMetrics,
    client: HttpsClient,
}

/// What one attempt found.
struct Outcome {
    status: Option<i32>,
    error: Option<String>,
    latency_ms: i32,
    /// Not sent at all: the target is not one this server sends to.
    refused: bool,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Worker {
    pub fn new(db: Db, settings: WorkerSettings, metrics: WebhookMetrics) -> Self {
        let mut http = HttpConnector::new_with_resolver(CheckedResolver(settings.targets));
        http.enforce_http(false);
        http.set_connect_timeout(Some(settings.timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .expect("ring offers rustls' default protocol versions")
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Self {
            inner: Arc::new(Inner {
                db,
                settings,
                metrics,
                client: Client::builder(TokioExecutor::new()).build(https),
            }),
        }
    }

    /// Works round after round until `stop` turns true; a delivery being sent is finished
    /// first, and the leases held are let go.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut working = tokio::task::JoinSet::new();
        while !*stop.borrow() {
            while working.try_join_next().is_some() {}
            if let Err(err) = self.round(&stop, &mut working).await {
                tracing::warn!(error = %err, "a round of webhook deliveries failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.inner.settings.poll) => {}
                _ = stop.wait_for(|stop| *stop) => {}
            }
        }
        while working.join_next().await.is_some() {}
    }

    /// One round: every enabled subscription whose lease is free is worked on, each in a
    /// task of its own that the next rounds do not wait for, so that a slow receiver holds
    /// up no one but its own subscription (whose lease it holds meanwhile).
    async fn round(
        &self,
        stop: &watch::Receiver<bool>,
        working: &mut tokio::task::JoinSet<()>,
    ) -> Result<(), DbErr> {
        let conn = self.inner.db.conn();
        let now = clock::now();
        let free: Vec<Uuid> = webhook::Entity::find()
            .select_only()
            .column(webhook::Column::Id)
            .filter(webhook::Column::Enabled.eq(true))
            .filter(lease_is_free(now))
            .order_by_asc(webhook::Column::Id)
            .limit(ROUND)
            .into_tuple()
            .all(conn)
            .await?;
        for id in free {
            let Some(token) = self.claim(id).await? else {
                continue;
            };
            let worker = self.clone();
            let stop = stop.clone();
            working.spawn(async move {
                if let Err(err) = worker.work_on(id, token, &stop).await {
                    tracing::warn!(webhook = %id, error = %err, "webhook delivery failed");
                }
                if let Err(err) = worker.release(id, token).await {
                    tracing::warn!(webhook = %id, error = %err, "a webhook lease was not let go");
                }
            });
        }
        let depth = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::State.eq(PENDING))
            .count(conn)
            .await?;
        self.inner
            .metrics
            .queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
        Ok(())
    }

    /// The lease of subscription `id` for this process, if no one else holds it.
    async fn claim(&self, id: Uuid) -> Result<Option<Uuid>, DbErr> {
        let token = Uuid::now_v7();
        let now = clock::now();
        let taken = webhook::Entity::update_many()
            .col_expr(webhook::Column::LeaseUntil, Expr::value(now + self.lease()))
            .col_expr(webhook::Column::LeaseToken, Expr::value(token))
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::Enabled.eq(true))
            .filter(lease_is_free(now))
            .exec(self.inner.db.conn())
            .await?
            .rows_affected;
        Ok((taken == 1).then_some(token))
    }

    /// Holds the lease on for another period; false when it was lost.
    async fn renew(&self, id: Uuid, token: Uuid) -> Result<bool, DbErr> {
        let renewed = webhook::Entity::update_many()
            .col_expr(
                webhook::Column::LeaseUntil,
                Expr::value(clock::now() + self.lease()),
            )
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::LeaseToken.eq(token))
            .exec(self.inner.db.conn())
            .await?
            .rows_affected;
        Ok(renewed == 1)
    }

    async fn release(&self, id: Uuid, token: Uuid) -> Result<(), DbErr> {
        webhook::Entity::update_many()
            .col_expr(
                webhook::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                webhook::Column::LeaseToken,
                Expr::value(Option::<Uuid>::None),
            )
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::LeaseToken.eq(token))
            .exec(self.inner.db.conn())
            .await?;
        Ok(())
    }

    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.inner.settings.lease).unwrap_or(chrono::Duration::MAX)
    }

    async fn work_on(
        &self,
        id: Uuid,
        token: Uuid,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), DbErr> {
        let conn = self.inner.db.conn();
        let Some(hook) = webhook::Entity::find_by_id(id).one(conn).await? else {
            return Ok(());
        };
        self.queue_changes(&hook, token).await?;
        for _ in 0..SEND_BATCH {
            if *stop.borrow() || !self.renew(id, token).await? {
                return Ok(());
            }
            // Read again: a failure may have turned it off.
            let Some(hook) = webhook::Entity::find_by_id(id).one(conn).await? else {
                return Ok(());
            };
            if !hook.enabled {
                return Ok(());
            }
            let Some(next) = webhook_delivery::Entity::find()
                .filter(webhook_delivery::Column::WebhookId.eq(id))
                .filter(webhook_delivery::Column::State.eq(PENDING))
                .order_by_asc(webhook_delivery::Column::Id)
                .one(conn)
                .await?
            else {
                return Ok(());
            };
            // In order: nothing behind a delivery waiting for its retry goes first.
            if next.next_attempt_at > clock::now() {
                return Ok(());
            }
            let outcome = self.send(&hook, &next).await;
            let succeeded = outcome.succeeded();
            self.record(&hook, &next, outcome).await?;
            if !succeeded {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Turns the feed entries after the subscription's place into deliveries, and moves its
    /// place on, in one transaction (guarded by the lease).
    async fn queue_changes(&self, hook: &webhook::Model, token: Uuid) -> Result<(), DbErr> {
        let owner = owner_of(hook);
        let types = split(&hook.resource_types, FeedType::from_stored);
        let actions = split(&hook.actions, ChangeAction::from_stored);
        let conn = self.inner.db.conn();
        let (entries, through) = match feed(
            conn,
            Some(&owner),
            hook.after_sequence,
            &types,
            &actions,
            QUEUE_BATCH,
        )
        .await
        {
            Ok(page) => {
                let last = page
                    .items
                    .last()
                    .map_or(hook.after_sequence, |e| e.sequence);
                // A short page read everything committed when the counter was read.
                let through = if (page.items.len() as u64) < QUEUE_BATCH {
                    std::cmp::max(last, page.latest_sequence)
                } else {
                    last
                };
                (page.items, through)
            }
            Err(FeedError::Expired(pruned)) => {
                tracing::warn!(
                    webhook = %hook.id,
                    "the feed was pruned past the subscription's place; changes up to {pruned} are not sent"
                );
                (Vec::new(), pruned)
            }
            Err(FeedError::Db(err)) => return Err(err),
        };
        if through <= hook.after_sequence {
            return Ok(());
        }
        let mut read = Vec::with_capacity(entries.len());
        for entry in entries {
            let resource = public_body(conn, &entry).await?;
            read.push((entry, resource));
        }
        let tx = self.inner.db.begin_write().await?;
        for (entry, resource) in read {
            let sequence = entry.sequence;
            store::queue(&tx, hook.id, WebhookEvent::Change, Some(sequence), |id| {
                body_of(hook.id, id, Some(entry), resource)
            })
            .await?;
        }
        let moved = webhook::Entity::update_many()
            .col_expr(webhook::Column::AfterSequence, Expr::value(through))
            .filter(webhook::Column::Id.eq(hook.id))
            .filter(webhook::Column::LeaseToken.eq(token))
            .filter(webhook::Column::AfterSequence.eq(hook.after_sequence))
            .exec(&tx)
            .await?
            .rows_affected;
        if moved == 1 {
            tx.commit().await
        } else {
            tx.rollback().await
        }
    }

    async fn send(&self, hook: &webhook::Model, delivery: &webhook_delivery::Model) -> Outcome {
        let started = Instant::now();
        let refused = |why: String| Outcome {
            status: None,
            error: Some(why),
            latency_ms: 0,
            refused: true,
        };
        let targets = self.inner.settings.targets;
        let Ok(url) = Url::parse(&hook.url) else {
            return refused("the URL does not parse".into());
        };
        if !targets.allows_scheme(url.scheme()) {
            return refused("only https targets are sent to".into());
        }
        if !literal_host_allowed(&url, targets) {
            return refused("the target is not a public address".into());
        }
        let timestamp = clock::now().timestamp();
        let body = Bytes::from(delivery.payload.clone());
        let request = hyper::Request::post(url.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("digihjelpen-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("Digihjelpen-Webhook-Id", hook.id.to_string())
            .header("Digihjelpen-Delivery-Id", delivery.id.to_string())
            .header("Digihjelpen-Timestamp", timestamp.to_string())
            .header(
                "Digihjelpen-Signature",
                signature(&hook.secret, timestamp, &body),
            )
            .body(Full::new(body));
        let request = match request {
            Ok(request) => request,
            Err(err) => return refused(format!("the request cannot be made: {err}")),
        };
        let answered = tokio::time::timeout(
            self.inner.settings.timeout,
            self.inner.client.request(request),
        )
        .await;
        let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        match answered {
            Err(_) => Outcome {
                status: None,
                error: Some(format!(
                    "no answer within {} s",
                    self.inner.settings.timeout.as_secs_f64()
                )),
                latency_ms,
                refused: false,
            },
            Ok(Err(err)) => Outcome {
                status: None,
                error: Some(truncate(&innermost(&err))),
                latency_ms,
                refused: false,
            },
            Ok(Ok(response)) => {
                let status = response.status();
                Outcome {
                    status: Some(i32::from(status.as_u16())),
                    error: (!status.is_success()).then(|| format!("answered {status}")),
                    latency_ms,
                    refused: false,
                }
            }
        }
    }

    /// Stores the attempt, and what it means for the delivery and the subscription.
    async fn record(
        &self,
        hook: &webhook::Model,
        delivery: &webhook_delivery::Model,
        outcome: Outcome,
    ) -> Result<(), DbErr> {
        let settings = &self.inner.settings;
        let now = clock::now();
        let succeeded = outcome.succeeded();
        let label = match (succeeded, outcome.refused) {
            (true, _) => "succeeded",
            (false, true) => "refused",
            (false, false) => "failed",
        };
        self.inner
            .metrics
            .attempts
            .with_label_values(&[label])
            .inc();
        let tx = self.inner.db.begin_write().await?;
        webhook_attempt::ActiveModel {
            id: Set(Uuid::now_v7()),
            delivery_id: Set(delivery.id),
            webhook_id: Set(hook.id),
            attempted_at: Set(now),
            status_code: Set(outcome.status),
            error: Set(outcome.error.clone()),
            latency_ms: Set(outcome.latency_ms),
        }
        .insert(&tx)
        .await?;
        let attempts = delivery.attempts + 1;
        let mut row = webhook_delivery::ActiveModel {
            id: Set(delivery.id),
            attempts: Set(attempts),
            ..Default::default()
        };
        if succeeded {
            row.state = Set(DELIVERED.to_string());
            row.delivered_at = Set(Some(now));
        } else {
            let wait = retry_after(attempts, settings.first_retry, settings.max_retry);
            row.next_attempt_at =
                Set(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX));
        }
        row.update(&tx).await?;
        if succeeded {
            if hook.failing_since.is_some() {
                webhook::Entity::update_many()
                    .col_expr(
                        webhook::Column::FailingSince,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .filter(webhook::Column::Id.eq(hook.id))
                    .exec(&tx)
                    .await?;
            }
        } else {
            let since = hook.failing_since.unwrap_or(now);
            let given_up = now - since
                >= chrono::Duration::from_std(settings.give_up_after)
                    .unwrap_or(chrono::Duration::MAX);
            let mut update = webhook::Entity::update_many()
                .col_expr(webhook::Column::FailingSince, Expr::value(Some(since)))
                .filter(webhook::Column::Id.eq(hook.id));
            if given_up {
                tracing::warn!(webhook = %hook.id, "deliveries failed for too long: the webhook is turned off");
                update = update
                    .col_expr(webhook::Column::Enabled, Expr::value(false))
                    .col_expr(
                        webhook::Column::DisabledReason,
                        Expr::value(Some(format!(
                            "every delivery since {} failed; the last: {}. Fix the receiver, then PATCH enabled: true",
                            since.to_rfc3339(),
                            outcome.error.as_deref().unwrap_or("no answer")
                        ))),
                    )
                    .col_expr(
                        webhook::Column::Version,
                        Expr::col(webhook::Column::Version).add(1),
                    )
                    .col_expr(webhook::Column::UpdatedAt, Expr::value(now));
            }
            update.exec(&tx).await?;
        }
        tx.commit().await
    }
}

fn lease_is_free(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(webhook::Column::LeaseUntil.is_null())
        .add(webhook::Column::LeaseUntil.lt(now))
}

/// The subscriber as the feed's visibility rules see it.
fn owner_of(hook: &webhook::Model) -> Caller {
    let role = if hook.owner_role == Role::Municipality.as_str() {
        Role::Municipality
    } else {
        Role::Ks
    };
    Caller {
        sub: hook.owner_sub.clone(),
        role,
        municipality: hook
            .owner_municipality
            .as_deref()
            .and_then(|m| MunicipalityNumber::parse(m).ok()),
        name: None,
        expires_at: 0,
        via: Via::Secret,
        organization_number: None,
    }
}

/// The JSON body of a delivery.
pub fn body_of(
    webhook_id: Uuid,
    delivery_id: Uuid,
    change: Option<ChangeEntry>,
    resource: Option<serde_json::Value>,
) -> String {
    let event = if change.is_some() {
        WebhookEvent::Change
    } else {
        WebhookEvent::Ping
    };
    DeliveryBody {
        event,
        webhook_id,
        delivery_id,
        change,
        resource,
    }
    .to_json()
    .map(|v| v.to_string())
    .unwrap_or_default()
}

fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

fn truncate(text: &str) -> String {
    text.chars().take(ERROR_MAX).collect()
}
