//! A fresh app on a fresh database for each test, on SQLite and (with `TEST_DATABASE_URL`)
//! on PostgreSQL, and helpers to call it as each role.

use std::time::Duration;

use digihjelpen::app::app;
use digihjelpen::auth::{Role, TokenRequest, Verifier, mint};
use digihjelpen::config::{JwtConfig, JwtKey};
use digihjelpen::state::{AppState, Db};
use digihjelpen::webhooks::target::TargetPolicy;
use digihjelpen::webhooks::worker::{Worker, WorkerSettings};
use migration::{Migrator, MigratorTrait};
use poem::EndpointExt;
use poem::endpoint::BoxEndpoint;
use poem::http::{HeaderMap, HeaderValue, Method, StatusCode};
use poem::test::TestClient;
use sea_orm::DatabaseConnection;
use serde_json::Value;

mod postgres;
pub mod provider;

use postgres::PostgresDatabase;

pub const SECRET: &str = "a-test-secret-of-at-least-thirty-two-bytes";

/// Runs `async fn $name(app: TestApp)` as two tests, `$name::sqlite` and `$name::postgres`
/// (when `TEST_DATABASE_URL` is set), each on its own fresh database:
///
/// ```ignore
/// async fn the_15_counties_are_listed_in_order(app: TestApp) { ... }
/// db_test!(the_15_counties_are_listed_in_order);
/// ```
///
/// Attributes written before the name (`db_test!(#[ignore] name)`) go on both tests.
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* $name:ident) => {
        mod $name {
            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::support::TestApp::sqlite().await).await;
            }

            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::postgres().await {
                    super::$name(app).await;
                }
            }
        }
    };
}

pub struct TestApp {
    pub client: TestClient<BoxEndpoint<'static, poem::Response>>,
    pub db: DatabaseConnection,
    /// The app's state, to serve it on a socket (`hostile.rs`).
    pub state: AppState,
    pub jwt: JwtConfig,
    /// The database's URL, for [`TestApp::another_instance`].
    url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    _postgres: Option<PostgresDatabase>,
}

pub fn jwt_config() -> JwtConfig {
    JwtConfig::new(JwtKey::Secret(SECRET.as_bytes().to_vec()))
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(jwt_config()).await
    }

    pub async fn sqlite_with(jwt: JwtConfig) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/test.db?mode=rwc", dir.path().display());
        let db = connect(&url).await;
        Migrator::up(db.conn(), None).await.expect("migrations");
        Self::start(db, url, jwt, Some(dir), None).await
    }

    /// A fresh app on a PostgreSQL database of its own, cloned from the migrated template
    /// (see `postgres.rs`), or `None` without `TEST_DATABASE_URL`. With
    /// `DIGIHJELPEN_REQUIRE_POSTGRES=1` (as `.ci/run` sets it) a missing URL panics
    /// instead, so that CI cannot pass with the PostgreSQL half skipped.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(jwt_config()).await
    }

    /// [`TestApp::postgres`] with the given identity configuration.
    pub async fn postgres_with(jwt: JwtConfig) -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                !postgres_required(),
                "DIGIHJELPEN_REQUIRE_POSTGRES is set but TEST_DATABASE_URL is not: \
                 the PostgreSQL half may not be skipped"
            );
            eprintln!("TEST_DATABASE_URL is not set: PostgreSQL half skipped");
            return None;
        };
        let database = PostgresDatabase::create(&admin_url).await;
        let db = connect(&database.url).await;
        let url = database.url.clone();
        Some(Self::start(db, url, jwt, None, Some(database)).await)
    }

    /// A second app process on the same database: its own pool, key cache and limits, as a
    /// second replica has. The database lives as long as `self`.
    pub async fn another_instance(&self) -> Self {
        let db = connect(&self.url).await;
        Self::start(db, self.url.clone(), self.jwt.clone(), None, None).await
    }

    /// This app with webhooks allowed to send to this machine over `http`, as
    /// `DIGIHJELPEN_WEBHOOK_ALLOW_PRIVATE=true` allows it.
    pub fn allowing_private_webhooks(mut self) -> Self {
        self.state = self.state.clone().with_webhook_targets(TargetPolicy {
            allow_private: true,
        });
        let endpoint = app(self.state.clone(), &["https://digihjelpen.example".into()]);
        self.client = TestClient::new(endpoint.boxed());
        self
    }

    /// A webhook delivery worker on this app's database, as `serve` runs one; it stops
    /// when the handle is dropped.
    pub fn deliveries(&self, settings: WorkerSettings) -> Deliveries {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = Worker::new(
            self.state.db.clone(),
            WorkerSettings {
                targets: self.state.webhook_targets,
                ..settings
            },
            self.state.webhook_metrics.clone(),
        );
        Deliveries {
            stop,
            _task: tokio::spawn(worker.run(stopped)),
        }
    }

    async fn start(
        db: Db,
        url: String,
        jwt: JwtConfig,
        sqlite_dir: Option<tempfile::TempDir>,
        postgres: Option<PostgresDatabase>,
    ) -> Self {
        let conn = db.conn().clone();
        let verifier = Verifier::connect(&jwt)
            .await
            .expect("the identity providers answer");
        let state = AppState::new(db, verifier);
        let endpoint = app(state.clone(), &["https://digihjelpen.example".into()]);
        Self {
            client: TestClient::new(endpoint.boxed()),
            db: conn,
            state,
            jwt,
            url,
            _sqlite_dir: sqlite_dir,
            _postgres: postgres,
        }
    }

    pub fn token(&self, role: Role, municipality: Option<&str>, sub: &str) -> String {
        mint(
            &self.jwt,
            &TokenRequest {
                sub,
                role,
                municipality,
                name: None,
                ttl: Duration::from_secs(3600),
            },
        )
        .expect("a token")
    }

    pub fn ks(&self) -> String {
        self.token(Role::Ks, None, "ks-kari")
    }

    pub fn kmd(&self) -> String {
        self.token(Role::Kmd, None, "kmd-ola")
    }

    pub fn municipality(&self, number: &str) -> String {
        self.token(Role::Municipality, Some(number), &format!("staff-{number}"))
    }

    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            method,
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path).send().await
    }

    /// Counts the rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        crate::helpers::scalar(self, &format!("SELECT COUNT(*) AS n FROM {table}")).await
    }
}

