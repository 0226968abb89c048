//! A kontaktpunkt ticket: a question from a municipality to KS.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    /// UUIDv7, so the id orders tickets by creation.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The readable number, `KP-2026-00042`; unique.
    pub number: String,
    pub municipality_number: String,
    /// The `sub` of the municipal staff member who asked.
    pub created_by: String,
    pub subject: String,
    pub body: String,
    /// `subject` and `body` in lower case, so that a search is case-insensitive for æ, ø and
    /// å on every database.
    pub search_folded: String,
    /// The same folded the way people type without Norwegian and Sámi letters.
    pub search_ascii: String,
    /// `establishing`, `grants`, `handbook`, `training_material`, `technical` or `other`.
    pub category: String,
    /// `low`, `normal` or `high`.
    pub priority: String,
    /// `new`, `open`, `waiting_on_municipality`, `referred`, `resolved` or `closed`.
    pub status: String,
    /// The `sub` of the KS staff member the ticket is assigned to.
    pub assignee: Option<String>,
    /// The tag slugs, each enclosed in commas (`,grants,urgent,`; `` when there is none),
    /// so that a tag is found with `LIKE '%,slug,%'`.
    pub tags: String,
    pub referral_to: Option<String>,
    pub referral_note: Option<String>,
    pub referred_at: Option<DateTimeUtc>,
    pub referred_by: Option<String>,
    pub first_response_at: Option<DateTimeUtc>,
    pub resolved_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The first-response clock: business time (in microseconds) counted up to `first_response_clock_since`
    /// (all of them once paused or stopped); `null` on a ticket created before service
    /// levels were kept, whose clocks are replayed from its history.
    pub first_response_counted_micros: Option<i64>,
    /// When the clock last started; `null` while paused or stopped.
    pub first_response_clock_since: Option<DateTimeUtc>,
    /// When the target is due; `null` while paused before it was reached.
    pub first_response_due_at: Option<DateTimeUtc>,
    /// When under 20 % of the target is left.
    pub first_response_due_soon_at: Option<DateTimeUtc>,
    /// Once the clock stopped: whether the target was met.
    pub first_response_met: Option<bool>,
    /// The resolution clock, as the first-response one.
    pub resolution_counted_micros: Option<i64>,
    pub resolution_clock_since: Option<DateTimeUtc>,
    pub resolution_due_at: Option<DateTimeUtc>,
    pub resolution_due_soon_at: Option<DateTimeUtc>,
    pub resolution_met: Option<bool>,
    /// The earliest due time of a target not yet met or breached-and-stopped, to sort by.
    pub sla_next_due_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::municipality::Entity",
        from = "Column::MunicipalityNumber",
        to = "super::municipality::Column::Number"
    )]
    Municipality,
    #[sea_orm(has_many = "super::ticket_message::Entity")]
    Message,
    #[sea_orm(has_many = "super::ticket_status_change::Entity")]
    StatusChange,
}

impl Related<super::ticket_message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Message.def()
    }
}

impl Related<super::ticket_status_change::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StatusChange.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
