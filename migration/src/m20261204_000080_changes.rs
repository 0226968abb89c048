//! The change feed.
//!
//! `change_counter` is one row that every write transaction bumps: the bump holds the row's
//! lock until the transaction ends, so the numbers it hands out follow the order in which
//! the transactions commit, and a reader never sees a number before every smaller one is
//! committed. `changes` keeps an entry per committed write, tombstones included, for the
//! retention period; `pruned_through` is the last sequence pruned.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChangeCounter {
    Table,
    Id,
    Value,
    PrunedThrough,
}

#[derive(DeriveIden)]
enum Changes {
    Table,
    Sequence,
    ResourceType,
    ResourceId,
    ParentId,
    Action,
    Version,
    OccurredAt,
    Audience,
    MunicipalityNumber,
    TicketId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ChangeCounter::Table)
                    .col(integer(ChangeCounter::Id).primary_key())
                    .col(big_integer(ChangeCounter::Value))
                    .col(big_integer(ChangeCounter::PrunedThrough))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(ChangeCounter::Table)
                    .columns([
                        ChangeCounter::Id,
                        ChangeCounter::Value,
                        ChangeCounter::PrunedThrough,
                    ])
                    .values_panic([1.into(), 0i64.into(), 0i64.into()])
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Changes::Table)
                    .col(big_integer(Changes::Sequence).primary_key())
                    .col(string_len(Changes::ResourceType, 40))
                    .col(string_len(Changes::ResourceId, 100))
                    .col(string_len_null(Changes::ParentId, 100))
                    .col(string_len(Changes::Action, 10))
                    .col(integer_null(Changes::Version))
                    .col(timestamp_with_time_zone(Changes::OccurredAt))
                    .col(string_len(Changes::Audience, 20))
                    .col(string_len_null(Changes::MunicipalityNumber, 4))
                    .col(uuid_null(Changes::TicketId))
                    .to_owned(),
            )
            .await?;
        // Pruning by age.
        manager
            .create_index(
                Index::create()
                    .name("idx_changes_occurred_at")
                    .table(Changes::Table)
                    .col(Changes::OccurredAt)
                    .to_owned(),
            )
            .await?;
        // A deletion reads the last entry of the resource it removes.
        manager
            .create_index(
                Index::create()
                    .name("idx_changes_resource")
                    .table(Changes::Table)
                    .col(Changes::ResourceType)
                    .col(Changes::ResourceId)
                    .col(Changes::Sequence)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [Changes::Table.into_iden(), ChangeCounter::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
