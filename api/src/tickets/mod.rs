//! Kontaktpunkt tickets: a municipality asks, KS answers, assigns, refers and resolves, the
//! ministry answers what is referred to it.
//!
//! Visibility: KS sees every ticket, the ministry the tickets referred to it, a municipality
//! its own; any other ticket is 404. Internal notes are seen by KS only: they are left out of
//! message lists and counts for everyone else, and never change the ticket (its status,
//! `updated_at` or `version`), so nothing about them shows anywhere else.

pub mod statistics;
pub mod workflow;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{MaybeUndefined, ParseFromJSON, ToJSON};
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};
use serde_json::Value;
use uuid::Uuid;

use entity::{ticket, ticket_counter, ticket_message, ticket_status_change};

use crate::audit;
use crate::auth::policy::{self, TicketScope};
use crate::auth::{BearerAuth, Caller, Role};
use crate::common::text::Text;
use crate::common::text::contains_pattern;
use crate::common::validation::Fields;
use crate::common::values::MunicipalityNumber;
use crate::http::error::{AUTH, ApiError, E400, E401, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::{Page, PageRequest};
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;

use statistics::TicketStatistics;

const RESOURCE: audit::ResourceType = audit::ResourceType::Ticket;
const SUBJECT_MAX: usize = 200;
const BODY_MAX: usize = 20_000;
const NOTE_MAX: usize = 5_000;
const TAGS_MAX: usize = 10;
const TAG_MAX: usize = 30;

/// What a ticket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TicketCategory {
    /// Establishing a Digihjelp offer.
    Establishing,
    Grants,
    /// The online handbook of KS.
    Handbook,
    TrainingMaterial,
    Technical,
    Other,
}

impl TicketCategory {
    pub const ALL: [Self; 6] = [
        Self::Establishing,
        Self::Grants,
        Self::Handbook,
        Self::TrainingMaterial,
        Self::Technical,
        Self::Other,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TicketPriority {
    Low,
    Normal,
    High,
}

/// Where a ticket is in the workflow; see `update_ticket` for the allowed changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Not answered yet.
    New,
    /// Being worked on by KS.
    Open,
    /// KS waits for an answer from the municipality.
    WaitingOnMunicipality,
    /// Referred to another body (see `referral`).
    Referred,
    /// Answered; a reply of the municipality reopens it.
    Resolved,
    /// Final: takes no more messages or changes.
    Closed,
}

impl TicketStatus {
    /// The statuses of a ticket that is dealt with; every other status counts as open.
    pub const DONE: [Self; 2] = [Self::Resolved, Self::Closed];

    pub fn is_open(self) -> bool {
        !Self::DONE.contains(&self)
    }

    /// The value stored in the `status` column.
    pub fn as_db(self) -> String {
        to_db(&self)
    }
}

/// The body a ticket is referred to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReferralTarget {
    /// The ministry (KMD/KDD), which then sees and answers the ticket.
    Ministry,
    /// The Directorate for Higher Education and Skills (HK-dir).
    HkDir,
    NationalLibrary,
    Nav,
    Digdir,
    Other,
}

/// Why a ticket's status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum StatusChangeReason {
    /// The municipality created the ticket.
    Created,
    /// KS changed the status.
    Changed,
    /// The first public reply of KS opened the ticket.
    FirstResponse,
    /// A reply of the municipality reopened the ticket.
    MunicipalityReply,
    /// KS referred the ticket.
    Referred,
}

/// The database form of an enum value: its JSON string.
pub(crate) fn to_db<T: ToJSON>(value: &T) -> String {
    match value.to_json() {
        Some(Value::String(s)) => s,
        other => unreachable!("an enum serialises to a string, not {other:?}"),
    }
}

/// An enum value read back from the database.
pub(crate) fn from_db<T: ParseFromJSON>(value: &str) -> Result<T, ApiError> {
    T::parse_from_json(Some(Value::String(value.to_string()))).map_err(|_| {
        tracing::error!(value, "a stored enum value does not parse");
        ApiError::Internal
    })
}

/// Where KS referred a ticket.
#[derive(Debug, Clone, Object)]
pub struct Referral {
    pub to: ReferralTarget,
    pub note: String,
    pub referred_at: DateTime<Utc>,
    /// The `sub` of the KS staff member who referred it.
    pub referred_by: String,
}

/// One change of a ticket's status.
#[derive(Debug, Clone, Object)]
pub struct StatusChange {
    /// `null` for the first entry, when the ticket was created.
    #[oai(nullable)]
    pub from: Option<TicketStatus>,
    pub to: TicketStatus,
    pub reason: StatusChangeReason,
    pub actor_sub: String,
    pub actor_role: Role,
    pub changed_at: DateTime<Utc>,
}

