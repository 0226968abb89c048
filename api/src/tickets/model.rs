//! The wire types of kontaktpunkt tickets, their examples, and the conversions of stored rows
//! into them.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use entity::{ticket, ticket_message, ticket_status_change};

use super::sla::Clocks;
pub use super::sla::SlaState;
use crate::auth::Role;
use crate::common::optional::NotNull;
use crate::common::stored::stored_enum;
use crate::common::text::Text;
use crate::http::error::ApiError;
use crate::http::preconditions::etag;

stored_enum! {
    /// What a ticket is about.
    TicketCategory {
        /// Establishing a Digihjelp offer.
        Establishing = "establishing",
        Grants = "grants",
        /// The online handbook of KS.
        Handbook = "handbook",
        TrainingMaterial = "training_material",
        Technical = "technical",
        Other = "other",
    }
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

stored_enum! {
    TicketPriority {
        Low = "low",
        Normal = "normal",
        High = "high",
    }
}

stored_enum! {
    /// Where a ticket is in the workflow; see `update_ticket` for the allowed changes.
    TicketStatus {
        /// Not answered yet.
        New = "new",
        /// Being worked on by KS.
        Open = "open",
        /// KS waits for an answer from the municipality.
        WaitingOnMunicipality = "waiting_on_municipality",
        /// Referred to another body (see `referral`).
        Referred = "referred",
        /// Answered; a reply of the municipality reopens it.
        Resolved = "resolved",
        /// Final: takes no more messages or changes.
        Closed = "closed",
    }
}

impl TicketStatus {
    /// The statuses of a ticket that is dealt with; every other status counts as open.
    pub const DONE: [Self; 2] = [Self::Resolved, Self::Closed];

    pub fn is_open(self) -> bool {
        !Self::DONE.contains(&self)
    }
}

/// Which tickets a list keeps by where their service-level targets stand now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum SlaFilter {
    /// At least one target breached.
    Breached,
    /// None breached, at least one due soon (under 20 % of its business time left).
    DueSoon,
    /// None breached or due soon, at least one still counting.
    OnTrack,
    /// Both targets met.
    Met,
}

/// The order of a ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum TicketSort {
    /// Newest first (the default).
    #[default]
    Newest,
    /// By the earliest due time of a target still counting (overdue ones first), then
    /// oldest first; tickets with no such due time come last.
    NextDue,
}

stored_enum! {
    /// The body a ticket is referred to.
    ReferralTarget {
        /// The ministry (KMD/KDD), which then sees and answers the ticket.
        Ministry = "ministry",
        /// The Directorate for Higher Education and Skills (HK-dir).
        HkDir = "hk_dir",
        NationalLibrary = "national_library",
        Nav = "nav",
        Digdir = "digdir",
        Other = "other",
    }
}

stored_enum! {
    /// Why a ticket's status changed.
    StatusChangeReason {
        /// The municipality created the ticket.
        Created = "created",
        /// KS changed the status.
        Changed = "changed",
        /// The first public reply of KS opened the ticket.
        FirstResponse = "first_response",
        /// A reply of the municipality reopened the ticket.
        MunicipalityReply = "municipality_reply",
        /// KS referred the ticket.
        Referred = "referred",
    }
}

/// The `tags` column: each slug enclosed in commas (`,grants,urgent,`), empty for none.
pub fn join_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!(",{},", tags.join(","))
    }
}

