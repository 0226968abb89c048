//! Regional meeting places, registrations that never overbook, and the calendar feed.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use poem::http::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{
    self, audit_actions, audits, etag, id_of, in_days, municipality_numbers, post, scalar,
};
use crate::support::{Reply, TestApp};

const STATUSES: [&str; 5] = ["planned", "open", "closed", "cancelled", "completed"];

pub fn new_place() -> Value {
    json!({
        "title": "Digihjelpen i Oslo og Akershus: erfaringsdeling",
        "description": "Kommuner med et tilbud deler erfaringer med dem som vil starte et.",
        "counties": ["03", "32"],
        "organisers": ["ks", "hk_dir"],
        "format": "hybrid",
        "venue_address": "Deichman Bjørvika, Anne-Cath. Vestlys plass 1, 0150 Oslo",
        "online_url": "https://ks.no/digihjelpen/motested",
        "starts_at": in_days(30),
        "ends_at": (Utc::now() + Duration::days(30) + Duration::hours(5)).to_rfc3339(),
        "capacity": 20,
        "registration_deadline": in_days(20),
        "status": "open",
    })
}

pub fn registration(participants: i32) -> Value {
    json!({
        "participants": participants,
        "contact_name": "Kari Nordmann",
        "contact_email": "digihjelp@kommune.no",
        "will_share_experience": true,
        "sharing_topic": "Digihjelp i biblioteket",
    })
}

async fn create_place(app: &TestApp, body: Value) -> Value {
    let reply = post(app, &app.ks(), "/api/v1/meeting-places", None, body).await;
    reply.expect(201);
    reply.body.clone()
}

async fn open_place(app: &TestApp, capacity: i32) -> String {
    let mut body = new_place();
    body["capacity"] = json!(capacity);
    id_of(&create_place(app, body).await)
}

async fn patch_place(
    app: &TestApp,
    token: Option<&str>,
    id: &str,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    let path = format!("/api/v1/meeting-places/{id}");
    helpers::patch(app, token, &path, if_match, body).await
}

/// Changes a meeting place as KS, with the current version as `If-Match`.
async fn ks_patch(app: &TestApp, id: &str, body: Value) -> Reply {
    let tag = etag(app, None, &format!("/api/v1/meeting-places/{id}")).await;
    patch_place(app, Some(&app.ks()), id, Some(&tag), body).await
}

async fn register(
    app: &TestApp,
    id: &str,
    municipality: &str,
    body: Value,
    key: Option<&str>,
) -> Reply {
    let path = format!("/api/v1/meeting-places/{id}/registrations");
    post(app, &app.municipality(municipality), &path, key, body).await
}

fn registration_path(place: &str, registration: &Value) -> String {
    format!(
        "/api/v1/meeting-places/{place}/registrations/{}",
        id_of(registration)
    )
}

async fn remaining(app: &TestApp, id: &str) -> i64 {
    app.get(&format!("/api/v1/meeting-places/{id}")).await.body["remaining_capacity"]
        .as_i64()
        .unwrap()
}

async fn stored_participants(app: &TestApp) -> i64 {
    scalar(
        app,
        "SELECT COALESCE(SUM(participants), 0) AS n FROM meeting_place_registrations",
    )
    .await
}

/// A meeting place brought to `status` by the allowed transitions.
async fn place_in(app: &TestApp, status: &str) -> String {
    let mut body = new_place();
    body["status"] = json!("planned");
    let id = id_of(&create_place(app, body).await);
    let path: &[&str] = match status {
        "planned" => &[],
        "open" => &["open"],
        "closed" => &["open", "closed"],
        "completed" => &["open", "closed", "completed"],
        "cancelled" => &["cancelled"],
        other => panic!("{other}"),
    };
    for step in path {
        let mut change = json!({"status": step});
        if *step == "cancelled" {
            change["cancellation_reason"] = json!("For få påmeldte");
        }
        ks_patch(app, &id, change).await.expect(200);
    }
    id
}

async fn ks_and_kmd_create_meeting_places_that_everyone_can_read(app: TestApp) {
    let created = create_place(&app, new_place()).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(created["counties"], json!(["03", "32"]));
    assert_eq!(created["organisers"], json!(["ks", "hk_dir"]));
    assert_eq!(created["remaining_capacity"], 20);
    assert_eq!(created["status"], "open");
    assert!(created["cancellation_reason"].is_null());
    let read = app.get(&format!("/api/v1/meeting-places/{id}")).await;
    read.expect(200);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(read.body, created);

    let mut online = new_place();
    online["format"] = json!("online");
    online["venue_address"] = Value::Null;
    let by_kmd = app
        .call(Method::POST, "/api/v1/meeting-places")
        .bearer(&app.kmd())
        .json(online)
        .send()
        .await;
    by_kmd.expect(201);
    assert_eq!(
        by_kmd.header("location").unwrap(),
        format!(
            "/api/v1/meeting-places/{}",
            by_kmd.body["id"].as_str().unwrap()
        )
    );
    assert_eq!(by_kmd.body["status"], "open");
    let log = app
        .call(Method::GET, &format!("/api/v1/audit?resource_id={id}"))
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(log.body["items"][0]["action"], "create");
    assert_eq!(log.body["items"][0]["resource_type"], "meeting_place");
}
db_test!(ks_and_kmd_create_meeting_places_that_everyone_can_read);

