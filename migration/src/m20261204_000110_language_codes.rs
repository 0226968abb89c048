//! Language codes of three letters (`smj`, `sma`, `fkv`, `nsl`, `rmu`, ...): the code columns
//! were made for two. SQLite does not hold strings to their declared length, so only
//! PostgreSQL's columns change.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LocationLanguages {
    Table,
    Code,
}

#[derive(DeriveIden)]
enum TopicResourceLanguages {
    Table,
    Code,
}

async fn code_length(manager: &SchemaManager<'_>, length: u32) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (table, column) in [
        (
            LocationLanguages::Table.into_iden(),
            LocationLanguages::Code.into_iden(),
        ),
        (
            TopicResourceLanguages::Table.into_iden(),
            TopicResourceLanguages::Code.into_iden(),
        ),
    ] {
        manager
            .alter_table(
                Table::alter()
                    .table(table)
                    .modify_column(ColumnDef::new(column).string_len(length).not_null())
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        code_length(manager, 3).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        code_length(manager, 2).await
    }
}
