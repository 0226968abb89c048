//! Configuration from the environment (and a `.env` file), checked once at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://digihjelpen.db?mode=rwc";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub listen: SocketAddr,
    pub jwt: JwtConfig,
    pub cors_origins: Vec<String>,
    pub log_format: LogFormat,
}

#[derive(Clone, Debug)]
pub struct JwtConfig {
    pub key: JwtKey,
    pub issuer: String,
    pub audience: String,
}

#[derive(Clone)]
pub enum JwtKey {
    /// A shared HS256 secret: tokens can be minted and verified with it.
    Secret(Vec<u8>),
    /// The PEM public key of an identity provider (RS256 or ES256): tokens are only verified.
    PublicKeyPem(Vec<u8>),
}

impl std::fmt::Debug for JwtKey {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("JwtKey::Secret(..)"),
            Self::PublicKeyPem(_) => f.write_str("JwtKey::PublicKeyPem(..)"),
        }
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

        let key = match (
            var("DIGIHJELPEN_JWT_PUBLIC_KEY"),
            var("DIGIHJELPEN_JWT_SECRET"),
        ) {
            (Some(path), _) if !path.is_empty() => {
                let pem = std::fs::read(&path).map_err(|e| {
                    error(
                        "DIGIHJELPEN_JWT_PUBLIC_KEY",
                        format!("cannot read {path}: {e}"),
                    )
                })?;
                crate::auth::verifying_key(&pem)
                    .map_err(|e| error("DIGIHJELPEN_JWT_PUBLIC_KEY", e))?;
                JwtKey::PublicKeyPem(pem)
            }
            (_, Some(secret)) if !secret.is_empty() => {
                if secret.len() < 32 {
                    return Err(error(
                        "DIGIHJELPEN_JWT_SECRET",
                        "must be at least 32 characters",
                    ));
                }
                JwtKey::Secret(secret.into_bytes())
            }
            _ => JwtKey::Secret(development_secret(&database_url)?),
        };

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
            jwt: JwtConfig {
                key,
                issuer: var("DIGIHJELPEN_JWT_ISSUER")
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "digihjelpen".into()),
                audience: var("DIGIHJELPEN_JWT_AUDIENCE")
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "digihjelpen-api".into()),
            },
            cors_origins,
            log_format,
        })
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
        var("DIGIHJELPEN_JWT_PUBLIC_KEY").is_none_or(|v| v.is_empty())
            && var("DIGIHJELPEN_JWT_SECRET").is_none_or(|v| v.is_empty())
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
        map.entry("DIGIHJELPEN_JWT_SECRET".into())
            .or_insert_with(|| "a-test-secret-that-is-long-enough-000".into());
        Config::from_lookup(|name| map.get(name).cloned())
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
        ] {
            let err = config(&[(variable, value)]).unwrap_err();
            assert_eq!(err.variable, variable);
            assert!(err.to_string().starts_with(variable), "{err}");
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
