//! Kontaktpunkt tickets: a municipality asks, KS answers, assigns, refers and resolves, the
//! ministry answers what is referred to it.
//!
//! Visibility: KS sees every ticket, the ministry the tickets referred to it, a municipality
//! its own; any other ticket is 404. Internal notes are seen by KS only: they are left out of
//! message lists and counts for everyone else, and never change the ticket (its status,
//! `updated_at` or `version`), so nothing about them shows anywhere else.

pub mod model;
pub mod rules;
pub mod service_levels;
pub mod sla;
pub mod statistics;
pub mod store;

use chrono::{DateTime, Utc};
use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::common::clock;
use crate::common::validation::check_period;
use crate::http::error::{AUTH, E400, E401, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::params::{self, MunicipalityParam};
use crate::http::preconditions::check_if_match_tag;
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    NewReferral, NewTicket, NewTicketMessage, SlaFilter, TicketCategory, TicketChanges,
    TicketCreatedResponse, TicketListResponse, TicketMessageCreatedResponse,
    TicketMessageListResponse, TicketPriority, TicketResponse, TicketSort,
    TicketStatisticsResponse, TicketStatus, if_match_written_part,
};
use rules::{TicketId, TicketState};

#[derive(Default)]
pub struct TicketsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Tickets")]
impl TicketsApi {
    /// List tickets
    ///
    /// The tickets the caller can see (KS: all; the ministry: those referred to it; a
    /// municipality: its own), newest first, filtered by status, category, priority,
    /// assignee, municipality, tag, text and change time.
    #[oai(path = "/tickets", method = "get", operation_id = "list_tickets")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        status: Query<Option<TicketStatus>>,
        category: Query<Option<TicketCategory>>,
        priority: Query<Option<TicketPriority>>,
        /// Only tickets assigned to this `sub`.
        #[oai(validator(min_length = 1, max_length = 255))]
        assignee: Query<Option<String>>,
        /// Only tickets of this municipality, e.g. `0301`.
        municipality: Query<Option<MunicipalityParam>>,
        /// Only tickets with this tag.
        tag: Query<Option<String>>,
        /// Part of the subject or body, in any case (`søknad` finds "Søknad").
        #[oai(validator(min_length = 1, max_length = 100))]
        q: Query<Option<String>>,
        /// Only tickets changed at or after this instant (RFC 3339), for syncing.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// Only tickets whose service-level targets stand so now (KS and the ministry).
        sla: Query<Option<SlaFilter>>,
        /// `newest` (the default) or `next_due`: by the earliest due time of a target still
        /// counting, overdue ones first, tickets without one last.
        sort: Query<Option<TicketSort>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TicketListResponse, Failure<{ E400 | AUTH | E422 }>> {
        if sla.0.is_some() {
            policy::filter_tickets_by_service_level(&auth.0)?;
        }
        let order = match sort.0.unwrap_or_default() {
            TicketSort::Newest => {
                store::ListOrder::Newest(PageRequest::new(limit.0, cursor.0.as_deref())?)
            }
            TicketSort::NextDue => {
                store::ListOrder::NextDue(PageRequest::new(limit.0, cursor.0.as_deref())?)
            }
        };
        let municipality = params::value(municipality.0);
        let (municipality, tag) = rules::list_filters(municipality.as_deref(), tag.0.as_deref())?;
        let filter = store::TicketFilter {
            status: status.0,
            category: category.0,
            priority: priority.0,
            assignee: assignee.0,
            municipality,
            tag,
            text: q.0,
            updated_since: updated_since.0,
            sla: sla.0.map(|f| (f, clock::now())),
        };
        let tickets = store::list(state.db.conn(), &auth.0, filter, &order).await?;
        Ok(TicketListResponse::Ok(Json(tickets)))
    }

