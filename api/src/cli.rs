//! The `digihjelpen` command line: `serve` (the default), `migrate`, `openapi` and `token`.

use std::process::ExitCode;
use std::time::Duration;

use crate::app::{app_with, spec};
use crate::auth::{Role, TokenRequest, Verifier, mint};
use crate::config::{Config, ConfigError, JwtKey, KeySource};
use crate::http::server::Server;
use crate::logging::init_logging;
use crate::state::{AppState, Db};
use crate::webhooks::target::TargetPolicy;
use crate::webhooks::worker::{Worker, WorkerSettings};
use clap::{Parser, Subcommand, ValueEnum};
use migration::{Migrator, MigratorTrait};

#[derive(Debug, Parser)]
#[command(name = "digihjelpen", version, about = "The Digihjelpen API server")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve the API (the default).
    Serve,
    /// Migrate the database (and load reference data), then exit.
    Migrate,
    /// Print the OpenAPI document to stdout.
    Openapi,
    /// Mint a development token with the configured HS256 secret and print it.
    Token(TokenArgs),
}

#[derive(Debug, clap::Args)]
struct TokenArgs {
    #[arg(long, value_enum)]
    role: RoleArg,
    /// The municipality number, for the municipality role (e.g. 0301).
    #[arg(long)]
    municipality: Option<String>,
    /// Who the token is for.
    #[arg(long)]
    sub: String,
    /// A display name.
    #[arg(long)]
    name: Option<String>,
    /// How long the token is valid, e.g. 30m, 8h, 7d.
    #[arg(long, default_value = "8h", value_parser = humantime::parse_duration)]
    ttl: Duration,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Ks,
    Kmd,
    Municipality,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Ks => Role::Ks,
            RoleArg::Kmd => Role::Kmd,
            RoleArg::Municipality => Role::Municipality,
        }
    }
}

/// Exit status for configuration that cannot be used.
const BAD_CONFIGURATION: u8 = 2;

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            print!("{}", spec());
            ExitCode::SUCCESS
        }
        Command::Token(args) => with_config(|config| token(&config, args)),
        Command::Migrate => match Config::from_env() {
            Ok(config) => finish(migrate(&config).await.map(|_| {
                println!("database migrated: {}", redact(&config.database_url));
            })),
            Err(err) => config_failure(&err),
        },
        Command::Serve => match Config::from_env() {
            Ok(config) => finish(serve(config).await),
            Err(err) => config_failure(&err),
        },
    }
}

fn with_config(f: impl FnOnce(Config) -> Result<(), ConfigError>) -> ExitCode {
    finish(Config::from_env().and_then(f))
}

fn finish(result: Result<(), ConfigError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => config_failure(&err),
    }
}

fn config_failure(err: &ConfigError) -> ExitCode {
    eprintln!("digihjelpen: configuration error: {err}");
    ExitCode::from(BAD_CONFIGURATION)
}

fn token(config: &Config, args: TokenArgs) -> Result<(), ConfigError> {
    let role = Role::from(args.role);
    let fail = |message: &str| ConfigError {
        variable: "token",
        message: message.to_string(),
    };
    match (role, &args.municipality) {
        (Role::Municipality, None) => {
            return Err(fail("--municipality is needed for the municipality role"));
        }
        (Role::Ks | Role::Kmd, Some(_)) => {
            return Err(fail("--municipality belongs to the municipality role only"));
        }
        _ => {}
    }
    let token = mint(
        &config.jwt,
        &TokenRequest {
            sub: &args.sub,
            role,
            municipality: args.municipality.as_deref(),
            name: args.name.as_deref(),
            ttl: args.ttl,
        },
    )
    .map_err(|e| fail(&e))?;
    println!("{token}");
    Ok(())
}

async fn migrate(config: &Config) -> Result<Db, ConfigError> {
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| ConfigError {
            variable: "DATABASE_URL",
            message: format!("cannot connect to {}: {e}", redact(&config.database_url)),
        })?;
    Migrator::up(db.conn(), None)
        .await
        .map_err(|e| ConfigError {
            variable: "DATABASE_URL",
            message: format!("cannot migrate {}: {e}", redact(&config.database_url)),
        })?;
    Ok(db)
}

/// Tickets created before service levels were kept get their clocks before the server
/// answers, so that lists and statistics find them.
async fn count_missing_clocks(db: &Db) -> Result<(), ConfigError> {
    let failed = |e: String| ConfigError {
        variable: "DATABASE_URL",
        message: format!("cannot count the service-level clocks of older tickets: {e}"),
    };
    let tx = db.begin_write().await.map_err(|e| failed(e.to_string()))?;
    let stored = crate::tickets::store::store_missing_clocks(&tx)
        .await
        .map_err(|e| failed(e.to_string()))?;
    tx.commit().await.map_err(|e| failed(e.to_string()))?;
    if stored > 0 {
        tracing::info!(
            tickets = stored,
            "service-level clocks counted for older tickets"
        );
    }
    Ok(())
}