/// The slugs of a stored `tags` column.
pub fn split_tags(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
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

impl TryFrom<ticket_status_change::Model> for StatusChange {
    type Error = ApiError;

    fn try_from(m: ticket_status_change::Model) -> Result<Self, ApiError> {
        Ok(Self {
            from: m
                .from_status
                .as_deref()
                .map(TicketStatus::from_stored)
                .transpose()?,
            to: TicketStatus::from_stored(&m.to_status)?,
            reason: StatusChangeReason::from_stored(&m.reason)?,
            actor_sub: m.actor_sub,
            actor_role: Role::from_stored(&m.actor_role)?,
            changed_at: m.changed_at,
        })
    }
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
    /// When KS's first public reply is due, in the kontaktpunkt's business hours (see
    /// `get_service_levels`); it stays where it was once reached.
    #[oai(nullable)]
    pub first_response_due_at: Option<DateTime<Utc>>,
    /// When the resolution is due; `null` while the ticket waits on the municipality
    /// before it was due (the due time moves by the business time it waits).
    #[oai(nullable)]
    pub resolution_due_at: Option<DateTime<Utc>>,
    /// Where the two targets stand now (KS and the ministry; not shown to municipalities).
    #[oai(skip_serializing_if_is_none)]
    pub sla: Option<TicketSla>,
    /// The messages the caller can see.
    pub message_count: u32,
    /// Every status the ticket has had, oldest first.
    pub status_history: Vec<StatusChange>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The internal notes counted in `message_count` (KS only). Not on the wire: they make
    /// KS's view differ from other roles' without a new version, so they are in its ETag.
    #[oai(skip)]
    pub internal_notes: u32,
    /// What of the answer changes with the clock rather than with a write (the due times
    /// and the states of the targets): part of the ETag, so that a cached answer is not
    /// revalidated once it has changed, but not of what `If-Match` compares.
    #[oai(skip)]
    pub sla_tag: String,
}

/// Where the service-level targets of a ticket stand at the time of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct TicketSla {
    /// The first public reply of KS.
    pub first_response: SlaState,
    /// The resolution.
    pub resolution: SlaState,
    /// Whether the resolution clock is paused, the ticket waiting on the municipality.
    pub resolution_paused: bool,
}

/// The ETag of a ticket as a caller sees it: the version, and the internal notes the
/// caller's `message_count` includes, if any (so that KS's client revalidates after a
/// note while a municipality's keeps its `"<version>"`).
pub fn ticket_tag(version: i32, internal_notes: u32) -> String {
    match internal_notes {
        0 => etag(version),
        n => format!("\"{version}.{n}\""),
    }
}