async fn only_ks_and_kmd_create_or_change_meeting_places(app: TestApp) {
    app.call(Method::POST, "/api/v1/meeting-places")
        .json(new_place())
        .send()
        .await
        .expect(401);
    app.call(Method::POST, "/api/v1/meeting-places")
        .bearer(&app.municipality("0301"))
        .json(new_place())
        .send()
        .await
        .expect(403);
    assert_eq!(app.count("meeting_places").await, 0);
    let id = open_place(&app, 20).await;
    patch_place(&app, None, &id, Some("\"1\""), json!({"title": "X"}))
        .await
        .expect(401);
    patch_place(
        &app,
        Some(&app.municipality("0301")),
        &id,
        Some("\"1\""),
        json!({"title": "X"}),
    )
    .await
    .expect(403);
    let missing = uuid::Uuid::now_v7();
    patch_place(
        &app,
        Some(&app.ks()),
        &missing.to_string(),
        Some("\"1\""),
        json!({"title": "X"}),
    )
    .await
    .expect(404);
    patch_place(
        &app,
        Some(&app.ks()),
        "not-a-uuid",
        Some("\"1\""),
        json!({"title": "X"}),
    )
    .await
    .expect(400);
    app.get(&format!("/api/v1/meeting-places/{missing}"))
        .await
        .expect(404);
    app.get("/api/v1/meeting-places/42").await.expect(400);
    assert_eq!(
        app.get(&format!("/api/v1/meeting-places/{id}")).await.body["version"],
        1
    );
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(only_ks_and_kmd_create_or_change_meeting_places);

async fn invalid_meeting_places_are_refused_per_field_and_nothing_is_stored(app: TestApp) {
    let ks = app.ks();
    let post = |body: Value| {
        app.call(Method::POST, "/api/v1/meeting-places")
            .bearer(&ks)
            .json(body)
            .send()
    };
    let mut bad = new_place();
    bad["title"] = json!(" ");
    bad["description"] = json!("x".repeat(4001));
    bad["counties"] = json!(["3"]);
    bad["organisers"] = json!([]);
    bad["online_url"] = json!("ftp://ks.no");
    bad["capacity"] = json!(0);
    bad["status"] = json!("completed");
    let reply = post(bad).await;
    reply.expect(422);
    assert_eq!(
        reply.invalid_fields(),
        [
            "title",
            "description",
            "counties",
            "organisers",
            "online_url",
            "capacity",
            "status"
        ]
    );

    let mut rules = new_place();
    rules["format"] = json!("hybrid");
    rules["venue_address"] = Value::Null;
    rules["online_url"] = Value::Null;
    rules["ends_at"] = rules["starts_at"].clone();
    rules["registration_deadline"] = in_days(31).into();
    let reply = post(rules).await;
    reply.expect(422);
    assert_eq!(
        reply.invalid_fields(),
        [
            "venue_address",
            "online_url",
            "ends_at",
            "registration_deadline"
        ]
    );

    let mut in_person = new_place();
    in_person["format"] = json!("in_person");
    in_person["venue_address"] = Value::Null;
    assert_eq!(post(in_person).await.invalid_fields(), ["venue_address"]);
    let mut unknown_county = new_place();
    unknown_county["counties"] = json!(["03", "99"]);
    let reply = post(unknown_county).await;
    reply.expect(422);
    assert_eq!(reply.invalid_fields(), ["counties"]);

    // Wrong types, unknown enum values and unknown fields are malformed: 400.
    for (field, value) in [
        ("capacity", json!("20")),
        ("starts_at", json!("tomorrow")),
        ("format", json!("boat")),
        ("organisers[0]", json!(["nav"])),
        ("counties", json!("03")),
        ("title", json!(42)),
        ("status", json!("postponed")),
        ("colour", json!("red")),
    ] {
        let mut body = new_place();
        body[field.trim_end_matches("[0]")] = value;
        assert_eq!(post(body).await.expect(422).invalid_fields(), [field]);
    }
    // A number no integer holds is refused at the edge, named the same way.
    let mut body = new_place();
    body["capacity"] = json!(2.5);
    assert_eq!(post(body).await.expect(400).invalid_fields(), ["capacity"]);
    assert_eq!(app.count("meeting_places").await, 0);
    assert_eq!(app.count("meeting_place_counties").await, 0);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(invalid_meeting_places_are_refused_per_field_and_nothing_is_stored);

async fn every_status_transition_is_allowed_or_refused_by_the_table(app: TestApp) {
    let allowed = [
        ("planned", "open"),
        ("open", "closed"),
        ("closed", "completed"),
        ("planned", "cancelled"),
        ("open", "cancelled"),
        ("closed", "cancelled"),
    ];
    for from in STATUSES {
        for to in STATUSES {
            let id = place_in(&app, from).await;
            let mut change = json!({"status": to});
            if to == "cancelled" {
                change["cancellation_reason"] = json!("Lokalet er ikke tilgjengelig");
            }
            let reply = ks_patch(&app, &id, change).await;
            let terminal = matches!(from, "cancelled" | "completed");
            let ok = !terminal && (from == to || allowed.contains(&(from, to)));
            if ok {
                reply.expect(200);
                assert_eq!(reply.body["status"], to, "{from} → {to}");
            } else {
                reply.expect(422);
                assert_eq!(reply.invalid_fields(), ["status"], "{from} → {to}");
                let after = app.get(&format!("/api/v1/meeting-places/{id}")).await;
                assert_eq!(after.body["status"], from, "{from} → {to} changed nothing");
            }
        }
    }
}
db_test!(every_status_transition_is_allowed_or_refused_by_the_table);

async fn a_cancellation_needs_a_reason_and_only_a_cancellation_has_one(app: TestApp) {
    let id = open_place(&app, 20).await;
    let no_reason = ks_patch(&app, &id, json!({"status": "cancelled"})).await;
    no_reason.expect(422);
    assert_eq!(no_reason.invalid_fields(), ["cancellation_reason"]);
    let stray = ks_patch(&app, &id, json!({"cancellation_reason": "why"})).await;
    stray.expect(422);
    assert_eq!(stray.invalid_fields(), ["cancellation_reason"]);
    let cancelled = ks_patch(
        &app,
        &id,
        json!({"status": "cancelled", "cancellation_reason": "Storm"}),
    )
    .await;
    cancelled.expect(200);
    assert_eq!(cancelled.body["cancellation_reason"], "Storm");
    assert_eq!(cancelled.header("etag"), Some("\"2\""));
    let log = app
        .call(Method::GET, &format!("/api/v1/audit?resource_id={id}"))
        .bearer(&app.kmd())
        .send()
        .await;
    assert!(
        log.body["items"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("open → cancelled")
    );
}
db_test!(a_cancellation_needs_a_reason_and_only_a_cancellation_has_one);

async fn meeting_place_changes_need_a_current_if_match_and_valid_fields(app: TestApp) {
    let id = open_place(&app, 20).await;
    let ks = app.ks();
    patch_place(&app, Some(&ks), &id, None, json!({"title": "Nytt navn"}))
        .await
        .expect(428);
    let changed = patch_place(
        &app,
        Some(&ks),
        &id,
        Some("\"1\""),
        json!({"title": "Nytt navn", "counties": ["46"]}),
    )
    .await;
    changed.expect(200);
    assert_eq!(changed.body["counties"], json!(["46"]));
    let stale = patch_place(
        &app,
        Some(&ks),
        &id,
        Some("\"1\""),
        json!({"title": "Gammelt"}),
    )
    .await;
    stale.expect(412);
    assert_eq!(stale.body["current_version"], 2);
    for (body, field) in [
        (json!({"ends_at": in_days(1)}), "ends_at"),
        (
            json!({"registration_deadline": in_days(40)}),
            "registration_deadline",
        ),
        (
            json!({"format": "online", "online_url": null}),
            "online_url",
        ),
        (json!({"capacity": -1}), "capacity"),
        (json!({"title": null}), "title"),
        (json!({"counties": ["99"]}), "counties"),
        (json!({}), "body"),
    ] {
        let reply = patch_place(&app, Some(&ks), &id, Some("\"2\""), body).await;
        reply.expect(422);
        assert_eq!(reply.invalid_fields(), [field]);
    }
    patch_place(
        &app,
        Some(&ks),
        &id,
        Some("\"2\""),
        json!({"status": "reopened"}),
    )
    .await
    .expect(422);
    let read = app.get(&format!("/api/v1/meeting-places/{id}")).await;
    assert_eq!(read.body["title"], "Nytt navn");
    assert_eq!(read.body["version"], 2);
    assert_eq!(app.count("audit_entries").await, 2);
}
db_test!(meeting_place_changes_need_a_current_if_match_and_valid_fields);

async fn the_list_is_ordered_by_start_paged_and_filtered(app: TestApp) {
    let mut ids = Vec::new();
    for (days, county, format) in [
        (50, "03", "hybrid"),
        (10, "46", "online"),
        (30, "03", "in_person"),
        (30, "50", "hybrid"),
    ] {
        let mut body = new_place();
        body["starts_at"] = in_days(days).into();
        body["ends_at"] = (Utc::now() + Duration::days(days) + Duration::hours(3))
            .to_rfc3339()
            .into();
        body["registration_deadline"] = in_days(days - 5).into();
        body["counties"] = json!([county]);
        body["format"] = json!(format);
        ids.push(
            create_place(&app, body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let titles = |r: &Reply| {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let mut seen = Vec::new();
    let mut path = "/api/v1/meeting-places?limit=1".to_string();
    loop {
        let page = app.get(&path).await;
        page.expect(200);
        seen.extend(titles(&page));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/meeting-places?limit=1&cursor={c}"),
            None => break,
        }
    }
    // Ordered by starts_at; the two starting on the same day (to the second, perhaps not)
    // keep a stable order.
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0], ids[1]);
    assert_eq!(seen[3], ids[0]);
    assert_eq!(
        titles(&app.get("/api/v1/meeting-places?county=03").await),
        [ids[2].clone(), ids[0].clone()]
    );
    assert_eq!(
        titles(&app.get("/api/v1/meeting-places?format=online").await),
        [ids[1].clone()]
    );
    let from = (Utc::now() + Duration::days(20)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (Utc::now() + Duration::days(40)).format("%Y-%m-%dT%H:%M:%SZ");
    let window = app
        .get(&format!("/api/v1/meeting-places?from={from}&to={to}"))
        .await;
    assert_eq!(window.body["items"].as_array().unwrap().len(), 2);
    ks_patch(&app, &ids[1], json!({"status": "closed"}))
        .await
        .expect(200);
    assert_eq!(
        titles(&app.get("/api/v1/meeting-places?status=closed").await),
        [ids[1].clone()]
    );
    app.get("/api/v1/meeting-places?county=99")
        .await
        .expect(422);
    app.get("/api/v1/meeting-places?county=oslo")
        .await
        .expect(422);
    app.get(&format!("/api/v1/meeting-places?from={to}&to={from}"))
        .await
        .expect(422);
    for bad in [
        "status=postponed",
        "format=boat",
        "from=tomorrow",
        "limit=0",
        "cursor=xyz",
    ] {
        app.get(&format!("/api/v1/meeting-places?{bad}"))
            .await
            .expect(400);
    }
}
db_test!(the_list_is_ordered_by_start_paged_and_filtered);

async fn a_municipality_registers_itself_once_and_sees_only_its_own(app: TestApp) {
    let id = open_place(&app, 20).await;
    let oslo = register(&app, &id, "0301", registration(3), None).await;
    oslo.expect(201);
    assert_eq!(oslo.body["municipality_number"], "0301");
    assert_eq!(oslo.body["participants"], 3);
    assert_eq!(oslo.header("etag"), Some("\"1\""));
    assert_eq!(
        oslo.header("location").unwrap(),
        registration_path(&id, &oslo.body)
    );
    register(&app, &id, "4601", registration(2), None)
        .await
        .expect(201);
    assert_eq!(remaining(&app, &id).await, 15);
    let again = register(&app, &id, "0301", registration(1), None).await;
    again.expect(409);
    assert!(again.body.get("remaining_capacity").is_none());

    let list = |token: String| {
        app.call(
            Method::GET,
            &format!("/api/v1/meeting-places/{id}/registrations"),
        )
        .bearer(&token)
        .send()
    };
    let own = list(app.municipality("0301")).await;
    own.expect(200);
    assert_eq!(own.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(own.body["items"][0]["municipality_number"], "0301");
    assert!(
        list(app.municipality("1103")).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for token in [app.ks(), app.kmd()] {
        let all = list(token).await;
        all.expect(200);
        assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    }
    app.get(&format!("/api/v1/meeting-places/{id}/registrations"))
        .await
        .expect(401);
    let missing = uuid::Uuid::now_v7();
    app.call(
        Method::GET,
        &format!("/api/v1/meeting-places/{missing}/registrations"),
    )
    .bearer(&app.ks())
    .send()
    .await
    .expect(404);

    let path = registration_path(&id, &oslo.body);
    app.call(Method::GET, &path)
        .bearer(&app.municipality("0301"))
        .send()
        .await
        .expect(200);
    app.call(Method::GET, &path)
        .bearer(&app.kmd())
        .send()
        .await
        .expect(200);
    app.call(Method::GET, &path)
        .bearer(&app.municipality("4601"))
        .send()
        .await
        .expect(404);
    app.get(&path).await.expect(401);
    let other_place = open_place(&app, 20).await;
    let elsewhere = path.replace(&id, &other_place);
    app.call(Method::GET, &elsewhere)
        .bearer(&app.ks())
        .send()
        .await
        .expect(404);
    app.call(
        Method::GET,
        &format!("/api/v1/meeting-places/{id}/registrations/nope"),
    )
    .bearer(&app.ks())
    .send()
    .await
    .expect(400);
}
db_test!(a_municipality_registers_itself_once_and_sees_only_its_own);

async fn only_a_municipality_registers_and_bad_registrations_change_nothing(app: TestApp) {
    let id = open_place(&app, 20).await;
    let path = format!("/api/v1/meeting-places/{id}/registrations");
    app.call(Method::POST, &path)
        .json(registration(1))
        .send()
        .await
        .expect(401);
    app.call(Method::POST, &path)
        .bearer(&app.ks())
        .json(registration(1))
        .send()
        .await
        .expect(403);
    app.call(Method::POST, &path)
        .bearer(&app.kmd())
        .json(registration(1))
        .send()
        .await
        .expect(403);
    let missing = uuid::Uuid::now_v7();
    register(&app, &missing.to_string(), "0301", registration(1), None)
        .await
        .expect(404);
    register(&app, "not-a-uuid", "0301", registration(1), None)
        .await
        .expect(400);
    let invalid = register(
        &app,
        &id,
        "0301",
        json!({
            "participants": 0, "contact_name": "", "contact_email": "kari@",
            "will_share_experience": true,
        }),
        None,
    )
    .await;
    invalid.expect(422);
    assert_eq!(
        invalid.invalid_fields(),
        [
            "participants",
            "contact_name",
            "contact_email",
            "sharing_topic"
        ]
    );
    let mut stray_topic = registration(1);
    stray_topic["will_share_experience"] = json!(false);
    assert_eq!(
        register(&app, &id, "0301", stray_topic, None)
            .await
            .invalid_fields(),
        ["sharing_topic"]
    );
    for (field, value) in [
        ("participants", json!("2")),
        ("will_share_experience", json!("yes")),
        ("contact_email", json!(7)),
        ("extra", json!(1)),
    ] {
        let mut body = registration(1);
        body[field] = value;
        assert_eq!(
            register(&app, &id, "0301", body, None)
                .await
                .expect(422)
                .invalid_fields(),
            [field]
        );
    }
    assert_eq!(app.count("meeting_place_registrations").await, 0);
    assert_eq!(remaining(&app, &id).await, 20);
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(only_a_municipality_registers_and_bad_registrations_change_nothing);

async fn registration_is_open_only_while_open_and_before_the_deadline(app: TestApp) {
    for status in ["planned", "closed", "cancelled", "completed"] {
        let id = place_in(&app, status).await;
        let refused = register(&app, &id, "0301", registration(1), None).await;
        refused.expect(422);
        assert!(
            refused.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(status),
            "{}",
            refused.text
        );
    }
    let mut late = new_place();
    late["registration_deadline"] = (Utc::now() - Duration::minutes(1)).to_rfc3339().into();
    let id = create_place(&app, late).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = register(&app, &id, "0301", registration(1), None).await;
    refused.expect(422);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deadline")
    );
    assert_eq!(app.count("meeting_place_registrations").await, 0);
}
db_test!(registration_is_open_only_while_open_and_before_the_deadline);

async fn a_municipality_changes_or_cancels_its_registration_until_the_deadline(app: TestApp) {
    let id = open_place(&app, 10).await;
    let oslo = register(&app, &id, "0301", registration(2), None).await;
    oslo.expect(201);
    let path = registration_path(&id, &oslo.body);
    let token = app.municipality("0301");
    let patch = |tag: Option<&str>, body: Value, token: &str| {
        let mut call = app.call(Method::PATCH, &path).bearer(token).json(body);
        if let Some(tag) = tag {
            call = call.header("if-match", tag);
        }
        call.send()
    };
    patch(
        Some("\"1\""),
        json!({"participants": 4}),
        &app.municipality("4601"),
    )
    .await
    .expect(404);
    patch(Some("\"1\""), json!({"participants": 4}), &app.ks())
        .await
        .expect(403);
    patch(None, json!({"participants": 4}), &token)
        .await
        .expect(428);
    let more = patch(
        Some("\"1\""),
        json!({"participants": 4, "contact_email": "ny@oslo.kommune.no"}),
        &token,
    )
    .await;
    more.expect(200);
    assert_eq!(more.body["participants"], 4);
    assert_eq!(more.header("etag"), Some("\"2\""));
    assert_eq!(remaining(&app, &id).await, 6);
    patch(Some("\"1\""), json!({"participants": 1}), &token)
        .await
        .expect(412);
    let bad = patch(
        Some("\"2\""),
        json!({"participants": 0, "contact_email": "x"}),
        &token,
    )
    .await;
    bad.expect(422);
    assert_eq!(bad.invalid_fields(), ["participants", "contact_email"]);

    // More participants than there is room for: 409 with the room left; nothing changes.
    register(&app, &id, "4601", registration(5), None)
        .await
        .expect(201);
    let too_many = patch(Some("\"2\""), json!({"participants": 6}), &token).await;
    too_many.expect(409);
    assert_eq!(too_many.body["remaining_capacity"], 1);
    assert_eq!(too_many.body["code"], "capacity-exceeded");
    assert_eq!(stored_participants(&app).await, 9);
    patch(Some("\"2\""), json!({"participants": 5}), &token)
        .await
        .expect(200);
    assert_eq!(remaining(&app, &id).await, 0);

    // KS cannot shrink the meeting place below what is registered.
    let shrink = ks_patch(&app, &id, json!({"capacity": 9})).await;
    shrink.expect(422);
    assert_eq!(shrink.invalid_fields(), ["capacity"]);

    // Cancelling releases the places; the municipality may register again.
    let delete = |tag: Option<&str>, token: &str| {
        let mut call = app.call(Method::DELETE, &path).bearer(token);
        if let Some(tag) = tag {
            call = call.header("if-match", tag);
        }
        call.send()
    };
    delete(Some("\"3\""), &app.municipality("4601"))
        .await
        .expect(404);
    delete(Some("\"3\""), &app.kmd()).await.expect(403);
    delete(Some("\"2\""), &token).await.expect(412);
    delete(None, &token).await.expect(428);
    delete(Some("\"3\""), &token).await.expect(204);
    assert_eq!(remaining(&app, &id).await, 5);
    app.call(Method::GET, &path)
        .bearer(&token)
        .send()
        .await
        .expect(404);
    let back = register(&app, &id, "0301", registration(1), None).await;
    back.expect(201);

    // After the deadline nothing changes any more.
    ks_patch(
        &app,
        &id,
        json!({"registration_deadline": (Utc::now() - Duration::minutes(1)).to_rfc3339()}),
    )
    .await
    .expect(200);
    let path = registration_path(&id, &back.body);
    let late = app
        .call(Method::PATCH, &path)
        .bearer(&token)
        .header("if-match", "\"1\"")
        .json(json!({"participants": 1, "contact_name": "Ola"}))
        .send()
        .await;
    late.expect(422);
    assert!(
        late.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deadline")
    );
    app.call(Method::DELETE, &path)
        .bearer(&token)
        .header("if-match", "\"1\"")
        .send()
        .await
        .expect(422);
    assert_eq!(stored_participants(&app).await, 6);
    let actions = audits(&app, "meeting_place_registration").await;
    assert_eq!(actions, 6); // 3 registrations, 2 changes, 1 cancellation
}
db_test!(a_municipality_changes_or_cancels_its_registration_until_the_deadline);

async fn a_closed_meeting_place_keeps_registrations_that_may_shrink_but_not_grow(app: TestApp) {
    let id = open_place(&app, 10).await;
    let oslo = register(&app, &id, "0301", registration(3), None).await;
    ks_patch(&app, &id, json!({"status": "closed"}))
        .await
        .expect(200);
    let path = registration_path(&id, &oslo.body);
    let token = app.municipality("0301");
    let grow = app
        .call(Method::PATCH, &path)
        .bearer(&token)
        .header("if-match", "\"1\"")
        .json(json!({"participants": 4}))
        .send()
        .await;
    grow.expect(422);
    app.call(Method::PATCH, &path)
        .bearer(&token)
        .header("if-match", "\"1\"")
        .json(json!({"participants": 2}))
        .send()
        .await
        .expect(200);
    assert_eq!(remaining(&app, &id).await, 8);
}
db_test!(a_closed_meeting_place_keeps_registrations_that_may_shrink_but_not_grow);

async fn an_idempotency_key_replays_a_registration(app: TestApp) {
    let id = open_place(&app, 20).await;
    let first = register(&app, &id, "0301", registration(2), Some("reg-1")).await;
    first.expect(201);
    let retry = register(&app, &id, "0301", registration(2), Some("reg-1")).await;
    retry.expect(201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    register(&app, &id, "0301", registration(3), Some("reg-1"))
        .await
        .expect(409);
    assert_eq!(app.count("meeting_place_registrations").await, 1);
    assert_eq!(remaining(&app, &id).await, 18);
    // The same key at another meeting place is another request.
    let other = open_place(&app, 20).await;
    let elsewhere = register(&app, &other, "0301", registration(2), Some("reg-1")).await;
    elsewhere.expect(201);
    assert_ne!(elsewhere.body["id"], first.body["id"]);
}
db_test!(an_idempotency_key_replays_a_registration);

async fn fifty_concurrent_registrations_never_overbook_twenty_places(app: TestApp) {
    let id = open_place(&app, 20).await;
    let numbers = municipality_numbers(&app, 50).await;
    assert_eq!(numbers.len(), 50);
    let asks: Vec<i64> = (0..50).map(|i| 1 + i % 3).collect();
    let attempts = numbers
        .iter()
        .zip(&asks)
        .map(|(number, &n)| register(&app, &id, number, registration(n as i32), None));
    let replies = futures::future::join_all(attempts).await;

    let mut accepted = 0;
    let mut accepted_sum = 0;
    let mut refused = Vec::new();
    for (reply, &n) in replies.iter().zip(&asks) {
        match reply.status.as_u16() {
            201 => {
                accepted += 1;
                accepted_sum += n;
            }
            409 => {
                reply.expect(409);
                let room = reply.body["remaining_capacity"]
                    .as_i64()
                    .unwrap_or_else(|| panic!("{}", reply.text));
                assert!((0..n).contains(&room), "refused {n} with room for {room}");
                refused.push(n);
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    let stored = stored_participants(&app).await;
    let reserved = scalar(
        &app,
        "SELECT CAST(reserved AS BIGINT) AS n FROM meeting_places",
    )
    .await;
    let left = remaining(&app, &id).await;
    eprintln!(
        "concurrent registrations on {:?}: accepted {accepted}, refused {}, \
         stored sum {stored} of capacity 20",
        app.db.get_database_backend(),
        refused.len()
    );
    assert_eq!(accepted + refused.len(), 50);
    assert!(stored <= 20, "overbooked: {stored}");
    assert_eq!(stored, accepted_sum);
    assert_eq!(reserved, stored);
    assert_eq!(left, 20 - stored);
    assert_eq!(
        app.count("meeting_place_registrations").await,
        accepted as i64
    );
    // Nobody was refused who would still fit: room only ever shrinks.
    assert!(
        refused.iter().all(|&n| n > left),
        "refused {refused:?} with {left} left"
    );
}
db_test!(fifty_concurrent_registrations_never_overbook_twenty_places);

async fn concurrent_participant_increases_never_overbook(app: TestApp) {
    let id = open_place(&app, 15).await;
    let numbers = [
        "0301", "1103", "4601", "5001", "1804", "3201", "3301", "3401", "3901", "4001",
    ];
    let mut paths = Vec::new();
    for number in numbers {
        let reply = register(&app, &id, number, registration(1), None).await;
        reply.expect(201);
        paths.push((number, registration_path(&id, &reply.body)));
    }
    let attempts = paths.iter().map(|(number, path)| {
        app.call(Method::PATCH, path)
            .bearer(&app.municipality(number))
            .header("if-match", "\"1\"")
            .json(json!({"participants": 2}))
            .send()
    });
    let replies = futures::future::join_all(attempts).await;
    let grown = replies.iter().filter(|r| r.status == 200).count();
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.expect(409);
        assert_eq!(reply.body["remaining_capacity"], 0);
    }
    assert_eq!(grown, 5);
    assert_eq!(stored_participants(&app).await, 15);
    assert_eq!(remaining(&app, &id).await, 0);
}
db_test!(concurrent_participant_increases_never_overbook);

/// The VEVENTs of a feed, each as property name → unescaped value, after checking the
/// physical lines: CRLF endings and at most 75 octets each.
fn parse_feed(text: &str) -> Vec<HashMap<String, String>> {
    assert!(text.ends_with("\r\n"), "the feed ends with CRLF");
    for line in text.split("\r\n") {
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "bare line break in {line:?}"
        );
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
    }
    let unfolded = text.replace("\r\n ", "");
    let lines: Vec<&str> = unfolded.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.first(), Some(&"BEGIN:VCALENDAR"));
    assert_eq!(lines.last(), Some(&"END:VCALENDAR"));
    assert!(lines.contains(&"VERSION:2.0"));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    let mut events = Vec::new();
    let mut current: Option<HashMap<String, String>> = None;
    for line in lines {
        match line {
            "BEGIN:VEVENT" => current = Some(HashMap::new()),
            "END:VEVENT" => events.push(current.take().expect("an open VEVENT")),
            _ => {
                if let Some(event) = current.as_mut() {
                    let (name, value) = line.split_once(':').expect("NAME:value");
                    event.insert(name.to_string(), unescape(value));
                }
            }
        }
    }
    events
}

fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            assert!(c != ';' && c != ',', "unescaped {c:?} in {value:?}");
            out.push(c);
        }
    }
    out
}

async fn the_calendar_feed_is_rfc_5545_with_stable_uids_and_cancelled_events(app: TestApp) {
    let mut tricky = new_place();
    tricky["title"] = json!("Møteplass; Oslo, Akershus \\ Buskerud");
    tricky["description"] = json!(format!(
        "Linje én\nLinje to, med komma; og semikolon\r\n{}",
        "æøå ".repeat(40)
    ));
    tricky["counties"] = json!(["03"]);
    let tricky = create_place(&app, tricky).await;
    let mut online = new_place();
    online["format"] = json!("online");
    online["venue_address"] = Value::Null;
    online["counties"] = json!(["46"]);
    let online = create_place(&app, online).await;
    let cancelled = open_place(&app, 20).await;
    ks_patch(
        &app,
        &cancelled,
        json!({"status": "cancelled", "cancellation_reason": "Uvær"}),
    )
    .await
    .expect(200);
    let mut past = new_place();
    past["starts_at"] = (Utc::now() - Duration::days(3)).to_rfc3339().into();
    past["ends_at"] = (Utc::now() - Duration::days(2)).to_rfc3339().into();
    past["registration_deadline"] = (Utc::now() - Duration::days(4)).to_rfc3339().into();
    create_place(&app, past).await;

    let first = app.get("/meeting-places.ics").await;
    first.expect(200);
    assert_eq!(
        first.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    let events = parse_feed(&first.text);
    assert_eq!(events.len(), 3, "the ended one is left out");
    let by_uid = |uid: &str| {
        events
            .iter()
            .find(|e| e["UID"] == uid)
            .unwrap_or_else(|| panic!("no {uid}"))
    };
    let tricky_event = by_uid(&format!("{}@digihjelpen", tricky["id"].as_str().unwrap()));
    assert_eq!(
        tricky_event["SUMMARY"],
        "Møteplass; Oslo, Akershus \\ Buskerud"
    );
    assert!(
        tricky_event["DESCRIPTION"].starts_with("Linje én\nLinje to, med komma; og semikolon\n")
    );
    assert_eq!(
        tricky_event["LOCATION"],
        "Deichman Bjørvika, Anne-Cath. Vestlys plass 1, 0150 Oslo"
    );
    assert_eq!(tricky_event["STATUS"], "CONFIRMED");
    for property in ["DTSTART", "DTEND", "DTSTAMP"] {
        let value = &tricky_event[property];
        assert_eq!(value.len(), 16, "{property}: {value}");
        assert!(
            value.ends_with('Z') && value.as_bytes()[8] == b'T',
            "{property} in UTC: {value}"
        );
    }
    let starts = chrono::DateTime::parse_from_rfc3339(tricky["starts_at"].as_str().unwrap())
        .unwrap()
        .to_utc();
    assert_eq!(
        tricky_event["DTSTART"],
        starts.format("%Y%m%dT%H%M%SZ").to_string()
    );
    let online_event = by_uid(&format!("{}@digihjelpen", online["id"].as_str().unwrap()));
    assert_eq!(online_event["URL"], "https://ks.no/digihjelpen/motested");
    assert!(!online_event.contains_key("LOCATION"));
    let cancelled_event = by_uid(&format!("{cancelled}@digihjelpen"));
    assert_eq!(cancelled_event["STATUS"], "CANCELLED");
    assert!(cancelled_event["DESCRIPTION"].contains("Uvær"));

    let second = app.get("/meeting-places.ics").await;
    assert_eq!(
        second.text, first.text,
        "the same data gives the same feed: UIDs and DTSTAMPs are stable"
    );
    let oslo = parse_feed(&app.get("/meeting-places.ics?county=03").await.text);
    let uids: Vec<&str> = oslo.iter().map(|e| e["UID"].as_str()).collect();
    assert_eq!(uids.len(), 2);
    assert!(!uids.contains(&format!("{}@digihjelpen", online["id"].as_str().unwrap()).as_str()));
    app.get("/meeting-places.ics?county=99").await.expect(422);
}
db_test!(the_calendar_feed_is_rfc_5545_with_stable_uids_and_cancelled_events);

// Waiting lists.

/// A registration that asks to wait when it does not fit.
fn waiting(participants: i32) -> Value {
    let mut body = registration(participants);
    body["waitlist"] = json!(true);
    body
}

/// A registration as `token` reads it.
async fn read_registration(app: &TestApp, token: &str, path: &str) -> Reply {
    app.call(Method::GET, path).bearer(token).send().await
}

/// The status and position of a registration as its municipality reads it.
async fn standing(app: &TestApp, municipality: &str, path: &str) -> (String, Value) {
    let reply = read_registration(app, &app.municipality(municipality), path).await;
    reply.expect(200);
    (
        reply.body["status"].as_str().unwrap().to_string(),
        reply.body["position"].clone(),
    )
}

/// Cancels a registration as its municipality, with the version it has now.
async fn cancel_registration(app: &TestApp, municipality: &str, path: &str) -> Reply {
    let token = app.municipality(municipality);
    let tag = etag(app, Some(&token), path).await;
    app.call(Method::DELETE, path)
        .bearer(&token)
        .if_match(Some(&tag))
        .send()
        .await
}

/// Changes a registration as its municipality, with the version it has now.
async fn change_registration(app: &TestApp, municipality: &str, path: &str, body: Value) -> Reply {
    let token = app.municipality(municipality);
    let tag = etag(app, Some(&token), path).await;
    app.call(Method::PATCH, path)
        .bearer(&token)
        .if_match(Some(&tag))
        .json(body)
        .send()
        .await
}

/// One row of `meeting_place_registration_events`.
#[derive(Debug, Clone)]
struct Event {
    sequence: i32,
    registration: uuid::Uuid,
    municipality: String,
    kind: String,
    participants: i32,
}

/// Every registration event stored, in the order of their numbers.
async fn events(app: &TestApp) -> Vec<Event> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT \"sequence\", registration_id, municipality_number, kind, participants \
             FROM meeting_place_registration_events ORDER BY \"sequence\"",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| Event {
            sequence: r.try_get("", "sequence").unwrap(),
            registration: r.try_get("", "registration_id").unwrap(),
            municipality: r.try_get("", "municipality_number").unwrap(),
            kind: r.try_get("", "kind").unwrap(),
            participants: r.try_get("", "participants").unwrap(),
        })
        .collect()
}

fn kinds(registration: &Value) -> Vec<String> {
    registration["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

/// The municipalities of the registrations KS lists with `?status=`.
async fn listed_with_status(app: &TestApp, id: &str, status: &str) -> Vec<String> {
    let reply = app
        .call(
            Method::GET,
            &format!("/api/v1/meeting-places/{id}/registrations?status={status}"),
        )
        .bearer(&app.ks())
        .send()
        .await;
    reply.expect(200);
    helpers::field(&reply, "municipality_number")
}

async fn place_counts(app: &TestApp, id: &str) -> (i64, i64) {
    let place = app.get(&format!("/api/v1/meeting-places/{id}")).await;
    place.expect(200);
    (
        place.body["remaining_capacity"].as_i64().unwrap(),
        place.body["waitlist_length"].as_i64().unwrap(),
    )
}

async fn a_registration_that_does_not_fit_waits_and_a_cancellation_promotes_it(app: TestApp) {
    let id = open_place(&app, 4).await;
    let oslo = register(&app, &id, "0301", waiting(3), None).await;
    oslo.expect(201);
    assert_eq!(oslo.body["status"], "confirmed");
    assert!(oslo.body["position"].is_null());
    assert_eq!(kinds(&oslo.body), ["registered"]);
    let oslo_path = registration_path(&id, &oslo.body);

    let bergen = register(&app, &id, "4601", waiting(2), None).await;
    bergen.expect(201);
    assert_eq!(bergen.body["status"], "waitlisted");
    assert_eq!(bergen.body["position"], 1);
    assert_eq!(bergen.header("etag"), Some("\"1\""));
    let bergen_path = registration_path(&id, &bergen.body);
    assert_eq!(bergen.header("location"), Some(bergen_path.as_str()));
    assert_eq!(kinds(&bergen.body), ["waitlisted"]);
    assert_eq!(place_counts(&app, &id).await, (1, 1));

    // One place is free, but it is held for the waiting list: without the flag, 409.
    let refused = register(&app, &id, "1103", registration(1), None).await;
    refused.expect(409);
    assert_eq!(refused.body["remaining_capacity"], 1);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("waiting list"),
        "{}",
        refused.text
    );
    // With it, the registration joins the end of the list, though it would fit.
    let stavanger = register(&app, &id, "1103", waiting(1), None).await;
    stavanger.expect(201);
    assert_eq!(stavanger.body["status"], "waitlisted");
    assert_eq!(stavanger.body["position"], 2);
    let stavanger_path = registration_path(&id, &stavanger.body);
    assert_eq!(app.count("meeting_place_registrations").await, 3);
    assert_eq!(place_counts(&app, &id).await, (1, 2));
    assert_eq!(
        stored_participants(&app).await,
        6,
        "waitlisted participants are stored"
    );

    assert_eq!(
        listed_with_status(&app, &id, "waitlisted").await,
        ["4601", "1103"]
    );
    assert!(
        listed_with_status(&app, &id, "not_admitted")
            .await
            .is_empty()
    );
    app.call(
        Method::GET,
        &format!("/api/v1/meeting-places/{id}/registrations?status=waiting"),
    )
    .bearer(&app.ks())
    .send()
    .await
    .expect(400);

    cancel_registration(&app, "0301", &oslo_path)
        .await
        .expect(204);
    // Three places freed: the first in line (2) and the next (1) are in, in that order.
    let bergen = read_registration(&app, &app.municipality("4601"), &bergen_path).await;
    bergen.expect(200);
    assert_eq!(bergen.body["status"], "confirmed");
    assert!(bergen.body["position"].is_null());
    assert_eq!(bergen.header("etag"), Some("\"2\""));
    assert_eq!(kinds(&bergen.body), ["waitlisted", "promoted"]);
    assert_eq!(bergen.body["history"][1]["status"], "confirmed");
    assert_eq!(
        standing(&app, "1103", &stavanger_path).await,
        ("confirmed".to_string(), Value::Null)
    );
    assert_eq!(place_counts(&app, &id).await, (1, 0));
    let reserved = scalar(
        &app,
        "SELECT CAST(reserved AS BIGINT) AS n FROM meeting_places",
    )
    .await;
    assert_eq!(reserved, 3);

    // The audit log names the promotion, made by the municipality whose cancellation freed
    // the places.
    let bergen_id = id_of(&bergen.body);
    assert_eq!(
        audit_actions(&app, "meeting_place_registration", &bergen_id).await,
        ["promote", "create"]
    );
    let log = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?resource_id={bergen_id}"),
        )
        .bearer(&app.ks())
        .send()
        .await;
    let promotion = &log.body["items"][0];
    assert_eq!(promotion["actor_sub"], "staff-0301");
    assert_eq!(promotion["actor_role"], "municipality");
    let summary = promotion["summary"].as_str().unwrap();
    assert!(
        summary.contains("4601") && summary.contains("cancellation of 0301"),
        "{summary}"
    );
    // The promotions come right after the cancellation, first in line first.
    let happened: Vec<(i32, String, String)> = events(&app)
        .await
        .into_iter()
        .map(|e| (e.sequence, e.kind, e.municipality))
        .collect();
    let expected = [
        (1, "registered", "0301"),
        (2, "waitlisted", "4601"),
        (3, "waitlisted", "1103"),
        (4, "cancelled", "0301"),
        (5, "promoted", "4601"),
        (6, "promoted", "1103"),
    ]
    .map(|(n, kind, m)| (n, kind.to_string(), m.to_string()));
    assert_eq!(happened, expected);
}
db_test!(a_registration_that_does_not_fit_waits_and_a_cancellation_promotes_it);

async fn the_first_in_line_that_needs_more_than_is_free_waits_and_those_behind_it_wait_too(
    app: TestApp,
) {
    let id = open_place(&app, 3).await;
    let oslo = register(&app, &id, "0301", waiting(3), None).await;
    let oslo_path = registration_path(&id, &oslo.body);
    let bergen = register(&app, &id, "4601", waiting(3), None).await;
    let bergen_path = registration_path(&id, &bergen.body);
    let stavanger = register(&app, &id, "1103", waiting(1), None).await;
    let stavanger_path = registration_path(&id, &stavanger.body);
    assert_eq!(stavanger.body["position"], 2);

    // Two places free up; the first in line needs three, so nobody is promoted: the one
    // behind it that needs one place waits too (strict order).
    let fewer = change_registration(&app, "0301", &oslo_path, json!({"participants": 1})).await;
    fewer.expect(200);
    assert_eq!(fewer.body["status"], "confirmed");
    assert_eq!(place_counts(&app, &id).await, (2, 2));
    assert_eq!(
        standing(&app, "4601", &bergen_path).await,
        ("waitlisted".to_string(), json!(1))
    );
    assert_eq!(
        standing(&app, "1103", &stavanger_path).await,
        ("waitlisted".to_string(), json!(2))
    );
    // A confirmed registration may not take the places held for the list either.
    let grow = change_registration(&app, "0301", &oslo_path, json!({"participants": 2})).await;
    grow.expect(409);
    assert_eq!(grow.body["remaining_capacity"], 2);
    assert_eq!(
        audit_actions(&app, "meeting_place_registration", &id_of(&oslo.body)).await,
        ["update", "create"]
    );

    // The first in line leaves: the next one fits and is promoted in the same request.
    cancel_registration(&app, "4601", &bergen_path)
        .await
        .expect(204);
    assert_eq!(
        standing(&app, "1103", &stavanger_path).await,
        ("confirmed".to_string(), Value::Null)
    );
    assert_eq!(place_counts(&app, &id).await, (1, 0));
    let log = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?resource_id={}", id_of(&stavanger.body)),
        )
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(log.body["items"][0]["action"], "promote");
    assert_eq!(log.body["items"][0]["actor_sub"], "staff-4601");
    // A waitlisted registration's cancellation gave back no places.
    let reserved = scalar(
        &app,
        "SELECT CAST(reserved AS BIGINT) AS n FROM meeting_places",
    )
    .await;
    assert_eq!(reserved, 2);
}
db_test!(the_first_in_line_that_needs_more_than_is_free_waits_and_those_behind_it_wait_too);

async fn a_larger_capacity_and_fewer_waiting_participants_promote_in_the_same_write(app: TestApp) {
    let id = open_place(&app, 2).await;
    register(&app, &id, "0301", waiting(2), None)
        .await
        .expect(201);
    let bergen = register(&app, &id, "4601", waiting(3), None).await;
    let bergen_path = registration_path(&id, &bergen.body);
    let stavanger = register(&app, &id, "1103", waiting(2), None).await;
    let stavanger_path = registration_path(&id, &stavanger.body);

    // KS raises the capacity to 5: the first in line (3) is promoted in the PATCH itself.
    let raised = ks_patch(&app, &id, json!({"capacity": 5})).await;
    raised.expect(200);
    assert_eq!(raised.body["remaining_capacity"], 0);
    assert_eq!(raised.body["waitlist_length"], 1);
    assert_eq!(
        raised.header("etag").unwrap(),
        format!("\"{}\"", raised.body["version"])
    );
    assert_eq!(
        standing(&app, "4601", &bergen_path).await,
        ("confirmed".to_string(), Value::Null)
    );
    let log = app
        .call(
            Method::GET,
            &format!("/api/v1/audit?resource_id={}", id_of(&bergen.body)),
        )
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(log.body["items"][0]["action"], "promote");
    assert_eq!(log.body["items"][0]["actor_sub"], "ks-kari");
    assert!(
        log.body["items"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("capacity raised from 2 to 5")
    );

    // One more place: the waiting registration of two lowers itself to one and fits.
    ks_patch(&app, &id, json!({"capacity": 6}))
        .await
        .expect(200);
    assert_eq!(place_counts(&app, &id).await, (1, 1));
    let fewer =
        change_registration(&app, "1103", &stavanger_path, json!({"participants": 1})).await;
    fewer.expect(200);
    assert_eq!(fewer.body["status"], "confirmed");
    assert_eq!(fewer.body["participants"], 1);
    assert_eq!(kinds(&fewer.body), ["waitlisted", "changed", "promoted"]);
    assert_eq!(place_counts(&app, &id).await, (0, 0));
    // The capacity cannot fall below the confirmed participants.
    let below = ks_patch(&app, &id, json!({"capacity": 5})).await;
    below.expect(422);
    assert_eq!(below.invalid_fields(), ["capacity"]);
}
db_test!(a_larger_capacity_and_fewer_waiting_participants_promote_in_the_same_write);

async fn a_waitlisted_registration_changes_and_cancels_but_does_not_grow(app: TestApp) {
    let id = open_place(&app, 2).await;
    register(&app, &id, "0301", waiting(2), None)
        .await
        .expect(201);
    let bergen = register(&app, &id, "4601", waiting(2), None).await;
    let bergen_path = registration_path(&id, &bergen.body);
    let stavanger = register(&app, &id, "1103", waiting(1), None).await;
    let stavanger_path = registration_path(&id, &stavanger.body);

    let contact = change_registration(
        &app,
        "4601",
        &bergen_path,
        json!({"contact_name": "Ola Nordmann"}),
    )
    .await;
    contact.expect(200);
    assert_eq!(contact.body["status"], "waitlisted");
    assert_eq!(contact.body["position"], 1);
    assert_eq!(contact.body["contact_name"], "Ola Nordmann");
    assert_eq!(contact.header("etag"), Some("\"2\""));

    let more = change_registration(&app, "4601", &bergen_path, json!({"participants": 3})).await;
    more.expect(409);
    assert!(more.body.get("remaining_capacity").is_none());
    let stored = read_registration(&app, &app.municipality("4601"), &bergen_path).await;
    assert_eq!(stored.body["participants"], 2);
    assert_eq!(stored.header("etag"), Some("\"2\""));

    // Fewer participants keep the position; nothing is free, so nobody moves.
    let fewer = change_registration(&app, "4601", &bergen_path, json!({"participants": 1})).await;
    fewer.expect(200);
    assert_eq!(fewer.body["status"], "waitlisted");
    assert_eq!(fewer.body["position"], 1);

    // Cancelling the first in line moves the one behind it up.
    cancel_registration(&app, "4601", &bergen_path)
        .await
        .expect(204);
    assert_eq!(
        standing(&app, "1103", &stavanger_path).await,
        ("waitlisted".to_string(), json!(1))
    );
    read_registration(&app, &app.municipality("4601"), &bergen_path)
        .await
        .expect(404);
    assert_eq!(app.count("meeting_place_registrations").await, 2);
    assert_eq!(place_counts(&app, &id).await, (0, 1));
    // The cancelled registration's events stay with the meeting place; the refused growth
    // left none.
    let kept: Vec<String> = events(&app)
        .await
        .into_iter()
        .filter(|e| e.municipality == "4601")
        .map(|e| e.kind)
        .collect();
    assert_eq!(kept, ["waitlisted", "changed", "changed", "cancelled"]);
}
db_test!(a_waitlisted_registration_changes_and_cancels_but_does_not_grow);

async fn the_waiting_list_closes_at_the_deadline_and_those_still_waiting_are_not_admitted(
    app: TestApp,
) {
    let id = open_place(&app, 2).await;
    register(&app, &id, "0301", waiting(2), None)
        .await
        .expect(201);
    let bergen = register(&app, &id, "4601", waiting(1), None).await;
    let bergen_path = registration_path(&id, &bergen.body);
    let bergen_token = app.municipality("4601");
    let deadline = Utc::now() - Duration::minutes(1);
    let moved = ks_patch(
        &app,
        &id,
        json!({"registration_deadline": deadline.to_rfc3339()}),
    )
    .await;
    moved.expect(200);
    assert_eq!(moved.body["waitlist_length"], 0);
    let version = moved.body["version"].as_i64().unwrap();
    // What readers see changed without a write, and so did the ETags: a copy from before
    // the deadline is not revalidated as current.
    let place_path = format!("/api/v1/meeting-places/{id}");
    assert_eq!(
        moved.header("etag").unwrap(),
        format!("\"{version}.closed\"")
    );
    let fresh = app
        .call(Method::GET, &place_path)
        .header("if-none-match", &format!("\"{version}\""))
        .send()
        .await;
    fresh.expect(200);
    assert_eq!(fresh.body["waitlist_length"], 0);
    let same = app
        .call(Method::GET, &place_path)
        .header("if-none-match", &format!("\"{version}.closed\""))
        .send()
        .await;
    assert_eq!(same.status, 304);
    let old_copy = app
        .call(Method::GET, &bergen_path)
        .bearer(&bergen_token)
        .header("if-none-match", "\"1\"")
        .send()
        .await;
    old_copy.expect(200);
    assert_eq!(old_copy.header("etag"), Some("\"1.closed\""));
    let stale = app
        .call(Method::DELETE, &bergen_path)
        .bearer(&bergen_token)
        .if_match(Some("\"1\""))
        .send()
        .await;
    stale.expect(412);

    // The single read, the list and the counts agree.
    let late = read_registration(&app, &app.municipality("4601"), &bergen_path).await;
    late.expect(200);
    assert_eq!(late.body["status"], "not_admitted");
    assert!(late.body["position"].is_null());
    assert_eq!(kinds(&late.body), ["waitlisted", "not_admitted"]);
    let closed_at = late.body["history"][1]["occurred_at"].as_str().unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(closed_at)
            .unwrap()
            .timestamp(),
        deadline.timestamp()
    );
    let list = app
        .call(
            Method::GET,
            &format!("/api/v1/meeting-places/{id}/registrations"),
        )
        .bearer(&app.ks())
        .send()
        .await;
    list.expect(200);
    let statuses: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["confirmed", "not_admitted"]);
    assert_eq!(
        listed_with_status(&app, &id, "not_admitted").await,
        ["4601"]
    );
    assert!(listed_with_status(&app, &id, "waitlisted").await.is_empty());
    assert_eq!(listed_with_status(&app, &id, "confirmed").await, ["0301"]);
    assert_eq!(place_counts(&app, &id).await, (0, 0));
    let listed = app.get("/api/v1/meeting-places").await;
    assert_eq!(listed.body["items"][0]["waitlist_length"], 0);

    // Nothing moves once the list is closed: no cancellation, no promotion.
    let refused = cancel_registration(&app, "4601", &bergen_path).await;
    refused.expect(422);
    assert_eq!(refused.invalid_fields(), ["id"]);
    ks_patch(&app, &id, json!({"capacity": 3}))
        .await
        .expect(200);
    assert_eq!(
        standing(&app, "4601", &bergen_path).await,
        ("not_admitted".to_string(), Value::Null)
    );
    assert_eq!(place_counts(&app, &id).await, (1, 0));
    let joining = register(&app, &id, "1103", waiting(1), None).await;
    joining.expect(422);
    assert_eq!(app.count("meeting_place_registrations").await, 2);

    // A deadline moved later reopens the list in its order, and the room is used at once.
    ks_patch(&app, &id, json!({"registration_deadline": in_days(10)}))
        .await
        .expect(200);
    let back = read_registration(&app, &app.municipality("4601"), &bergen_path).await;
    assert_eq!(back.body["status"], "confirmed");
    assert_eq!(kinds(&back.body), ["waitlisted", "promoted"]);
}
db_test!(the_waiting_list_closes_at_the_deadline_and_those_still_waiting_are_not_admitted);

async fn a_waitlisted_registration_is_private_and_a_bad_waitlist_flag_stores_nothing(app: TestApp) {
    let id = open_place(&app, 1).await;
    register(&app, &id, "0301", waiting(1), None)
        .await
        .expect(201);
    let bergen = register(&app, &id, "4601", waiting(1), None).await;
    bergen.expect(201);
    let path = registration_path(&id, &bergen.body);
    let other = app.municipality("1103");
    read_registration(&app, &other, &path).await.expect(404);
    app.call(Method::PATCH, &path)
        .bearer(&other)
        .if_match(Some("\"1\""))
        .json(json!({"participants": 1}))
        .send()
        .await
        .expect(404);
    app.call(Method::DELETE, &path)
        .bearer(&other)
        .if_match(Some("\"1\""))
        .send()
        .await
        .expect(404);
    let list = app
        .call(
            Method::GET,
            &format!("/api/v1/meeting-places/{id}/registrations"),
        )
        .bearer(&other)
        .send()
        .await;
    list.expect(200);
    assert!(list.body["items"].as_array().unwrap().is_empty());
    app.get(&path).await.expect(401);
    for token in [app.ks(), app.kmd()] {
        let seen = read_registration(&app, &token, &path).await;
        seen.expect(200);
        assert_eq!(seen.body["status"], "waitlisted");
        assert_eq!(seen.body["position"], 1);
    }

    let before = app.count("meeting_place_registrations").await;
    let events = app.count("meeting_place_registration_events").await;
    let registrations = format!("/api/v1/meeting-places/{id}/registrations");
    for flag in [json!("yes"), Value::Null, json!(1)] {
        let mut body = registration(1);
        body["waitlist"] = flag;
        let refused = register(&app, &id, "1103", body, None).await;
        assert_eq!(refused.expect(422).invalid_fields(), ["waitlist"]);
    }
    for token in [app.ks(), app.kmd()] {
        post(&app, &token, &registrations, None, waiting(1))
            .await
            .expect(403);
    }
    app.call(Method::POST, &registrations)
        .json(waiting(1))
        .send()
        .await
        .expect(401);
    assert_eq!(app.count("meeting_place_registrations").await, before);
    assert_eq!(app.count("meeting_place_registration_events").await, events);
    assert_eq!(place_counts(&app, &id).await, (0, 1));
}
db_test!(a_waitlisted_registration_is_private_and_a_bad_waitlist_flag_stores_nothing);

/// The confirmed participants and the meeting place's `reserved`, read in one statement
/// (one snapshot on both databases).
async fn confirmed_and_reserved(app: &TestApp) -> (i64, i64) {
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT CAST(COALESCE((SELECT SUM(participants) FROM meeting_place_registrations \
             WHERE status = 'confirmed'), 0) AS BIGINT) AS confirmed, \
             CAST((SELECT reserved FROM meeting_places) AS BIGINT) AS reserved",
        ))
        .await
        .unwrap()
        .unwrap();
    (
        row.try_get("", "confirmed").unwrap(),
        row.try_get("", "reserved").unwrap(),
    )
}