/// A kontaktpunkt ticket.
#[derive(Debug, Clone, Object)]
pub struct Ticket {
    pub id: Uuid,
    /// The readable number, gap-free per year: `KP-2026-00042`.
    pub number: String,
    /// The municipality that asked.
    pub municipality_number: String,
    /// The `sub` of the staff member who asked.
    pub created_by: String,
    pub subject: String,
    pub body: String,
    pub category: TicketCategory,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    /// The `sub` of the KS staff member handling it.
    #[oai(nullable)]
    pub assignee: Option<String>,
    /// Short slugs set by KS, e.g. `tilskudd-2026`.
    pub tags: Vec<String>,
    #[oai(nullable)]
    pub referral: Option<Referral>,
    /// When KS first replied publicly.
    #[oai(nullable)]
    pub first_response_at: Option<DateTime<Utc>>,
    /// When the ticket was resolved (or closed without being resolved first); cleared when
    /// it is reopened.
    #[oai(nullable)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The messages the caller can see.
    pub message_count: u32,
    /// Every status the ticket has had, oldest first.
    pub status_history: Vec<StatusChange>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

crate::page_object!(TicketPage, Ticket);

/// A message on a ticket.
#[derive(Debug, Clone, Object)]
pub struct TicketMessage {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author_sub: String,
    pub author_role: Role,
    /// The author's municipality, for the municipality role.
    #[oai(nullable)]
    pub author_municipality: Option<String>,
    pub body: String,
    /// An internal note of KS (only KS ever sees these).
    pub internal: bool,
    pub created_at: DateTime<Utc>,
}

crate::page_object!(TicketMessagePage, TicketMessage);

impl TryFrom<ticket_message::Model> for TicketMessage {
    type Error = ApiError;

    fn try_from(m: ticket_message::Model) -> Result<Self, ApiError> {
        Ok(Self {
            id: m.id,
            ticket_id: m.ticket_id,
            author_sub: m.author_sub,
            author_role: from_db(&m.author_role)?,
            author_municipality: m.author_municipality,
            body: m.body,
            internal: m.internal,
            created_at: m.created_at,
        })
    }
}

/// A question from a municipality to the kontaktpunkt.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewTicket {
    /// At most 200 characters.
    pub subject: Text,
    /// At most 20,000 characters.
    pub body: Text,
    pub category: TicketCategory,
    /// The priority the municipality asks for (default `normal`); KS may change it.
    pub priority: crate::common::optional::NotNull<TicketPriority>,
}

impl poem_openapi::types::Example for NewTicket {
    fn example() -> Self {
        Self {
            subject: Text(
                "Kan vi søke tilskudd til et nytt Digihjelp-tilbud på biblioteket?".into(),
            ),
            body: Text(
                "Vi vil starte Digihjelp på hovedbiblioteket fra mars. Gjelder tilskuddet \
                 også for lønn til veiledere?"
                    .into(),
            ),
            category: TicketCategory::Grants,
            priority: crate::common::optional::NotNull(Some(TicketPriority::Normal)),
        }
    }
}

/// The fields to change (KS); absent fields stay as they are, `null` clears `assignee`.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct TicketChanges {
    /// The new status, within the allowed transitions; `referred` goes through
    /// `refer_ticket`.
    pub status: MaybeUndefined<TicketStatus>,
    pub priority: MaybeUndefined<TicketPriority>,
    pub category: MaybeUndefined<TicketCategory>,
    /// Replaces the tags: at most 10 slugs of lower-case letters, digits and hyphens, each
    /// at most 30 characters.
    pub tags: MaybeUndefined<Vec<Text>>,
    /// The `sub` of the KS staff member to handle it; `null` unassigns.
    #[oai(nullable)]
    pub assignee: MaybeUndefined<Text>,
}

impl poem_openapi::types::Example for TicketChanges {
    fn example() -> Self {
        Self {
            status: MaybeUndefined::Value(TicketStatus::WaitingOnMunicipality),
            priority: MaybeUndefined::Value(TicketPriority::High),
            category: MaybeUndefined::Undefined,
            tags: MaybeUndefined::Value(vec![Text("tilskudd-2026".into())]),
            assignee: MaybeUndefined::Value(Text("ks-kari".into())),
        }
    }
}

/// A reply on a ticket, or (KS only) an internal note.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewTicketMessage {
    /// At most 20,000 characters.
    pub body: Text,
    /// An internal note, seen by KS only (default `false`).
    pub internal: crate::common::optional::NotNull<bool>,
}

