//! The built `digihjelpen` binary as an orchestrator runs it: `serve` with an identity
//! provider on a loopback port, a provider that is down at start, and a stop (SIGTERM,
//! SIGINT) while requests are in flight. The stop runs on SQLite and (with
//! `TEST_DATABASE_URL`) PostgreSQL; the identity paths on SQLite, as what they prove is the
//! process's (their database half runs on both in the tests crate).

// The provider of the tests crate; not every part of it is used here.
#[allow(dead_code)]
#[path = "../../tests/tests/api/support/provider.rs"]
mod provider;

#[allow(dead_code)]
#[path = "../../tests/tests/api/support/postgres.rs"]
mod postgres;

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use digihjelpen::auth::{Role, TokenRequest, mint};
use digihjelpen::config::{JwtConfig, JwtKey};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use provider::{Key, TestProvider};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const SECRET: &str = "a-test-secret-of-at-least-thirty-two-bytes";

/// The variables of the environment the test runs in that would change the server's
/// configuration.
const INHERITED: [&str; 6] = [
    "DATABASE_URL",
    "DIGIHJELPEN_JWT_SECRET",
    "DIGIHJELPEN_JWT_PUBLIC_KEY",
    "DIGIHJELPEN_OIDC_ISSUER",
    "DIGIHJELPEN_JWKS_URL",
    "DIGIHJELPEN_LISTEN",
];

struct Served {
    child: Child,
    address: SocketAddr,
    database_url: String,
    /// What the server printed (JSON log lines among them).
    output: Arc<Mutex<Vec<String>>>,
    _dir: tempfile::TempDir,
}

fn command(dir: &std::path::Path, vars: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_digihjelpen"));
    command.arg("serve").current_dir(dir).kill_on_drop(true);
    for name in INHERITED {
        command.env_remove(name);
    }
    command
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/dh.db?mode=rwc", dir.display()),
        )
        .env("DIGIHJELPEN_LOG_FORMAT", "json")
        .env("DIGIHJELPEN_EDGE_RATE_PER_MINUTE", "off")
        .env("RUST_LOG", "info");
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// Starts `digihjelpen serve` on a free loopback port and waits until it listens; on a SQLite
/// file of its own unless `vars` name a `DATABASE_URL`.
async fn serve(vars: &[(&str, String)]) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut command = command(dir.path(), vars);
    command
        .env("DIGIHJELPEN_LISTEN", address.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("the built binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let output = Arc::new(Mutex::new(Vec::new()));
    let listening = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let found = line.contains("listening on");
            output.lock().unwrap().push(line);
            if found {
                return;
            }
        }
        panic!(
            "the server ended before listening: {:?}",
            output.lock().unwrap()
        );
    })
    .await;
    assert!(listening.is_ok(), "the server did not listen within 120 s");
    // Keep reading, so that the server never blocks on a full pipe.
    let kept = Arc::clone(&output);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            kept.lock().unwrap().push(line);
        }
    });
    let database_url = vars
        .iter()
        .find(|(name, _)| *name == "DATABASE_URL")
        .map(|(_, url)| url.clone())
        .unwrap_or_else(|| format!("sqlite://{}/dh.db", dir.path().display()));
    Served {
        child,
        address,
        database_url,
        output,
        _dir: dir,
    }
}

fn signal(served: &Served, signal: Signal) {
    let pid = served.child.id().expect("still running");
    kill(Pid::from_raw(i32::try_from(pid).unwrap()), signal).unwrap();
}

fn ks_token() -> String {
    mint(
        &JwtConfig::new(JwtKey::Secret(SECRET.as_bytes().to_vec())),
        &TokenRequest {
            sub: "ks-kari",
            role: Role::Ks,
            municipality: None,
            name: None,
            ttl: Duration::from_secs(600),
        },
    )
    .unwrap()
}