/// Reads the confirmed participants until `done`, answering the most seen and the number
/// of reads; every read must find `reserved` equal to them.
async fn watch_confirmed(app: &TestApp, done: &std::sync::atomic::AtomicBool) -> (i64, usize) {
    let (mut most, mut reads) = (0, 0);
    loop {
        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
        let (confirmed, reserved) = confirmed_and_reserved(app).await;
        assert_eq!(confirmed, reserved, "read {reads}");
        most = most.max(confirmed);
        reads += 1;
        if finished {
            return (most, reads);
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
}

/// A serial replay of the joins and cancellations, in the order given, by the waiting
/// list's rules written out here on their own: a join is confirmed when it fits and nobody
/// waits, else it waits at the end; places freed go to the first in line while it fits.
#[derive(Default)]
struct Replay {
    free: i32,
    confirmed: HashMap<uuid::Uuid, i32>,
    queue: Vec<(uuid::Uuid, i32)>,
    /// The events the replay expects: kind and registration.
    events: Vec<(String, uuid::Uuid)>,
}

impl Replay {
    /// Joins, answering the position it waits at (`None`: confirmed).
    fn join(&mut self, id: uuid::Uuid, participants: i32) -> Option<usize> {
        if self.queue.is_empty() && participants <= self.free {
            self.free -= participants;
            self.confirmed.insert(id, participants);
            self.events.push(("registered".into(), id));
            None
        } else {
            self.queue.push((id, participants));
            self.events.push(("waitlisted".into(), id));
            Some(self.queue.len())
        }
    }

    fn cancel(&mut self, id: uuid::Uuid) {
        self.events.push(("cancelled".into(), id));
        if let Some(participants) = self.confirmed.remove(&id) {
            self.free += participants;
        } else {
            self.queue.retain(|(waiting, _)| *waiting != id);
        }
        while let Some(&(first, participants)) = self.queue.first() {
            if participants > self.free {
                break;
            }
            self.queue.remove(0);
            self.free -= participants;
            self.confirmed.insert(first, participants);
            self.events.push(("promoted".into(), first));
        }
    }
}

async fn fifty_waitlisted_registrations_and_fifteen_cancellations_never_overbook_and_promote_in_order(
    app: TestApp,
) {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    // Two app instances on the one database share the writes, as two replicas would.
    let other = app.another_instance().await;
    let instance = |i: usize| if i.is_multiple_of(2) { &app } else { &other };
    let id = open_place(&app, 20).await;
    let numbers = municipality_numbers(&app, 50).await;
    assert_eq!(numbers.len(), 50);
    let asks: Vec<i32> = (0..50).map(|i| 1 + i % 3).collect();

    // 50 registrations at once, all asking to wait when they do not fit.
    let done = AtomicBool::new(false);
    let attempts = numbers
        .iter()
        .zip(&asks)
        .enumerate()
        .map(|(i, (number, &n))| register(instance(i), &id, number, waiting(n), None));
    let registering = async {
        let replies = futures::future::join_all(attempts).await;
        done.store(true, Ordering::SeqCst);
        replies
    };
    let (replies, (most_registering, reads_registering)) =
        futures::join!(registering, watch_confirmed(&app, &done));
    let mut created = HashMap::new();
    for (reply, &n) in replies.iter().zip(&asks) {
        reply.expect(201);
        let registration = uuid::Uuid::parse_str(&id_of(&reply.body)).unwrap();
        created.insert(registration, (n, reply.body.clone()));
    }
    let confirmed_first = replies
        .iter()
        .filter(|r| r.body["status"] == "confirmed")
        .count();

    // 15 cancellations at once, each of a registration confirmed when it is picked.
    let done = AtomicBool::new(false);
    let picked = Mutex::new(std::collections::HashSet::new());
    let registrations = format!("/api/v1/meeting-places/{id}/registrations?limit=200");
    let cancel_one = |i: usize| {
        let (app, registrations, picked, id) = (instance(i), &registrations, &picked, &id);
        async move {
            for _ in 0..1000 {
                let list = app
                    .call(Method::GET, registrations)
                    .bearer(&app.ks())
                    .send()
                    .await;
                list.expect(200);
                let pick = list.body["items"].as_array().unwrap().iter().find(|r| {
                    r["status"] == "confirmed" && picked.lock().unwrap().insert(id_of(r))
                });
                let Some(pick) = pick.cloned() else {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                };
                let number = pick["municipality_number"].as_str().unwrap();
                let reply = app
                    .call(Method::DELETE, &registration_path(id, &pick))
                    .bearer(&app.municipality(number))
                    .if_match(Some(&format!("\"{}\"", pick["version"])))
                    .send()
                    .await;
                reply.expect(204);
                return;
            }
            panic!("no confirmed registration to cancel");
        }
    };
    let cancelling = async {
        futures::future::join_all((0..15).map(cancel_one)).await;
        done.store(true, Ordering::SeqCst);
    };
    let ((), (most_cancelling, reads_cancelling)) =
        futures::join!(cancelling, watch_confirmed(&app, &done));
    assert!(most_registering <= 20, "overbooked: {most_registering}");
    assert!(most_cancelling <= 20, "overbooked: {most_cancelling}");

    // The events are numbered 1, 2, 3, ... in the order the writes committed.
    let happened = events(&app).await;
    let numbered: Vec<i32> = happened.iter().map(|e| e.sequence).collect();
    assert_eq!(numbered, (1..=happened.len() as i32).collect::<Vec<_>>());

    // Replayed serially in that order, the joins and cancellations give the same events
    // (every placement and every promotion, in the same order), the same answers, and
    // the same final state.
    let mut replay = Replay {
        free: 20,
        ..Replay::default()
    };
    let mut holding = HashMap::new();
    for e in &happened {
        match e.kind.as_str() {
            "registered" | "waitlisted" => {
                let (asked, reply) = &created[&e.registration];
                assert_eq!(*asked, e.participants);
                let position = replay.join(e.registration, e.participants);
                let expected = position.map_or(Value::Null, |p| json!(p));
                assert_eq!(reply["position"], expected, "{reply}");
            }
            "cancelled" => replay.cancel(e.registration),
            "promoted" => {}
            other => panic!("unexpected event {other}"),
        }
        // In commit order, too, the confirmed places never exceed the capacity.
        match e.kind.as_str() {
            "registered" | "promoted" => {
                holding.insert(e.registration, e.participants);
            }
            "cancelled" => {
                holding.remove(&e.registration);
            }
            _ => {}
        }
        let held: i32 = holding.values().sum();
        assert!(held <= 20, "{held} confirmed after event {}", e.sequence);
    }
    let actual: Vec<(String, uuid::Uuid)> = happened
        .iter()
        .map(|e| (e.kind.clone(), e.registration))
        .collect();
    assert_eq!(actual, replay.events);

    // Every promotion took the first in line: the joins of those promoted come in the
    // order they were promoted.
    let joined: HashMap<uuid::Uuid, i32> = happened
        .iter()
        .filter(|e| e.kind == "waitlisted")
        .map(|e| (e.registration, e.sequence))
        .collect();
    let promoted: Vec<i32> = happened
        .iter()
        .filter(|e| e.kind == "promoted")
        .map(|e| joined[&e.registration])
        .collect();
    assert!(promoted.windows(2).all(|w| w[0] < w[1]), "{promoted:?}");
    assert!(!promoted.is_empty());

    // The stored state is the replay's.
    let list = app
        .call(Method::GET, &registrations)
        .bearer(&app.ks())
        .send()
        .await;
    list.expect(200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 35);
    for item in items {
        let registration = uuid::Uuid::parse_str(&id_of(item)).unwrap();
        match replay.queue.iter().position(|(w, _)| *w == registration) {
            Some(at) => {
                assert_eq!(item["status"], "waitlisted");
                assert_eq!(item["position"], at + 1);
            }
            None => {
                assert!(replay.confirmed.contains_key(&registration));
                assert_eq!(item["status"], "confirmed");
                assert!(item["position"].is_null());
            }
        }
    }
    let (confirmed, reserved) = confirmed_and_reserved(&app).await;
    assert_eq!(confirmed, i64::from(20 - replay.free));
    assert_eq!(reserved, confirmed);
    assert_eq!(
        place_counts(&app, &id).await,
        (i64::from(replay.free), replay.queue.len() as i64)
    );
    let promote_entries = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'promote'",
    )
    .await;
    assert_eq!(promote_entries, promoted.len() as i64);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'delete' \
             AND resource_type = 'meeting_place_registration'",
        )
        .await,
        15
    );
    eprintln!(
        "waiting list on {:?}: {confirmed_first} confirmed of 50 at first, {} promoted by 15 \
         cancellations, {} still waiting, {confirmed} confirmed at the end; most confirmed \
         seen {most_registering}/{most_cancelling} over {reads_registering}+{reads_cancelling} \
         reads",
        app.db.get_database_backend(),
        promoted.len(),
        replay.queue.len(),
    );
}
db_test!(
    fifty_waitlisted_registrations_and_fifteen_cancellations_never_overbook_and_promote_in_order
);