impl poem_openapi::types::Example for NewTicketMessage {
    fn example() -> Self {
        Self {
            body: Text(
                "Ja, tilskuddet kan dekke lønn. Se kunngjøringen for 2026 for detaljene.".into(),
            ),
            internal: crate::common::optional::NotNull(Some(false)),
        }
    }
}

/// A referral of a ticket to the body that can answer it.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewReferral {
    pub to: ReferralTarget,
    /// Why, and what the body is asked; at most 5,000 characters.
    pub note: Text,
}

impl poem_openapi::types::Example for NewReferral {
    fn example() -> Self {
        Self {
            to: ReferralTarget::Ministry,
            note: Text("Spørsmålet gjelder tolkning av tilskuddsregelverket.".into()),
        }
    }
}

#[derive(ApiResponse)]
pub enum TicketListResponse {
    /// A page of the tickets the caller can see, newest first.
    #[oai(status = 200)]
    Ok(Json<TicketPage>),
}

#[derive(ApiResponse)]
pub enum TicketResponse {
    /// The ticket.
    #[oai(status = 200)]
    Ok(
        Json<Box<Ticket>>,
        /// The current version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum TicketCreatedResponse {
    /// The ticket was created (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<Ticket>>,
        /// Where the new ticket is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum TicketMessageListResponse {
    /// A page of the messages the caller can see, oldest first.
    #[oai(status = 200)]
    Ok(Json<TicketMessagePage>),
}

#[derive(ApiResponse)]
pub enum TicketMessageCreatedResponse {
    /// The message was added (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<TicketMessage>,
        /// The ticket's messages.
        #[oai(header = "Location")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum TicketStatisticsResponse {
    /// The figures of the period.
    #[oai(status = 200)]
    Ok(Json<TicketStatistics>),
}

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
        municipality: Query<Option<crate::http::params::MunicipalityParam>>,
        /// Only tickets with this tag.
        tag: Query<Option<String>>,
        /// Part of the subject or body, in any case (`søknad` finds "Søknad").
        #[oai(validator(min_length = 1, max_length = 100))]
        q: Query<Option<String>>,
        /// Only tickets changed at or after this instant (RFC 3339), for syncing.
        updated_since: Query<Option<DateTime<Utc>>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TicketListResponse, Failure<{ E400 | E401 | E422 }>> {
        let caller = &auth.0;
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        let mut fields = Fields::default();
        let municipality = fields.check_optional(
            "municipality",
            crate::http::params::value(municipality.0)
                .as_deref()
                .map(MunicipalityNumber::parse),
        );
        let tag = fields.check_optional("tag", tag.0.as_deref().map(parse_tag));
        fields.finish()?;

        let mut query = scoped(caller).order_by_desc(ticket::Column::Id);
        if let Some(v) = status.0 {
            query = query.filter(ticket::Column::Status.eq(to_db(&v)));
        }
        if let Some(v) = category.0 {
            query = query.filter(ticket::Column::Category.eq(to_db(&v)));
        }
        if let Some(v) = priority.0 {
            query = query.filter(ticket::Column::Priority.eq(to_db(&v)));
        }
        if let Some(v) = assignee.0 {
            query = query.filter(ticket::Column::Assignee.eq(v));
        }
        if let Some(Some(v)) = municipality {
            query = query.filter(ticket::Column::MunicipalityNumber.eq(v.into_inner()));
        }
        if let Some(Some(v)) = tag {
            // A slug holds no LIKE wildcards.
            query = query.filter(ticket::Column::Tags.like(format!("%,{v},%")));
        }
        if let Some(v) = q.0 {
            query = query.filter(
                Expr::col((ticket::Entity, ticket::Column::SearchFolded))
                    .like(contains_pattern(&v.to_lowercase())),
            );
        }
        if let Some(v) = updated_since.0 {
            query = query.filter(ticket::Column::UpdatedAt.gte(v));
        }
        if let Some(after) = page.after {
            query = query.filter(ticket::Column::Id.lt(after));
        }
        let conn = state.db.conn();
        let rows = query.limit(page.fetch()).all(conn).await?;
        let page: Page<ticket::Model> = page.page(rows, |t| t.id);
        let items = views(conn, caller, page.items).await?;
        Ok(TicketListResponse::Ok(Json(TicketPage {
            items,
            next_cursor: page.next_cursor,
        })))
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
        let new = validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_ticket",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| create(tx, caller, new).await,
        )
        .await?;
        let location = format!("/api/v1/tickets/{}", created.id);
        let tag = etag(created.version);
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
        if let (Some(from), Some(to)) = (from.0, to.0)
            && from > to
        {
            return Err(ApiError::invalid("from", "must not be after to").into());
        }
        let figures = statistics::compute(state.db.conn(), from.0, to.0).await?;
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
        id: Path<String>,
    ) -> Result<TicketResponse, Failure<{ E401 | E404 }>> {
        let caller = &auth.0;
        let conn = state.db.conn();
        let found = find_visible(conn, caller, &id.0, false).await?;
        let ticket = view(conn, caller, found).await?;
        let tag = etag(ticket.version);
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
        id: Path<String>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<TicketChanges>,
    ) -> Result<TicketResponse, Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 | E428 }>> {
        let caller = &auth.0;
        policy::manage_tickets(caller)?;
        let changes = validate_changes(body.0)?;
        let tx = state.db.begin_write().await?;
        let updated = update(&tx, caller, &id.0, if_match.0.as_deref(), changes).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
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
        id: Path<String>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<TicketMessageListResponse, Failure<{ E400 | E401 | E404 }>> {
        let caller = &auth.0;
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        let conn = state.db.conn();
        let ticket = find_visible(conn, caller, &id.0, false).await?;
        let mut query = messages_of(caller, ticket.id).order_by_asc(ticket_message::Column::Id);
        if let Some(after) = page.after {
            query = query.filter(ticket_message::Column::Id.gt(after));
        }
        let rows = query.limit(page.fetch()).all(conn).await?;
        let page: Page<ticket_message::Model> = page.page(rows, |m| m.id);
        let items = page
            .items
            .into_iter()
            .map(TicketMessage::try_from)
            .collect::<Result<_, _>>()?;
        Ok(TicketMessageListResponse::Ok(Json(TicketMessagePage {
            items,
            next_cursor: page.next_cursor,
        })))
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
        id: Path<String>,
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
        let text = fields_one("body", parse_body(&body.0.body, BODY_MAX))?;
        let internal = body.0.internal.0 == Some(true);
        // The key is scoped to the ticket: the same key on another ticket is another request.
        let ticket_id = Uuid::parse_str(&id.0).map_err(|_| not_found(&id.0))?;
        let operation = format!("create_ticket_message {ticket_id}");
        let created = idempotency::create_once(
            &state.db,
            caller,
            &operation,
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| create_message(tx, caller, &id.0, text, internal).await,
        )
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
        id: Path<String>,
        /// The ETag of the version you read, e.g. `"3"` (optional).
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<NewReferral>,
    ) -> Result<TicketResponse, Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 }>> {
        let caller = &auth.0;
        policy::manage_tickets(caller)?;
        let note = fields_one("note", parse_body(&body.0.note, NOTE_MAX))?;
        let tx = state.db.begin_write().await?;
        let referred = refer(&tx, caller, &id.0, if_match.0.as_deref(), body.0.to, note).await?;
        tx.commit().await?;
        let tag = etag(referred.version);
        Ok(TicketResponse::Ok(Json(Box::new(referred)), tag))
    }
}

