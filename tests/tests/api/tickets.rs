use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, Utc};
use entity::ticket;
use poem::http::Method;
use sea_orm::{ActiveModelTrait, Set};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{self, etag, field, id_of, items};
use crate::support::{Reply, TestApp};

const STATUSES: [&str; 6] = [
    "new",
    "open",
    "waiting_on_municipality",
    "referred",
    "resolved",
    "closed",
];

/// The status changes `update_ticket` allows, as the workflow says.
const ALLOWED: &[(&str, &str)] = &[
    ("new", "open"),
    ("new", "waiting_on_municipality"),
    ("new", "resolved"),
    ("new", "closed"),
    ("open", "waiting_on_municipality"),
    ("open", "resolved"),
    ("open", "closed"),
    ("waiting_on_municipality", "open"),
    ("waiting_on_municipality", "resolved"),
    ("waiting_on_municipality", "closed"),
    ("referred", "open"),
    ("referred", "waiting_on_municipality"),
    ("referred", "resolved"),
    ("referred", "closed"),
    ("resolved", "open"),
    ("resolved", "closed"),
];

pub fn new_ticket() -> Value {
    json!({
        "subject": "Tilskudd til Digihjelp på biblioteket",
        "body": "Gjelder tilskuddet også lønn til veiledere?",
        "category": "grants",
    })
}

async fn create(app: &TestApp, token: &str, key: Option<&str>, body: Value) -> Reply {
    helpers::post(app, token, "/api/v1/tickets", key, body).await
}

/// A new ticket of a municipality: its id.
async fn ticket_of(app: &TestApp, municipality: &str) -> String {
    let created = create(app, &app.municipality(municipality), None, new_ticket()).await;
    created.expect(201);
    id_of(&created.body)
}

/// The part of a ticket's ETag that writes change (`"2.1"` of `"2.1-5f2a9c01"`); the rest
/// follows the due times and target states.
fn written(tag: Option<&str>) -> String {
    let tag = tag.expect("an ETag");
    match tag.find('-') {
        Some(dash) => format!("{}\"", &tag[..dash]),
        None => tag.to_string(),
    }
}

async fn get(app: &TestApp, token: Option<&str>, path: &str) -> Reply {
    app.call(Method::GET, path).bearer_opt(token).send().await
}

async fn read(app: &TestApp, token: &str, id: &str) -> Reply {
    get(app, Some(token), &format!("/api/v1/tickets/{id}")).await
}

async fn patch(app: &TestApp, token: &str, id: &str, if_match: Option<&str>, body: Value) -> Reply {
    let path = format!("/api/v1/tickets/{id}");
    helpers::patch(app, Some(token), &path, if_match, body).await
}

/// Changes the status as KS, reading the current version first.
async fn set_status(app: &TestApp, id: &str, status: &str) -> Reply {
    let ks = app.ks();
    let tag = etag(app, Some(&ks), &format!("/api/v1/tickets/{id}")).await;
    patch(app, &ks, id, Some(&tag), json!({"status": status})).await
}

async fn post_message(
    app: &TestApp,
    token: &str,
    id: &str,
    key: Option<&str>,
    body: Value,
) -> Reply {
    let path = format!("/api/v1/tickets/{id}/messages");
    helpers::post(app, token, &path, key, body).await
}

async fn reply(app: &TestApp, token: &str, id: &str, text: &str) -> Reply {
    post_message(app, token, id, None, json!({"body": text})).await
}

async fn refer(app: &TestApp, token: &str, id: &str, to: &str) -> Reply {
    app.call(Method::POST, &format!("/api/v1/tickets/{id}/referral"))
        .bearer(token)
        .json(json!({"to": to, "note": "Gjelder tolkning av regelverket."}))
        .send()
        .await
}

/// A ticket of 0301 brought to `status` by KS.
async fn ticket_in(app: &TestApp, status: &str) -> String {
    let id = ticket_of(app, "0301").await;
    match status {
        "new" => {}
        "referred" => {
            refer(app, &app.ks(), &id, "nav").await.expect(200);
        }
        _ => {
            set_status(app, &id, status).await.expect(200);
        }
    }
    id
}

