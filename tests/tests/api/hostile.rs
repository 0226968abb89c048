//! Inputs the issue of hostile callers found answered with a 500 (PostgreSQL) or with
//! everything (SQLite): each is a 400 naming the parameter or field, and nothing is stored.

use digihjelpen::auth::Role;
use poem::http::Method;
use serde_json::json;

use crate::db_test;
use crate::helpers::{etag, post};
use crate::locations::{create_ok, deichman};
use crate::support::TestApp;

/// Asserts a 400 problem whose `errors` name exactly `fields`.
#[track_caller]
fn assert_names(reply: &crate::support::Reply, fields: &[&str]) {
    reply.expect(400);
    assert_eq!(reply.invalid_fields(), fields, "{}", reply.text);
}

async fn dates_beyond_the_years_1900_to_2200_are_refused_in_every_parameter(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let ks = app.ks();
    for value in [
        "%2B262142-12-31",
        "%2B262143-01-01",
        "-4714-11-24",
        "0000-01-01",
        "1899-12-31",
        "2201-01-01",
    ] {
        let instant = format!("{value}T00:00:00Z");
        for (path, field) in [
            (
                format!("/api/v1/locations/{id}/schedule?from={value}"),
                "from",
            ),
            (format!("/api/v1/locations/{id}/schedule?to={value}"), "to"),
            (
                format!("/api/v1/locations/{id}/exceptions?from={value}"),
                "from",
            ),
            (format!("/api/v1/locations/{id}/status?at={instant}"), "at"),
            (
                format!("/api/v1/locations?updated_since={instant}"),
                "updated_since",
            ),
            (format!("/api/v1/locations?open_at={instant}"), "open_at"),
            (format!("/api/v1/meeting-places?from={instant}"), "from"),
            (format!("/api/v1/audit?from={instant}"), "from"),
            (
                format!("/api/v1/tickets?updated_since={instant}"),
                "updated_since",
            ),
            (format!("/api/v1/tickets/statistics?from={instant}"), "from"),
        ] {
            let reply = app.call(Method::GET, &path).bearer(&ks).send().await;
            assert_eq!(reply.status, 400, "{path}: {}", reply.text);
            assert_names(&reply, &[field]);
        }
    }
    // The bounds themselves are taken.
    app.get(&format!(
        "/api/v1/locations/{id}/schedule?from=2200-12-25&to=2200-12-31"
    ))
    .await
    .expect(200);
    app.get("/api/v1/locations?updated_since=1900-01-01T00:00:00Z")
        .await
        .expect(200);
}
db_test!(dates_beyond_the_years_1900_to_2200_are_refused_in_every_parameter);

async fn updated_since_far_in_the_future_never_returns_everything(app: TestApp) {
    create_ok(&app, deichman()).await;
    let reply = app
        .get("/api/v1/locations?updated_since=%2B10000-01-01T00:00:00Z")
        .await;
    assert_names(&reply, &["updated_since"]);
    let reply = app
        .get("/api/v1/locations?updated_since=2200-12-31T23:59:59Z")
        .await;
    reply.expect(200);
    assert_eq!(reply.body["items"], json!([]));
}
db_test!(updated_since_far_in_the_future_never_returns_everything);

async fn body_dates_out_of_range_are_named_and_nothing_is_stored(app: TestApp) {
    let ks = app.ks();
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    let tag = etag(&app, None, &path).await;
    let reply = app
        .call(Method::PATCH, &path)
        .bearer(&ks)
        .if_match(Some(&tag))
        .json(json!({"last_verified_at": "-4714-01-01T00:00:00Z"}))
        .send()
        .await;
    assert_names(&reply, &["last_verified_at"]);
    assert_eq!(etag(&app, None, &path).await, tag);

    let schemes = app.count("grant_schemes").await;
    let reply = post(
        &app,
        &app.kmd(),
        "/api/v1/grant-schemes",
        None,
        json!({
            "year": 2027,
            "title": "Digihjelp 2027",
            "description": "Tilskudd",
            "budget_nok": 1_000_000,
            "opens_at": "+262143-01-01T00:00:00Z",
            "deadline": "0000-01-01T00:00:00Z",
        }),
    )
    .await;
    assert_names(&reply, &["deadline", "opens_at"]);
    assert_eq!(app.count("grant_schemes").await, schemes);

    let reply = app
        .call(Method::POST, &format!("{path}/exceptions"))
        .bearer(&ks)
        .json(json!({"date": "2201-05-17", "closed": true}))
        .send()
        .await;
    assert_names(&reply, &["date"]);
    assert_eq!(app.count("opening_exceptions").await, 0);
}
db_test!(body_dates_out_of_range_are_named_and_nothing_is_stored);

