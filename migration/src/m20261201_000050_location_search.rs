//! Location search that reads only the page it returns: each location carries its county
//! (kept in step with its municipality) so a county list walks an index in name order, and
//! the opening rules are indexed by location and weekday for the "open at" check.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    MunicipalityNumber,
    CountyNumber,
    Name,
}

#[derive(DeriveIden)]
enum Municipalities {
    Table,
    Number,
    CountyNumber,
}

#[derive(DeriveIden)]
enum OpeningRules {
    Table,
    LocationId,
    Weekday,
    Opens,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Locations::Table)
                    .add_column(string_len(Locations::CountyNumber, 2).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(Locations::Table)
                    .value(
                        Locations::CountyNumber,
                        SimpleExpr::SubQuery(
                            None,
                            Box::new(
                                Query::select()
                                    .column((Municipalities::Table, Municipalities::CountyNumber))
                                    .from(Municipalities::Table)
                                    .and_where(
                                        Expr::col((Municipalities::Table, Municipalities::Number))
                                            .equals((
                                                Locations::Table,
                                                Locations::MunicipalityNumber,
                                            )),
                                    )
                                    .to_owned()
                                    .into_sub_query_statement(),
                            ),
                        ),
                    )
                    .to_owned(),
            )
            .await?;
        // A list in one county or municipality walks these in name order and stops after
        // the page; the status filter is checked on the rows it passes.
        for (name, first) in [
            ("idx_locations_county_name", Locations::CountyNumber),
            (
                "idx_locations_municipality_name",
                Locations::MunicipalityNumber,
            ),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Locations::Table)
                        .col(first)
                        .col(Locations::Name)
                        .col(Locations::Id)
                        .to_owned(),
                )
                .await?;
        }
        // With two statuses wanted this index gives two ranges that must be sorted again; the
        // name index gives the order directly, and most locations pass the status filter.
        manager
            .drop_index(
                Index::drop()
                    .name("idx_locations_status")
                    .table(Locations::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_opening_rules_location_weekday")
                    .table(OpeningRules::Table)
                    .col(OpeningRules::LocationId)
                    .col(OpeningRules::Weekday)
                    .col(OpeningRules::Opens)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_opening_rules_location_weekday")
                    .table(OpeningRules::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_locations_status")
                    .table(Locations::Table)
                    .col(Alias::new("status"))
                    .col(Locations::Name)
                    .col(Locations::Id)
                    .to_owned(),
            )
            .await?;
        for name in [
            "idx_locations_county_name",
            "idx_locations_municipality_name",
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Locations::Table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Locations::Table)
                    .drop_column(Locations::CountyNumber)
                    .to_owned(),
            )
            .await
    }
}
