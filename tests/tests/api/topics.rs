use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{self, audit_actions, field, names, post};
use crate::locations::{create_ok, deichman, location_at};
use crate::support::{Reply, TestApp};

fn slugs(reply: &Reply) -> Vec<String> {
    field(reply, "slug")
}

pub fn video_calls() -> Value {
    json!({
        "slug": "video-calls",
        "name_nb": "Videosamtaler med familie og venner",
        "name_nn": "Videosamtalar med familie og vener",
        "name_en": "Video calls with family and friends",
        "description_nb": "Hvordan du ringer med video på mobil, nettbrett eller PC.",
        "description_nn": null,
        "category": "getting_online",
        "in_scope": true,
        "sort_order": 15,
    })
}

async fn create_topic(app: &TestApp, token: &str, body: Value) -> Reply {
    post(app, token, "/api/v1/topics", None, body).await
}

async fn patch_topic(app: &TestApp, slug: &str, version: i64, body: Value) -> Reply {
    let path = format!("/api/v1/topics/{slug}");
    let tag = format!("\"{version}\"");
    helpers::patch(app, Some(&app.ks()), &path, Some(&tag), body).await
}

async fn put_topics(app: &TestApp, token: &str, id: &str, version: i64, topics: Value) -> Reply {
    app.call(Method::PUT, &format!("/api/v1/locations/{id}/topics"))
        .bearer(token)
        .header("if-match", &format!("\"{version}\""))
        .json(json!({"topics": topics}))
        .send()
        .await
}

fn course() -> Value {
    json!({
        "title": "Trygg på nett",
        "url": "https://www.digidel.no/trygg-pa-nett",
        "publisher": "HK-dir",
        "languages": ["ur", "ti", "so", "nb", "ti"],
        "format": "course",
        "description": "Kursopplegg for veiledere.",
    })
}

async fn add_resource(app: &TestApp, token: &str, slug: &str, body: Value) -> Reply {
    let path = format!("/api/v1/topics/{slug}/resources");
    post(app, token, &path, None, body).await
}

async fn the_reference_topics_and_what_is_out_of_scope_are_readable_anonymously(app: TestApp) {
    let all = app.get("/api/v1/topics").await;
    all.expect(200);
    assert_eq!(
        slugs(&all),
        [
            "getting-online",
            "municipal-services",
            "state-services",
            "digital-judgement",
            "online-security",
            "privacy-online",
            "filling-in-applications",
            "appeals",
            "paying-bills",
            "buying-equipment",
            "installation-and-repair",
        ]
    );
    for topic in all.body["items"].as_array().unwrap() {
        for field in [
            "name_nb",
            "name_nn",
            "name_en",
            "description_nb",
            "description_nn",
            "description_en",
        ] {
            assert!(
                topic[field].as_str().is_some_and(|t| !t.is_empty()),
                "{} {field}",
                topic["slug"]
            );
        }
        assert_eq!(topic["location_count"], 0);
        assert!(topic["retired_at"].is_null());
    }
    let out = app.get("/api/v1/topics?in_scope=false").await;
    assert_eq!(
        slugs(&out),
        [
            "filling-in-applications",
            "appeals",
            "paying-bills",
            "buying-equipment",
            "installation-and-repair"
        ]
    );
    assert!(
        out.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["in_scope"] == false)
    );
    let bills = app.get("/api/v1/topics/paying-bills").await;
    bills.expect(200);
    assert_eq!(bills.header("etag"), Some("\"1\""));
    assert_eq!(bills.body["name_nn"], "Betaling av rekningar");
    assert_eq!(bills.body["category"], "case_handling");
    let safety = app
        .get("/api/v1/topics?category=online_safety&in_scope=true")
        .await;
    assert_eq!(
        slugs(&safety),
        ["digital-judgement", "online-security", "privacy-online"]
    );
    app.get("/api/v1/topics/no-such-topic").await.expect(404);
    app.get("/api/v1/topics/Not%20a%20slug").await.expect(404);
    app.get("/api/v1/topics?category=cooking").await.expect(400);
    app.get("/api/v1/topics?include_retired=maybe")
        .await
        .expect(400);
}
db_test!(the_reference_topics_and_what_is_out_of_scope_are_readable_anonymously);

