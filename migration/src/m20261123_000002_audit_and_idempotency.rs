//! The audit log and the store of idempotent responses.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
    Id,
    OccurredAt,
    ActorSub,
    ActorRole,
    ActorMunicipality,
    Action,
    ResourceType,
    ResourceId,
    Summary,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    RequestHash,
    ResponseBody,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .col(uuid(AuditEntries::Id).primary_key())
                    .col(timestamp_with_time_zone(AuditEntries::OccurredAt))
                    .col(string_len(AuditEntries::ActorSub, 255))
                    .col(string_len(AuditEntries::ActorRole, 20))
                    .col(string_len_null(AuditEntries::ActorMunicipality, 4))
                    .col(string_len(AuditEntries::Action, 50))
                    .col(string_len(AuditEntries::ResourceType, 50))
                    .col(string_len(AuditEntries::ResourceId, 100))
                    .col(text(AuditEntries::Summary))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "idx_audit_entries_resource",
                vec![
                    AuditEntries::ResourceType,
                    AuditEntries::ResourceId,
                    AuditEntries::Id,
                ],
            ),
            (
                "idx_audit_entries_actor",
                vec![AuditEntries::ActorSub, AuditEntries::Id],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(AuditEntries::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(string_len(IdempotencyKeys::Id, 64).primary_key())
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(text_null(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AuditEntries::Table).to_owned())
            .await
    }
}