/// The status and body of an HTTP/1.1 answer read to the end of its connection; `None` when
/// nothing at all came back (the request never started). An answer that began but was cut
/// off fails the test: that is a request lost.
async fn read_answer(stream: &mut TcpStream) -> Option<(u16, String)> {
    let mut bytes = Vec::new();
    // A reset after some bytes keeps those bytes: they are checked below.
    let _ = stream.read_to_end(&mut bytes).await;
    if bytes.is_empty() {
        return None;
    }
    let text = String::from_utf8(bytes).expect("an answer in UTF-8");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an answer cut off in its headers: {text}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let length = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    match (status, length) {
        (Some(status), Some(length)) if body.len() == length => Some((status, body.to_string())),
        _ => panic!("an answer cut off: {text}"),
    }
}

/// A GET on a fresh connection; `None` when the connection was refused or closed before any
/// answer began.
async fn get(address: SocketAddr, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).await.ok()?;
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    read_answer(&mut stream).await
}

/// A location of Oslo named `name`, as a JSON body.
fn location(name: &str) -> String {
    json!({
        "municipality_number": "0301",
        "name": name,
        "host_type": "library",
        "address": {"street": "Arne Garborgs plass 1", "postal_code": "0179", "postal_place": "Oslo"},
        "latitude": 59.9127, "longitude": 10.7461,
        "service_modes": ["drop_in"],
        "languages": ["nb"],
    })
    .to_string()
}

async fn count_locations(database_url: &str) -> i64 {
    let db = Database::connect(database_url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM locations",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

mod sigterm_lets_the_requests_in_flight_finish_then_exits_0 {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::sigterm_lets_the_requests_in_flight_finish_then_exits_0(None).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            let required = std::env::var("DIGIHJELPEN_REQUIRE_POSTGRES")
                .is_ok_and(|v| !v.is_empty() && v != "0");
            assert!(
                !required,
                "DIGIHJELPEN_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not"
            );
            eprintln!("TEST_DATABASE_URL is not set: PostgreSQL half skipped");
            return;
        };
        let database = super::postgres::PostgresDatabase::create(&admin_url).await;
        super::sigterm_lets_the_requests_in_flight_finish_then_exits_0(Some(&database.url)).await;
    }
}