async fn nul_in_a_parameter_a_cursor_or_a_body_is_named_and_nothing_is_stored(app: TestApp) {
    // The cursor that decoded to "03\u0000" and was a 500 on PostgreSQL.
    let reply = app
        .get("/api/v1/municipalities?cursor=IjAzXHUwMDAwIg")
        .await;
    reply.expect(400);
    assert!(reply.body["detail"].as_str().unwrap().contains("cursor"));
    let reply = app.get("/api/v1/municipalities?q=a%00b").await;
    assert_names(&reply, &["q"]);

    let before = app.count("locations").await;
    let mut body = deichman();
    body["name"] = json!("Deichman\u{0}");
    body["address"]["street"] = json!("\u{0}");
    let reply = post(&app, &app.ks(), "/api/v1/locations", None, body).await;
    assert_names(&reply, &["address.street", "name"]);
    assert_eq!(app.count("locations").await, before);
}
db_test!(nul_in_a_parameter_a_cursor_or_a_body_is_named_and_nothing_is_stored);

async fn idempotency_keys_and_if_match_that_are_not_visible_ascii_or_repeated_are_refused(
    app: TestApp,
) {
    let oslo = app.municipality("0301");
    let ticket = json!({"subject": "Spørsmål", "body": "Hei", "category": "other"});
    for headers in [
        vec![("idempotency-key", "nøkkel-A")],
        vec![("idempotency-key", "a b")],
        vec![("idempotency-key", "k-1"), ("idempotency-key", "k-2")],
    ] {
        let mut call = app.call(Method::POST, "/api/v1/tickets").bearer(&oslo);
        for (name, value) in &headers {
            call = call.header_bytes(name, value.as_bytes());
        }
        let reply = call.json(ticket.clone()).send().await;
        assert_names(&reply, &["Idempotency-Key"]);
    }
    assert_eq!(app.count("tickets").await, 0);

    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    let tag = etag(&app, None, &path).await;
    for values in [vec!["\"ø\""], vec![tag.as_str(), tag.as_str()]] {
        let mut call = app.call(Method::PATCH, &path).bearer(&app.ks());
        for value in values {
            call = call.header_bytes("if-match", value.as_bytes());
        }
        let reply = call.json(json!({"name": "Nytt navn"})).send().await;
        assert_names(&reply, &["If-Match"]);
    }
    assert_eq!(etag(&app, None, &path).await, tag);
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(idempotency_keys_and_if_match_that_are_not_visible_ascii_or_repeated_are_refused);

async fn an_idempotency_key_is_scoped_to_the_whole_principal(app: TestApp) {
    let ticket = json!({"subject": "Spørsmål", "body": "Hei", "category": "other"});
    let mut created = Vec::new();
    for municipality in ["0301", "4601"] {
        let token = app.token(Role::Municipality, Some(municipality), "kari");
        let reply = post(&app, &token, "/api/v1/tickets", Some("k-1"), ticket.clone()).await;
        reply.expect(201);
        assert_eq!(reply.body["municipality_number"], municipality);
        created.push(reply.body["id"].clone());
    }
    assert_ne!(created[0], created[1]);
    assert_eq!(app.count("tickets").await, 2);
    // Each principal's retry still replays its own.
    let token = app.token(Role::Municipality, Some("4601"), "kari");
    let again = post(&app, &token, "/api/v1/tickets", Some("k-1"), ticket).await;
    again.expect(201);
    assert_eq!(again.body["id"], created[1]);
    assert_eq!(app.count("tickets").await, 2);
}
db_test!(an_idempotency_key_is_scoped_to_the_whole_principal);