fn history(ticket: &Value) -> Vec<(Value, String, String)> {
    ticket["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["from"].clone(),
                h["to"].as_str().unwrap().to_string(),
                h["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn a_municipality_creates_a_ticket_with_a_readable_number(app: TestApp) {
    let oslo = app.municipality("0301");
    let created = create(&app, &oslo, None, new_ticket()).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/tickets/{id}").as_str())
    );
    assert_eq!(written(created.header("etag")), "\"1\"");
    let year = Utc::now().year();
    assert_eq!(created.body["number"], format!("KP-{year}-00001"));
    assert_eq!(created.body["municipality_number"], "0301");
    assert_eq!(created.body["created_by"], "staff-0301");
    assert_eq!(created.body["status"], "new");
    assert_eq!(created.body["priority"], "normal");
    assert_eq!(created.body["category"], "grants");
    assert_eq!(created.body["tags"], json!([]));
    assert_eq!(created.body["message_count"], 0);
    assert!(created.body["assignee"].is_null());
    assert!(created.body["referral"].is_null());
    assert!(created.body["first_response_at"].is_null());
    assert!(created.body["resolved_at"].is_null());
    assert_eq!(
        history(&created.body),
        [(Value::Null, "new".into(), "created".into())]
    );

    let mut urgent = new_ticket();
    urgent["priority"] = json!("high");
    let second = create(&app, &app.municipality("1103"), None, urgent).await;
    second.expect(201);
    assert_eq!(second.body["number"], format!("KP-{year}-00002"));
    assert_eq!(second.body["priority"], "high");

    let read_back = read(&app, &oslo, id).await;
    read_back.expect(200);
    assert_eq!(written(read_back.header("etag")), "\"1\"");
    assert_eq!(read_back.body, created.body);
    let log = get(
        &app,
        Some(&app.ks()),
        &format!("/api/v1/audit?resource_type=ticket&resource_id={id}"),
    )
    .await;
    assert_eq!(items(&log)[0]["action"], "create");
    assert_eq!(app.count("audit_entries").await, 2);
}
db_test!(a_municipality_creates_a_ticket_with_a_readable_number);

async fn only_municipalities_create_tickets(app: TestApp) {
    app.call(Method::POST, "/api/v1/tickets")
        .json(new_ticket())
        .send()
        .await
        .expect(401);
    create(&app, &app.ks(), None, new_ticket())
        .await
        .expect(403);
    create(&app, &app.kmd(), None, new_ticket())
        .await
        .expect(403);
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(only_municipalities_create_tickets);

async fn bad_new_tickets_are_refused_and_change_nothing(app: TestApp) {
    let oslo = app.municipality("0301");
    let with = |key: &str, value: Value| {
        let mut body = new_ticket();
        body[key] = value;
        body
    };
    for body in [
        with("subject", json!(42)),
        with("body", json!(true)),
        with("category", json!("hobbies")),
        with("category", json!(null)),
        with("priority", json!("urgent")),
        with("status", json!("open")),
        json!({"subject": "Hei", "body": "Mangler kategori"}),
        json!([new_ticket()]),
    ] {
        create(&app, &oslo, None, body).await.expect(422);
    }
    let too_long = create(
        &app,
        &oslo,
        None,
        json!({
            "subject": "æ".repeat(201), "body": "x".repeat(20_001), "category": "other",
        }),
    )
    .await;
    too_long.expect(422);
    assert_eq!(too_long.invalid_fields(), ["subject", "body"]);
    let blank = create(
        &app,
        &oslo,
        None,
        json!({"subject": " ", "body": "", "category": "other"}),
    )
    .await;
    blank.expect(422);
    assert_eq!(blank.invalid_fields(), ["subject", "body"]);
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(app.count("audit_entries").await, 0);

    // The longest allowed ones pass, and the refusals used up no number.
    let longest = create(
        &app,
        &oslo,
        None,
        json!({
            "subject": "æ".repeat(200), "body": "ø".repeat(20_000), "category": "other",
        }),
    )
    .await;
    longest.expect(201);
    assert!(longest.body["number"].as_str().unwrap().ends_with("-00001"));
}
db_test!(bad_new_tickets_are_refused_and_change_nothing);

async fn thirty_concurrent_creations_get_thirty_consecutive_numbers(app: TestApp) {
    let municipalities = ["0301", "1103", "4601", "5001", "3301"];
    let tokens: Vec<String> = municipalities.iter().map(|m| app.municipality(m)).collect();
    let attempts = (0..30).map(|i| create(&app, &tokens[i % tokens.len()], None, new_ticket()));
    let replies = futures::future::join_all(attempts).await;
    let mut numbers = Vec::new();
    for reply in &replies {
        reply.expect(201);
        numbers.push(reply.body["number"].as_str().unwrap().to_string());
    }
    let year = Utc::now().year();
    let distinct: HashSet<_> = numbers.iter().collect();
    assert_eq!(distinct.len(), 30, "{numbers:?}");
    numbers.sort();
    let expected: Vec<String> = (1..=30).map(|n| format!("KP-{year}-{n:05}")).collect();
    assert_eq!(numbers, expected, "consecutive, without gaps");
    assert_eq!(app.count("tickets").await, 30);
    assert_eq!(app.count("audit_entries").await, 30);
}
db_test!(thirty_concurrent_creations_get_thirty_consecutive_numbers);

async fn idempotency_keys_replay_tickets_and_messages_and_refuse_other_bodies(app: TestApp) {
    let oslo = app.municipality("0301");
    let first = create(&app, &oslo, Some("ticket-1"), new_ticket()).await;
    first.expect(201);
    let retry = create(&app, &oslo, Some("ticket-1"), new_ticket()).await;
    retry.expect(201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    let mut other = new_ticket();
    other["subject"] = json!("Et annet spørsmål");
    let reused = create(&app, &oslo, Some("ticket-1"), other).await;
    reused.expect(409);
    assert_eq!(reused.body["code"], "idempotency-key-reused");
    assert_eq!(app.count("tickets").await, 1);

    let id = first.body["id"].as_str().unwrap();
    let message = json!({"body": "Vi har et tillegg."});
    let sent = post_message(&app, &oslo, id, Some("msg-1"), message.clone()).await;
    sent.expect(201);
    let again = post_message(&app, &oslo, id, Some("msg-1"), message.clone()).await;
    again.expect(201);
    assert_eq!(again.body, sent.body);
    post_message(
        &app,
        &oslo,
        id,
        Some("msg-1"),
        json!({"body": "Noe annet."}),
    )
    .await
    .expect(409);
    assert_eq!(app.count("ticket_messages").await, 1);
    // The same key on another ticket is another request.
    let other_ticket = ticket_of(&app, "0301").await;
    let elsewhere = post_message(&app, &oslo, &other_ticket, Some("msg-1"), message).await;
    elsewhere.expect(201);
    assert_eq!(elsewhere.body["ticket_id"], other_ticket.as_str());
    assert_eq!(app.count("ticket_messages").await, 2);
    assert_eq!(app.count("tickets").await, 2);
    // 2 tickets, 2 messages: no audit entry for a replay.
    assert_eq!(app.count("audit_entries").await, 4);
}
db_test!(idempotency_keys_replay_tickets_and_messages_and_refuse_other_bodies);

async fn every_status_change_is_allowed_or_refused_as_the_table_says(app: TestApp) {
    let ks = app.ks();
    for from in STATUSES {
        for to in STATUSES {
            if from == to || to == "referred" {
                continue;
            }
            let id = ticket_in(&app, from).await;
            let before = read(&app, &ks, &id).await;
            let changed = set_status(&app, &id, to).await;
            if ALLOWED.contains(&(from, to)) {
                changed.expect(200);
                assert_eq!(changed.body["status"], to, "{from} -> {to}");
                let entries = history(&changed.body);
                assert_eq!(
                    entries.last().unwrap(),
                    &(json!(from), to.to_string(), "changed".to_string())
                );
                assert_eq!(
                    changed.body["version"],
                    before.body["version"].as_i64().unwrap() + 1
                );
            } else {
                changed.expect(409);
                let detail = changed.body["detail"].as_str().unwrap();
                assert_eq!(detail, format!("a ticket cannot go from {from} to {to}"));
                let after = read(&app, &ks, &id).await;
                assert_eq!(after.body, before.body, "{from} -> {to} changed nothing");
            }
        }
    }
    // `referred` is entered by a referral only.
    let id = ticket_in(&app, "open").await;
    let direct = set_status(&app, &id, "referred").await;
    direct.expect(422);
    assert_eq!(direct.invalid_fields(), ["status"]);
}
db_test!(every_status_change_is_allowed_or_refused_as_the_table_says);

async fn a_referral_is_allowed_from_the_working_statuses_only(app: TestApp) {
    for (from, allowed) in [
        ("new", true),
        ("open", true),
        ("waiting_on_municipality", true),
        ("referred", true),
        ("resolved", false),
        ("closed", false),
    ] {
        let id = ticket_in(&app, from).await;
        let referred = refer(&app, &app.ks(), &id, "ministry").await;
        if allowed {
            referred.expect(200);
            assert_eq!(referred.body["status"], "referred");
            assert_eq!(referred.body["referral"]["to"], "ministry");
            assert_eq!(referred.body["referral"]["referred_by"], "ks-kari");
            assert_eq!(
                referred.body["referral"]["note"],
                "Gjelder tolkning av regelverket."
            );
            let last = history(&referred.body).pop().unwrap();
            assert_eq!(last.1, "referred");
        } else {
            referred.expect(409);
            assert_eq!(
                referred.body["detail"],
                format!("a ticket cannot go from {from} to referred")
            );
        }
    }
    let id = ticket_of(&app, "0301").await;
    for token in [app.kmd(), app.municipality("0301")] {
        refer(&app, &token, &id, "ministry").await.expect(403);
    }
    let bad = app
        .call(Method::POST, &format!("/api/v1/tickets/{id}/referral"))
        .bearer(&app.ks())
        .json(json!({"to": "police", "note": "x"}))
        .send()
        .await;
    bad.expect(422);
    let blank = app
        .call(Method::POST, &format!("/api/v1/tickets/{id}/referral"))
        .bearer(&app.ks())
        .json(json!({"to": "nav", "note": " "}))
        .send()
        .await;
    blank.expect(422);
    assert_eq!(blank.invalid_fields(), ["note"]);
    let stale = app
        .call(Method::POST, &format!("/api/v1/tickets/{id}/referral"))
        .bearer(&app.ks())
        .header("if-match", "\"7\"")
        .json(json!({"to": "nav", "note": "x"}))
        .send()
        .await;
    stale.expect(412);
    assert_eq!(read(&app, &app.ks(), &id).await.body["status"], "new");
}
db_test!(a_referral_is_allowed_from_the_working_statuses_only);

async fn resolving_sets_resolved_at_and_reopening_clears_it(app: TestApp) {
    let id = ticket_of(&app, "0301").await;
    let resolved = set_status(&app, &id, "resolved").await;
    resolved.expect(200);
    assert!(resolved.body["resolved_at"].is_string());
    let reopened = set_status(&app, &id, "open").await;
    assert!(reopened.body["resolved_at"].is_null());
    let closed = set_status(&app, &id, "closed").await;
    closed.expect(200);
    assert!(closed.body["resolved_at"].is_string(), "closing resolves");
    let statuses: Vec<String> = history(&closed.body).into_iter().map(|h| h.1).collect();
    assert_eq!(statuses, ["new", "resolved", "open", "closed"]);
    // Closed is final, for any change.
    let ks = app.ks();
    patch(&app, &ks, &id, Some("\"4\""), json!({"priority": "high"}))
        .await
        .expect(409);
    assert_eq!(read(&app, &ks, &id).await.body["version"], 4);
}
db_test!(resolving_sets_resolved_at_and_reopening_clears_it);

async fn replies_move_the_ticket_through_the_workflow(app: TestApp) {
    let ks = app.ks();
    let oslo = app.municipality("0301");
    let id = ticket_of(&app, "0301").await;

    // An internal note is no response.
    post_message(
        &app,
        &ks,
        &id,
        None,
        json!({"body": "Sjekk regelverket", "internal": true}),
    )
    .await
    .expect(201);
    let untouched = read(&app, &ks, &id).await;
    assert_eq!(untouched.body["status"], "new");
    assert!(untouched.body["first_response_at"].is_null());

    // A municipality's reply on a new ticket changes no status.
    reply(&app, &oslo, &id, "Et tillegg").await.expect(201);
    assert_eq!(read(&app, &ks, &id).await.body["status"], "new");

    let answered = reply(&app, &ks, &id, "Ja, det gjør det.").await;
    answered.expect(201);
    assert_eq!(answered.body["author_role"], "ks");
    assert_eq!(answered.body["author_sub"], "ks-kari");
    assert_eq!(answered.body["internal"], false);
    let opened = read(&app, &ks, &id).await;
    assert_eq!(opened.body["status"], "open");
    let first_response_at = opened.body["first_response_at"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(history(&opened.body).last().unwrap().2, "first_response");

    set_status(&app, &id, "waiting_on_municipality")
        .await
        .expect(200);
    reply(&app, &ks, &id, "Har dere budsjettet?")
        .await
        .expect(201);
    assert_eq!(
        read(&app, &ks, &id).await.body["first_response_at"],
        first_response_at.as_str()
    );
    let back = reply(&app, &oslo, &id, "Ja, her er det.").await;
    back.expect(201);
    assert_eq!(back.body["author_municipality"], "0301");
    let reopened = read(&app, &ks, &id).await;
    assert_eq!(reopened.body["status"], "open");
    assert_eq!(
        history(&reopened.body).last().unwrap().2,
        "municipality_reply"
    );

    set_status(&app, &id, "resolved").await.expect(200);
    reply(&app, &oslo, &id, "Ett spørsmål til.")
        .await
        .expect(201);
    let reopened = read(&app, &ks, &id).await;
    assert_eq!(reopened.body["status"], "open");
    assert!(reopened.body["resolved_at"].is_null());

    set_status(&app, &id, "closed").await.expect(200);
    let messages = app.count("ticket_messages").await;
    for (token, internal) in [(&oslo, false), (&ks, false), (&ks, true)] {
        let refused = post_message(
            &app,
            token,
            &id,
            None,
            json!({"body": "Hallo?", "internal": internal}),
        )
        .await;
        refused.expect(409);
    }
    assert_eq!(app.count("ticket_messages").await, messages);
    let statuses: Vec<String> = history(&read(&app, &ks, &id).await.body)
        .into_iter()
        .map(|h| h.1)
        .collect();
    assert_eq!(
        statuses,
        [
            "new",
            "open",
            "waiting_on_municipality",
            "open",
            "resolved",
            "open",
            "closed"
        ]
    );
}
db_test!(replies_move_the_ticket_through_the_workflow);

async fn bad_messages_are_refused_and_change_nothing(app: TestApp) {
    let oslo = app.municipality("0301");
    let id = ticket_of(&app, "0301").await;
    for body in [
        json!({"body": 42}),
        json!({"body": "x", "internal": "yes"}),
        json!({"text": "x"}),
        json!({}),
    ] {
        post_message(&app, &oslo, &id, None, body).await.expect(422);
    }
    let too_long = post_message(&app, &oslo, &id, None, json!({"body": "x".repeat(20_001)})).await;
    too_long.expect(422);
    assert_eq!(too_long.invalid_fields(), ["body"]);
    post_message(&app, &oslo, &id, None, json!({"body": "  "}))
        .await
        .expect(422);
    // Only KS writes internal notes.
    post_message(
        &app,
        &oslo,
        &id,
        None,
        json!({"body": "x", "internal": true}),
    )
    .await
    .expect(403);
    post_message(
        &app,
        &app.kmd(),
        &id,
        None,
        json!({"body": "x", "internal": true}),
    )
    .await
    .expect(403);
    // A malformed id is a malformed request (400); a well-formed id of nothing is 404.
    for (bad_id, status) in [
        ("not-a-uuid", 400),
        ("0193c8a0-0000-7000-8000-000000000000", 404),
    ] {
        post_message(&app, &oslo, bad_id, None, json!({"body": "x"}))
            .await
            .expect(status);
        get(
            &app,
            Some(&oslo),
            &format!("/api/v1/tickets/{bad_id}/messages"),
        )
        .await
        .expect(status);
        read(&app, &oslo, bad_id).await.expect(status);
        patch(
            &app,
            &app.ks(),
            bad_id,
            Some("\"1\""),
            json!({"priority": "low"}),
        )
        .await
        .expect(status);
    }
    post_message(&app, &oslo, &id, Some("bad key"), json!({"body": "x"}))
        .await
        .expect(400);
    assert_eq!(app.count("ticket_messages").await, 0);
    assert_eq!(read(&app, &oslo, &id).await.body["version"], 1);
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(bad_messages_are_refused_and_change_nothing);

async fn ks_changes_priority_category_tags_and_assignee_with_if_match(app: TestApp) {
    let ks = app.ks();
    let id = ticket_of(&app, "0301").await;
    let changed = patch(
        &app,
        &ks,
        &id,
        Some("\"1\""),
        json!({
            "priority": "high", "category": "technical",
            "tags": ["tilskudd-2026", "bibliotek", "bibliotek"], "assignee": "ks-per",
        }),
    )
    .await;
    changed.expect(200);
    assert_eq!(written(changed.header("etag")), "\"2\"");
    assert_eq!(changed.body["priority"], "high");
    assert_eq!(changed.body["category"], "technical");
    assert_eq!(changed.body["tags"], json!(["tilskudd-2026", "bibliotek"]));
    assert_eq!(changed.body["assignee"], "ks-per");
    assert_eq!(
        history(&changed.body).len(),
        1,
        "no status change, no history entry"
    );

    let stale = patch(&app, &ks, &id, Some("\"1\""), json!({"priority": "low"})).await;
    stale.expect(412);
    assert_eq!(stale.body["current_version"], 2);
    patch(&app, &ks, &id, None, json!({"priority": "low"}))
        .await
        .expect(428);
    let unassigned = patch(
        &app,
        &ks,
        &id,
        Some("\"2\""),
        json!({"assignee": null, "tags": []}),
    )
    .await;
    unassigned.expect(200);
    assert!(unassigned.body["assignee"].is_null());
    assert_eq!(unassigned.body["tags"], json!([]));
    // The same values again change nothing: no new version.
    let same = patch(
        &app,
        &ks,
        &id,
        Some("\"3\""),
        json!({"priority": "high", "status": "new"}),
    )
    .await;
    same.expect(200);
    assert_eq!(same.body["version"], 3);
    assert_eq!(app.count("audit_entries").await, 3);
}
db_test!(ks_changes_priority_category_tags_and_assignee_with_if_match);

async fn bad_changes_are_refused_and_change_nothing(app: TestApp) {
    let ks = app.ks();
    let id = ticket_of(&app, "0301").await;
    for body in [
        json!({"status": "pending"}),
        json!({"priority": 3}),
        json!({"category": "hobbies"}),
        json!({"tags": "bibliotek"}),
        json!({"tags": [1]}),
        json!({"assignee": 7}),
        json!({"subject": "Nytt emne"}),
    ] {
        patch(&app, &ks, &id, Some("\"1\""), body).await.expect(422);
    }
    let invalid = patch(
        &app,
        &ks,
        &id,
        Some("\"1\""),
        json!({
            "status": null, "priority": null, "tags": ["Bibliotek"], "assignee": " ",
        }),
    )
    .await;
    invalid.expect(422);
    assert_eq!(
        invalid.invalid_fields(),
        ["status", "priority", "tags", "assignee"]
    );
    let many: Vec<String> = (0..11).map(|i| format!("t{i}")).collect();
    patch(&app, &ks, &id, Some("\"1\""), json!({"tags": many}))
        .await
        .expect(422);
    patch(
        &app,
        &ks,
        &id,
        Some("\"1\""),
        json!({"tags": ["x".repeat(31)]}),
    )
    .await
    .expect(422);
    patch(&app, &ks, &id, Some("\"1\""), json!({}))
        .await
        .expect(422);
    for token in [app.kmd(), app.municipality("0301")] {
        patch(
            &app,
            &token,
            &id,
            Some("\"1\""),
            json!({"priority": "high"}),
        )
        .await
        .expect(403);
    }
    app.call(Method::PATCH, &format!("/api/v1/tickets/{id}"))
        .json(json!({"priority": "high"}))
        .send()
        .await
        .expect(401);
    let unchanged = read(&app, &ks, &id).await;
    assert_eq!(unchanged.body["version"], 1);
    assert_eq!(unchanged.body["priority"], "normal");
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(bad_changes_are_refused_and_change_nothing);

async fn concurrent_changes_with_one_if_match_have_one_winner(app: TestApp) {
    let ks = app.ks();
    let id = ticket_of(&app, "0301").await;
    let attempts = ["low", "high", "low", "high", "low", "high"]
        .map(|p| patch(&app, &ks, &id, Some("\"1\""), json!({"priority": p})));
    let replies = futures::future::join_all(attempts).await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!((won, refused), (1, 5));
    assert_eq!(read(&app, &ks, &id).await.body["version"], 2);
}
db_test!(concurrent_changes_with_one_if_match_have_one_winner);

async fn each_role_sees_its_own_tickets_only(app: TestApp) {
    let oslo_ticket = ticket_of(&app, "0301").await;
    let bergen_ticket = ticket_of(&app, "4601").await;
    let ministry_ticket = ticket_of(&app, "4601").await;
    let nav_ticket = ticket_of(&app, "0301").await;
    refer(&app, &app.ks(), &ministry_ticket, "ministry")
        .await
        .expect(200);
    refer(&app, &app.ks(), &nav_ticket, "nav").await.expect(200);

    let list = |token: String| {
        let app = &app;
        async move { field(&get(app, Some(&token), "/api/v1/tickets").await, "id") }
    };
    assert_eq!(
        list(app.ks()).await,
        [&nav_ticket, &ministry_ticket, &bergen_ticket, &oslo_ticket].map(String::as_str)
    );
    assert_eq!(list(app.kmd()).await, [ministry_ticket.as_str()]);
    assert_eq!(
        list(app.municipality("0301")).await,
        [nav_ticket.as_str(), oslo_ticket.as_str()]
    );
    assert_eq!(
        list(app.municipality("4601")).await,
        [ministry_ticket.as_str(), bergen_ticket.as_str()]
    );
    assert!(list(app.municipality("1103")).await.is_empty());
    // Asking for another municipality's tickets finds none.
    let other = get(
        &app,
        Some(&app.municipality("0301")),
        "/api/v1/tickets?municipality=4601",
    )
    .await;
    assert!(items(&other).is_empty());

    let oslo = app.municipality("0301");
    for hidden in [&bergen_ticket, &ministry_ticket] {
        read(&app, &oslo, hidden).await.expect(404);
        get(
            &app,
            Some(&oslo),
            &format!("/api/v1/tickets/{hidden}/messages"),
        )
        .await
        .expect(404);
        reply(&app, &oslo, hidden, "Hei").await.expect(404);
    }
    let kmd = app.kmd();
    for hidden in [&oslo_ticket, &bergen_ticket, &nav_ticket] {
        read(&app, &kmd, hidden).await.expect(404);
        get(
            &app,
            Some(&kmd),
            &format!("/api/v1/tickets/{hidden}/messages"),
        )
        .await
        .expect(404);
        reply(&app, &kmd, hidden, "Hei").await.expect(404);
    }
    // The ministry reads and answers what is referred to it; the status stays.
    read(&app, &kmd, &ministry_ticket).await.expect(200);
    let answer = reply(&app, &kmd, &ministry_ticket, "Departementet svarer.").await;
    answer.expect(201);
    assert_eq!(answer.body["author_role"], "kmd");
    let after = read(&app, &app.municipality("4601"), &ministry_ticket).await;
    assert_eq!(after.body["status"], "referred");
    assert!(
        after.body["first_response_at"].is_null(),
        "only KS's reply is the first response"
    );
    assert_eq!(after.body["message_count"], 1);
    // Referred elsewhere, the ministry no longer sees it.
    refer(&app, &app.ks(), &ministry_ticket, "hk_dir")
        .await
        .expect(200);
    read(&app, &kmd, &ministry_ticket).await.expect(404);

    for path in [
        "/api/v1/tickets".to_string(),
        format!("/api/v1/tickets/{oslo_ticket}"),
        format!("/api/v1/tickets/{oslo_ticket}/messages"),
        "/api/v1/tickets/statistics".to_string(),
    ] {
        get(&app, None, &path).await.expect(401);
    }
    app.call(
        Method::POST,
        &format!("/api/v1/tickets/{oslo_ticket}/messages"),
    )
    .json(json!({"body": "x"}))
    .send()
    .await
    .expect(401);
}
db_test!(each_role_sees_its_own_tickets_only);

async fn no_internal_note_reaches_a_municipality_or_the_ministry(app: TestApp) {
    let ks = app.ks();
    let oslo = app.municipality("0301");
    let id = ticket_of(&app, "0301").await;
    refer(&app, &ks, &id, "ministry").await.expect(200);
    reply(&app, &ks, &id, "Vi har sendt saken videre.")
        .await
        .expect(201);
    let before_note = read(&app, &oslo, &id).await;
    let cutoff = Utc::now();
    let secret = "HEMMELIG-NOTAT";
    post_message(
        &app,
        &ks,
        &id,
        None,
        json!({"body": format!("{secret}: kommunen bør søke på nytt"), "internal": true}),
    )
    .await
    .expect(201);

    // KS sees the note.
    let ks_messages = get(&app, Some(&ks), &format!("/api/v1/tickets/{id}/messages")).await;
    assert_eq!(items(&ks_messages).len(), 2);
    assert_eq!(items(&ks_messages)[1]["internal"], true);
    assert_eq!(read(&app, &ks, &id).await.body["message_count"], 2);

    for token in [oslo.clone(), app.kmd()] {
        let messages = get(
            &app,
            Some(&token),
            &format!("/api/v1/tickets/{id}/messages"),
        )
        .await;
        messages.expect(200);
        assert_eq!(items(&messages).len(), 1);
        assert_eq!(items(&messages)[0]["internal"], false);
        let ticket = read(&app, &token, &id).await;
        assert_eq!(ticket.body["message_count"], 1);
        let list = get(&app, Some(&token), "/api/v1/tickets").await;
        assert_eq!(items(&list)[0]["message_count"], 1);
        let since = get(
            &app,
            Some(&token),
            &format!(
                "/api/v1/tickets?updated_since={}",
                cutoff
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                    .replace('+', "%2B")
            ),
        )
        .await;
        since.expect(200);
        assert!(
            items(&since).is_empty(),
            "a note does not make the ticket look changed"
        );
        let search = get(&app, Some(&token), "/api/v1/tickets?q=hemmelig").await;
        assert!(items(&search).is_empty());
        for reply in [&messages, &ticket, &list] {
            assert!(!reply.text.contains(secret), "{}", reply.text);
            assert!(!reply.text.contains("internal note"));
        }
    }
    // The note changed nothing of the ticket a municipality can see.
    let after_note = read(&app, &oslo, &id).await;
    assert_eq!(after_note.body, before_note.body);
    assert_eq!(after_note.header("etag"), before_note.header("etag"));
}
db_test!(no_internal_note_reaches_a_municipality_or_the_ministry);

async fn a_tickets_etag_differs_wherever_its_body_does_by_role(app: TestApp) {
    let ks = app.ks();
    let oslo = app.municipality("0301");
    let id = ticket_of(&app, "0301").await;
    let path = format!("/api/v1/tickets/{id}");
    let ks_before = read(&app, &ks, &id).await;
    let oslo_before = read(&app, &oslo, &id).await;
    // KS sees where the service levels stand, the municipality does not: other bodies,
    // other tags, of the same written version.
    assert_ne!(ks_before.header("etag"), oslo_before.header("etag"));
    assert_eq!(written(ks_before.header("etag")), "\"1\"");
    assert_eq!(written(oslo_before.header("etag")), "\"1\"");
    post_message(
        &app,
        &ks,
        &id,
        None,
        json!({"body": "Notat", "internal": true}),
    )
    .await
    .expect(201);

    let revalidate = |token: String, tag: String| {
        let app = &app;
        let path = path.clone();
        async move {
            app.call(Method::GET, &path)
                .bearer(&token)
                .header("if-none-match", &tag)
                .send()
                .await
        }
    };
    // KS's count changed: no 304 on the tag it read before the note.
    let ks_tag = ks_before.header("etag").unwrap().to_string();
    let ks_after = revalidate(ks.clone(), ks_tag.clone()).await;
    ks_after.expect(200);
    assert_eq!(ks_after.body["message_count"], 1);
    let ks_new_tag = ks_after.header("etag").unwrap().to_string();
    assert_ne!(ks_new_tag, ks_tag);
    // The municipality's body did not change, nor its tag.
    let oslo_tag = oslo_before.header("etag").unwrap().to_string();
    assert_eq!(revalidate(oslo.clone(), oslo_tag.clone()).await.status, 304);

    // KS changes the ticket with the tag it was shown, not with the stale one.
    let stale = patch(&app, &ks, &id, Some(&ks_tag), json!({"priority": "high"})).await;
    stale.expect(412);
    let changed = patch(
        &app,
        &ks,
        &id,
        Some(&ks_new_tag),
        json!({"priority": "high"}),
    )
    .await;
    changed.expect(200);
    assert_eq!(changed.body["priority"], "high");
    assert_eq!(written(changed.header("etag")), "\"2.1\"");
    assert_eq!(
        written(read(&app, &oslo, &id).await.header("etag")),
        "\"2\""
    );
}
db_test!(a_tickets_etag_differs_wherever_its_body_does_by_role);

/// `(resource_id, action)` of each ticket entry of the audit log, as `token` reads it.
async fn ticket_audit(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let log = get(
        app,
        Some(token),
        "/api/v1/audit?resource_type=ticket&limit=200",
    )
    .await;
    log.expect(200);
    items(&log)
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap().to_string();
            (field("resource_id"), field("action"))
        })
        .collect()
}

async fn the_audit_log_shows_the_ministry_its_referred_tickets_only_and_no_internal_note(
    app: TestApp,
) {
    let ks = app.ks();
    let referred = ticket_of(&app, "0301").await;
    refer(&app, &ks, &referred, "ministry").await.expect(200);
    let elsewhere = ticket_in(&app, "referred").await;
    let unreferred = ticket_of(&app, "4601").await;
    for id in [&referred, &elsewhere, &unreferred] {
        post_message(
            &app,
            &ks,
            id,
            None,
            json!({"body": "Notat", "internal": true}),
        )
        .await
        .expect(201);
        reply(&app, &ks, id, "Svar").await.expect(201);
    }

    let everything = ticket_audit(&app, &ks).await;
    assert_eq!(everything.len(), 3 * 3 + 2, "{everything:?}");
    assert_eq!(everything.iter().filter(|(_, a)| a == "note").count(), 3);

    let ministry = ticket_audit(&app, &app.kmd()).await;
    let mut actions: Vec<_> = ministry
        .iter()
        .map(|(id, action)| {
            assert_eq!(id, &referred, "{ministry:?}");
            action.as_str()
        })
        .collect();
    actions.sort();
    assert_eq!(actions, ["create", "refer", "reply"]);
    // Nor through the other filters or the whole log.
    let whole = get(&app, Some(&app.kmd()), "/api/v1/audit?limit=200").await;
    assert!(!whole.text.contains("internal note"), "{}", whole.text);
    assert!(!whole.text.contains(&unreferred));
    let by_id = get(
        &app,
        Some(&app.kmd()),
        &format!("/api/v1/audit?resource_id={unreferred}"),
    )
    .await;
    assert!(items(&by_id).is_empty());
}
db_test!(the_audit_log_shows_the_ministry_its_referred_tickets_only_and_no_internal_note);

async fn lists_filter_search_and_page_newest_first(app: TestApp) {
    let ks = app.ks();
    let oslo = app.municipality("0301");
    let mut ids = Vec::new();
    for (subject, category, priority) in [
        ("Søknad om TILSKUDD", "grants", "high"),
        ("Håndboka mangler et kapittel", "handbook", "low"),
        ("Nettbrett til utlån", "technical", "normal"),
    ] {
        let created = create(
            &app,
            &oslo,
            None,
            json!({
                "subject": subject,
                "body": "Hilsen Åse Ærlig",
                "category": category,
                "priority": priority,
            }),
        )
        .await;
        created.expect(201);
        ids.push(created.body["id"].as_str().unwrap().to_string());
    }
    let bergen = ticket_of(&app, "4601").await;
    patch(
        &app,
        &ks,
        &ids[0],
        Some("\"1\""),
        json!({"tags": ["frist"], "assignee": "ks-per"}),
    )
    .await
    .expect(200);
    set_status(&app, &ids[1], "resolved").await.expect(200);

    let find = |query: &'static str| {
        let app = &app;
        let ks = ks.clone();
        async move {
            let reply = get(app, Some(&ks), &format!("/api/v1/tickets?{query}")).await;
            reply.expect(200);
            field(&reply, "id")
        }
    };
    assert_eq!(find("status=resolved").await, [ids[1].as_str()]);
    assert_eq!(find("category=technical").await, [ids[2].as_str()]);
    assert_eq!(find("priority=high").await, [ids[0].as_str()]);
    assert_eq!(find("assignee=ks-per").await, [ids[0].as_str()]);
    assert_eq!(find("tag=frist").await, [ids[0].as_str()]);
    assert!(find("tag=fri").await.is_empty());
    assert_eq!(find("municipality=4601").await, [bergen.as_str()]);
    assert_eq!(find("q=s%C3%98KNAD").await, [ids[0].as_str()]); // "søKNAD"
    assert_eq!(find("q=%C3%A5se%20%C3%A6rlig").await.len(), 3); // "åse ærlig", in the body
    assert_eq!(find("q=H%C3%85NDBOKA").await, [ids[1].as_str()]); // "HÅNDBOKA"
    assert!(find("q=%25").await.is_empty());
    assert_eq!(
        find("municipality=0301&category=grants&status=new").await,
        [ids[0].as_str()]
    );
    assert!(find("updated_since=2200-01-01T00:00:00Z").await.is_empty());
    assert_eq!(find("updated_since=2000-01-01T00:00:00Z").await.len(), 4);

    let first = get(&app, Some(&ks), "/api/v1/tickets?limit=3").await;
    assert_eq!(
        field(&first, "id"),
        [bergen.as_str(), ids[2].as_str(), ids[1].as_str()]
    );
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = get(
        &app,
        Some(&ks),
        &format!("/api/v1/tickets?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(field(&second, "id"), [ids[0].as_str()]);
    assert!(second.body["next_cursor"].is_null());

    for bad in [
        "status=pending",
        "category=x",
        "priority=urgent",
        "limit=0",
        "limit=201",
        "cursor=nonsense",
        "q=",
        "updated_since=yesterday",
    ] {
        get(&app, Some(&ks), &format!("/api/v1/tickets?{bad}"))
            .await
            .expect(400);
    }
    let invalid = get(
        &app,
        Some(&ks),
        "/api/v1/tickets?municipality=oslo&tag=Frist",
    )
    .await;
    invalid.expect(422);
    assert_eq!(invalid.invalid_fields(), ["municipality", "tag"]);
}
db_test!(lists_filter_search_and_page_newest_first);

async fn messages_are_listed_oldest_first_and_paged(app: TestApp) {
    let oslo = app.municipality("0301");
    let id = ticket_of(&app, "0301").await;
    for i in 0..5 {
        reply(&app, &oslo, &id, &format!("melding {i}"))
            .await
            .expect(201);
    }
    let path = format!("/api/v1/tickets/{id}/messages?limit=3");
    let first = get(&app, Some(&oslo), &path).await;
    first.expect(200);
    assert_eq!(
        field(&first, "body"),
        ["melding 0", "melding 1", "melding 2"]
    );
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = get(&app, Some(&oslo), &format!("{path}&cursor={cursor}")).await;
    assert_eq!(field(&second, "body"), ["melding 3", "melding 4"]);
    assert!(second.body["next_cursor"].is_null());
    assert_eq!(items(&second)[0]["author_sub"], "staff-0301");
    assert_eq!(read(&app, &oslo, &id).await.body["message_count"], 5);
}
db_test!(messages_are_listed_oldest_first_and_paged);

/// Sets the times (and status and category) of a ticket directly in the database.
async fn set_times(
    app: &TestApp,
    id: &str,
    category: &str,
    status: &str,
    created_at: DateTime<Utc>,
    first_response: Option<i64>,
    resolution: Option<i64>,
) {
    ticket::ActiveModel {
        id: Set(uuid::Uuid::parse_str(id).unwrap()),
        category: Set(category.into()),
        status: Set(status.into()),
        created_at: Set(created_at),
        first_response_at: Set(first_response.map(|s| created_at + Duration::seconds(s))),
        resolved_at: Set(resolution.map(|s| created_at + Duration::seconds(s))),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .expect("the times are written");
}

/// The wall-clock figures of a set of tickets (the business-time ones are tested in
/// `service_levels`).
fn wall_clock(figures: &Value) -> Value {
    let keys = [
        "count",
        "open_count",
        "responded_count",
        "median_first_response_seconds",
        "p90_first_response_seconds",
        "resolved_count",
        "median_resolution_seconds",
        "p90_resolution_seconds",
    ];
    Value::Object(
        keys.iter()
            .map(|k| (k.to_string(), figures[*k].clone()))
            .collect(),
    )
}

async fn statistics_match_hand_computed_nearest_rank_figures(app: TestApp) {
    let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
    let hour = |h: i64| start + Duration::hours(h);
    // (category, status, created, seconds to first response, seconds to resolution)
    let tickets = [
        ("grants", "resolved", hour(1), Some(60), Some(3600)),
        ("grants", "open", hour(2), Some(120), None),
        ("grants", "closed", hour(3), Some(300), Some(7200)),
        ("grants", "new", hour(4), None, None),
        ("technical", "resolved", hour(5), Some(30), Some(600)),
        (
            "technical",
            "waiting_on_municipality",
            hour(6),
            Some(90),
            None,
        ),
        // Before the period: left out.
        (
            "technical",
            "resolved",
            start - Duration::hours(1),
            Some(1),
            Some(1),
        ),
    ];
    for (category, status, created, first, resolution) in tickets {
        let id = ticket_of(&app, "0301").await;
        set_times(&app, &id, category, status, created, first, resolution).await;
    }
    let reply = get(
        &app,
        Some(&app.ks()),
        "/api/v1/tickets/statistics?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
    )
    .await;
    reply.expect(200);
    let body = &reply.body;
    assert_eq!(
        body["from"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        start
    );
    // Overall: first responses [30, 60, 90, 120, 300]: median rank ceil(2.5) = 3 → 90,
    // p90 rank ceil(4.5) = 5 → 300. Resolutions [600, 3600, 7200]: median rank
    // ceil(1.5) = 2 → 3600, p90 rank ceil(2.7) = 3 → 7200.
    assert_eq!(
        wall_clock(&body["overall"]),
        json!({
            "count": 6, "open_count": 3,
            "responded_count": 5,
            "median_first_response_seconds": 90, "p90_first_response_seconds": 300,
            "resolved_count": 3, "median_resolution_seconds": 3600, "p90_resolution_seconds": 7200,
        })
    );
    let by_category = body["by_category"].as_array().unwrap();
    let categories: Vec<&str> = by_category
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        [
            "establishing",
            "grants",
            "handbook",
            "training_material",
            "technical",
            "other"
        ]
    );
    // Grants: first responses [60, 120, 300]: median rank ceil(1.5) = 2 → 120, p90 rank
    // ceil(2.7) = 3 → 300. Resolutions [3600, 7200]: median rank 1 → 3600, p90 rank
    // ceil(1.8) = 2 → 7200.
    assert_eq!(
        wall_clock(&by_category[1]["figures"]),
        json!({
            "count": 4, "open_count": 2,
            "responded_count": 3,
            "median_first_response_seconds": 120, "p90_first_response_seconds": 300,
            "resolved_count": 2, "median_resolution_seconds": 3600, "p90_resolution_seconds": 7200,
        })
    );
    // Technical: first responses [30, 90]: median rank 1 → 30, p90 rank 2 → 90.
    assert_eq!(
        wall_clock(&by_category[4]["figures"]),
        json!({
            "count": 2, "open_count": 1,
            "responded_count": 2,
            "median_first_response_seconds": 30, "p90_first_response_seconds": 90,
            "resolved_count": 1, "median_resolution_seconds": 600, "p90_resolution_seconds": 600,
        })
    );
    assert_eq!(
        wall_clock(&by_category[0]["figures"]),
        json!({
            "count": 0, "open_count": 0,
            "responded_count": 0,
            "median_first_response_seconds": null, "p90_first_response_seconds": null,
            "resolved_count": 0, "median_resolution_seconds": null, "p90_resolution_seconds": null,
        })
    );

    // Without a period, the older ticket counts too.
    let all = get(&app, Some(&app.kmd()), "/api/v1/tickets/statistics").await;
    all.expect(200);
    assert_eq!(all.body["overall"]["count"], 7);
    assert_eq!(all.body["overall"]["median_first_response_seconds"], 60);
    assert!(all.body["from"].is_null());

    get(
        &app,
        Some(&app.municipality("0301")),
        "/api/v1/tickets/statistics",
    )
    .await
    .expect(403);
    let inverted = get(
        &app,
        Some(&app.ks()),
        "/api/v1/tickets/statistics?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    )
    .await;
    inverted.expect(422);
    assert_eq!(inverted.invalid_fields(), ["from"]);
    get(
        &app,
        Some(&app.ks()),
        "/api/v1/tickets/statistics?from=januar",
    )
    .await
    .expect(400);
}
db_test!(statistics_match_hand_computed_nearest_rank_figures);

async fn a_tickets_life_from_question_to_closing(app: TestApp) {
    let ks = app.ks();
    let kmd = app.kmd();
    let oslo = app.municipality("0301");
    let id = ticket_of(&app, "0301").await;
    reply(&app, &ks, &id, "Vi ser på det.").await.expect(201);
    refer(&app, &ks, &id, "ministry").await.expect(200);
    reply(&app, &kmd, &id, "Ja, lønn dekkes.").await.expect(201);
    set_status(&app, &id, "resolved").await.expect(200);
    reply(&app, &oslo, &id, "Gjelder det også 2027?")
        .await
        .expect(201);
    set_status(&app, &id, "closed").await.expect(200);
    let done = read(&app, &oslo, &id).await;
    let statuses: Vec<String> = history(&done.body).into_iter().map(|h| h.1).collect();
    assert_eq!(
        statuses,
        ["new", "open", "referred", "resolved", "open", "closed"]
    );
    assert_eq!(done.body["message_count"], 3);
    let log = get(
        &app,
        Some(&ks),
        &format!("/api/v1/audit?resource_type=ticket&resource_id={id}&limit=200"),
    )
    .await;
    let actions: Vec<String> = field(&log, "action");
    assert_eq!(
        actions,
        [
            "update", "reply", "update", "reply", "refer", "reply", "create"
        ]
    );
}
db_test!(a_tickets_life_from_question_to_closing);
