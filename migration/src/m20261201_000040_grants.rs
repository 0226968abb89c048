//! Grant schemes of the ministry and the municipalities' applications.
//!
//! `granted_nok` on a scheme is the sum of its approved applications' grants. Every approval
//! moves it with one conditional `UPDATE ... WHERE granted_nok + x <= budget_nok` in the
//! decision's transaction, and a check constraint backs it, so approvals never exceed the
//! budget however many decisions arrive at once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum GrantSchemes {
    Table,
    Id,
    Year,
    Title,
    Description,
    BudgetNok,
    GrantedNok,
    OpensAt,
    Deadline,
    Status,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum GrantApplications {
    Table,
    Id,
    SchemeId,
    MunicipalityNumber,
    AmountNok,
    Plan,
    HasExistingOffer,
    ContactName,
    ContactEmail,
    Status,
    GrantedNok,
    Reasoning,
    DecidedAt,
    DecidedBy,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Municipalities {
    Table,
    Number,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(GrantSchemes::Table)
                    .col(uuid(GrantSchemes::Id).primary_key())
                    .col(integer(GrantSchemes::Year))
                    .col(string_len(GrantSchemes::Title, 200))
                    .col(text(GrantSchemes::Description))
                    .col(big_integer(GrantSchemes::BudgetNok))
                    .col(big_integer(GrantSchemes::GrantedNok))
                    .col(timestamp_with_time_zone(GrantSchemes::OpensAt))
                    .col(timestamp_with_time_zone(GrantSchemes::Deadline))
                    .col(string_len(GrantSchemes::Status, 20))
                    .col(integer(GrantSchemes::Version))
                    .col(timestamp_with_time_zone(GrantSchemes::CreatedAt))
                    .col(timestamp_with_time_zone(GrantSchemes::UpdatedAt))
                    .check((
                        Alias::new("ck_grant_schemes_budget"),
                        Expr::col(GrantSchemes::BudgetNok).gt(0),
                    ))
                    .check((
                        Alias::new("ck_grant_schemes_granted"),
                        Expr::col(GrantSchemes::GrantedNok).gte(0).and(
                            Expr::col(GrantSchemes::GrantedNok)
                                .lte(Expr::col(GrantSchemes::BudgetNok)),
                        ),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_grant_schemes_year")
                    .table(GrantSchemes::Table)
                    .col(GrantSchemes::Year)
                    .col(GrantSchemes::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(GrantApplications::Table)
                    .col(uuid(GrantApplications::Id).primary_key())
                    .col(uuid(GrantApplications::SchemeId))
                    .col(string_len(GrantApplications::MunicipalityNumber, 4))
                    .col(big_integer(GrantApplications::AmountNok))
                    .col(text(GrantApplications::Plan))
                    .col(boolean(GrantApplications::HasExistingOffer))
                    .col(string_len(GrantApplications::ContactName, 200))
                    .col(string_len(GrantApplications::ContactEmail, 254))
                    .col(string_len(GrantApplications::Status, 20))
                    .col(big_integer_null(GrantApplications::GrantedNok))
                    .col(text_null(GrantApplications::Reasoning))
                    .col(timestamp_with_time_zone_null(GrantApplications::DecidedAt))
                    .col(string_len_null(GrantApplications::DecidedBy, 255))
                    .col(integer(GrantApplications::Version))
                    .col(timestamp_with_time_zone(GrantApplications::CreatedAt))
                    .col(timestamp_with_time_zone(GrantApplications::UpdatedAt))
                    .check((
                        Alias::new("ck_grant_applications_amount"),
                        Expr::col(GrantApplications::AmountNok).gt(0),
                    ))
                    .check((
                        Alias::new("ck_grant_applications_granted"),
                        Expr::col(GrantApplications::GrantedNok)
                            .is_null()
                            .or(Expr::col(GrantApplications::GrantedNok).gt(0).and(
                                Expr::col(GrantApplications::GrantedNok)
                                    .lte(Expr::col(GrantApplications::AmountNok)),
                            )),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_grant_applications_scheme")
                            .from(GrantApplications::Table, GrantApplications::SchemeId)
                            .to(GrantSchemes::Table, GrantSchemes::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_grant_applications_municipality")
                            .from(
                                GrantApplications::Table,
                                GrantApplications::MunicipalityNumber,
                            )
                            .to(Municipalities::Table, Municipalities::Number),
                    )
                    .to_owned(),
            )
            .await?;
        // One application per municipality per scheme, withdrawn ones included.
        manager
            .create_index(
                Index::create()
                    .name("uq_grant_applications_municipality")
                    .table(GrantApplications::Table)
                    .col(GrantApplications::SchemeId)
                    .col(GrantApplications::MunicipalityNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Coverage statistics look up approvals by municipality.
        manager
            .create_index(
                Index::create()
                    .name("idx_grant_applications_municipality_status")
                    .table(GrantApplications::Table)
                    .col(GrantApplications::MunicipalityNumber)
                    .col(GrantApplications::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            GrantApplications::Table.into_iden(),
            GrantSchemes::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