/// The `If-Match` header with the clock-dependent part of each tag cut off
/// (`"3.1-5f2a9c01"` becomes `"3.1"`), so that a write is not refused merely because time
/// passed since the read.
pub fn if_match_written_part(if_match: Option<&str>) -> Option<String> {
    if_match.map(|header| {
        header
            .split(',')
            .map(|tag| {
                let tag = tag.trim();
                match (tag.strip_suffix('"'), tag.find('-')) {
                    (Some(_), Some(dash)) if tag.starts_with('"') => format!("{}\"", &tag[..dash]),
                    _ => tag.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
}

/// The clock-dependent part of a ticket's ETag: a digest of its due times and target
/// states as the caller sees them.
fn sla_tag(
    first_response_due_at: Option<DateTime<Utc>>,
    resolution_due_at: Option<DateTime<Utc>>,
    sla: Option<&TicketSla>,
) -> String {
    use sha2::{Digest, Sha256};
    let text = format!(
        "{:?}|{:?}|{:?}",
        first_response_due_at.map(|t| t.timestamp()),
        resolution_due_at.map(|t| t.timestamp()),
        sla.map(|s| (
            s.first_response.as_str(),
            s.resolution.as_str(),
            s.resolution_paused
        )),
    );
    let digest = Sha256::digest(text.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl Ticket {
    /// The ETag: the written part (`"<version>"` or `"<version>.<notes>"`) and the
    /// clock-dependent part, `"3.1-5f2a9c01"`.
    pub fn etag(&self) -> String {
        let written = ticket_tag(self.version, self.internal_notes);
        format!("{}-{}\"", written.trim_end_matches('"'), self.sla_tag)
    }

    /// A stored ticket with its status history, the number of messages the caller sees,
    /// and its service-level clocks as they stand at `now` (their states only when
    /// `show_sla`).
    #[allow(clippy::too_many_arguments)]
    pub fn from_row(
        t: ticket::Model,
        status_history: Vec<StatusChange>,
        message_count: i64,
        internal_notes: i64,
        clocks: Clocks,
        now: DateTime<Utc>,
        show_sla: bool,
    ) -> Result<Self, ApiError> {
        let sla = show_sla.then(|| TicketSla {
            first_response: clocks.first_response.state(now),
            resolution: clocks.resolution.state(now),
            resolution_paused: clocks.resolution.paused(),
        });
        let first_response_due_at = clocks.first_response.due_at;
        let resolution_due_at = clocks.resolution.due_at;
        let sla_tag = sla_tag(first_response_due_at, resolution_due_at, sla.as_ref());
        let referral = match (t.referral_to, t.referred_at, t.referred_by) {
            (Some(to), Some(referred_at), Some(referred_by)) => Some(Referral {
                to: ReferralTarget::from_stored(&to)?,
                note: t.referral_note.unwrap_or_default(),
                referred_at,
                referred_by,
            }),
            _ => None,
        };
        Ok(Self {
            id: t.id,
            number: t.number,
            municipality_number: t.municipality_number,
            created_by: t.created_by,
            subject: t.subject,
            body: t.body,
            category: TicketCategory::from_stored(&t.category)?,
            priority: TicketPriority::from_stored(&t.priority)?,
            status: TicketStatus::from_stored(&t.status)?,
            assignee: t.assignee,
            tags: split_tags(&t.tags),
            referral,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            first_response_due_at,
            resolution_due_at,
            sla,
            message_count: u32::try_from(message_count).unwrap_or_default(),
            status_history,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            internal_notes: u32::try_from(internal_notes).unwrap_or_default(),
            sla_tag,
        })
    }
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
            author_role: Role::from_stored(&m.author_role)?,
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
    pub priority: NotNull<TicketPriority>,
}

impl Example for NewTicket {
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
            priority: NotNull(Some(TicketPriority::Normal)),
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

impl Example for TicketChanges {
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
    pub internal: NotNull<bool>,
}

impl Example for NewTicketMessage {
    fn example() -> Self {
        Self {
            body: Text(
                "Ja, tilskuddet kan dekke lønn. Se kunngjøringen for 2026 for detaljene.".into(),
            ),
            internal: NotNull(Some(false)),
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

impl Example for NewReferral {
    fn example() -> Self {
        Self {
            to: ReferralTarget::Ministry,
            note: Text("Spørsmålet gjelder tolkning av tilskuddsregelverket.".into()),
        }
    }
}

/// The figures of a set of tickets.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct TicketFigures {
    /// Tickets created in the period.
    pub count: u32,
    /// Of those, the ones neither resolved nor closed.
    pub open_count: u32,
    /// Of those, the ones KS has answered (with a public reply).
    pub responded_count: u32,
    /// Median seconds from creation to the first public reply of KS (nearest rank).
    #[oai(nullable)]
    pub median_first_response_seconds: Option<i64>,
    /// 90th percentile of the same (nearest rank).
    #[oai(nullable)]
    pub p90_first_response_seconds: Option<i64>,
    /// Tickets with a `resolved_at` (resolved, or closed).
    pub resolved_count: u32,
    /// Median seconds from creation to resolution (nearest rank).
    #[oai(nullable)]
    pub median_resolution_seconds: Option<i64>,
    /// 90th percentile of the same (nearest rank).
    #[oai(nullable)]
    pub p90_resolution_seconds: Option<i64>,
    /// Median business seconds (in the kontaktpunkt's calendar) to the first public reply.
    #[oai(nullable)]
    pub median_first_response_business_seconds: Option<i64>,
    /// 90th percentile of the same.
    #[oai(nullable)]
    pub p90_first_response_business_seconds: Option<i64>,
    /// Median business seconds to resolution, time waiting on the municipality left out.
    #[oai(nullable)]
    pub median_resolution_business_seconds: Option<i64>,
    /// 90th percentile of the same.
    #[oai(nullable)]
    pub p90_resolution_business_seconds: Option<i64>,
    /// Tickets whose first-response target is settled (replied to, or resolved without a
    /// reply): met or missed.
    pub first_response_target_settled: u32,
    /// Of those, the ones that met it.
    pub first_response_target_met: u32,
    /// `first_response_target_met` as a share of `first_response_target_settled`, 0 to 1.
    #[oai(nullable)]
    pub first_response_target_met_share: Option<f64>,
    /// Tickets whose resolution target is settled (resolved or closed): met or missed.
    pub resolution_target_settled: u32,
    /// Of those, the ones that met it.
    pub resolution_target_met: u32,
    /// `resolution_target_met` as a share of `resolution_target_settled`, 0 to 1.
    #[oai(nullable)]
    pub resolution_target_met_share: Option<f64>,
}

/// The figures of one priority.
#[derive(Debug, Object)]
pub struct PriorityFigures {
    pub priority: TicketPriority,
    pub figures: TicketFigures,
}

/// The figures of one category.
#[derive(Debug, Object)]
pub struct CategoryFigures {
    pub category: TicketCategory,
    pub figures: TicketFigures,
}

/// Response and resolution times of the tickets created in a period.
#[derive(Debug, Object)]
pub struct TicketStatistics {
    /// The start of the period (inclusive); `null` for since the beginning.
    #[oai(nullable)]
    pub from: Option<DateTime<Utc>>,
    /// The end of the period (exclusive); `null` for up to now.
    #[oai(nullable)]
    pub to: Option<DateTime<Utc>>,
    pub overall: TicketFigures,
    /// Every category, in a fixed order, also those without tickets.
    pub by_category: Vec<CategoryFigures>,
    /// Every priority (`low`, `normal`, `high`), also those without tickets.
    pub by_priority: Vec<PriorityFigures>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_stored_as_their_wire_names() {
        assert_eq!(
            TicketStatus::WaitingOnMunicipality.as_str(),
            "waiting_on_municipality"
        );
        assert_eq!(ReferralTarget::HkDir.as_str(), "hk_dir");
        assert_eq!(
            TicketCategory::from_stored("training_material").unwrap(),
            TicketCategory::TrainingMaterial
        );
        assert!(TicketStatus::from_stored("pending").is_err());
        assert_eq!(Role::from_stored("kmd").unwrap(), Role::Kmd);
        assert!(Role::from_stored("admin").is_err());
    }

    #[test]
    fn if_match_compares_only_the_written_part_of_a_ticket_tag() {
        assert_eq!(
            if_match_written_part(Some("\"3.1-5f2a9c01\"")).as_deref(),
            Some("\"3.1\"")
        );
        assert_eq!(
            if_match_written_part(Some("\"3-aa\", \"4\", *")).as_deref(),
            Some("\"3\", \"4\", *")
        );
        assert_eq!(if_match_written_part(None), None);
        // Not a quoted tag: left as it is, so it matches nothing.
        assert_eq!(if_match_written_part(Some("3-aa")).as_deref(), Some("3-aa"));
    }

    #[test]
    fn the_clock_part_of_a_tag_changes_with_a_due_time_or_a_state_only() {
        let due = DateTime::from_timestamp(1_800_000_000, 0);
        let sla = |first| TicketSla {
            first_response: first,
            resolution: SlaState::OnTrack,
            resolution_paused: false,
        };
        let on_track = sla_tag(due, None, Some(&sla(SlaState::OnTrack)));
        assert_eq!(on_track.len(), 8);
        assert_eq!(on_track, sla_tag(due, None, Some(&sla(SlaState::OnTrack))));
        assert_ne!(on_track, sla_tag(due, None, Some(&sla(SlaState::DueSoon))));
        assert_ne!(on_track, sla_tag(None, due, Some(&sla(SlaState::OnTrack))));
        assert_ne!(on_track, sla_tag(due, None, None));
    }

    #[test]
    fn tags_are_stored_between_commas() {
        let tags = vec!["a".to_string(), "b".to_string()];
        assert_eq!(join_tags(&tags), ",a,b,");
        assert_eq!(split_tags(",a,b,"), ["a", "b"]);
        assert!(split_tags("").is_empty());
        assert_eq!(join_tags(&[]), "");
    }
}
