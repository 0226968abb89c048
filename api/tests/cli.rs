//! The `digihjelpen` binary: subcommands and start-up failures.

use std::process::Command;

fn digihjelpen() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_digihjelpen"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env(
        "DIGIHJELPEN_JWT_SECRET",
        "a-cli-test-secret-of-at-least-32-bytes",
    );
    let dir = tempfile::tempdir().unwrap().keep();
    command.current_dir(dir);
    command
}

#[test]
fn openapi_prints_the_spec_without_a_database() {
    let output = digihjelpen()
        .arg("openapi")
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(output.status.success());
    let spec: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(spec["info"]["title"], "Digihjelpen API");
}

#[test]
fn token_prints_a_token_and_needs_a_municipality_for_that_role() {
    let output = digihjelpen()
        .args([
            "token",
            "--role",
            "municipality",
            "--municipality",
            "0301",
            "--sub",
            "kari",
            "--ttl",
            "8h",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap();
    assert_eq!(token.trim().split('.').count(), 3);

    let missing = digihjelpen()
        .args(["token", "--role", "municipality", "--sub", "kari"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    for (variable, value) in [
        ("DIGIHJELPEN_LISTEN", "not-an-address"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("DIGIHJELPEN_JWT_PUBLIC_KEY", "/no/such/key.pem"),
        ("DIGIHJELPEN_LOG_FORMAT", "yaml"),
    ] {
        let output = digihjelpen()
            .arg("serve")
            .env(variable, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{variable}: {stderr}");
        assert!(stderr.contains(variable), "{variable}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn migrate_creates_and_loads_a_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/cli.db?mode=rwc", dir.path().display());
    let output = digihjelpen()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(dir.path().join("cli.db").exists());
}