async fn topic_lists_are_paged_in_a_stable_order(app: TestApp) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/topics?limit=4&cursor={c}"),
            None => "/api/v1/topics?limit=4".to_string(),
        };
        let page = app.get(&path).await;
        page.expect(200);
        assert!(page.body["items"].as_array().unwrap().len() <= 4);
        seen.extend(slugs(&page));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, slugs(&app.get("/api/v1/topics").await));
    app.get("/api/v1/topics?limit=0").await.expect(400);
    app.get("/api/v1/topics?limit=201").await.expect(400);
    app.get("/api/v1/topics?cursor=forged").await.expect(400);
}
db_test!(topic_lists_are_paged_in_a_stable_order);

async fn q_searches_names_and_descriptions_in_all_three_languages_in_any_case(app: TestApp) {
    let app = &app;
    let search = |q: &str| {
        let path = format!("/api/v1/topics?q={q}");
        async move { slugs(&app.get(&path).await) }
    };
    // Nynorsk name, Bokmål description, English description, in other cases.
    assert_eq!(search("TRYGGLEIK").await, ["online-security"]);
    assert_eq!(search("D%C3%98MMEKRAFT").await, ["digital-judgement"]);
    assert_eq!(search("d%C3%B8mekraft").await, ["digital-judgement"]);
    assert_eq!(search("Phishing").await, ["online-security"]);
    assert_eq!(search("Privacy%20settings").await, ["privacy-online"]);
    assert_eq!(
        search("BREIBAND").await,
        ["buying-equipment", "installation-and-repair"]
    );
    assert_eq!(search("KJ%C3%98P").await, ["buying-equipment"]);
    // Wildcards are taken literally.
    assert!(search("%25").await.is_empty());
    assert!(search("_").await.is_empty());
    app.get(&format!("/api/v1/topics?q={}", "a".repeat(101)))
        .await
        .expect(400);
    app.get("/api/v1/topics?q=").await.expect(400);
}
db_test!(q_searches_names_and_descriptions_in_all_three_languages_in_any_case);

