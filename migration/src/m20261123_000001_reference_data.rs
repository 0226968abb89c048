//! Counties and municipalities, loaded with the official lists of 2024.

use sea_orm_migration::{prelude::*, schema::*};

use crate::reference;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Counties {
    Table,
    Number,
    Name,
    OfficialName,
}

#[derive(DeriveIden)]
enum Municipalities {
    Table,
    Number,
    Name,
    NameFolded,
    CountyNumber,
    OrganizationNumber,
    Latitude,
    Longitude,
    Website,
    DigihjelpEmail,
    DigihjelpPhone,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Counties::Table)
                    .col(string_len(Counties::Number, 2).primary_key())
                    .col(string_len(Counties::Name, 100))
                    .col(string_len(Counties::OfficialName, 200))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Municipalities::Table)
                    .col(string_len(Municipalities::Number, 4).primary_key())
                    .col(string_len(Municipalities::Name, 100))
                    .col(string_len(Municipalities::NameFolded, 100))
                    .col(string_len(Municipalities::CountyNumber, 2))
                    .col(string_len_null(Municipalities::OrganizationNumber, 9))
                    .col(double_null(Municipalities::Latitude))
                    .col(double_null(Municipalities::Longitude))
                    .col(string_len_null(Municipalities::Website, 500))
                    .col(string_len_null(Municipalities::DigihjelpEmail, 254))
                    .col(string_len_null(Municipalities::DigihjelpPhone, 20))
                    .col(integer(Municipalities::Version))
                    .col(timestamp_with_time_zone(Municipalities::CreatedAt))
                    .col(timestamp_with_time_zone(Municipalities::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_municipalities_county")
                            .from(Municipalities::Table, Municipalities::CountyNumber)
                            .to(Counties::Table, Counties::Number),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_municipalities_county")
                    .table(Municipalities::Table)
                    .col(Municipalities::CountyNumber)
                    .col(Municipalities::Number)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_municipalities_organization_number")
                    .table(Municipalities::Table)
                    .col(Municipalities::OrganizationNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;

        load_reference_data(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Municipalities::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Counties::Table).to_owned())
            .await
    }
}

async fn load_reference_data(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let invalid = |e: csv::Error| DbErr::Custom(format!("reference data: {e}"));

    let mut counties = Query::insert()
        .into_table(Counties::Table)
        .columns([Counties::Number, Counties::Name, Counties::OfficialName])
        .to_owned();
    for county in reference::counties().map_err(invalid)? {
        counties.values_panic([
            county.fylkesnummer.into(),
            county.fylkesnavn.into(),
            county.fylkesnavn_official.into(),
        ]);
    }
    manager.exec_stmt(counties).await?;

    // A fixed instant keeps the reference rows identical on every database.
    let loaded_at = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
        .expect("a valid instant")
        .to_utc();

    let mut municipalities = Query::insert()
        .into_table(Municipalities::Table)
        .columns([
            Municipalities::Number,
            Municipalities::Name,
            Municipalities::NameFolded,
            Municipalities::CountyNumber,
            Municipalities::OrganizationNumber,
            Municipalities::Latitude,
            Municipalities::Longitude,
            Municipalities::Version,
            Municipalities::CreatedAt,
            Municipalities::UpdatedAt,
        ])
        .to_owned();
    for m in reference::municipalities().map_err(invalid)? {
        let organization_number = Some(m.organisasjonsnummer).filter(|n| !n.is_empty());
        municipalities.values_panic([
            m.kommunenummer.into(),
            m.name.clone().into(),
            m.name.to_lowercase().into(),
            m.fylkesnummer.into(),
            organization_number.into(),
            m.lat.into(),
            m.lon.into(),
            1.into(),
            loaded_at.into(),
            loaded_at.into(),
        ]);
    }
    manager.exec_stmt(municipalities).await
}
