//! The change feed: every committed write once, in commit order, with tombstones, read by
//! role, and never missing a change while writers commit concurrently.

use std::collections::BTreeSet;

use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::grants::{application, open_scheme};
use crate::helpers::{id_of, post, scalar};
use crate::locations::{create_ok, deichman, location_at};
use crate::meeting_places::{new_place, registration};
use crate::support::{Reply, TestApp};
use crate::tickets::new_ticket;

async fn feed(app: &TestApp, token: Option<&str>, query: &str) -> Reply {
    app.call(Method::GET, &format!("/api/v1/changes?{query}"))
        .bearer_opt(token)
        .send()
        .await
}

/// Every entry `token` can read after `after`, paging through the feed.
async fn all_entries(app: &TestApp, token: Option<&str>, mut after: i64) -> Vec<Value> {
    let mut entries = Vec::new();
    loop {
        let page = feed(app, token, &format!("after={after}&limit=200")).await;
        page.expect(200);
        let items = page.body["items"].as_array().unwrap().clone();
        after = page.body["next_after"].as_i64().unwrap();
        if items.is_empty() {
            return entries;
        }
        entries.extend(items);
    }
}

/// (resource_type, action) of each entry.
fn kinds(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["resource_type"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(kind: &str, action: &str) -> (String, String) {
    (kind.to_string(), action.to_string())
}

async fn stored_changes(app: &TestApp) -> i64 {
    scalar(app, "SELECT COUNT(*) AS n FROM changes").await
}

async fn a_location_s_life_is_in_the_feed_in_order_with_versions_and_a_tombstone(app: TestApp) {
    let ks = app.ks();
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    app.call(Method::PATCH, &path)
        .bearer(&ks)
        .if_match(Some("\"1\""))
        .json(json!({"name": "Deichman Grünerløkka bibliotek"}))
        .send()
        .await
        .expect(200);
    app.call(Method::PUT, &format!("{path}/opening-hours"))
        .bearer(&ks)
        .if_match(Some("\"2\""))
        .json(json!({"opens_on_holidays": false, "rules": [
            {"weekday": "monday", "opens": "10:00", "closes": "14:00", "service_mode": "drop_in"}
        ]}))
        .send()
        .await
        .expect(200);
    let exception = post(
        &app,
        &ks,
        &format!("{path}/exceptions"),
        None,
        json!({"date": "2027-05-17", "closed": true}),
    )
    .await;
    exception.expect(201);
    let exception_id = id_of(&exception.body);
    app.call(Method::DELETE, &format!("{path}/exceptions/{exception_id}"))
        .bearer(&ks)
        .send()
        .await
        .expect(204);
    app.call(Method::DELETE, &path)
        .bearer(&ks)
        .if_match(Some("\"3\""))
        .send()
        .await
        .expect(204);

    let entries = all_entries(&app, None, 0).await;
    assert_eq!(
        kinds(&entries),
        [
            pair("location", "created"),
            pair("location", "updated"),
            pair("opening_hours", "updated"),
            pair("opening_exception", "created"),
            pair("opening_exception", "deleted"),
            pair("location", "deleted"),
        ]
    );
    let sequences: Vec<i64> = entries
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    let versions: Vec<&Value> = entries.iter().map(|e| &e["version"]).collect();
    assert_eq!(
        versions,
        [
            &json!(1),
            &json!(2),
            &json!(3),
            &json!(null),
            &json!(null),
            &json!(null)
        ]
    );
    for entry in &entries[2..5] {
        assert_eq!(entry["parent_id"], json!(id), "{entry}");
    }
    assert_eq!(entries[0]["resource_id"], json!(id));
    assert!(entries[0]["parent_id"].is_null());
    assert_eq!(entries[3]["resource_id"], json!(exception_id));
    assert_eq!(entries[4]["resource_id"], json!(exception_id));
    let occurred = entries[0]["occurred_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(occurred).is_ok(),
        "{occurred}"
    );

    // Paging by `after`, a filter by type, and the newest sequence on every page.
    let first = feed(&app, None, "after=0&limit=2").await;
    first.expect(200);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(first.body["next_after"], json!(sequences[1]));
    assert_eq!(first.body["latest_sequence"], json!(sequences[5]));
    let rest = feed(&app, None, &format!("after={}", sequences[1])).await;
    assert_eq!(rest.body["items"].as_array().unwrap().len(), 4);
    let done = feed(&app, None, &format!("after={}", sequences[5])).await;
    assert_eq!(done.body["items"], json!([]));
    assert_eq!(done.body["next_after"], json!(sequences[5]));
    let exceptions = feed(&app, None, "resource_type=opening_exception").await;
    assert_eq!(
        kinds(exceptions.body["items"].as_array().unwrap()),
        [
            pair("opening_exception", "created"),
            pair("opening_exception", "deleted")
        ]
    );
}
db_test!(a_location_s_life_is_in_the_feed_in_order_with_versions_and_a_tombstone);

async fn a_refused_write_leaves_no_entry(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let before = stored_changes(&app).await;
    let path = format!("/api/v1/locations/{id}");
    // Stale If-Match, invalid body, wrong role: nothing written, nothing in the feed.
    app.call(Method::PATCH, &path)
        .bearer(&app.ks())
        .if_match(Some("\"7\""))
        .json(json!({"name": "Ny"}))
        .send()
        .await
        .expect(412);
    app.call(Method::PATCH, &path)
        .bearer(&app.ks())
        .if_match(Some("\"1\""))
        .json(json!({"name": ""}))
        .send()
        .await
        .expect(422);
    app.call(Method::PATCH, &path)
        .bearer(&app.municipality("1103"))
        .if_match(Some("\"1\""))
        .json(json!({"name": "Ny"}))
        .send()
        .await
        .expect(403);
    // A registration beyond the capacity is refused after the meeting place was read.
    let mut place = new_place();
    place["capacity"] = json!(2);
    let place = post(&app, &app.ks(), "/api/v1/meeting-places", None, place).await;
    place.expect(201);
    let after_place = stored_changes(&app).await;
    assert_eq!(after_place, before + 1);
    let path = format!(
        "/api/v1/meeting-places/{}/registrations",
        id_of(&place.body)
    );
    post(
        &app,
        &app.municipality("0301"),
        &path,
        None,
        registration(5),
    )
    .await
    .expect(409);
    assert_eq!(stored_changes(&app).await, after_place);
}
db_test!(a_refused_write_leaves_no_entry);

async fn each_role_reads_the_changes_it_may_read_and_no_more(app: TestApp) {
    let ks = app.ks();
    let oslo = app.municipality("0301");
    let bergen = app.municipality("4601");
    create_ok(&app, location_at("0301", "Deichman Tøyen", 59.91, 10.77)).await;

    // Tickets of two municipalities; a reply and an internal note on Oslo's.
    let oslo_ticket = post(&app, &oslo, "/api/v1/tickets", None, new_ticket()).await;
    oslo_ticket.expect(201);
    let oslo_ticket = id_of(&oslo_ticket.body);
    let bergen_ticket = post(&app, &bergen, "/api/v1/tickets", None, new_ticket()).await;
    bergen_ticket.expect(201);
    let messages = format!("/api/v1/tickets/{oslo_ticket}/messages");
    post(
        &app,
        &ks,
        &messages,
        None,
        json!({"body": "Ja, det gjør det."}),
    )
    .await
    .expect(201);
    post(
        &app,
        &ks,
        &messages,
        None,
        json!({"body": "Sjekk med KMD.", "internal": true}),
    )
    .await
    .expect(201);

    // Registrations and applications of both.
    let place = post(&app, &ks, "/api/v1/meeting-places", None, new_place()).await;
    place.expect(201);
    let registrations = format!(
        "/api/v1/meeting-places/{}/registrations",
        id_of(&place.body)
    );
    for token in [&oslo, &bergen] {
        post(&app, token, &registrations, None, registration(2))
            .await
            .expect(201);
    }
    let scheme = open_scheme(&app, 2027, 1_000_000).await;
    let applications = format!("/api/v1/grant-schemes/{scheme}/applications");
    for token in [&oslo, &bergen] {
        post(&app, token, &applications, None, application(100_000))
            .await
            .expect(201);
    }

    let anonymous = kinds(&all_entries(&app, None, 0).await);
    assert_eq!(
        anonymous,
        [
            pair("location", "created"),
            pair("meeting_place", "created"),
            pair("grant_scheme", "created"),
        ]
    );

    let own = all_entries(&app, Some(&oslo), 0).await;
    assert_eq!(
        kinds(&own),
        [
            pair("location", "created"),
            pair("ticket", "created"),
            pair("ticket_message", "created"),
            // KS's reply moved the ticket to `answered`.
            pair("ticket", "updated"),
            pair("meeting_place", "created"),
            pair("meeting_place_registration", "created"),
            pair("grant_scheme", "created"),
            pair("grant_application", "created"),
        ]
    );
    assert_eq!(own[1]["resource_id"], json!(oslo_ticket));
    assert_eq!(own[2]["parent_id"], json!(oslo_ticket));
    assert_eq!(own[3]["resource_id"], json!(oslo_ticket));

    // The ministry: registrations and applications, and no ticket until one is referred.
    let kmd = app.kmd();
    let ministry = kinds(&all_entries(&app, Some(&kmd), 0).await);
    assert!(
        !ministry.iter().any(|(t, _)| t.starts_with("ticket")),
        "{ministry:?}"
    );
    assert_eq!(
        ministry
            .iter()
            .filter(|(t, _)| t == "meeting_place_registration")
            .count(),
        2
    );
    assert_eq!(
        ministry
            .iter()
            .filter(|(t, _)| t == "grant_application")
            .count(),
        2
    );
    app.call(
        Method::POST,
        &format!("/api/v1/tickets/{oslo_ticket}/referral"),
    )
    .bearer(&ks)
    .json(json!({"to": "ministry", "note": "Gjelder tolkning av regelverket."}))
    .send()
    .await
    .expect(200);
    let referred = all_entries(&app, Some(&kmd), 0).await;
    let tickets: Vec<_> = referred
        .iter()
        .filter(|e| e["resource_type"].as_str().unwrap().starts_with("ticket"))
        .collect();
    // The ticket's creation, the reply and what it moved, the referral; never the note.
    assert_eq!(
        kinds(&tickets.into_iter().cloned().collect::<Vec<_>>()),
        [
            pair("ticket", "created"),
            pair("ticket_message", "created"),
            pair("ticket", "updated"),
            pair("ticket", "updated"),
        ]
    );

    // KS reads everything, the internal note too.
    let everything = all_entries(&app, Some(&ks), 0).await;
    assert_eq!(everything.len() as i64, stored_changes(&app).await);
    assert_eq!(
        everything
            .iter()
            .filter(|e| e["resource_type"] == "ticket_message")
            .count(),
        2
    );
    // Oslo still sees neither the note nor Bergen's things after the referral.
    let own_after = kinds(&all_entries(&app, Some(&oslo), 0).await);
    assert_eq!(
        own_after
            .iter()
            .filter(|(t, _)| t == "ticket_message")
            .count(),
        1
    );
    assert_eq!(
        own_after
            .iter()
            .filter(|(t, _)| t == "grant_application")
            .count(),
        1
    );
}
db_test!(each_role_reads_the_changes_it_may_read_and_no_more);

async fn bad_feed_requests_are_refused_by_name(app: TestApp) {
    for (query, parameter) in [
        ("after=-1", "after"),
        ("after=x", "after"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("resource_type=castle", "resource_type"),
    ] {
        let reply = feed(&app, None, query).await;
        reply.expect(400);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{query}"
        );
        assert!(
            reply.body.to_string().contains(parameter),
            "{query}: {}",
            reply.body
        );
    }
    let bad_token = feed(&app, Some("not-a-token"), "after=0").await;
    bad_token.expect(401);
}
db_test!(bad_feed_requests_are_refused_by_name);

async fn an_after_older_than_the_kept_entries_is_410(app: TestApp) {
    create_ok(&app, deichman()).await;
    create_ok(
        &app,
        location_at("0301", "Deichman Bjørvika", 59.908, 10.752),
    )
    .await;
    let latest = feed(&app, None, "after=0").await.body["latest_sequence"]
        .as_i64()
        .unwrap();
    let removed =
        digihjelpen::changes::prune(&app.db, chrono::Utc::now() + chrono::Duration::seconds(1))
            .await
            .unwrap();
    assert_eq!(removed, 2);
    let expired = feed(&app, None, "after=0").await;
    expired.expect(410);
    assert_eq!(expired.body["code"], "changes-expired");
    assert_eq!(expired.body["type"], "/problems/changes-expired");
    // From the newest sequence on, the feed goes on.
    let current = feed(&app, None, &format!("after={latest}")).await;
    current.expect(200);
    let id = create_ok(&app, deichman()).await;
    let next = feed(&app, None, &format!("after={latest}")).await;
    assert_eq!(next.body["items"][0]["resource_id"], json!(id));
    assert_eq!(next.body["items"][0]["sequence"], json!(latest + 1));
}
db_test!(an_after_older_than_the_kept_entries_is_410);

/// Writers on two app instances commit concurrently while a reader follows the feed; at the
/// end the reader has seen every committed change exactly once.
async fn a_reader_following_the_feed_misses_no_change_while_writers_commit(app: TestApp) {
    let second = app.another_instance().await;
    const WRITERS: usize = 4;
    const EACH: usize = 12;
    let writers = futures::future::join_all((0..WRITERS).map(|w| {
        let instance = if w % 2 == 0 { &app } else { &second };
        async move {
            for i in 0..EACH {
                let body = location_at("0301", &format!("Sted {w}-{i}"), 59.9, 10.7);
                let reply = post(instance, &instance.ks(), "/api/v1/locations", None, body).await;
                reply.expect(201);
            }
        }
    }));
    let done = std::sync::atomic::AtomicBool::new(false);
    let reader = async {
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let finished = done.load(std::sync::atomic::Ordering::Acquire);
            let page = feed(&second, None, &format!("after={after}&limit=5")).await;
            page.expect(200);
            let items = page.body["items"].as_array().unwrap();
            seen.extend(items.iter().map(|e| e["sequence"].as_i64().unwrap()));
            after = page.body["next_after"].as_i64().unwrap();
            if items.is_empty() && finished {
                return seen;
            }
            tokio::task::yield_now().await;
        }
    };
    let writing = async {
        writers.await;
        done.store(true, std::sync::atomic::Ordering::Release);
    };
    let ((), seen) = tokio::join!(writing, reader);
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an entry was read twice");
    assert_eq!(seen.len(), WRITERS * EACH);
    assert_eq!(stored_changes(&app).await as usize, WRITERS * EACH);
    let locations = scalar(&app, "SELECT COUNT(*) AS n FROM locations").await;
    assert_eq!(locations as usize, WRITERS * EACH);
}
db_test!(a_reader_following_the_feed_misses_no_change_while_writers_commit);
