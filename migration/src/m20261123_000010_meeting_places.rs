//! Regional meeting places, the counties each serves, and the municipalities' registrations.
//!
//! `reserved` holds the sum of the participants of a meeting place's registrations; a check
//! constraint keeps it within `capacity`, so no interleaving of requests can overbook.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MeetingPlaces {
    Table,
    Id,
    Title,
    Description,
    Organisers,
    Format,
    VenueAddress,
    OnlineUrl,
    StartsAt,
    EndsAt,
    Capacity,
    Reserved,
    RegistrationDeadline,
    Status,
    CancellationReason,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MeetingPlaceCounties {
    Table,
    MeetingPlaceId,
    CountyNumber,
}

#[derive(DeriveIden)]
enum MeetingPlaceRegistrations {
    Table,
    Id,
    MeetingPlaceId,
    MunicipalityNumber,
    Participants,
    ContactName,
    ContactEmail,
    WillShareExperience,
    SharingTopic,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Counties {
    Table,
    Number,
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
                    .table(MeetingPlaces::Table)
                    .col(uuid(MeetingPlaces::Id).primary_key())
                    .col(string_len(MeetingPlaces::Title, 200))
                    .col(text(MeetingPlaces::Description))
                    .col(string_len(MeetingPlaces::Organisers, 100))
                    .col(string_len(MeetingPlaces::Format, 20))
                    .col(string_len_null(MeetingPlaces::VenueAddress, 300))
                    .col(string_len_null(MeetingPlaces::OnlineUrl, 500))
                    .col(timestamp_with_time_zone(MeetingPlaces::StartsAt))
                    .col(timestamp_with_time_zone(MeetingPlaces::EndsAt))
                    .col(integer(MeetingPlaces::Capacity))
                    .col(integer(MeetingPlaces::Reserved))
                    .col(timestamp_with_time_zone(
                        MeetingPlaces::RegistrationDeadline,
                    ))
                    .col(string_len(MeetingPlaces::Status, 20))
                    .col(text_null(MeetingPlaces::CancellationReason))
                    .col(integer(MeetingPlaces::Version))
                    .col(timestamp_with_time_zone(MeetingPlaces::CreatedAt))
                    .col(timestamp_with_time_zone(MeetingPlaces::UpdatedAt))
                    .check((
                        Alias::new("ck_meeting_places_capacity"),
                        Expr::col(MeetingPlaces::Capacity).gt(0),
                    ))
                    .check((
                        Alias::new("ck_meeting_places_reserved"),
                        Expr::col(MeetingPlaces::Reserved).gte(0).and(
                            Expr::col(MeetingPlaces::Reserved)
                                .lte(Expr::col(MeetingPlaces::Capacity)),
                        ),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_meeting_places_starts_at")
                    .table(MeetingPlaces::Table)
                    .col(MeetingPlaces::StartsAt)
                    .col(MeetingPlaces::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MeetingPlaceCounties::Table)
                    .col(uuid(MeetingPlaceCounties::MeetingPlaceId))
                    .col(string_len(MeetingPlaceCounties::CountyNumber, 2))
                    .primary_key(
                        Index::create()
                            .col(MeetingPlaceCounties::MeetingPlaceId)
                            .col(MeetingPlaceCounties::CountyNumber),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_meeting_place_counties_meeting_place")
                            .from(
                                MeetingPlaceCounties::Table,
                                MeetingPlaceCounties::MeetingPlaceId,
                            )
                            .to(MeetingPlaces::Table, MeetingPlaces::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_meeting_place_counties_county")
                            .from(
                                MeetingPlaceCounties::Table,
                                MeetingPlaceCounties::CountyNumber,
                            )
                            .to(Counties::Table, Counties::Number),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_meeting_place_counties_county")
                    .table(MeetingPlaceCounties::Table)
                    .col(MeetingPlaceCounties::CountyNumber)
                    .col(MeetingPlaceCounties::MeetingPlaceId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MeetingPlaceRegistrations::Table)
                    .col(uuid(MeetingPlaceRegistrations::Id).primary_key())
                    .col(uuid(MeetingPlaceRegistrations::MeetingPlaceId))
                    .col(string_len(MeetingPlaceRegistrations::MunicipalityNumber, 4))
                    .col(integer(MeetingPlaceRegistrations::Participants))
                    .col(string_len(MeetingPlaceRegistrations::ContactName, 200))
                    .col(string_len(MeetingPlaceRegistrations::ContactEmail, 254))
                    .col(boolean(MeetingPlaceRegistrations::WillShareExperience))
                    .col(string_len_null(
                        MeetingPlaceRegistrations::SharingTopic,
                        300,
                    ))
                    .col(integer(MeetingPlaceRegistrations::Version))
                    .col(timestamp_with_time_zone(
                        MeetingPlaceRegistrations::CreatedAt,
                    ))
                    .col(timestamp_with_time_zone(
                        MeetingPlaceRegistrations::UpdatedAt,
                    ))
                    .check((
                        Alias::new("ck_meeting_place_registrations_participants"),
                        Expr::col(MeetingPlaceRegistrations::Participants).gt(0),
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_meeting_place_registrations_meeting_place")
                            .from(
                                MeetingPlaceRegistrations::Table,
                                MeetingPlaceRegistrations::MeetingPlaceId,
                            )
                            .to(MeetingPlaces::Table, MeetingPlaces::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_meeting_place_registrations_municipality")
                            .from(
                                MeetingPlaceRegistrations::Table,
                                MeetingPlaceRegistrations::MunicipalityNumber,
                            )
                            .to(Municipalities::Table, Municipalities::Number),
                    )
                    .to_owned(),
            )
            .await?;
        // One registration per municipality per meeting place.
        manager
            .create_index(
                Index::create()
                    .name("uq_meeting_place_registrations_municipality")
                    .table(MeetingPlaceRegistrations::Table)
                    .col(MeetingPlaceRegistrations::MeetingPlaceId)
                    .col(MeetingPlaceRegistrations::MunicipalityNumber)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            MeetingPlaceRegistrations::Table.into_iden(),
            MeetingPlaceCounties::Table.into_iden(),
            MeetingPlaces::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
