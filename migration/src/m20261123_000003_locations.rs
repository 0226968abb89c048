//! Digihjelp locations, their languages, weekly opening rules and dated exceptions.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Locations {
    Table,
    Id,
    MunicipalityNumber,
    Name,
    SearchText,
    HostType,
    StreetAddress,
    PostalCode,
    PostalPlace,
    Latitude,
    Longitude,
    Phone,
    Email,
    Website,
    OffersDropIn,
    OffersAppointment,
    Accessibility,
    Description,
    Status,
    Alert,
    OpensOnHolidays,
    LastVerifiedAt,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LocationLanguages {
    Table,
    LocationId,
    Code,
}

#[derive(DeriveIden)]
enum OpeningRules {
    Table,
    Id,
    LocationId,
    Position,
    Weekday,
    Opens,
    Closes,
    ServiceMode,
    ValidFrom,
    ValidTo,
    Note,
}

#[derive(DeriveIden)]
enum OpeningExceptions {
    Table,
    Id,
    LocationId,
    Date,
    Closed,
    Hours,
    Note,
    CreatedAt,
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
                    .table(Locations::Table)
                    .col(uuid(Locations::Id).primary_key())
                    .col(string_len(Locations::MunicipalityNumber, 4))
                    .col(string_len(Locations::Name, 200))
                    .col(text(Locations::SearchText))
                    .col(string_len(Locations::HostType, 30))
                    .col(string_len(Locations::StreetAddress, 200))
                    .col(string_len(Locations::PostalCode, 4))
                    .col(string_len(Locations::PostalPlace, 100))
                    .col(double(Locations::Latitude))
                    .col(double(Locations::Longitude))
                    .col(string_len_null(Locations::Phone, 20))
                    .col(string_len_null(Locations::Email, 254))
                    .col(string_len_null(Locations::Website, 500))
                    .col(boolean(Locations::OffersDropIn))
                    .col(boolean(Locations::OffersAppointment))
                    .col(string_len(Locations::Accessibility, 500))
                    .col(text_null(Locations::Description))
                    .col(string_len(Locations::Status, 30))
                    .col(string_len_null(Locations::Alert, 500))
                    .col(boolean(Locations::OpensOnHolidays))
                    .col(timestamp_with_time_zone_null(Locations::LastVerifiedAt))
                    .col(integer(Locations::Version))
                    .col(timestamp_with_time_zone(Locations::CreatedAt))
                    .col(timestamp_with_time_zone(Locations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_locations_municipality")
                            .from(Locations::Table, Locations::MunicipalityNumber)
                            .to(Municipalities::Table, Municipalities::Number),
                    )
                    .to_owned(),
            )
            .await?;
        let indexes: [(&str, Vec<Locations>); 5] = [
            (
                "idx_locations_municipality",
                vec![Locations::MunicipalityNumber, Locations::Status],
            ),
            ("idx_locations_name", vec![Locations::Name, Locations::Id]),
            (
                "idx_locations_position",
                vec![Locations::Latitude, Locations::Longitude],
            ),
            (
                "idx_locations_updated",
                vec![Locations::UpdatedAt, Locations::Id],
            ),
            (
                "idx_locations_status",
                vec![Locations::Status, Locations::Name, Locations::Id],
            ),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(Locations::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(LocationLanguages::Table)
                    .col(uuid(LocationLanguages::LocationId))
                    .col(string_len(LocationLanguages::Code, 2))
                    .primary_key(
                        Index::create()
                            .col(LocationLanguages::LocationId)
                            .col(LocationLanguages::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_location_languages_location")
                            .from(LocationLanguages::Table, LocationLanguages::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_location_languages_code")
                    .table(LocationLanguages::Table)
                    .col(LocationLanguages::Code)
                    .col(LocationLanguages::LocationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OpeningRules::Table)
                    .col(uuid(OpeningRules::Id).primary_key())
                    .col(uuid(OpeningRules::LocationId))
                    .col(integer(OpeningRules::Position))
                    .col(small_integer(OpeningRules::Weekday))
                    .col(time(OpeningRules::Opens))
                    .col(time(OpeningRules::Closes))
                    .col(string_len(OpeningRules::ServiceMode, 20))
                    .col(date_null(OpeningRules::ValidFrom))
                    .col(date_null(OpeningRules::ValidTo))
                    .col(string_len_null(OpeningRules::Note, 200))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_opening_rules_location")
                            .from(OpeningRules::Table, OpeningRules::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_opening_rules_location")
                    .table(OpeningRules::Table)
                    .col(OpeningRules::LocationId)
                    .col(OpeningRules::Position)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_opening_rules_weekday")
                    .table(OpeningRules::Table)
                    .col(OpeningRules::Weekday)
                    .col(OpeningRules::Opens)
                    .col(OpeningRules::LocationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OpeningExceptions::Table)
                    .col(uuid(OpeningExceptions::Id).primary_key())
                    .col(uuid(OpeningExceptions::LocationId))
                    .col(date(OpeningExceptions::Date))
                    .col(boolean(OpeningExceptions::Closed))
                    .col(text(OpeningExceptions::Hours))
                    .col(string_len_null(OpeningExceptions::Note, 200))
                    .col(timestamp_with_time_zone(OpeningExceptions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_opening_exceptions_location")
                            .from(OpeningExceptions::Table, OpeningExceptions::LocationId)
                            .to(Locations::Table, Locations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_opening_exceptions_location_date")
                    .table(OpeningExceptions::Table)
                    .col(OpeningExceptions::LocationId)
                    .col(OpeningExceptions::Date)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_opening_exceptions_date")
                    .table(OpeningExceptions::Table)
                    .col(OpeningExceptions::Date)
                    .col(OpeningExceptions::LocationId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OpeningExceptions::Table.into_iden(),
            OpeningRules::Table.into_iden(),
            LocationLanguages::Table.into_iden(),
            Locations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
