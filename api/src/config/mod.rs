//! Configuration from the environment (and a `.env` file), checked once at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod identity;

pub use identity::{ClaimMapping, JwtConfig, JwtKey, KeySource, MachineClients, Provider};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://digihjelpen.db?mode=rwc";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub listen: SocketAddr,
    pub jwt: JwtConfig,
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
    pub edge: EdgeConfig,
    /// How long a stop (SIGTERM, SIGINT) waits for the requests in flight.
    pub shutdown_grace: Duration,
    /// How long the change feed keeps its entries, tombstones included.
    pub changes_retention: Duration,
    /// Webhooks may send to loopback, link-local and private addresses, and over `http`.
    pub webhook_allow_private: bool,
}

/// The bounds at the edge: how long a client may take, how many connections and requests
/// it may hold, and how fast it may write (`DIGIHJELPEN_EDGE_*`, see the README).
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeConfig {
    /// From a request's first byte to the end of its headers.
    pub header_timeout: Duration,
    /// For the whole request body.
    pub body_timeout: Duration,
    /// A kept-alive connection waiting for its next request.
    pub idle_timeout: Duration,
    /// Open connections; beyond it a new one is answered 503 (`/health/live` still 200).
    pub max_connections: usize,
    /// Requests being handled at once; beyond it 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// Writes and expensive public reads per client (token subject, else address) per
    /// minute, with bursts of `rate_burst`; `None` turns rate limiting off.
    pub rate_per_minute: Option<u32>,
    pub rate_burst: u32,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_in_flight: 256,
            rate_per_minute: Some(300),
            rate_burst: 60,
        }
    }
}

impl EdgeConfig {
    /// No rate limiting, the other bounds at their defaults (the in-process tests).
    pub fn without_rate_limits() -> Self {
        Self {
            rate_per_minute: None,
            ..Self::default()
        }
    }