fn fields_one<T>(field: &str, parsed: Result<T, String>) -> Result<T, ApiError> {
    parsed.map_err(|message| ApiError::invalid(field, message))
}

/// The tickets the caller may see.
fn scoped(caller: &Caller) -> Select<ticket::Entity> {
    let query = ticket::Entity::find();
    match policy::ticket_scope(caller) {
        TicketScope::All => query,
        TicketScope::ReferredToMinistry => {
            query.filter(ticket::Column::ReferralTo.eq(to_db(&ReferralTarget::Ministry)))
        }
        TicketScope::Municipality(number) => {
            query.filter(ticket::Column::MunicipalityNumber.eq(number))
        }
    }
}

/// The messages of a ticket the caller may see.
fn messages_of(caller: &Caller, ticket_id: Uuid) -> Select<ticket_message::Entity> {
    let query =
        ticket_message::Entity::find().filter(ticket_message::Column::TicketId.eq(ticket_id));
    if policy::sees_internal_notes(caller) {
        query
    } else {
        query.filter(ticket_message::Column::Internal.eq(false))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no ticket {id}"))
}

/// A ticket the caller may see, locked for the rest of the transaction when `lock`; 404 for
/// anything else (including an id that is no UUID).
async fn find_visible(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: &str,
    lock: bool,
) -> Result<ticket::Model, ApiError> {
    let uuid = Uuid::parse_str(id).map_err(|_| not_found(id))?;
    let mut query = scoped(caller).filter(ticket::Column::Id.eq(uuid));
    if lock {
        // PostgreSQL: the row stays locked until commit; SQLite's write lock already
        // serialises writers.
        query = query.lock_exclusive();
    }
    query.one(conn).await?.ok_or_else(|| not_found(id))
}

async fn view(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    row: ticket::Model,
) -> Result<Ticket, ApiError> {
    let mut views = views(conn, caller, vec![row]).await?;
    views.pop().ok_or(ApiError::Internal)
}

/// The tickets as the caller sees them, with their history and visible message counts, in
/// three queries whatever their number.
async fn views(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    rows: Vec<ticket::Model>,
) -> Result<Vec<Ticket>, ApiError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
    let mut histories: HashMap<Uuid, Vec<StatusChange>> = HashMap::new();
    for change in ticket_status_change::Entity::find()
        .filter(ticket_status_change::Column::TicketId.is_in(ids.clone()))
        .order_by_asc(ticket_status_change::Column::Id)
        .all(conn)
        .await?
    {
        histories
            .entry(change.ticket_id)
            .or_default()
            .push(StatusChange {
                from: change.from_status.as_deref().map(from_db).transpose()?,
                to: from_db(&change.to_status)?,
                reason: from_db(&change.reason)?,
                actor_sub: change.actor_sub,
                actor_role: from_db(&change.actor_role)?,
                changed_at: change.changed_at,
            });
    }
    let mut counts_query = ticket_message::Entity::find()
        .select_only()
        .column(ticket_message::Column::TicketId)
        .column_as(Expr::col(ticket_message::Column::Id).count(), "n")
        .filter(ticket_message::Column::TicketId.is_in(ids))
        .group_by(ticket_message::Column::TicketId);
    if !policy::sees_internal_notes(caller) {
        counts_query = counts_query.filter(ticket_message::Column::Internal.eq(false));
    }
    let counts: HashMap<Uuid, i64> = counts_query
        .into_tuple::<(Uuid, i64)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|t| {
            let history = histories.remove(&t.id).unwrap_or_default();
            let count = counts.get(&t.id).copied().unwrap_or_default();
            to_view(t, history, count)
        })
        .collect()
}

