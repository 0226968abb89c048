//! Webhook subscriptions and their deliveries.
//!
//! A subscription follows the change feed from `after_sequence`; the worker that holds its
//! lease (`lease_until`, `lease_token`, taken by a compare-and-set update, so one server
//! process works on a subscription at a time) turns new feed entries into deliveries and
//! sends them in order. Each try of a delivery is an attempt.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Webhooks {
    Table,
    Id,
    Url,
    Description,
    ResourceTypes,
    Actions,
    Secret,
    OwnerRole,
    OwnerSub,
    OwnerMunicipality,
    AfterSequence,
    Enabled,
    DisabledReason,
    FailingSince,
    LeaseUntil,
    LeaseToken,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    WebhookId,
    Sequence,
    Event,
    Payload,
    State,
    Attempts,
    NextAttemptAt,
    CreatedAt,
    DeliveredAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    WebhookId,
    AttemptedAt,
    StatusCode,
    Error,
    LatencyMs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Webhooks::Table)
                    .col(uuid(Webhooks::Id).primary_key())
                    .col(string_len(Webhooks::Url, 2000))
                    .col(string_len(Webhooks::Description, 500))
                    .col(string_len(Webhooks::ResourceTypes, 1000))
                    .col(string_len(Webhooks::Actions, 100))
                    .col(string_len(Webhooks::Secret, 100))
                    .col(string_len(Webhooks::OwnerRole, 20))
                    .col(string_len(Webhooks::OwnerSub, 255))
                    .col(string_len_null(Webhooks::OwnerMunicipality, 4))
                    .col(big_integer(Webhooks::AfterSequence))
                    .col(boolean(Webhooks::Enabled))
                    .col(string_len_null(Webhooks::DisabledReason, 500))
                    .col(timestamp_with_time_zone_null(Webhooks::FailingSince))
                    .col(timestamp_with_time_zone_null(Webhooks::LeaseUntil))
                    .col(uuid_null(Webhooks::LeaseToken))
                    .col(integer(Webhooks::Version))
                    .col(timestamp_with_time_zone(Webhooks::CreatedAt))
                    .col(timestamp_with_time_zone(Webhooks::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::Id).primary_key())
                    .col(uuid(WebhookDeliveries::WebhookId))
                    .col(big_integer_null(WebhookDeliveries::Sequence))
                    .col(string_len(WebhookDeliveries::Event, 10))
                    .col(text(WebhookDeliveries::Payload))
                    .col(string_len(WebhookDeliveries::State, 10))
                    .col(integer(WebhookDeliveries::Attempts))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookDeliveries::DeliveredAt,
                    ))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_deliveries_webhook")
                            .from(WebhookDeliveries::Table, WebhookDeliveries::WebhookId)
                            .to(Webhooks::Table, Webhooks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker reads a subscription's pending deliveries in order.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_queue")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::WebhookId)
                    .col(WebhookDeliveries::State)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .col(uuid(WebhookAttempts::Id).primary_key())
                    .col(uuid(WebhookAttempts::DeliveryId))
                    .col(uuid(WebhookAttempts::WebhookId))
                    .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(string_len_null(WebhookAttempts::Error, 500))
                    .col(integer(WebhookAttempts::LatencyMs))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_attempts_delivery")
                            .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                            .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempts_webhook")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::WebhookId)
                    .col(WebhookAttempts::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            Webhooks::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
