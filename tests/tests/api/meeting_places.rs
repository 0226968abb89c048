//! Regional meeting places, registrations that never overbook, and the calendar feed.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{self, audits, etag, id_of, in_days, municipality_numbers, post, scalar};
use crate::support::{Reply, TestApp};

const STATUSES: [&str; 5] = ["planned", "open", "closed", "cancelled", "completed"];

fn new_place() -> Value {
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

fn registration(participants: i32) -> Value {
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
