//! Service levels of the kontaktpunkt: its business calendar and targets (one row each,
//! holding the defaults until KS changes them), and on every ticket the two clocks that
//! count business time towards them. Tickets created before this migration have no clocks
//! (`first_response_counted_micros` is null): the API replays them from their history
//! when it first reads or writes them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KontaktpunktCalendar {
    Table,
    Id,
    WeeklyHours,
    OpenOnPublicHolidays,
    DatedHours,
    Version,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum KontaktpunktServiceLevels {
    Table,
    Id,
    LowFirstResponseMinutes,
    LowResolutionMinutes,
    NormalFirstResponseMinutes,
    NormalResolutionMinutes,
    HighFirstResponseMinutes,
    HighResolutionMinutes,
    Version,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    FirstResponseCountedMicros,
    FirstResponseClockSince,
    FirstResponseDueAt,
    FirstResponseDueSoonAt,
    FirstResponseMet,
    ResolutionCountedMicros,
    ResolutionClockSince,
    ResolutionDueAt,
    ResolutionDueSoonAt,
    ResolutionMet,
    SlaNextDueAt,
}

/// Monday to Friday 08:00–15:30, in the form the API stores.
const STANDARD_WEEK: &str = concat!(
    r#"[{"weekday":"monday","opens":"08:00","closes":"15:30"},"#,
    r#"{"weekday":"tuesday","opens":"08:00","closes":"15:30"},"#,
    r#"{"weekday":"wednesday","opens":"08:00","closes":"15:30"},"#,
    r#"{"weekday":"thursday","opens":"08:00","closes":"15:30"},"#,
    r#"{"weekday":"friday","opens":"08:00","closes":"15:30"}]"#
);

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use KontaktpunktCalendar as Cal;
        use KontaktpunktServiceLevels as Sl;
        manager
            .create_table(
                Table::create()
                    .table(Cal::Table)
                    .col(integer(Cal::Id).primary_key())
                    .col(text(Cal::WeeklyHours))
                    .col(boolean(Cal::OpenOnPublicHolidays))
                    .col(text(Cal::DatedHours))
                    .col(integer(Cal::Version))
                    .col(timestamp_with_time_zone_null(Cal::UpdatedAt))
                    .col(string_len_null(Cal::UpdatedBy, 255))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Cal::Table)
                    .columns([
                        Cal::Id,
                        Cal::WeeklyHours,
                        Cal::OpenOnPublicHolidays,
                        Cal::DatedHours,
                        Cal::Version,
                    ])
                    .values_panic([
                        1.into(),
                        STANDARD_WEEK.into(),
                        false.into(),
                        "[]".into(),
                        1.into(),
                    ])
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sl::Table)
                    .col(integer(Sl::Id).primary_key())
                    .col(integer(Sl::LowFirstResponseMinutes))
                    .col(integer(Sl::LowResolutionMinutes))
                    .col(integer(Sl::NormalFirstResponseMinutes))
                    .col(integer(Sl::NormalResolutionMinutes))
                    .col(integer(Sl::HighFirstResponseMinutes))
                    .col(integer(Sl::HighResolutionMinutes))
                    .col(integer(Sl::Version))
                    .col(timestamp_with_time_zone_null(Sl::UpdatedAt))
                    .col(string_len_null(Sl::UpdatedBy, 255))
                    .to_owned(),
            )
            .await?;
        // The default targets: high priority answered within two business hours and
        // resolved within two business days, normal within a day and a week, low within
        // two days and two weeks (a business day is 450 minutes).
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(Sl::Table)
                    .columns([
                        Sl::Id,
                        Sl::LowFirstResponseMinutes,
                        Sl::LowResolutionMinutes,
                        Sl::NormalFirstResponseMinutes,
                        Sl::NormalResolutionMinutes,
                        Sl::HighFirstResponseMinutes,
                        Sl::HighResolutionMinutes,
                        Sl::Version,
                    ])
                    .values_panic([
                        1.into(),
                        900.into(),
                        4500.into(),
                        450.into(),
                        2250.into(),
                        120.into(),
                        900.into(),
                        1.into(),
                    ])
                    .to_owned(),
            )
            .await?;

        // SQLite alters one column per statement.
        let columns = [
            big_integer_null(Tickets::FirstResponseCountedMicros),
            timestamp_with_time_zone_null(Tickets::FirstResponseClockSince),
            timestamp_with_time_zone_null(Tickets::FirstResponseDueAt),
            timestamp_with_time_zone_null(Tickets::FirstResponseDueSoonAt),
            boolean_null(Tickets::FirstResponseMet),
            big_integer_null(Tickets::ResolutionCountedMicros),
            timestamp_with_time_zone_null(Tickets::ResolutionClockSince),
            timestamp_with_time_zone_null(Tickets::ResolutionDueAt),
            timestamp_with_time_zone_null(Tickets::ResolutionDueSoonAt),
            boolean_null(Tickets::ResolutionMet),
            timestamp_with_time_zone_null(Tickets::SlaNextDueAt),
        ];
        for column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // A list sorted by the next due time walks this index.
        manager
            .create_index(
                Index::create()
                    .name("idx_tickets_sla_next_due_at")
                    .table(Tickets::Table)
                    .col(Tickets::SlaNextDueAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_tickets_sla_next_due_at")
                    .table(Tickets::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Tickets::FirstResponseCountedMicros,
            Tickets::FirstResponseClockSince,
            Tickets::FirstResponseDueAt,
            Tickets::FirstResponseDueSoonAt,
            Tickets::FirstResponseMet,
            Tickets::ResolutionCountedMicros,
            Tickets::ResolutionClockSince,
            Tickets::ResolutionDueAt,
            Tickets::ResolutionDueSoonAt,
            Tickets::ResolutionMet,
            Tickets::SlaNextDueAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tickets::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(
                Table::drop()
                    .table(KontaktpunktServiceLevels::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(KontaktpunktCalendar::Table).to_owned())
            .await
    }
}