fn to_view(
    t: ticket::Model,
    status_history: Vec<StatusChange>,
    count: i64,
) -> Result<Ticket, ApiError> {
    let referral = match (t.referral_to, t.referred_at, t.referred_by) {
        (Some(to), Some(referred_at), Some(referred_by)) => Some(Referral {
            to: from_db(&to)?,
            note: t.referral_note.unwrap_or_default(),
            referred_at,
            referred_by,
        }),
        _ => None,
    };
    Ok(Ticket {
        id: t.id,
        number: t.number,
        municipality_number: t.municipality_number,
        created_by: t.created_by,
        subject: t.subject,
        body: t.body,
        category: from_db(&t.category)?,
        priority: from_db(&t.priority)?,
        status: from_db(&t.status)?,
        assignee: t.assignee,
        tags: split_tags(&t.tags),
        referral,
        first_response_at: t.first_response_at,
        resolved_at: t.resolved_at,
        message_count: u32::try_from(count).unwrap_or_default(),
        status_history,
        version: t.version,
        created_at: t.created_at,
        updated_at: t.updated_at,
    })
}

fn join_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

fn split_tags(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// A tag: 1 to 30 lower-case letters (a–z), digits and inner hyphens.
fn parse_tag(tag: &str) -> Result<String, String> {
    let slug = !tag.is_empty()
        && tag.len() <= TAG_MAX
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !tag.starts_with('-')
        && !tag.ends_with('-');
    if slug {
        Ok(tag.to_string())
    } else {
        Err(format!(
            "a tag is 1 to {TAG_MAX} lower-case letters a-z, digits and inner hyphens"
        ))
    }
}

fn parse_tags(tags: &[Text]) -> Result<Vec<String>, String> {
    if tags.len() > TAGS_MAX {
        return Err(format!("at most {TAGS_MAX} tags"));
    }
    let mut parsed: Vec<String> = Vec::new();
    for tag in tags {
        let tag = parse_tag(tag)?;
        if !parsed.contains(&tag) {
            parsed.push(tag);
        }
    }
    Ok(parsed)
}

/// Free text of at most `max` characters that is not blank.
fn parse_body(text: &str, max: usize) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("must not be empty".into())
    } else if text.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(text.to_string())
    }
}

fn parse_subject(subject: &str) -> Result<String, String> {
    let subject = subject.trim();
    match subject.chars().count() {
        0 => Err("must not be empty".into()),
        1..=SUBJECT_MAX => Ok(subject.to_string()),
        _ => Err(format!("must be at most {SUBJECT_MAX} characters")),
    }
}