    /// Reads `DIGIHJELPEN_EDGE_*`; each variable left out keeps its default.
    pub fn from_lookup(var: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let duration =
            |name: &'static str, default: Duration| match var(name).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => humantime::parse_duration(&v)
                    .ok()
                    .filter(|d| !d.is_zero() && *d <= Duration::from_secs(3600))
                    .ok_or_else(|| {
                        error(
                            name,
                            format!("'{v}' is not a duration such as 10s (at most 1h)"),
                        )
                    }),
            };
        let count = |name: &'static str, default: u32| match var(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| error(name, format!("'{v}' is not a positive whole number"))),
        };
        let rate_per_minute = match var("DIGIHJELPEN_EDGE_RATE_PER_MINUTE").as_deref() {
            Some("off") => None,
            _ => Some(count(
                "DIGIHJELPEN_EDGE_RATE_PER_MINUTE",
                defaults.rate_per_minute.unwrap_or(300),
            )?),
        };
        Ok(Self {
            header_timeout: duration("DIGIHJELPEN_EDGE_HEADER_TIMEOUT", defaults.header_timeout)?,
            body_timeout: duration("DIGIHJELPEN_EDGE_BODY_TIMEOUT", defaults.body_timeout)?,
            idle_timeout: duration("DIGIHJELPEN_EDGE_IDLE_TIMEOUT", defaults.idle_timeout)?,
            max_connections: count(
                "DIGIHJELPEN_EDGE_MAX_CONNECTIONS",
                defaults.max_connections as u32,
            )? as usize,
            max_in_flight: count(
                "DIGIHJELPEN_EDGE_MAX_IN_FLIGHT",
                defaults.max_in_flight as u32,
            )? as usize,
            rate_per_minute,
            rate_burst: count("DIGIHJELPEN_EDGE_RATE_BURST", defaults.rate_burst)?,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A configuration value that cannot be used; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn error(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

impl Config {
    /// Reads the process environment, after loading `.env` if there is one.
    pub fn from_env() -> Result<Self, ConfigError> {
        if let Err(err) = dotenvy::dotenv()
            && !err.not_found()
        {
            return Err(error(".env", err.to_string()));
        }
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds the configuration from any source of variables (the environment, a test's map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let database_url = var("DATABASE_URL")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        if !["sqlite:", "postgres:", "postgresql:"]
            .iter()
            .any(|scheme| database_url.starts_with(scheme))
        {
            return Err(error(
                "DATABASE_URL",
                "must start with sqlite:, postgres: or postgresql:",
            ));
        }

        let listen = var("DIGIHJELPEN_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen = listen.parse().map_err(|_| {
            error(
                "DIGIHJELPEN_LISTEN",
                format!("'{listen}' is not an address such as 127.0.0.1:8080"),
            )
        })?;

        let jwt = identity::from_lookup(&var, || development_secret(&database_url))?;

        let cors_origins = var("DIGIHJELPEN_CORS_ORIGINS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|origin| {
                if origin.starts_with("http://") || origin.starts_with("https://") {
                    Ok(origin.trim_end_matches('/').to_string())
                } else {
                    Err(error(
                        "DIGIHJELPEN_CORS_ORIGINS",
                        format!("'{origin}' is not an origin such as https://example.no"),
                    ))
                }
            })
            .collect::<Result<_, _>>()?;

        let log_format = match var("DIGIHJELPEN_LOG_FORMAT").as_deref() {
            None | Some("") | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(error(
                    "DIGIHJELPEN_LOG_FORMAT",
                    format!("'{other}' is neither pretty nor json"),
                ));
            }
        };

        Ok(Self {
            database_url,
            listen,
            jwt,
            cors_origins,
            log_format,
            edge: EdgeConfig::from_lookup(&var)?,
            shutdown_grace: shutdown_grace(&var)?,
            changes_retention: changes_retention(&var)?,
            webhook_allow_private: webhook_allow_private(&var)?,
        })
    }
}

/// `DIGIHJELPEN_SHUTDOWN_GRACE`: 20 s unless set, at most an hour (0 stops at once).
fn shutdown_grace(var: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    match var("DIGIHJELPEN_SHUTDOWN_GRACE").filter(|v| !v.trim().is_empty()) {
        None => Ok(Duration::from_secs(20)),
        Some(v) => humantime::parse_duration(v.trim())
            .ok()
            .filter(|d| *d <= Duration::from_secs(3600))
            .ok_or_else(|| {
                error(
                    "DIGIHJELPEN_SHUTDOWN_GRACE",
                    format!("'{v}' is not a duration such as 20s (at most 1h)"),
                )
            }),
    }
}

/// `DIGIHJELPEN_CHANGES_RETENTION`: 90 days unless set, at least an hour, so a system that
/// syncs hourly never finds its place in the feed pruned.
fn changes_retention(var: &impl Fn(&str) -> Option<String>) -> Result<Duration, ConfigError> {
    match var("DIGIHJELPEN_CHANGES_RETENTION").filter(|v| !v.trim().is_empty()) {
        None => Ok(Duration::from_secs(90 * 24 * 3600)),
        Some(v) => humantime::parse_duration(v.trim())
            .ok()
            .filter(|d| {
                *d >= Duration::from_secs(3600) && *d <= Duration::from_secs(100 * 365 * 24 * 3600)
            })
            .ok_or_else(|| {
                error(
                    "DIGIHJELPEN_CHANGES_RETENTION",
                    format!("'{v}' is not a duration such as 90d (at least 1h)"),
                )
            }),
    }
}

/// `DIGIHJELPEN_WEBHOOK_ALLOW_PRIVATE`: `false` unless set to `true`.
fn webhook_allow_private(var: &impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    match var("DIGIHJELPEN_WEBHOOK_ALLOW_PRIVATE")
        .as_deref()
        .map(str::trim)
    {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(error(
            "DIGIHJELPEN_WEBHOOK_ALLOW_PRIVATE",
            format!("'{other}' is neither true nor false"),
        )),
    }
}

/// Without a configured secret, a random one is kept in a 0600 file beside the SQLite
/// database (or in the working directory), so tokens minted by `digihjelpen token` keep
/// working across restarts on a developer's machine.
fn development_secret(database_url: &str) -> Result<Vec<u8>, ConfigError> {
    let path = secret_path(database_url);
    let fail = |e: std::io::Error| {
        error(
            "DIGIHJELPEN_JWT_SECRET",
            format!(
                "not set, and the development secret {} failed: {e}",
                path.display()
            ),
        )
    };
    match std::fs::read(&path) {
        Ok(secret) if secret.len() >= 32 => return Ok(secret),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    use base64::Engine;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(rand::random::<[u8; 32]>())
        .into_bytes();
    write_private(&path, &secret).map_err(fail)?;
    Ok(secret)
}

fn secret_path(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or_default())
        .filter(|file| !file.is_empty() && !file.contains(":memory:"));
    match file {
        Some(db) => PathBuf::from(format!("{db}.jwt-secret")),
        None => PathBuf::from("digihjelpen.jwt-secret"),
    }
}

fn write_private(path: &Path, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content)
}

