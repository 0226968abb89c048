//! A PostgreSQL database of its own for each test, cloned from a template that the
//! migrations ran on once.
//!
//! The template is named after the migrations it holds (`dh_template_<hash of their names>`),
//! so a new migration makes a new template and a checkout with other migrations does not
//! clone a wrong one. The first test of a process creates it if it is missing, under an
//! advisory lock on the `TEST_DATABASE_URL` database, so that test processes running at
//! once (the `tests` binary, `api/tests`, another checkout) build it once between them. It
//! is built as `<name>_building` and renamed when complete: a run that died half-way
//! leaves nothing a later run would clone. Connections to the template are turned off, as
//! `CREATE DATABASE ... TEMPLATE` needs it to have none.
//!
//! Old templates are left on the server; drop them with
//! `psql -c 'DROP DATABASE dh_template_...'` when their migrations are gone.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, TransactionTrait};
use tokio::sync::OnceCell;

/// The key of the advisory lock taken while a template is built.
const TEMPLATE_LOCK: i64 = 0x6468_5f74_656d_706c; // "dh_templ"

/// The template this process clones, once it is known to exist.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// A database of its own on the PostgreSQL server, dropped when the test ends.
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PostgresDatabase {
    /// A new database holding the migrated schema and reference data.
    pub async fn create(admin_url: &str) -> Self {
        let template = TEMPLATE.get_or_init(|| template(admin_url)).await;
        let name = format!("dh_test_{}", uuid::Uuid::now_v7().simple());
        let admin = connect(admin_url).await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .expect("create a test database from the template");
        admin.close().await.ok();
        let url = replace_database(admin_url, &name);
        Self {
            admin_url: admin_url.to_string(),
            name,
            url,
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = std::mem::take(&mut self.admin_url);
        let name = std::mem::take(&mut self.name);
        // Drop runs outside the test's runtime, so this uses a runtime of its own.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                    admin.close().await.ok();
                }
            });
        })
        .join()
        .ok();
    }
}

/// The template for the migrations of this build, created if it is missing.
async fn template(admin_url: &str) -> String {
    let name = template_name();
    let admin = connect(admin_url).await;
    // A transaction-level lock: it goes when the transaction ends, or its connection does.
    let lock = admin.begin().await.expect("a transaction to hold the lock");
    lock.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({TEMPLATE_LOCK})"))
        .await
        .expect("the template lock");
    if !database_exists(&admin, &name).await {
        build_template(&admin, admin_url, &name).await;
    }
    lock.commit().await.expect("release the template lock");
    admin.close().await.ok();
    name
}

async fn build_template(admin: &DatabaseConnection, admin_url: &str, name: &str) {
    let building = format!("{name}_building");
    for sql in [
        format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
        format!("CREATE DATABASE {building}"),
    ] {
        admin.execute_unprepared(&sql).await.expect(&sql);
    }
    let db = connect(&replace_database(admin_url, &building)).await;
    Migrator::up(&db, None).await.expect("migrations");
    db.close().await.expect("close the template's connection");
    for sql in [
        format!("ALTER DATABASE {building} WITH ALLOW_CONNECTIONS false"),
        format!("ALTER DATABASE {building} RENAME TO {name}"),
    ] {
        admin.execute_unprepared(&sql).await.expect(&sql);
    }
}

/// `dh_template_` and a hash of the names of the migrations, in order.
fn template_name() -> String {
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect();
    format!("dh_template_{:016x}", fnv1a(names.join("\n").as_bytes()))
}

/// 64-bit FNV-1a: stable across builds and toolchains, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

async fn database_exists(admin: &DatabaseConnection, name: &str) -> bool {
    let sql = format!("SELECT 1 AS found FROM pg_database WHERE datname = '{name}'");
    admin
        .query_one_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            sql,
        ))
        .await
        .expect("look the template up")
        .is_some()
}

async fn connect(url: &str) -> DatabaseConnection {
    Database::connect(url)
        .await
        .expect("TEST_DATABASE_URL connects")
}

/// The URL with its database name replaced, keeping any query string.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}