fn parse_assignee(sub: &str) -> Result<String, String> {
    let sub = sub.trim();
    if sub.is_empty() || sub.len() > 255 || sub.chars().any(char::is_control) {
        Err("must be the sub of a KS staff member: 1 to 255 characters".into())
    } else {
        Ok(sub.to_string())
    }
}

/// A new ticket whose every field has been checked.
struct ValidNewTicket {
    subject: String,
    body: String,
    category: TicketCategory,
    priority: TicketPriority,
}

fn validate_new(body: &NewTicket) -> Result<ValidNewTicket, ApiError> {
    let mut fields = Fields::default();
    let subject = fields.check("subject", parse_subject(&body.subject));
    let text = fields.check("body", parse_body(&body.body, BODY_MAX));
    fields.finish()?;
    Ok(ValidNewTicket {
        subject: subject.expect("checked"),
        body: text.expect("checked"),
        category: body.category,
        priority: body.priority.0.unwrap_or(TicketPriority::Normal),
    })
}

/// The next readable number of `year`, taken inside the creating transaction: the counter
/// row stays locked until commit (PostgreSQL) or the write lock is held (SQLite), so
/// concurrent creations queue and a rolled-back creation gives its number back.
/// Ticket numbers run per calendar year in Norway: a ticket created at 00:30 on New Year's Day
/// in Oslo (still 31 December in UTC) belongs to the new year.
fn numbering_year(at: DateTime<Utc>) -> i32 {
    at.with_timezone(&chrono_tz::Europe::Oslo).year()
}

async fn next_number(conn: &impl ConnectionTrait, year: i32) -> Result<String, ApiError> {
    ticket_counter::Entity::insert(ticket_counter::ActiveModel {
        year: Set(year),
        last: Set(0),
    })
    .on_conflict_do_nothing_on([ticket_counter::Column::Year])
    .exec_without_returning(conn)
    .await?;
    ticket_counter::Entity::update_many()
        .col_expr(
            ticket_counter::Column::Last,
            Expr::col(ticket_counter::Column::Last).add(1),
        )
        .filter(ticket_counter::Column::Year.eq(year))
        .exec(conn)
        .await?;
    let last = ticket_counter::Entity::find_by_id(year)
        .one(conn)
        .await?
        .ok_or(ApiError::Internal)?
        .last;
    Ok(format!("KP-{year}-{last:05}"))
}

async fn record_status(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    ticket_id: Uuid,
    from: Option<TicketStatus>,
    to: TicketStatus,
    reason: StatusChangeReason,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    ticket_status_change::ActiveModel {
        id: Set(Uuid::now_v7()),
        ticket_id: Set(ticket_id),
        from_status: Set(from.as_ref().map(to_db)),
        to_status: Set(to_db(&to)),
        actor_sub: Set(caller.sub.clone()),
        actor_role: Set(caller.role.as_str().to_string()),
        reason: Set(to_db(&reason)),
        changed_at: Set(at),
    }
    .insert(conn)
    .await?;
    Ok(())
}

async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    new: ValidNewTicket,
) -> Result<Ticket, ApiError> {
    let municipality = caller
        .municipality
        .as_ref()
        .ok_or(ApiError::Internal)?
        .to_string();
    let now = Utc::now();
    let number = next_number(conn, numbering_year(now)).await?;
    let id = Uuid::now_v7();
    ticket::ActiveModel {
        id: Set(id),
        number: Set(number.clone()),
        municipality_number: Set(municipality),
        created_by: Set(caller.sub.clone()),
        search_folded: Set(format!("{}\n{}", new.subject, new.body).to_lowercase()),
        subject: Set(new.subject),
        body: Set(new.body),
        category: Set(to_db(&new.category)),
        priority: Set(to_db(&new.priority)),
        status: Set(to_db(&TicketStatus::New)),
        assignee: Set(None),
        tags: Set(String::new()),
        referral_to: Set(None),
        referral_note: Set(None),
        referred_at: Set(None),
        referred_by: Set(None),
        first_response_at: Set(None),
        resolved_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    record_status(
        conn,
        caller,
        id,
        None,
        TicketStatus::New,
        StatusChangeReason::Created,
        now,
    )
    .await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &id.to_string(),
        format!("created {number}"),
    )
    .await?;
    let row = find_visible(conn, caller, &id.to_string(), false).await?;
    view(conn, caller, row).await
}

/// A checked set of changes; `None` leaves a field alone.
struct ValidChanges {
    status: Option<TicketStatus>,
    priority: Option<TicketPriority>,
    category: Option<TicketCategory>,
    tags: Option<Vec<String>>,
    assignee: Option<Option<String>>,
}

