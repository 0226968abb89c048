//! One change of a ticket's status: the status history shown with the ticket.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_status_changes")]
pub struct Model {
    /// UUIDv7, so the id orders the history by time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub ticket_id: Uuid,
    /// `None` for the first entry, when the ticket was created.
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_sub: String,
    pub actor_role: String,
    /// What caused it: `created`, `changed`, `first_response`, `municipality_reply`,
    /// `referred`.
    pub reason: String,
    pub changed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::ticket::Entity",
        from = "Column::TicketId",
        to = "super::ticket::Column::Id"
    )]
    Ticket,
}

impl Related<super::ticket::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Ticket.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
