//! Kontaktpunkt tickets: the tickets, their messages, their status history, and the per-year
//! counter that gives each ticket its readable number.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Municipalities {
    Table,
    Number,
}

#[derive(DeriveIden)]
enum TicketCounters {
    Table,
    Year,
    Last,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    Number,
    MunicipalityNumber,
    CreatedBy,
    Subject,
    Body,
    SearchFolded,
    Category,
    Priority,
    Status,
    Assignee,
    Tags,
    ReferralTo,
    ReferralNote,
    ReferredAt,
    ReferredBy,
    FirstResponseAt,
    ResolvedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TicketMessages {
    Table,
    Id,
    TicketId,
    AuthorSub,
    AuthorRole,
    AuthorMunicipality,
    Body,
    Internal,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TicketStatusChanges {
    Table,
    Id,
    TicketId,
    FromStatus,
    ToStatus,
    ActorSub,
    ActorRole,
    Reason,
    ChangedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TicketCounters::Table)
                    .col(integer(TicketCounters::Year).primary_key())
                    .col(integer(TicketCounters::Last))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(uuid(Tickets::Id).primary_key())
                    .col(string_len(Tickets::Number, 20))
                    .col(string_len(Tickets::MunicipalityNumber, 4))
                    .col(string_len(Tickets::CreatedBy, 255))
                    .col(string_len(Tickets::Subject, 200))
                    .col(text(Tickets::Body))
                    .col(text(Tickets::SearchFolded))
                    .col(string_len(Tickets::Category, 30))
                    .col(string_len(Tickets::Priority, 10))
                    .col(string_len(Tickets::Status, 30))
                    .col(string_len_null(Tickets::Assignee, 255))
                    .col(text(Tickets::Tags))
                    .col(string_len_null(Tickets::ReferralTo, 30))
                    .col(text_null(Tickets::ReferralNote))
                    .col(timestamp_with_time_zone_null(Tickets::ReferredAt))
                    .col(string_len_null(Tickets::ReferredBy, 255))
                    .col(timestamp_with_time_zone_null(Tickets::FirstResponseAt))
                    .col(timestamp_with_time_zone_null(Tickets::ResolvedAt))
                    .col(integer(Tickets::Version))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_tickets_municipality")
                            .from(Tickets::Table, Tickets::MunicipalityNumber)
                            .to(Municipalities::Table, Municipalities::Number),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_tickets_number")
                    .table(Tickets::Table)
                    .col(Tickets::Number)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_tickets_municipality", Tickets::MunicipalityNumber),
            ("idx_tickets_status", Tickets::Status),
            ("idx_tickets_referral_to", Tickets::ReferralTo),
            ("idx_tickets_created_at", Tickets::CreatedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Tickets::Table)
                        .col(column)
                        .col(Tickets::Id)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(TicketMessages::Table)
                    .col(uuid(TicketMessages::Id).primary_key())
                    .col(uuid(TicketMessages::TicketId))
                    .col(string_len(TicketMessages::AuthorSub, 255))
                    .col(string_len(TicketMessages::AuthorRole, 20))
                    .col(string_len_null(TicketMessages::AuthorMunicipality, 4))
                    .col(text(TicketMessages::Body))
                    .col(boolean(TicketMessages::Internal))
                    .col(timestamp_with_time_zone(TicketMessages::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_messages_ticket")
                            .from(TicketMessages::Table, TicketMessages::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_messages_ticket")
                    .table(TicketMessages::Table)
                    .col(TicketMessages::TicketId)
                    .col(TicketMessages::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TicketStatusChanges::Table)
                    .col(uuid(TicketStatusChanges::Id).primary_key())
                    .col(uuid(TicketStatusChanges::TicketId))
                    .col(string_len_null(TicketStatusChanges::FromStatus, 30))
                    .col(string_len(TicketStatusChanges::ToStatus, 30))
                    .col(string_len(TicketStatusChanges::ActorSub, 255))
                    .col(string_len(TicketStatusChanges::ActorRole, 20))
                    .col(string_len(TicketStatusChanges::Reason, 50))
                    .col(timestamp_with_time_zone(TicketStatusChanges::ChangedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_ticket_status_changes_ticket")
                            .from(TicketStatusChanges::Table, TicketStatusChanges::TicketId)
                            .to(Tickets::Table, Tickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_ticket_status_changes_ticket")
                    .table(TicketStatusChanges::Table)
                    .col(TicketStatusChanges::TicketId)
                    .col(TicketStatusChanges::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TicketStatusChanges::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TicketMessages::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Tickets::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TicketCounters::Table).to_owned())
            .await?;
        Ok(())
    }
}