async fn ks_creates_a_topic_and_no_one_else_may(app: TestApp) {
    app.call(Method::POST, "/api/v1/topics")
        .json(video_calls())
        .send()
        .await
        .expect(401);
    create_topic(&app, &app.kmd(), video_calls())
        .await
        .expect(403);
    create_topic(&app, &app.municipality("0301"), video_calls())
        .await
        .expect(403);
    assert_eq!(app.count("topics").await, 11);

    let created = app
        .call(Method::POST, "/api/v1/topics")
        .bearer(&app.ks())
        .header("idempotency-key", "video-1")
        .json(video_calls())
        .send()
        .await;
    created.expect(201);
    assert_eq!(
        created.header("location"),
        Some("/api/v1/topics/video-calls")
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(
        created.body["name_nn"],
        "Videosamtalar med familie og vener"
    );
    assert!(created.body["description_nn"].is_null());
    assert!(created.body["description_en"].is_null());
    assert_eq!(created.body["sort_order"], 15);
    assert_eq!(created.body["location_count"], 0);
    let retried = app
        .call(Method::POST, "/api/v1/topics")
        .bearer(&app.ks())
        .header("idempotency-key", "video-1")
        .json(video_calls())
        .send()
        .await;
    retried.expect(201);
    assert_eq!(retried.body, created.body);
    create_topic(&app, &app.ks(), video_calls())
        .await
        .expect(409);
    assert_eq!(app.count("topics").await, 12);
    assert_eq!(
        app.get("/api/v1/topics/video-calls").await.body,
        created.body
    );
    assert_eq!(
        slugs(&app.get("/api/v1/topics?limit=2").await),
        ["getting-online", "video-calls"]
    );
    assert_eq!(
        audit_actions(&app, "topic", "video-calls").await,
        ["create"]
    );
}
db_test!(ks_creates_a_topic_and_no_one_else_may);

async fn topic_fields_are_checked_each_named_and_nothing_is_stored(app: TestApp) {
    let mut bad = video_calls();
    bad["slug"] = json!("Video_Calls");
    bad["name_nb"] = json!("n".repeat(101));
    bad["name_en"] = json!("  ");
    bad["description_nb"] = json!("d".repeat(1001));
    bad["sort_order"] = json!(-1);
    let refused = create_topic(&app, &app.ks(), bad).await;
    refused.expect(422);
    assert_eq!(
        refused.invalid_fields(),
        ["slug", "name_nb", "name_en", "description_nb", "sort_order"]
    );
    let mut big = video_calls();
    big["sort_order"] = json!(100_001);
    assert_eq!(
        create_topic(&app, &app.ks(), big).await.invalid_fields(),
        ["sort_order"]
    );
    for (field, value) in [
        ("name_nb", json!(42)),
        ("category", json!("cooking")),
        ("in_scope", json!("yes")),
        ("sort_order", json!("first")),
        ("slug", json!(null)),
        ("colour", json!("blue")),
    ] {
        let mut body = video_calls();
        body[field] = value;
        let refused = create_topic(&app, &app.ks(), body).await;
        assert_eq!(refused.expect(422).invalid_fields(), [field]);
    }
    // A number no integer holds is refused at the edge, named the same way.
    let mut body = video_calls();
    body["sort_order"] = json!(1.5);
    let refused = create_topic(&app, &app.ks(), body).await;
    assert_eq!(refused.expect(400).invalid_fields(), ["sort_order"]);
    let mut missing = video_calls();
    missing.as_object_mut().unwrap().remove("name_nb");
    let refused = create_topic(&app, &app.ks(), missing).await;
    assert_eq!(refused.expect(422).invalid_fields(), ["name_nb"]);
    app.call(Method::POST, "/api/v1/topics")
        .bearer(&app.ks())
        .raw("application/json", "{")
        .send()
        .await
        .expect(400);
    assert_eq!(app.count("topics").await, 11);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(topic_fields_are_checked_each_named_and_nothing_is_stored);

async fn ks_updates_a_topic_with_if_match_and_the_slug_never_changes(app: TestApp) {
    let path = "/api/v1/topics/online-security";
    let changes = json!({"name_en": "Staying safe online", "name_nn": null, "sort_order": 5});
    app.call(Method::PATCH, path)
        .header("if-match", "\"1\"")
        .json(changes.clone())
        .send()
        .await
        .expect(401);
    app.call(Method::PATCH, path)
        .bearer(&app.kmd())
        .header("if-match", "\"1\"")
        .json(changes.clone())
        .send()
        .await
        .expect(403);
    app.call(Method::PATCH, path)
        .bearer(&app.municipality("0301"))
        .header("if-match", "\"1\"")
        .json(changes.clone())
        .send()
        .await
        .expect(403);
    app.call(Method::PATCH, path)
        .bearer(&app.ks())
        .json(changes.clone())
        .send()
        .await
        .expect(428);
    patch_topic(&app, "online-security", 2, changes.clone())
        .await
        .expect(412);
    patch_topic(&app, "no-such-topic", 1, changes.clone())
        .await
        .expect(404);
    patch_topic(&app, "online-security", 1, json!({"slug": "security"}))
        .await
        .expect(422);
    patch_topic(&app, "online-security", 1, json!({"category": "cooking"}))
        .await
        .expect(422);
    let nulls = patch_topic(
        &app,
        "online-security",
        1,
        json!({"name_nb": null, "description_nb": "", "in_scope": null, "sort_order": 100_001}),
    )
    .await;
    nulls.expect(422);
    assert_eq!(
        nulls.invalid_fields(),
        ["name_nb", "description_nb", "in_scope", "sort_order"]
    );
    patch_topic(&app, "online-security", 1, json!({}))
        .await
        .expect(422);
    let unchanged = app.get(path).await;
    assert_eq!(unchanged.body["version"], 1);
    assert_eq!(unchanged.body["name_nn"], "Tryggleik på nett");

    let updated = patch_topic(&app, "online-security", 1, changes).await;
    updated.expect(200);
    assert_eq!(updated.header("etag"), Some("\"2\""));
    assert_eq!(updated.body["slug"], "online-security");
    assert_eq!(updated.body["name_en"], "Staying safe online");
    assert!(updated.body["name_nn"].is_null());
    assert_eq!(updated.body["name_nb"], "Sikkerhet på nett");
    assert_eq!(app.get(path).await.body, updated.body);
    assert_eq!(
        slugs(&app.get("/api/v1/topics?limit=1").await),
        ["online-security"]
    );
    // The search text follows the change.
    assert_eq!(
        slugs(&app.get("/api/v1/topics?q=staying%20SAFE").await),
        ["online-security"]
    );
    assert!(slugs(&app.get("/api/v1/topics?q=tryggleik%20p%C3%A5").await).is_empty());
    assert_eq!(
        audit_actions(&app, "topic", "online-security").await,
        ["update"]
    );
}
db_test!(ks_updates_a_topic_with_if_match_and_the_slug_never_changes);

async fn a_retired_topic_stays_readable_and_linked_but_leaves_lists_and_cannot_be_newly_linked(
    app: TestApp,
) {
    let linked = create_ok(&app, deichman()).await;
    put_topics(
        &app,
        &app.ks(),
        &linked,
        1,
        json!(["online-security", "getting-online"]),
    )
    .await
    .expect(200);
    let retired = patch_topic(&app, "online-security", 1, json!({"retired": true})).await;
    retired.expect(200);
    assert!(retired.body["retired_at"].is_string());
    assert_eq!(retired.body["location_count"], 1);

    assert!(!slugs(&app.get("/api/v1/topics").await).contains(&"online-security".to_string()));
    assert!(
        slugs(&app.get("/api/v1/topics?include_retired=true").await)
            .contains(&"online-security".to_string())
    );
    assert!(slugs(&app.get("/api/v1/topics?q=phishing").await).is_empty());
    let read = app.get("/api/v1/topics/online-security").await;
    read.expect(200);
    assert_eq!(read.body["retired_at"], retired.body["retired_at"]);
    assert_eq!(
        app.get(&format!("/api/v1/locations/{linked}")).await.body["topics"],
        json!(["getting-online", "online-security"])
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?topic=online-security").await),
        ["Deichman Grünerløkka"]
    );

    // Keeping it where it is already offered is fine; linking it anew is not.
    let kept = put_topics(&app, &app.ks(), &linked, 2, json!(["online-security"])).await;
    kept.expect(200);
    assert_eq!(kept.body["topics"], json!(["online-security"]));
    let other = create_ok(&app, location_at("0301", "Tøyen", 59.91, 10.77)).await;
    let refused = put_topics(
        &app,
        &app.ks(),
        &other,
        1,
        json!(["getting-online", "online-security"]),
    )
    .await;
    refused.expect(422);
    assert_eq!(refused.invalid_fields(), ["topics[1]"]);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("retired")
    );
    assert_eq!(
        app.get(&format!("/api/v1/locations/{other}/topics"))
            .await
            .body["topics"],
        json!([])
    );

    let back = patch_topic(&app, "online-security", 2, json!({"retired": false})).await;
    back.expect(200);
    assert!(back.body["retired_at"].is_null());
    put_topics(&app, &app.ks(), &other, 1, json!(["online-security"]))
        .await
        .expect(200);
    assert_eq!(
        app.get("/api/v1/topics/online-security").await.body["location_count"],
        2
    );
    assert_eq!(
        audit_actions(&app, "topic", "online-security").await,
        ["reinstate", "retire"]
    );
}
db_test!(a_retired_topic_stays_readable_and_linked_but_leaves_lists_and_cannot_be_newly_linked);

async fn a_location_offers_topics_replaced_as_a_whole_with_if_match(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}/topics");
    let topics = json!(["privacy-online", "getting-online", "privacy-online"]);
    app.call(Method::PUT, &path)
        .header("if-match", "\"1\"")
        .json(json!({"topics": topics}))
        .send()
        .await
        .expect(401);
    put_topics(&app, &app.kmd(), &id, 1, topics.clone())
        .await
        .expect(403);
    put_topics(&app, &app.municipality("1103"), &id, 1, topics.clone())
        .await
        .expect(403);
    app.call(Method::PUT, &path)
        .bearer(&app.ks())
        .json(json!({"topics": topics}))
        .send()
        .await
        .expect(428);
    put_topics(&app, &app.ks(), &id, 7, topics.clone())
        .await
        .expect(412);
    put_topics(
        &app,
        &app.ks(),
        "0193a3a4-0000-7000-8000-000000000000",
        1,
        topics.clone(),
    )
    .await
    .expect(404);
    put_topics(&app, &app.ks(), "not-an-id", 1, topics.clone())
        .await
        .expect(400);
    put_topics(&app, &app.ks(), &id, 1, json!("getting-online"))
        .await
        .expect(422);
    put_topics(&app, &app.ks(), &id, 1, json!([42]))
        .await
        .expect(422);
    assert_eq!(app.count("location_topics").await, 0);

    let put = put_topics(&app, &app.municipality("0301"), &id, 1, topics).await;
    put.expect(200);
    assert_eq!(put.header("etag"), Some("\"2\""));
    assert_eq!(
        put.body["topics"],
        json!(["getting-online", "privacy-online"])
    );
    assert_eq!(put.body["version"], 2);
    let read = app.get(&path).await;
    read.expect(200);
    assert_eq!(read.body, put.body);
    assert_eq!(read.header("etag"), Some("\"2\""));
    let location = app.get(&format!("/api/v1/locations/{id}")).await;
    assert_eq!(
        location.body["topics"],
        json!(["getting-online", "privacy-online"])
    );
    assert_eq!(location.header("etag"), Some("\"2\""));
    assert_eq!(
        app.get("/api/v1/topics/getting-online").await.body["location_count"],
        1
    );
    // An inactive location does not count as offering anything.
    app.call(Method::PATCH, &format!("/api/v1/locations/{id}"))
        .bearer(&app.ks())
        .header("if-match", "\"2\"")
        .json(json!({"status": "inactive"}))
        .send()
        .await
        .expect(200);
    assert_eq!(
        app.get("/api/v1/topics/getting-online").await.body["location_count"],
        0
    );

    let cleared = put_topics(&app, &app.ks(), &id, 3, json!([])).await;
    cleared.expect(200);
    assert_eq!(cleared.body["topics"], json!([]));
    assert_eq!(app.count("location_topics").await, 0);
    assert_eq!(
        audit_actions(&app, "location", &id).await,
        ["replace_topics", "update", "replace_topics", "create"]
    );
    // Deleting the location takes its topics with it.
    put_topics(&app, &app.ks(), &id, 4, json!(["appeals"]))
        .await
        .expect(200);
    app.call(Method::DELETE, &format!("/api/v1/locations/{id}"))
        .bearer(&app.ks())
        .header("if-match", "\"5\"")
        .send()
        .await
        .expect(204);
    assert_eq!(app.count("location_topics").await, 0);
    app.get(&path).await.expect(404);
}
db_test!(a_location_offers_topics_replaced_as_a_whole_with_if_match);

