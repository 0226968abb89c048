//! Waiting lists for meeting places: a registration is `confirmed` (its participants are in
//! the meeting place's `reserved`) or `waitlisted` (they are not), waitlisted ones carry the
//! number they joined the list at, and every change of a meeting place's registrations is
//! an event numbered per meeting place, so their order is the order the writes committed in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MeetingPlaces {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum MeetingPlaceRegistrations {
    Table,
    MeetingPlaceId,
    Status,
    QueueNumber,
}

#[derive(DeriveIden)]
enum MeetingPlaceRegistrationEvents {
    Table,
    Id,
    MeetingPlaceId,
    Sequence,
    RegistrationId,
    MunicipalityNumber,
    Kind,
    Status,
    Participants,
    ActorSub,
    ActorRole,
    OccurredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement. Registrations made before the waiting
        // list were all confirmed.
        manager
            .alter_table(
                Table::alter()
                    .table(MeetingPlaceRegistrations::Table)
                    .add_column(
                        string_len(MeetingPlaceRegistrations::Status, 20).default("confirmed"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(MeetingPlaceRegistrations::Table)
                    .add_column(integer_null(MeetingPlaceRegistrations::QueueNumber))
                    .to_owned(),
            )
            .await?;
        // The waiting list of a meeting place, in the order its registrations joined.
        manager
            .create_index(
                Index::create()
                    .name("idx_meeting_place_registrations_queue")
                    .table(MeetingPlaceRegistrations::Table)
                    .col(MeetingPlaceRegistrations::MeetingPlaceId)
                    .col(MeetingPlaceRegistrations::Status)
                    .col(MeetingPlaceRegistrations::QueueNumber)
                    .to_owned(),
            )
            .await?;

        // Kept when a registration is cancelled (its row is deleted), so that the meeting
        // place's events stay complete.
        manager
            .create_table(
                Table::create()
                    .table(MeetingPlaceRegistrationEvents::Table)
                    .col(uuid(MeetingPlaceRegistrationEvents::Id).primary_key())
                    .col(uuid(MeetingPlaceRegistrationEvents::MeetingPlaceId))
                    .col(integer(MeetingPlaceRegistrationEvents::Sequence))
                    .col(uuid(MeetingPlaceRegistrationEvents::RegistrationId))
                    .col(string_len(
                        MeetingPlaceRegistrationEvents::MunicipalityNumber,
                        4,
                    ))
                    .col(string_len(MeetingPlaceRegistrationEvents::Kind, 20))
                    .col(string_len(MeetingPlaceRegistrationEvents::Status, 20))
                    .col(integer(MeetingPlaceRegistrationEvents::Participants))
                    .col(string_len(MeetingPlaceRegistrationEvents::ActorSub, 255))
                    .col(string_len(MeetingPlaceRegistrationEvents::ActorRole, 20))
                    .col(timestamp_with_time_zone(
                        MeetingPlaceRegistrationEvents::OccurredAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_meeting_place_registration_events_meeting_place")
                            .from(
                                MeetingPlaceRegistrationEvents::Table,
                                MeetingPlaceRegistrationEvents::MeetingPlaceId,
                            )
                            .to(MeetingPlaces::Table, MeetingPlaces::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // Two writers that numbered an event alike cannot both commit.
        manager
            .create_index(
                Index::create()
                    .name("uq_meeting_place_registration_events_sequence")
                    .table(MeetingPlaceRegistrationEvents::Table)
                    .col(MeetingPlaceRegistrationEvents::MeetingPlaceId)
                    .col(MeetingPlaceRegistrationEvents::Sequence)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_meeting_place_registration_events_registration")
                    .table(MeetingPlaceRegistrationEvents::Table)
                    .col(MeetingPlaceRegistrationEvents::RegistrationId)
                    .col(MeetingPlaceRegistrationEvents::Sequence)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(MeetingPlaceRegistrationEvents::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_meeting_place_registrations_queue")
                    .table(MeetingPlaceRegistrations::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            MeetingPlaceRegistrations::QueueNumber,
            MeetingPlaceRegistrations::Status,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(MeetingPlaceRegistrations::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