/// One request under construction.
pub struct Call<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, HeaderValue)>,
    body: Option<Body>,
}

enum Body {
    Json(Value),
    Raw(String, String),
}

impl Call<'_> {
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// `bearer` with a token; without one the call is anonymous.
    pub fn bearer_opt(self, token: Option<&str>) -> Self {
        match token {
            Some(token) => self.bearer(token),
            None => self,
        }
    }

    pub fn header(self, name: &str, value: &str) -> Self {
        self.header_bytes(name, value.as_bytes())
    }

    /// A header of any bytes HTTP allows (`nøkkel` as UTF-8, which `&str` headers refuse).
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        let value = HeaderValue::from_bytes(value).expect("bytes a header can carry");
        self.headers.push((name.to_string(), value));
        self
    }

    /// An `If-Match` header when there is a tag.
    pub fn if_match(self, tag: Option<&str>) -> Self {
        match tag {
            Some(tag) => self.header("if-match", tag),
            None => self,
        }
    }

    /// An `Idempotency-Key` header when there is a key.
    pub fn idempotency_key(self, key: Option<&str>) -> Self {
        match key {
            Some(key) => self.header("idempotency-key", key),
            None => self,
        }
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<String>) -> Self {
        self.body = Some(Body::Raw(content_type.to_string(), body.into()));
        self
    }

    pub async fn send(self) -> Reply {
        let mut request = self.app.client.request(self.method, self.path);
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.clone());
        }
        request = match self.body {
            Some(Body::Json(value)) => request.body_json(&value),
            Some(Body::Raw(content_type, body)) => request.content_type(content_type).body(body),
            None => request,
        };
        let response = request.send().await.0;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.into_body().into_string().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, and for an error that the body is problem+json with that status.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 {
            self.assert_problem(status);
        }
        self
    }

    #[track_caller]
    fn assert_problem(&self, status: u16) {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "an error must be problem+json: {}",
            self.text
        );
        assert_eq!(self.body["status"], status, "{}", self.text);
        for member in ["type", "title", "detail"] {
            assert!(
                self.body[member].is_string(),
                "problem without {member}: {}",
                self.text
            );
        }
        if status == 401 {
            assert_eq!(self.header("www-authenticate"), Some("Bearer"));
        }
    }

    /// The fields named in a 422's `errors`.
    pub fn invalid_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

async fn connect(url: &str) -> Db {
    Db::connect_with(url, 4).await.expect("the test database")
}

/// Whether `DIGIHJELPEN_REQUIRE_POSTGRES` asks for the PostgreSQL half (any value but empty
/// or `0`).
fn postgres_required() -> bool {
    std::env::var("DIGIHJELPEN_REQUIRE_POSTGRES")
        .is_ok_and(|value| !value.is_empty() && value != "0")
}

/// A running delivery worker; dropping it stops it.
pub struct Deliveries {
    stop: tokio::sync::watch::Sender<bool>,
    _task: tokio::task::JoinHandle<()>,
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