async fn a_put_with_an_unknown_slug_names_each_bad_one_and_changes_nothing(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    put_topics(&app, &app.ks(), &id, 1, json!(["getting-online"]))
        .await
        .expect(200);
    let refused = put_topics(
        &app,
        &app.ks(),
        &id,
        2,
        json!(["state-services", "no-such-topic", "Bad Slug", "appeals"]),
    )
    .await;
    refused.expect(422);
    assert_eq!(refused.invalid_fields(), ["topics[1]", "topics[2]"]);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-topic")
    );
    let read = app.get(&format!("/api/v1/locations/{id}/topics")).await;
    assert_eq!(read.body["topics"], json!(["getting-online"]));
    assert_eq!(read.body["version"], 2);
    assert_eq!(app.count("location_topics").await, 1);
    let too_many: Vec<String> = (0..101).map(|i| format!("topic-{i}")).collect();
    let refused = put_topics(&app, &app.ks(), &id, 2, json!(too_many)).await;
    refused.expect(422);
    assert_eq!(refused.invalid_fields()[0], "topics");
    assert_eq!(
        audit_actions(&app, "location", &id).await,
        ["replace_topics", "create"]
    );
}
db_test!(a_put_with_an_unknown_slug_names_each_bad_one_and_changes_nothing);

