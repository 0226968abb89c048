//! Search that finds what people type without Norwegian and Sámi letters (`tromso` finds
//! Tromsø): each searched table keeps its lower-case text folded beside it, filled here for
//! the rows already stored. On PostgreSQL both texts of locations and tickets get trigram
//! indexes, which a `LIKE '%…%'` uses; municipalities and topics are a few hundred rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The folding as of this migration (the application's is `common::text::FOLDED_LETTERS`).
const FOLDED: &[(&str, &str)] = &[
    ("ø", "o"),
    ("æ", "ae"),
    ("å", "aa"),
    ("á", "a"),
    ("à", "a"),
    ("â", "a"),
    ("ä", "a"),
    ("č", "c"),
    ("ç", "c"),
    ("đ", "d"),
    ("é", "e"),
    ("è", "e"),
    ("ê", "e"),
    ("ë", "e"),
    ("í", "i"),
    ("ï", "i"),
    ("ŋ", "n"),
    ("ñ", "n"),
    ("ó", "o"),
    ("ò", "o"),
    ("ô", "o"),
    ("ö", "o"),
    ("š", "s"),
    ("ŧ", "t"),
    ("ú", "u"),
    ("ü", "u"),
    ("ž", "z"),
    ("ʒ", "z"),
];

/// `(table, lower-case column, folded column)`: the source columns are lower case already.
const TABLES: &[(&str, &str, &str)] = &[
    ("locations", "search_text", "search_ascii"),
    ("topics", "search_text", "search_ascii"),
    ("tickets", "search_folded", "search_ascii"),
    ("municipalities", "name_folded", "name_ascii"),
];

/// The trigram indexes on PostgreSQL: `(index, table, column)`.
const TRIGRAM_INDEXES: &[(&str, &str, &str)] = &[
    (
        "idx_locations_search_ascii_trgm",
        "locations",
        "search_ascii",
    ),
    ("idx_locations_search_text_trgm", "locations", "search_text"),
    ("idx_tickets_search_ascii_trgm", "tickets", "search_ascii"),
    ("idx_tickets_search_folded_trgm", "tickets", "search_folded"),
];

fn folded(column: &str) -> String {
    FOLDED
        .iter()
        .fold(column.to_string(), |sql, (letter, plain)| {
            format!("REPLACE({sql}, '{letter}', '{plain}')")
        })
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, lower, ascii) in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(*table))
                        .add_column(
                            ColumnDef::new(Alias::new(*ascii))
                                .text()
                                .not_null()
                                .default(""),
                        )
                        .to_owned(),
                )
                .await?;
            db.execute_unprepared(&format!("UPDATE {table} SET {ascii} = {}", folded(lower)))
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .await?;
            for (index, table, column) in TRIGRAM_INDEXES {
                db.execute_unprepared(&format!(
                    "CREATE INDEX {index} ON {table} USING gin ({column} gin_trgm_ops)"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            for (index, _, _) in TRIGRAM_INDEXES {
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS {index}"))
                    .await?;
            }
        }
        for (table, _, ascii) in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(*table))
                        .drop_column(Alias::new(*ascii))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