async fn sigterm_lets_the_requests_in_flight_finish_then_exits_0(database_url: Option<&str>) {
    let mut vars = vec![
        ("DIGIHJELPEN_JWT_SECRET", SECRET.to_string()),
        ("DIGIHJELPEN_SHUTDOWN_GRACE", "15s".to_string()),
    ];
    if let Some(url) = database_url {
        vars.push(("DATABASE_URL", url.to_string()));
    }
    let mut served = serve(&vars).await;
    let address = served.address;
    let token = ks_token();

    // Slow uploads: each has sent its headers and half its body when the stop comes.
    let mut uploads = Vec::new();
    for i in 0..6 {
        let body = location(&format!("Deichman Bjørvika {i}"));
        let mut stream = TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST /api/v1/locations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let (first, rest) = body.as_bytes().split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(first).await.unwrap();
        uploads.push((stream, rest.to_vec()));
    }
    // And a load of quick reads on fresh connections, going on through the stop.
    let load: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn(async move {
                let (mut answered, mut refused) = (0, 0);
                for _ in 0..400 {
                    match get(address, "/api/v1/municipalities/0301", None).await {
                        Some((200, _)) => answered += 1,
                        Some((status, body)) => panic!("a read answered {status}: {body}"),
                        // Refused, or closed before an answer began: never started.
                        None => refused += 1,
                    }
                    if refused > 20 {
                        break;
                    }
                }
                answered
            })
        })
        .collect();
    // Long enough for the uploads to be dispatched on a machine busy with the load.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    signal(&served, Signal::SIGTERM);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let exited = served.child.try_wait().unwrap();
    assert!(
        exited.is_none(),
        "the server must wait for the requests in flight; it exited with {exited:?}, printing {:?}",
        served.output.lock().unwrap()
    );
    // No new connections are accepted.
    assert!(TcpStream::connect(address).await.is_err());

    for (stream, rest) in &mut uploads {
        stream.write_all(rest).await.unwrap();
    }
    for (mut stream, _) in uploads {
        let (status, body) = read_answer(&mut stream)
            .await
            .expect("a whole answer to a request that had started");
        assert_eq!(status, 201, "{body}");
        let created: Value = serde_json::from_str(&body).unwrap();
        assert!(
            created["name"]
                .as_str()
                .unwrap()
                .starts_with("Deichman Bjørvika")
        );
    }
    let mut answered = 0;
    for reads in load {
        answered += reads.await.unwrap();
    }
    assert!(answered > 0, "the reads ran while the server served");
    eprintln!("{answered} quick reads answered whole around the stop, none cut mid-answer");

    let status = tokio::time::timeout(Duration::from_secs(15), served.child.wait())
        .await
        .expect("the server stops within its grace period")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(count_locations(&served.database_url).await, 6);
    let output = served.output.lock().unwrap().join("\n");
    assert!(output.contains("SIGTERM"), "{output}");
    assert!(output.contains("\"stopped\""), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_an_oidc_issuer_on_a_loopback_port_verifies_its_tokens() {
    let provider = TestProvider::start(&[Key::RsaA, Key::EcA]).await;
    let mut served = serve(&[
        ("DIGIHJELPEN_OIDC_ISSUER", provider.issuer()),
        ("DIGIHJELPEN_MACHINE_SCOPE", "ks:digihjelpen".to_string()),
    ])
    .await;
    let staff = provider.sign(Key::RsaA, &provider.claims(json!({})));
    let (status, body) = get(served.address, "/api/v1/me", Some(&staff))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(me["via"], "oidc");
    let system = provider.sign(
        Key::EcA,
        &provider.claims(json!({
            "sub": null, "role": null, "scope": "ks:digihjelpen",
            "consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:958935420"},
        })),
    );
    let (status, body) = get(served.address, "/api/v1/me", Some(&system))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let me: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (me["via"].as_str(), me["municipality"].as_str()),
        (Some("maskinporten"), Some("0301"))
    );
    // The server's own secret is off: a development token of it is refused.
    let (status, _) = get(served.address, "/api/v1/me", Some(&ks_token()))
        .await
        .unwrap();
    assert_eq!(status, 401);
    let (status, body) = get(served.address, "/health/ready", None).await.unwrap();
    assert_eq!(status, 200);
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["identity_providers"][0]["issuer"], provider.issuer());

    signal(&served, Signal::SIGINT);
    let status = tokio::time::timeout(Duration::from_secs(15), served.child.wait())
        .await
        .expect("Ctrl-C stops the server")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Runs `digihjelpen serve` to its end and answers its exit code and standard error.
async fn fails_to_start(vars: &[(&str, String)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = command(dir.path(), vars);
    command
        .env("DIGIHJELPEN_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the server gives up quickly")
        .unwrap();
    (
        output.status.code(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_down_at_start_is_one_line_and_exit_2() {
    let provider = TestProvider::start(&[Key::RsaA]).await;
    provider.set_down(true);
    let (code, stderr) = fails_to_start(&[("DIGIHJELPEN_OIDC_ISSUER", provider.issuer())]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("digihjelpen: configuration error: DIGIHJELPEN_OIDC_ISSUER: identity provider http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(stderr.contains("503"), "{stderr}");

    // Two kinds of key at once, and a provider over plain http elsewhere than loopback.
    let (code, stderr) = fails_to_start(&[
        ("DIGIHJELPEN_JWT_SECRET", SECRET.to_string()),
        ("DIGIHJELPEN_OIDC_ISSUER", provider.issuer()),
    ])
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("DIGIHJELPEN_JWT_SECRET is set too"),
        "{stderr}"
    );
    let (code, stderr) = fails_to_start(&[(
        "DIGIHJELPEN_OIDC_ISSUER",
        "http://idp.example/realms/x".into(),
    )])
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("must be an https URL"), "{stderr}");
    assert_eq!(provider.key_set_fetches(), 0);
}