    /// Create a ticket
    ///
    /// A municipality asks the kontaktpunkt. The ticket gets a readable number
    /// (`KP-2026-00042`) and starts as `new`. Send an `Idempotency-Key` to make a retry
    /// safe.
    #[oai(path = "/tickets", method = "post", operation_id = "create_ticket")]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewTicket>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<TicketCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        policy::create_ticket(caller)?;
        let new = rules::new_ticket(&body.0)?;
        let key = idempotency_key.0.as_deref();
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_ticket",
            key,
            &body.0,
            async |tx| {
                let settings = store::hold_settings(tx).await?;
                store::create(tx, caller, new, &settings).await
            },
        )
        .await?;
        let location = format!("/api/v1/tickets/{}", created.id);
        let tag = created.etag();
        Ok(TicketCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Ticket statistics
    ///
    /// For KS and the ministry: per category and overall, how many tickets were created in
    /// the period, how many are still open, and the median and 90th percentile (nearest
    /// rank) of the seconds to the first response of KS and to resolution.
    #[oai(
        path = "/tickets/statistics",
        method = "get",
        operation_id = "get_ticket_statistics"
    )]
    async fn statistics(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// Tickets created at or after this instant (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Tickets created before this instant (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
    ) -> Result<TicketStatisticsResponse, Failure<{ E400 | AUTH | E422 }>> {
        policy::read_ticket_statistics(&auth.0)?;
        check_period(from.0, to.0)?;
        let tickets = store::ticket_times(state.db.conn(), from.0, to.0).await?;
        let figures = statistics::statistics(from.0, to.0, &tickets);
        Ok(TicketStatisticsResponse::Ok(Json(figures)))
    }

    /// Get a ticket
    ///
    /// With its status history and the number of messages the caller can see.
    #[oai(path = "/tickets/:id", method = "get", operation_id = "get_ticket")]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The ticket's id.
        id: Path<Uuid>,
    ) -> Result<TicketResponse, Failure<{ E400 | E401 | E404 }>> {
        let caller = &auth.0;
        let id = TicketId(id.0);
        let conn = state.db.conn();
        let found = store::find_visible(conn, caller, id).await?;
        let ticket = store::view(conn, caller, found).await?;
        let tag = ticket.etag();
        Ok(TicketResponse::Ok(Json(Box::new(ticket)), tag))
    }

    /// Update a ticket
    ///
    /// KS changes the status, priority, category, tags and assignee. Allowed status
    /// changes: `new` → `open`, `waiting_on_municipality`, `resolved`, `closed`; `open` →
    /// `waiting_on_municipality`, `resolved`, `closed`; `waiting_on_municipality` → `open`,
    /// `resolved`, `closed`; `referred` → `open`, `waiting_on_municipality`, `resolved`,
    /// `closed`; `resolved` → `open`, `closed`; `closed` is final (any other change is 409).
    /// `referred` is entered with `refer_ticket`. Send `If-Match` with the ETag you read.
    #[oai(
        path = "/tickets/:id",
        method = "patch",
        operation_id = "update_ticket"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The ticket's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<TicketChanges>,
    ) -> Result<TicketResponse, Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 | E428 }>> {
        let caller = &auth.0;
        policy::manage_tickets(caller)?;
        let id = TicketId(id.0);
        let tx = state.db.begin_write().await?;
        let settings = store::hold_settings(&tx).await?;
        let current = store::lock_visible(&tx, caller, id).await?;
        let requested = rules::ticket_changes(body.0)?;
        let shown = store::current_tag(&tx, caller, &current).await?;
        let if_match = if_match_written_part(if_match.0.as_deref());
        check_if_match_tag(if_match.as_deref(), &shown, current.version)?;
        let stored = TicketState::try_from(&current)?;
        let updated = match rules::update(&stored, requested, clock::now())? {
            Some(change) => store::update(&tx, caller, &current, change, &settings).await?,
            // Nothing differs from what is stored: no new version, nothing to audit.
            None => store::view(&tx, caller, current).await?,
        };
        tx.commit().await?;
        let tag = updated.etag();
        Ok(TicketResponse::Ok(Json(Box::new(updated)), tag))
    }

    /// List a ticket's messages
    ///
    /// Oldest first. Internal notes are listed for KS only.
    #[oai(
        path = "/tickets/:id/messages",
        method = "get",
        operation_id = "list_ticket_messages"
    )]
    async fn list_messages(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The ticket's id.
        id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TicketMessageListResponse, Failure<{ E400 | E401 | E404 }>> {
        let caller = &auth.0;
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        let id = TicketId(id.0);
        let conn = state.db.conn();
        let ticket = store::find_visible(conn, caller, id).await?;
        let messages = store::list_messages(conn, caller, ticket.id, &page).await?;
        Ok(TicketMessageListResponse::Ok(Json(messages)))
    }

    /// Add a message to a ticket
    ///
    /// A reply by the municipality, KS or (on a ticket referred to it) the ministry, or an
    /// internal note by KS. The first public reply of KS sets `first_response_at` and opens
    /// a `new` ticket; a reply of the municipality reopens a ticket that is
    /// `waiting_on_municipality` or `resolved`; a `closed` ticket takes no messages (409).
    /// Send an `Idempotency-Key` to make a retry safe.
    #[oai(
        path = "/tickets/:id/messages",
        method = "post",
        operation_id = "create_ticket_message"
    )]
    async fn create_message(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The ticket's id.
        id: Path<Uuid>,
        body: Json<NewTicketMessage>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<TicketMessageCreatedResponse, Failure<{ E400 | AUTH | E404 | E409 | E422 }>> {
        let caller = &auth.0;
        if body.0.internal.0 == Some(true) {
            policy::write_internal_notes(caller)?;
        }
        let id = TicketId(id.0);
        // The key is scoped to the ticket: the same key on another ticket is another request.
        let operation = format!("create_ticket_message {}", id.0);
        let key = idempotency_key.0.as_deref();
        let created =
            idempotency::create_once(&state.db, caller, &operation, key, &body.0, async |tx| {
                let settings = store::hold_settings(tx).await?;
                let ticket = store::lock_visible(tx, caller, id).await?;
                let message = rules::new_message(&body.0)?;
                let stored = TicketState::try_from(&ticket)?;
                let now = clock::now();
                let change = rules::reply(&stored, caller.role, message.internal, now)?;
                store::add_message(tx, caller, &ticket, message, change, now, &settings).await
            })
            .await?;
        let location = format!("/api/v1/tickets/{}/messages", created.ticket_id);
        Ok(TicketMessageCreatedResponse::Created(
            Json(created),
            location,
        ))
    }

    /// Refer a ticket
    ///
    /// KS refers the ticket to the body that can answer it; its status becomes `referred`.
    /// A ticket referred to the ministry is seen and answered by the ministry. A referred
    /// ticket may be referred again, elsewhere. `If-Match` is checked when sent.
    #[oai(
        path = "/tickets/:id/referral",
        method = "post",
        operation_id = "refer_ticket"
    )]
    async fn refer(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The ticket's id.
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"` (optional).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<NewReferral>,
    ) -> Result<TicketResponse, Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 }>> {
        let caller = &auth.0;
        policy::manage_tickets(caller)?;
        let id = TicketId(id.0);
        let tx = state.db.begin_write().await?;
        let settings = store::hold_settings(&tx).await?;
        let current = store::lock_visible(&tx, caller, id).await?;
        let referral = rules::new_referral(&body.0)?;
        if if_match.0.is_some() {
            let shown = store::current_tag(&tx, caller, &current).await?;
            let if_match = if_match_written_part(if_match.0.as_deref());
            check_if_match_tag(if_match.as_deref(), &shown, current.version)?;
        }
        let stored = TicketState::try_from(&current)?;
        let change = rules::refer(&stored, referral, clock::now())?;
        let referred = store::refer(&tx, caller, &current, change, &settings).await?;
        tx.commit().await?;
        let tag = referred.etag();
        Ok(TicketResponse::Ok(Json(Box::new(referred)), tag))
    }
}