async fn a_retried_waitlisted_registration_replays_its_first_answer_and_joins_once(app: TestApp) {
    let id = open_place(&app, 1).await;
    let oslo = register(&app, &id, "0301", waiting(1), None).await;
    let first = register(&app, &id, "4601", waiting(1), Some("bergen-1")).await;
    first.expect(201);
    assert_eq!(first.body["status"], "waitlisted");
    cancel_registration(&app, "0301", &registration_path(&id, &oslo.body))
        .await
        .expect(204);
    // The retry answers what the first request did; the registration itself moved on.
    let retry = register(&app, &id, "4601", waiting(1), Some("bergen-1")).await;
    retry.expect(201);
    assert_eq!(retry.body, first.body);
    let path = registration_path(&id, &first.body);
    assert_eq!(
        standing(&app, "4601", &path).await,
        ("confirmed".to_string(), Value::Null)
    );
    assert_eq!(app.count("meeting_place_registrations").await, 1);
    let joins = events(&app)
        .await
        .iter()
        .filter(|e| e.municipality == "4601" && e.kind == "waitlisted")
        .count();
    assert_eq!(joins, 1);
    let mut other = waiting(1);
    other["participants"] = json!(2);
    register(&app, &id, "4601", other, Some("bergen-1"))
        .await
        .expect(409);
}
db_test!(a_retried_waitlisted_registration_replays_its_first_answer_and_joins_once);