async fn serve(config: Config) -> Result<(), ConfigError> {
    init_logging(config.log_format);
    if Config::uses_development_secret(|name| std::env::var(name).ok()) {
        tracing::warn!(
            "DIGIHJELPEN_JWT_SECRET is not set: using a development secret kept beside the database; \
             set it (or DIGIHJELPEN_JWT_PUBLIC_KEY, DIGIHJELPEN_OIDC_ISSUER) in production"
        );
    }
    // Identity providers first: one that cannot be read stops start-up before anything else.
    let verifier = Verifier::connect(&config.jwt)
        .await
        .map_err(|e| ConfigError {
            variable: identity_variable(&config),
            message: e.to_string(),
        })?;
    let db = migrate(&config).await?;
    count_missing_clocks(&db).await?;
    let server = listen(&config).await?;
    let address = server.local_addr().unwrap_or(config.listen);
    let state = AppState::new(db, verifier).with_webhook_targets(TargetPolicy {
        allow_private: config.webhook_allow_private,
    });
    let stop = stop_signal();
    println!("Digihjelpen API listening on http://{address}");
    println!("  docs:  http://{address}/docs");
    println!("  spec:  http://{address}/openapi.json");
    println!("  token: cargo run --release -- token --role ks --sub your-name");
    let pruning = tokio::spawn(crate::changes::store::prune_every_hour(
        state.db.clone(),
        config.changes_retention,
    ));
    let (stop_deliveries, deliveries_stopped) = tokio::sync::watch::channel(false);
    let deliveries = tokio::spawn(
        Worker::new(
            state.db.clone(),
            WorkerSettings {
                targets: state.webhook_targets,
                ..WorkerSettings::default()
            },
            state.webhook_metrics.clone(),
        )
        .run(deliveries_stopped),
    );
    let stopping = state.clone();
    let grace = config.shutdown_grace;
    let served = server
        .run_with_graceful_shutdown(
            app_with(state.clone(), &config.cors_origins, &config.edge),
            async move {
                let signal = stop.await;
                // Readiness fails at once; the listener closes as this future ends.
                stopping.begin_stop();
                tracing::info!(
                    signal,
                    grace_seconds = grace.as_secs_f64(),
                    "stopping: no new connections, the requests in flight finish"
                );
            },
            Some(grace),
        )
        .await;
    pruning.abort();
    // A delivery being sent is finished (a receiver has 5 s) before the pool closes.
    let _ = stop_deliveries.send(true);
    if tokio::time::timeout(Duration::from_secs(10), deliveries)
        .await
        .is_err()
    {
        tracing::warn!("the webhook deliveries did not stop in time");
    }
    state.db.close().await;
    served.map_err(|e| ConfigError {
        variable: "DIGIHJELPEN_LISTEN",
        message: format!("the server stopped: {e}"),
    })?;
    tracing::info!("stopped");
    Ok(())
}

/// The variable that names the identity providers, for a start-up error.
fn identity_variable(config: &Config) -> &'static str {
    match &config.jwt.key {
        JwtKey::Providers(providers)
            if matches!(
                providers.first().map(|p| &p.keys),
                Some(KeySource::KeySet(_))
            ) =>
        {
            "DIGIHJELPEN_JWKS_URL"
        }
        _ => "DIGIHJELPEN_OIDC_ISSUER",
    }
}

/// Waits for SIGTERM (an orchestrator) or SIGINT (Ctrl-C) and names it.
fn stop_signal() -> impl std::future::Future<Output = &'static str> {
    // The handlers are installed here, before the server says it listens: a stop that
    // comes at once must not find the default action (exit without a grace period).
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                },
                (term, _) => {
                    if let Err(err) = term {
                        tracing::warn!(error = %err, "SIGTERM cannot be handled; only Ctrl-C stops cleanly");
                    }
                    let _ = tokio::signal::ctrl_c().await;
                    "SIGINT"
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

/// The listener with the edge's bounds on connections (`DIGIHJELPEN_EDGE_*`).
async fn listen(config: &Config) -> Result<Server, ConfigError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ConfigError {
            variable: "DIGIHJELPEN_LISTEN",
            message: format!("cannot listen on {}: {e}", config.listen),
        })?;
    Ok(Server::new(listener, config.edge.clone()))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/dh"),
            "postgres://app:***@db:5432/dh"
        );
        assert_eq!(
            redact("sqlite://digihjelpen.db?mode=rwc"),
            "sqlite://digihjelpen.db?mode=rwc"
        );
    }
}