fn required<T>(fields: &mut Fields, field: &str, value: MaybeUndefined<T>) -> Option<T> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            fields.add(field, "must not be null");
            None
        }
        MaybeUndefined::Value(v) => Some(v),
    }
}

fn validate_changes(changes: TicketChanges) -> Result<ValidChanges, ApiError> {
    let mut fields = Fields::default();
    let status = required(&mut fields, "status", changes.status);
    if status == Some(TicketStatus::Referred) {
        fields.add(
            "status",
            "a ticket is referred with POST /api/v1/tickets/{id}/referral",
        );
    }
    let priority = required(&mut fields, "priority", changes.priority);
    let category = required(&mut fields, "category", changes.category);
    let tags = match required(&mut fields, "tags", changes.tags) {
        Some(tags) => fields.check("tags", parse_tags(&tags)),
        None => None,
    };
    let assignee = fields.check_patch("assignee", changes.assignee, parse_assignee);
    fields.finish()?;
    let valid = ValidChanges {
        status,
        priority,
        category,
        tags,
        assignee,
    };
    if valid.status.is_none()
        && valid.priority.is_none()
        && valid.category.is_none()
        && valid.tags.is_none()
        && valid.assignee.is_none()
    {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    Ok(valid)
}

/// Applies a checked set of changes, refusing a stale `If-Match` and a disallowed status
/// change.
async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: &str,
    if_match: Option<&str>,
    changes: ValidChanges,
) -> Result<Ticket, ApiError> {
    let current = find_visible(conn, caller, id, true).await?;
    check_if_match(if_match, current.version)?;
    let current_status: TicketStatus = from_db(&current.status)?;
    let now = Utc::now();
    let mut row = ticket::ActiveModel {
        id: Set(current.id),
        ..Default::default()
    };
    let mut changed = Vec::new();
    let mut new_status = None;
    if let Some(status) = changes.status
        && status != current_status
    {
        workflow::check_transition(current_status, status)?;
        row.status = Set(to_db(&status));
        row.resolved_at = Set(workflow::resolved_at_on_entering(
            status,
            current.resolved_at,
            now,
        ));
        changed.push(format!("status {} → {}", current.status, to_db(&status)));
        new_status = Some(status);
    } else if current_status == TicketStatus::Closed {
        return Err(ApiError::Conflict(
            "the ticket is closed: it takes no more changes".into(),
        ));
    }
    if let Some(v) = changes.priority
        && to_db(&v) != current.priority
    {
        row.priority = Set(to_db(&v));
        changed.push(format!("priority {}", to_db(&v)));
    }
    if let Some(v) = changes.category
        && to_db(&v) != current.category
    {
        row.category = Set(to_db(&v));
        changed.push(format!("category {}", to_db(&v)));
    }
    if let Some(v) = changes.tags
        && join_tags(&v) != current.tags
    {
        row.tags = Set(join_tags(&v));
        changed.push("tags".into());
    }
    if let Some(v) = changes.assignee
        && v != current.assignee
    {
        changed.push(match &v {
            Some(sub) => format!("assignee {sub}"),
            None => "unassigned".into(),
        });
        row.assignee = Set(v);
    }
    if changed.is_empty() {
        // Nothing differs from what is stored: no new version, nothing to audit.
        return view(conn, caller, current).await;
    }
    row.version = Set(current.version + 1);
    row.updated_at = Set(now);
    let result = ticket::Entity::update_many()
        .set(row)
        .filter(ticket::Column::Id.eq(current.id))
        .filter(ticket::Column::Version.eq(current.version))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(ApiError::PreconditionFailed {
            current_version: current.version + 1,
        });
    }
    if let Some(status) = new_status {
        record_status(
            conn,
            caller,
            current.id,
            Some(current_status),
            status,
            StatusChangeReason::Changed,
            now,
        )
        .await?;
    }
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &current.id.to_string(),
        format!("{}: {}", current.number, changed.join(", ")),
    )
    .await?;
    let row = find_visible(conn, caller, id, false).await?;
    view(conn, caller, row).await
}

