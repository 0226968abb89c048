//! Webhooks: the change feed pushed to a subscriber's URL, signed with a secret of its own,
//! in order, retried until it is taken (see [`worker`]).

pub mod model;
mod resource;
pub mod rules;
pub mod store;
pub mod target;
pub mod worker;

use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    CreatedWebhook, DeliveryAttemptListResponse, NewWebhook, PingQueued, PingResponse,
    WebhookChanges, WebhookCreatedResponse, WebhookDeletedResponse, WebhookEvent,
    WebhookListResponse, WebhookResponse,
};

#[derive(Default)]
pub struct WebhooksApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Sync")]
impl WebhooksApi {
    /// List webhooks
    ///
    /// KS sees every subscription, a municipality its own. Oldest first.
    #[oai(path = "/webhooks", method = "get", operation_id = "list_webhooks")]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<WebhookListResponse, Failure<{ E400 | AUTH }>> {
        policy::manage_webhooks(&auth.0)?;
        let page = store::list(state.db.conn(), &auth.0, limit.0, cursor.0.as_deref()).await?;
        Ok(WebhookListResponse::Ok(Json(page.into())))
    }

    /// Subscribe to changes
    ///
    /// KS subscribes to anything it reads, a municipality to what it reads: public resources
    /// and its own tickets, registrations and applications. From now on every change entry
    /// of the feed that the owner may read and that passes the filter is POSTed to `url`
    /// as JSON, in feed order, with the headers `Digihjelpen-Webhook-Id`,
    /// `Digihjelpen-Delivery-Id`, `Digihjelpen-Timestamp` (Unix seconds) and
    /// `Digihjelpen-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. Any 2xx
    /// within 5 s takes the delivery; anything else is tried again after about 1, 2, 4, 8 …
    /// seconds (at most an hour apart), and the ones behind it wait. After 24 hours of
    /// failures the subscription is turned off. The `url` must be `https` on a public address.
    /// The body carries the change entry and, for a public resource, the resource as its
    /// `GET` shows it. The answer shows the signing `secret`, this once.
    #[oai(path = "/webhooks", method = "post", operation_id = "create_webhook")]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewWebhook>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<WebhookCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        policy::manage_webhooks(caller)?;
        let fields = rules::check_new(&body.0, state.webhook_targets).await?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_webhook",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| {
                let secret = rules::new_secret();
                let from = crate::changes::counter(tx).await?;
                let model = store::create(tx, caller, &fields, &secret, from).await?;
                Ok(CreatedWebhook {
                    webhook: store::to_wire(tx, model).await?,
                    secret,
                })
            },
        )
        .await?;
        let location = format!("/api/v1/webhooks/{}", created.webhook.id);
        let tag = etag(created.webhook.version);
        Ok(WebhookCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Get a webhook
    ///
    /// With its state: whether it is on, since when its deliveries fail, how many wait.
    #[oai(path = "/webhooks/:id", method = "get", operation_id = "get_webhook")]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The webhook's id (a UUID).
        id: Path<Uuid>,
    ) -> Result<WebhookResponse, Failure<{ E400 | AUTH | E404 }>> {
        policy::manage_webhooks(&auth.0)?;
        let hook = store::find(state.db.conn(), &auth.0, id.0).await?;
        let tag = etag(hook.version);
        Ok(WebhookResponse::Ok(Json(Box::new(hook)), tag))
    }

    /// Change a webhook
    ///
    /// Its URL, description and filter; `enabled: false` pauses it, `enabled: true` turns it
    /// back on (also after the server turned it off) and sends what changed meanwhile, in
    /// order, as long as the feed still keeps it. Send `If-Match` with the ETag you read.
    #[oai(
        path = "/webhooks/:id",
        method = "patch",
        operation_id = "update_webhook"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The webhook's id (a UUID).
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<WebhookChanges>,
    ) -> Result<WebhookResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>> {
        policy::manage_webhooks(&auth.0)?;
        let changes = rules::check_changes(body.0, state.webhook_targets).await?;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, &auth.0, id.0).await?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let updated = store::update(&tx, &auth.0, &current, &changes).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(WebhookResponse::Ok(Json(Box::new(updated)), tag))
    }

    /// Delete a webhook
    ///
    /// Nothing more is sent; its deliveries and their attempts go with it. Send `If-Match`.
    #[oai(
        path = "/webhooks/:id",
        method = "delete",
        operation_id = "delete_webhook"
    )]
    async fn delete(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The webhook's id (a UUID).
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<WebhookDeletedResponse, Failure<{ E400 | AUTH | E404 | E412 | E428 }>> {
        policy::manage_webhooks(&auth.0)?;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, &auth.0, id.0).await?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        store::delete(&tx, &auth.0, &current).await?;
        tx.commit().await?;
        Ok(WebhookDeletedResponse::Deleted)
    }

    /// Send a test delivery
    ///
    /// Queues a `ping` (signed like every delivery, with `change: null`) behind the
    /// deliveries already waiting; its attempts show under `/deliveries`.
    #[oai(
        path = "/webhooks/:id/test",
        method = "post",
        operation_id = "test_webhook"
    )]
    async fn test(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The webhook's id (a UUID).
        id: Path<Uuid>,
    ) -> Result<PingResponse, Failure<{ E400 | AUTH | E404 }>> {
        policy::manage_webhooks(&auth.0)?;
        let tx = state.db.begin_write().await?;
        let hook = store::find_model(&tx, &auth.0, id.0).await?;
        let delivery_id = store::queue(&tx, hook.id, WebhookEvent::Ping, None, |delivery| {
            worker::body_of(hook.id, delivery, None, None)
        })
        .await?;
        tx.commit().await?;
        Ok(PingResponse::Accepted(Json(PingQueued { delivery_id })))
    }

    /// List a webhook's delivery attempts
    ///
    /// Newest first: when, what the receiver answered (or why there was no answer), and
    /// how long it took.
    #[oai(
        path = "/webhooks/:id/deliveries",
        method = "get",
        operation_id = "list_webhook_deliveries"
    )]
    async fn deliveries(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The webhook's id (a UUID).
        id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<DeliveryAttemptListResponse, Failure<{ E400 | AUTH | E404 }>> {
        policy::manage_webhooks(&auth.0)?;
        let hook = store::find_model(state.db.conn(), &auth.0, id.0).await?;
        let page = store::attempts(state.db.conn(), hook.id, limit.0, cursor.0.as_deref()).await?;
        Ok(DeliveryAttemptListResponse::Ok(Json(page.into())))
    }
}