async fn location_search_by_topic_needs_every_topic_and_combines_with_near_and_open_now(
    app: TestApp,
) {
    let both = create_ok(&app, location_at("0301", "Begge", 59.92, 10.75)).await;
    let security = create_ok(&app, location_at("0301", "Bare sikkerhet", 59.93, 10.76)).await;
    let far = create_ok(&app, location_at("1103", "Stavanger begge", 58.97, 5.73)).await;
    let closed = create_ok(
        &app,
        location_at("0301", "Begge, men aldri åpen", 59.921, 10.751),
    )
    .await;
    for id in [&both, &far, &closed] {
        put_topics(
            &app,
            &app.ks(),
            id,
            1,
            json!(["online-security", "privacy-online"]),
        )
        .await
        .expect(200);
    }
    put_topics(&app, &app.ks(), &security, 1, json!(["online-security"]))
        .await
        .expect(200);
    let every_day: Vec<Value> = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| json!({"weekday": d, "opens": "00:00", "closes": "23:59", "service_mode": "drop_in"}))
    .collect();
    for id in [&both, &security, &far] {
        app.call(
            Method::PUT,
            &format!("/api/v1/locations/{id}/opening-hours"),
        )
        .bearer(&app.ks())
        .header("if-match", "\"2\"")
        .json(json!({"opens_on_holidays": true, "rules": every_day}))
        .send()
        .await
        .expect(200);
    }

    assert_eq!(
        names(&app.get("/api/v1/locations?topic=online-security").await),
        [
            "Bare sikkerhet",
            "Begge",
            "Begge, men aldri åpen",
            "Stavanger begge"
        ]
    );
    assert_eq!(
        names(
            &app.get("/api/v1/locations?topic=online-security&topic=privacy-online")
                .await
        ),
        ["Begge", "Begge, men aldri åpen", "Stavanger begge"]
    );
    assert!(
        names(
            &app.get("/api/v1/locations?topic=online-security&topic=appeals")
                .await
        )
        .is_empty()
    );
    let near = app
        .get(
            "/api/v1/locations?topic=online-security&topic=privacy-online\
             &near=59.92,10.75&radius_km=10",
        )
        .await;
    assert_eq!(names(&near), ["Begge", "Begge, men aldri åpen"]);
    assert_eq!(
        near.body["items"][0]["topics"],
        json!(["online-security", "privacy-online"])
    );
    // The rules leave 23:59 to midnight closed: step past that minute (in any offset).
    if chrono::Utc::now().format("%M").to_string() == "59" {
        tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    }
    let open = app
        .get("/api/v1/locations?topic=privacy-online&open_now=true&near=59.92,10.75&radius_km=10")
        .await;
    assert_eq!(names(&open), ["Begge"]);
    let open_anywhere = app
        .get("/api/v1/locations?topic=online-security&open_now=true")
        .await;
    assert_eq!(
        names(&open_anywhere),
        ["Bare sikkerhet", "Begge", "Stavanger begge"]
    );
    let paged = app
        .get("/api/v1/locations?topic=online-security&open_now=true&limit=2")
        .await;
    assert_eq!(names(&paged), ["Bare sikkerhet", "Begge"]);
    let cursor = paged.body["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(
        names(
            &app.get(&format!(
                "/api/v1/locations?topic=online-security&open_now=true&limit=2&cursor={cursor}"
            ))
            .await
        ),
        ["Stavanger begge"]
    );
    app.get("/api/v1/locations?topic=Not_A_Slug")
        .await
        .expect(422);
    let too_many: String = (0..21).map(|i| format!("topic=t{i}&")).collect();
    app.get(&format!("/api/v1/locations?{too_many}"))
        .await
        .expect(400);
}
db_test!(location_search_by_topic_needs_every_topic_and_combines_with_near_and_open_now);

