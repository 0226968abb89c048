//! Database migrations. A landed migration is never edited: changes go into a new one.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_reference_data;
mod m20261123_000002_audit_and_idempotency;
mod m20261123_000003_locations;
mod m20261123_000010_meeting_places;
mod m20261123_000020_tickets;
mod m20261201_000030_topics;
mod m20261201_000040_grants;
mod m20261201_000050_location_search;
mod m20261203_000060_service_levels;
mod m20261203_000070_waitlist;
mod m20261204_000080_changes;
mod m20261204_000090_folded_search;
mod m20261204_000100_webhooks;
mod m20261204_000110_language_codes;
mod reference;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_reference_data::Migration),
            Box::new(m20261123_000002_audit_and_idempotency::Migration),
            Box::new(m20261123_000003_locations::Migration),
            Box::new(m20261123_000010_meeting_places::Migration),
            Box::new(m20261123_000020_tickets::Migration),
            Box::new(m20261201_000030_topics::Migration),
            Box::new(m20261201_000040_grants::Migration),
            Box::new(m20261201_000050_location_search::Migration),
            Box::new(m20261203_000060_service_levels::Migration),
            Box::new(m20261203_000070_waitlist::Migration),
            Box::new(m20261204_000080_changes::Migration),
            Box::new(m20261204_000090_folded_search::Migration),
            Box::new(m20261204_000100_webhooks::Migration),
            Box::new(m20261204_000110_language_codes::Migration),
        ]
    }
}
