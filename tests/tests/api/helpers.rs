//! Requests, reads of replies and database queries that several test files share.

use chrono::{Duration, Utc};
use poem::http::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::Value;

use crate::support::{Reply, TestApp};

/// An instant `days` from now, RFC 3339.
pub fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

/// The `id` of a resource as it was answered.
pub fn id_of(body: &Value) -> String {
    body["id"].as_str().unwrap().to_string()
}

/// The `items` of a page.
pub fn items(reply: &Reply) -> &Vec<Value> {
    reply.body["items"].as_array().expect("a list")
}

/// One string field of each item of a page.
pub fn field(reply: &Reply, name: &str) -> Vec<String> {
    items(reply)
        .iter()
        .map(|item| item[name].as_str().unwrap().to_string())
        .collect()
}

/// The `name` of each item of a page.
pub fn names(reply: &Reply) -> Vec<String> {
    field(reply, "name")
}

/// A POST of `body` to `path` as `token`, with an `Idempotency-Key` when given.
pub async fn post(app: &TestApp, token: &str, path: &str, key: Option<&str>, body: Value) -> Reply {
    app.call(Method::POST, path)
        .bearer(token)
        .idempotency_key(key)
        .json(body)
        .send()
        .await
}

/// A PATCH of `path` with `body` as `token` (anonymous without one), with an `If-Match`
/// when given.
pub async fn patch(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    app.call(Method::PATCH, path)
        .bearer_opt(token)
        .if_match(if_match)
        .json(body)
        .send()
        .await
}

/// The `ETag` of `path` as `token` (anonymous without one) reads it.
pub async fn etag(app: &TestApp, token: Option<&str>, path: &str) -> String {
    let current = app.call(Method::GET, path).bearer_opt(token).send().await;
    current.header("etag").unwrap().to_string()
}

/// Runs a query that answers one number as `n`.
pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// How many audit entries there are about resources of `resource_type`.
pub async fn audits(app: &TestApp, resource_type: &str) -> i64 {
    scalar(
        app,
        &format!("SELECT COUNT(*) AS n FROM audit_entries WHERE resource_type = '{resource_type}'"),
    )
    .await
}

/// The actions the audit log holds about one resource, newest first, as KS reads them.
pub async fn audit_actions(app: &TestApp, resource_type: &str, id: &str) -> Vec<String> {
    let log = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?resource_type={resource_type}&resource_id={id}"),
        )
        .bearer(&app.ks())
        .send()
        .await;
    log.expect(200);
    field(&log, "action")
}

/// The numbers of the first `n` municipalities.
pub async fn municipality_numbers(app: &TestApp, n: usize) -> Vec<String> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            format!("SELECT number FROM municipalities ORDER BY number LIMIT {n}"),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "number").unwrap())
        .collect()
}