/// Adds a message and applies its effect on the ticket (see [`workflow::reply_effect`]).
async fn create_message(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: &str,
    body: String,
    internal: bool,
) -> Result<TicketMessage, ApiError> {
    let ticket = find_visible(conn, caller, id, true).await?;
    let status: TicketStatus = from_db(&ticket.status)?;
    let effect = workflow::reply_effect(
        status,
        caller.role,
        internal,
        ticket.first_response_at.is_some(),
    )?;
    let now = Utc::now();
    let message = ticket_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        ticket_id: Set(ticket.id),
        author_sub: Set(caller.sub.clone()),
        author_role: Set(caller.role.as_str().to_string()),
        author_municipality: Set(caller.municipality.as_ref().map(|m| m.to_string())),
        body: Set(body),
        internal: Set(internal),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    if !internal {
        // A public message changes the ticket: at least `updated_at`, so that syncing
        // clients see it. An internal note leaves the ticket untouched.
        let mut row = ticket::ActiveModel {
            id: Set(ticket.id),
            version: Set(ticket.version + 1),
            updated_at: Set(now),
            ..Default::default()
        };
        if effect.first_response {
            row.first_response_at = Set(Some(now));
        }
        if let Some((to, _)) = effect.status {
            row.status = Set(to_db(&to));
            row.resolved_at = Set(workflow::resolved_at_on_entering(
                to,
                ticket.resolved_at,
                now,
            ));
        }
        row.update(conn).await?;
        if let Some((to, reason)) = effect.status {
            record_status(conn, caller, ticket.id, Some(status), to, reason, now).await?;
        }
    }
    audit::record(
        conn,
        caller,
        if internal {
            audit::Action::Note
        } else {
            audit::Action::Reply
        },
        RESOURCE,
        &ticket.id.to_string(),
        format!(
            "{} on {}",
            if internal { "internal note" } else { "reply" },
            ticket.number
        ),
    )
    .await?;
    TicketMessage::try_from(message)
}

/// Refers a ticket; it becomes `referred`.
async fn refer(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    id: &str,
    if_match: Option<&str>,
    to: ReferralTarget,
    note: String,
) -> Result<Ticket, ApiError> {
    let current = find_visible(conn, caller, id, true).await?;
    if if_match.is_some() {
        check_if_match(if_match, current.version)?;
    }
    let status: TicketStatus = from_db(&current.status)?;
    if status != TicketStatus::Referred {
        workflow::check_transition(status, TicketStatus::Referred)?;
    }
    let now = Utc::now();
    ticket::ActiveModel {
        id: Set(current.id),
        status: Set(to_db(&TicketStatus::Referred)),
        referral_to: Set(Some(to_db(&to))),
        referral_note: Set(Some(note)),
        referred_at: Set(Some(now)),
        referred_by: Set(Some(caller.sub.clone())),
        version: Set(current.version + 1),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(conn)
    .await?;
    if status != TicketStatus::Referred {
        record_status(
            conn,
            caller,
            current.id,
            Some(status),
            TicketStatus::Referred,
            StatusChangeReason::Referred,
            now,
        )
        .await?;
    }
    audit::record(
        conn,
        caller,
        audit::Action::Refer,
        RESOURCE,
        &current.id.to_string(),
        format!("{} referred to {}", current.number, to_db(&to)),
    )
    .await?;
    let row = find_visible(conn, caller, id, false).await?;
    view(conn, caller, row).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_short_slugs_stored_between_commas() {
        assert_eq!(parse_tag("tilskudd-2026").unwrap(), "tilskudd-2026");
        for bad in [
            "",
            "Store",
            "a_b",
            "-a",
            "a-",
            "æ",
            "a,b",
            "%",
            &"a".repeat(31),
        ] {
            assert!(parse_tag(bad).is_err(), "{bad}");
        }
        let tags = parse_tags(&[Text("a".into()), Text("b".into()), Text("a".into())]).unwrap();
        assert_eq!(tags, ["a", "b"]);
        assert_eq!(join_tags(&tags), ",a,b,");
        assert_eq!(split_tags(",a,b,"), ["a", "b"]);
        assert!(split_tags("").is_empty());
        assert_eq!(join_tags(&[]), "");
        let eleven: Vec<Text> = (0..11).map(|i| Text(format!("t{i}"))).collect();
        assert!(parse_tags(&eleven).is_err());
    }

    #[test]
    fn enums_are_stored_as_their_json_names() {
        assert_eq!(
            to_db(&TicketStatus::WaitingOnMunicipality),
            "waiting_on_municipality"
        );
        assert_eq!(to_db(&ReferralTarget::HkDir), "hk_dir");
        assert_eq!(
            from_db::<TicketCategory>("training_material").unwrap(),
            TicketCategory::TrainingMaterial
        );
        assert!(from_db::<TicketStatus>("pending").is_err());
    }

    #[test]
    fn numbering_follows_the_oslo_calendar_year() {
        let utc = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(numbering_year(utc("2026-12-31T22:59:59Z")), 2026);
        assert_eq!(numbering_year(utc("2026-12-31T23:00:00Z")), 2027);
        assert_eq!(numbering_year(utc("2027-06-30T21:59:59Z")), 2027);
    }
}