impl Config {
    /// Whether the secret was generated for development rather than configured.
    pub fn uses_development_secret(var: impl Fn(&str) -> Option<String>) -> bool {
        matches!(identity::active_kind(&var), Ok(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !vars
            .iter()
            .any(|(k, _)| k.starts_with("DIGIHJELPEN_JWT_PUBLIC_KEY"))
        {
            map.entry("DIGIHJELPEN_JWT_SECRET".into())
                .or_insert_with(|| "a-test-secret-that-is-long-enough-000".into());
        }
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn the_change_feed_keeps_90_days_unless_told_otherwise_and_never_less_than_an_hour() {
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(config(&[]).unwrap().changes_retention, 90 * day);
        let set = config(&[("DIGIHJELPEN_CHANGES_RETENTION", "30d")]).unwrap();
        assert_eq!(set.changes_retention, 30 * day);
        for bad in ["10m", "soon", "-1d"] {
            let err = config(&[("DIGIHJELPEN_CHANGES_RETENTION", bad)]).unwrap_err();
            assert_eq!(err.variable, "DIGIHJELPEN_CHANGES_RETENTION", "{bad}");
        }
    }

    #[test]
    fn defaults_follow_the_brief() {
        let config = config(&[]).unwrap();
        assert_eq!(config.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.jwt.issuer, "digihjelpen");
        assert_eq!(config.jwt.audience, "digihjelpen-api");
        assert!(config.cors_origins.is_empty());
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.shutdown_grace, Duration::from_secs(20));
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        for (variable, value) in [
            ("DATABASE_URL", "mysql://localhost/x"),
            ("DIGIHJELPEN_LISTEN", "localhost"),
            ("DIGIHJELPEN_JWT_PUBLIC_KEY", "/does/not/exist.pem"),
            ("DIGIHJELPEN_JWT_SECRET", "short"),
            ("DIGIHJELPEN_CORS_ORIGINS", "example.no"),
            ("DIGIHJELPEN_LOG_FORMAT", "xml"),
            ("DIGIHJELPEN_SHUTDOWN_GRACE", "2h"),
        ] {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable);
            assert!(err.to_string().starts_with(variable), "{err}");
        }
    }

    #[test]
    fn edge_bounds_have_defaults_and_name_their_variable_when_bad() {
        assert_eq!(config(&[]).unwrap().edge, EdgeConfig::default());
        let edge = config(&[
            ("DIGIHJELPEN_EDGE_HEADER_TIMEOUT", "2s"),
            ("DIGIHJELPEN_EDGE_MAX_IN_FLIGHT", "8"),
            ("DIGIHJELPEN_EDGE_RATE_PER_MINUTE", "off"),
        ])
        .unwrap()
        .edge;
        assert_eq!(edge.header_timeout, Duration::from_secs(2));
        assert_eq!(edge.max_in_flight, 8);
        assert_eq!(edge.rate_per_minute, None);
        for (variable, value) in [
            ("DIGIHJELPEN_EDGE_HEADER_TIMEOUT", "soon"),
            ("DIGIHJELPEN_EDGE_BODY_TIMEOUT", "0s"),
            ("DIGIHJELPEN_EDGE_IDLE_TIMEOUT", "2h"),
            ("DIGIHJELPEN_EDGE_MAX_CONNECTIONS", "0"),
            ("DIGIHJELPEN_EDGE_MAX_IN_FLIGHT", "-1"),
            ("DIGIHJELPEN_EDGE_RATE_PER_MINUTE", "many"),
            ("DIGIHJELPEN_EDGE_RATE_BURST", "x"),
        ] {
            assert_eq!(config(&[(variable, value)]).unwrap_err().variable, variable);
        }
    }

    #[test]
    fn cors_origins_are_a_comma_separated_list() {
        let config = config(&[(
            "DIGIHJELPEN_CORS_ORIGINS",
            "https://digihjelpen.no/, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            config.cors_origins,
            ["https://digihjelpen.no", "http://localhost:3000"]
        );
    }

    #[test]
    fn the_development_secret_sits_beside_the_sqlite_file() {
        assert_eq!(
            secret_path("sqlite://data/dh.db?mode=rwc"),
            PathBuf::from("data/dh.db.jwt-secret")
        );
        assert_eq!(
            secret_path("postgres://localhost/dh"),
            PathBuf::from("digihjelpen.jwt-secret")
        );
    }
}
