//! What every request shares: the database pool, the token verifier, the metrics and
//! whether the server is stopping. Nothing here is needed by another replica: the API is
//! stateless.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::auth::Verifier;
use crate::http::metrics::Metrics;
use crate::webhooks::target::TargetPolicy;
use crate::webhooks::worker::WebhookMetrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub verifier: Arc<Verifier>,
    pub metrics: Arc<Metrics>,
    /// Where webhooks may send (`DIGIHJELPEN_WEBHOOK_ALLOW_PRIVATE`).
    pub webhook_targets: TargetPolicy,
    pub webhook_metrics: WebhookMetrics,
    stopping: Arc<AtomicBool>,
}

impl AppState {
    pub fn new(db: Db, verifier: Verifier) -> Self {
        let metrics = Metrics::new();
        for collector in verifier.collectors() {
            metrics.register(collector);
        }
        let webhook_metrics = WebhookMetrics::new();
        for collector in webhook_metrics.collectors() {
            metrics.register(collector);
        }
        Self {
            db,
            verifier: Arc::new(verifier),
            metrics: Arc::new(metrics),
            webhook_targets: TargetPolicy::default(),
            webhook_metrics,
            stopping: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The same, with webhook targets on private networks allowed or not.
    pub fn with_webhook_targets(mut self, targets: TargetPolicy) -> Self {
        self.webhook_targets = targets;
        self
    }

    /// From now on `/health/ready` answers 503: the server is stopping.
    pub fn begin_stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

#[derive(Clone, Debug)]
pub struct Db(DatabaseConnection);

impl Db {
    /// Connects with a pool sized for the 2-core machines this runs on: SQLite in WAL mode
    /// with 8 connections, PostgreSQL with 16.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        let sqlite = url.starts_with("sqlite:");
        Self::connect_with(url, if sqlite { 8 } else { 16 }).await
    }

    pub async fn connect_with(url: &str, max_connections: u32) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url);
        options
            .max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(3))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
            });
        Database::connect(options).await.map(Self)
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.0
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue instead of failing with `SQLITE_BUSY` when
    /// one upgrades from reading to writing.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, DbErr> {
        self.0
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
    }

    /// Closes the pool: the connections in it are ended, and nothing more can be asked.
    pub async fn close(&self) {
        if let Err(err) = self.0.close_by_ref().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
    }

    /// Starts a transaction that only reads, and reads one snapshot throughout: a view
    /// built from several queries (a registration, its position and its history) then
    /// agrees with itself while writers commit. PostgreSQL: `REPEATABLE READ, READ ONLY`;
    /// SQLite's deferred transaction keeps the snapshot of its first read (WAL).
    pub async fn begin_read(&self) -> Result<DatabaseTransaction, DbErr> {
        let postgres = self.0.get_database_backend() == DbBackend::Postgres;
        self.0
            .begin_with_options(TransactionOptions {
                isolation_level: postgres.then_some(IsolationLevel::RepeatableRead),
                access_mode: postgres.then_some(AccessMode::ReadOnly),
                ..Default::default()
            })
            .await
    }

    /// Whether the database answers a trivial query.
    pub async fn is_ready(&self) -> bool {
        self.0.execute_unprepared("SELECT 1").await.is_ok()
    }
}