async fn ks_keeps_the_resources_of_a_topic(app: TestApp) {
    let created = app
        .call(Method::POST, "/api/v1/topics/online-security/resources")
        .bearer(&app.ks())
        .header("idempotency-key", "course-1")
        .json(course())
        .send()
        .await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/topics/online-security/resources/{id}");
    assert_eq!(created.header("location"), Some(path.as_str()));
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.body["languages"], json!(["nb", "so", "ti", "ur"]));
    assert_eq!(created.body["topic_slug"], "online-security");
    let retried = app
        .call(Method::POST, "/api/v1/topics/online-security/resources")
        .bearer(&app.ks())
        .header("idempotency-key", "course-1")
        .json(course())
        .send()
        .await;
    assert_eq!(retried.body, created.body);
    assert_eq!(app.count("topic_resources").await, 1);
    let mut video = course();
    video["title"] = json!("Svindel på SMS");
    video["languages"] = json!(["ar", "pl"]);
    video["format"] = json!("video");
    video["description"] = json!(null);
    add_resource(&app, &app.ks(), "online-security", video)
        .await
        .expect(201);
    add_resource(&app, &app.ks(), "privacy-online", course())
        .await
        .expect(201);

    let list = app.get("/api/v1/topics/online-security/resources").await;
    list.expect(200);
    let titles: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Svindel på SMS", "Trygg på nett"]);
    let tigrinya = app
        .get("/api/v1/topics/online-security/resources?language=ti")
        .await;
    assert_eq!(tigrinya.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(tigrinya.body["items"][0]["id"], id.as_str());
    let videos = app
        .get("/api/v1/topics/online-security/resources?format=video")
        .await;
    assert_eq!(videos.body["items"][0]["title"], "Svindel på SMS");
    let first = app
        .get("/api/v1/topics/online-security/resources?limit=1")
        .await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = app
        .get(&format!(
            "/api/v1/topics/online-security/resources?limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(second.body["items"][0]["id"], id.as_str());
    assert!(second.body["next_cursor"].is_null());
    assert_eq!(app.get(&path).await.body, created.body);
    // Another topic's path does not reach it.
    app.get(&format!("/api/v1/topics/privacy-online/resources/{id}"))
        .await
        .expect(404);

    let patched = app
        .call(Method::PATCH, &path)
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"languages": ["en"], "description": null, "format": "guide"}))
        .send()
        .await;
    patched.expect(200);
    assert_eq!(patched.header("etag"), Some("\"2\""));
    assert_eq!(patched.body["languages"], json!(["en"]));
    assert!(patched.body["description"].is_null());
    assert_eq!(patched.body["format"], "guide");
    assert_eq!(patched.body["title"], "Trygg på nett");
    app.call(Method::PATCH, &path)
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"title": "Gammel"}))
        .send()
        .await
        .expect(412);
    app.call(Method::DELETE, &path)
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .send()
        .await
        .expect(412);
    app.call(Method::DELETE, &path)
        .bearer(&app.ks())
        .send()
        .await
        .expect(428);
    app.call(Method::DELETE, &path)
        .bearer(&app.ks())
        .header("if-match", "\"2\"")
        .send()
        .await
        .expect(204);
    app.get(&path).await.expect(404);
    assert_eq!(app.count("topic_resources").await, 2);
    assert_eq!(app.count("topic_resource_languages").await, 6);
    assert_eq!(
        audit_actions(&app, "topic_resource", &id).await,
        ["delete", "update", "create"]
    );
}
db_test!(ks_keeps_the_resources_of_a_topic);

async fn resources_refuse_other_roles_and_bad_input_storing_nothing(app: TestApp) {
    let collection = "/api/v1/topics/online-security/resources";
    app.call(Method::POST, collection)
        .json(course())
        .send()
        .await
        .expect(401);
    add_resource(&app, &app.kmd(), "online-security", course())
        .await
        .expect(403);
    add_resource(&app, &app.municipality("0301"), "online-security", course())
        .await
        .expect(403);
    add_resource(&app, &app.ks(), "no-such-topic", course())
        .await
        .expect(404);
    let mut bad = course();
    bad["title"] = json!("t".repeat(201));
    bad["url"] = json!("ftp://digidel.no/kurs");
    bad["publisher"] = json!("");
    bad["languages"] = json!(["nb", "xx", "NB"]);
    bad["description"] = json!("d".repeat(1001));
    let refused = add_resource(&app, &app.ks(), "online-security", bad).await;
    refused.expect(422);
    assert_eq!(
        refused.invalid_fields(),
        [
            "title",
            "url",
            "publisher",
            "languages[1]",
            "languages[2]",
            "description"
        ]
    );
    let mut none = course();
    none["languages"] = json!([]);
    assert_eq!(
        add_resource(&app, &app.ks(), "online-security", none)
            .await
            .invalid_fields(),
        ["languages"]
    );
    for (field, value) in [
        ("format", json!("podcast")),
        ("languages", json!("nb")),
        ("title", json!(7)),
        ("rating", json!(5)),
    ] {
        let mut body = course();
        body[field] = value;
        add_resource(&app, &app.ks(), "online-security", body)
            .await
            .expect(422);
    }
    assert_eq!(app.count("topic_resources").await, 0);

    let created = add_resource(&app, &app.ks(), "online-security", course()).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("{collection}/{id}");
    let change = json!({"title": "Nytt navn"});
    app.call(Method::PATCH, &path)
        .header("if-match", "\"1\"")
        .json(change.clone())
        .send()
        .await
        .expect(401);
    app.call(Method::PATCH, &path)
        .bearer(&app.municipality("0301"))
        .header("if-match", "\"1\"")
        .json(change.clone())
        .send()
        .await
        .expect(403);
    app.call(Method::DELETE, &path)
        .bearer(&app.kmd())
        .header("if-match", "\"1\"")
        .send()
        .await
        .expect(403);
    app.call(Method::PATCH, &format!("{collection}/not-a-uuid"))
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(change.clone())
        .send()
        .await
        .expect(400);
    let nulls = app
        .call(Method::PATCH, &path)
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"title": null, "url": "not a url", "languages": null}))
        .send()
        .await;
    nulls.expect(422);
    assert_eq!(nulls.invalid_fields(), ["title", "url", "languages"]);
    app.get(&format!("{collection}?language=xx"))
        .await
        .expect(422);
    // Not a BCP 47 subtag (Bokmål is `nb`): a 422 naming the parameter, as for `xx`.
    let nob = app.get(&format!("{collection}?language=nob")).await;
    nob.expect(422);
    assert_eq!(nob.invalid_fields(), ["language"]);
    app.get(&format!("{collection}?format=podcast"))
        .await
        .expect(400);
    app.get("/api/v1/topics/no-such-topic/resources")
        .await
        .expect(404);
    let read = app.get(&path).await;
    assert_eq!(read.body["version"], 1);
    assert_eq!(read.body["title"], "Trygg på nett");
}
db_test!(resources_refuse_other_roles_and_bad_input_storing_nothing);

async fn one_idempotency_key_at_two_topics_creates_a_resource_at_each(app: TestApp) {
    let mut created = Vec::new();
    for slug in ["online-security", "getting-online"] {
        let path = format!("/api/v1/topics/{slug}/resources");
        let reply = post(&app, &app.ks(), &path, Some("course-2"), course()).await;
        reply.expect(201);
        assert_eq!(reply.body["topic_slug"], slug, "{}", reply.text);
        created.push(reply.body["id"].as_str().unwrap().to_string());
    }
    assert_ne!(created[0], created[1]);
    assert_eq!(app.count("topic_resources").await, 2);
}
db_test!(one_idempotency_key_at_two_topics_creates_a_resource_at_each);
