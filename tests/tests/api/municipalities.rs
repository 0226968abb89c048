use std::collections::HashSet;

use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{self, field};
use crate::support::{Reply, TestApp};

fn numbers(reply: &Reply) -> Vec<String> {
    field(reply, "number")
}

async fn patch(
    app: &TestApp,
    token: Option<&str>,
    number: &str,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    let path = format!("/api/v1/municipalities/{number}");
    helpers::patch(app, token, &path, if_match, body).await
}

async fn create(app: &TestApp, token: &str, key: Option<&str>, body: Value) -> Reply {
    helpers::post(app, token, "/api/v1/municipalities", key, body).await
}

fn new_municipality() -> Value {
    json!({
        "number": "0399", "name": "Nyby", "county_number": "03",
        "organization_number": "974760673", "latitude": 59.9, "longitude": 10.7,
        "website": "https://www.nyby.kommune.no", "digihjelp_email": "digihjelp@nyby.kommune.no",
        "digihjelp_phone": "22 33 44 55",
    })
}

async fn the_oslo_county_holds_only_oslo(app: TestApp) {
    let reply = app.get("/api/v1/municipalities?county=03").await;
    reply.expect(200);
    assert_eq!(numbers(&reply), ["0301"]);
    let oslo = &reply.body["items"][0];
    assert_eq!(oslo["name"], "Oslo");
    assert_eq!(oslo["county_name"], "Oslo");
    assert_eq!(oslo["organization_number"], "958935420");
    assert_eq!(oslo["has_digihjelp"], false);
    assert_eq!(oslo["version"], 1);
}
db_test!(the_oslo_county_holds_only_oslo);

async fn paging_by_200_returns_all_357_exactly_once(app: TestApp) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/municipalities?limit=200&cursor={c}"),
            None => "/api/v1/municipalities?limit=200".to_string(),
        };
        let page = app.get(&path).await;
        page.expect(200);
        seen.extend(numbers(&page));
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 357);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 357);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ordered by number");
    let default_page = app.get("/api/v1/municipalities").await;
    assert_eq!(numbers(&default_page).len(), 50);
}
db_test!(paging_by_200_returns_all_357_exactly_once);

async fn the_name_search_ignores_case_including_norwegian_letters(app: TestApp) {
    let reply = app.get("/api/v1/municipalities?q=B%C3%98").await; // "BØ"
    reply.expect(200);
    assert_eq!(numbers(&reply), ["1867", "4613"]); // Bø, Bømlo
    let aa = app.get("/api/v1/municipalities?q=%C3%A5lesund").await; // "ålesund"
    assert_eq!(numbers(&aa), ["1508"]);
    let wildcard = app.get("/api/v1/municipalities?q=%25").await; // "%" is literal
    assert!(numbers(&wildcard).is_empty());
    let underscore = app.get("/api/v1/municipalities?q=_").await;
    assert!(numbers(&underscore).is_empty());
}
db_test!(the_name_search_ignores_case_including_norwegian_letters);

async fn filters_combine_and_bad_filter_values_are_refused(app: TestApp) {
    let nordland_bo = app.get("/api/v1/municipalities?county=18&q=b%C3%B8").await;
    assert_eq!(numbers(&nordland_bo), ["1867"]);
    let with_offer = app.get("/api/v1/municipalities?has_digihjelp=true").await;
    with_offer.expect(200);
    assert!(numbers(&with_offer).is_empty());
    let without = app
        .get("/api/v1/municipalities?has_digihjelp=false&county=03")
        .await;
    assert_eq!(numbers(&without), ["0301"]);
    let unknown = app.get("/api/v1/municipalities?county=99").await;
    unknown.expect(422);
    assert_eq!(unknown.invalid_fields(), ["county"]);
    app.get("/api/v1/municipalities?county=oslo")
        .await
        .expect(422);
    app.get("/api/v1/municipalities?q=").await.expect(400);
}
db_test!(filters_combine_and_bad_filter_values_are_refused);

async fn a_municipality_is_read_with_an_etag_and_revalidated_with_304(app: TestApp) {
    let oslo = app.get("/api/v1/municipalities/0301").await;
    oslo.expect(200);
    assert_eq!(oslo.header("etag"), Some("\"1\""));
    assert_eq!(oslo.body["latitude"], 59.98139);
    let again = app
        .call(Method::GET, "/api/v1/municipalities/0301")
        .header("if-none-match", "\"1\"")
        .send()
        .await;
    again.expect(304);
    assert!(again.text.is_empty());
    let stale = app
        .call(Method::GET, "/api/v1/municipalities/0301")
        .header("if-none-match", "\"0\"")
        .send()
        .await;
    stale.expect(200);
    app.get("/api/v1/municipalities/9999").await.expect(404);
    app.get("/api/v1/municipalities/abc").await.expect(404);
}
db_test!(a_municipality_is_read_with_an_etag_and_revalidated_with_304);

async fn a_municipality_updates_its_own_contact_details_with_if_match(app: TestApp) {
    let token = app.municipality("0301");
    let reply = patch(
        &app,
        Some(&token),
        "0301",
        Some("\"1\""),
        json!({
            "website": "https://www.oslo.kommune.no/digihjelp",
            "digihjelp_email": "digihjelp@oslo.kommune.no",
            "digihjelp_phone": "+47 21 80 21 80",
        }),
    )
    .await;
    reply.expect(200);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    assert_eq!(reply.body["version"], 2);
    assert_eq!(reply.body["digihjelp_phone"], "+4721802180");

    let read_back = app.get("/api/v1/municipalities/0301").await;
    assert_eq!(
        read_back.body["website"],
        "https://www.oslo.kommune.no/digihjelp"
    );
    assert_eq!(
        read_back.body["digihjelp_email"],
        "digihjelp@oslo.kommune.no"
    );
    assert_eq!(read_back.header("etag"), Some("\"2\""));

    // null clears an optional field.
    let cleared = patch(
        &app,
        Some(&token),
        "0301",
        Some("\"2\""),
        json!({"website": null}),
    )
    .await;
    cleared.expect(200);
    assert!(cleared.body["website"].is_null());
    assert_eq!(cleared.body["digihjelp_email"], "digihjelp@oslo.kommune.no");
    assert_eq!(app.count("audit_entries").await, 2);
}
db_test!(a_municipality_updates_its_own_contact_details_with_if_match);

async fn other_callers_cannot_update_a_municipality_and_nothing_changes(app: TestApp) {
    let body = json!({"website": "https://evil.example.no"});
    let cases = [
        (None, 401),
        (Some(app.municipality("1103")), 403),
        (Some(app.kmd()), 403),
    ];
    for (token, status) in cases {
        patch(&app, token.as_deref(), "0301", Some("\"1\""), body.clone())
            .await
            .expect(status);
    }
    // The municipality itself may not touch reference data.
    let rename = patch(
        &app,
        Some(&app.municipality("0301")),
        "0301",
        Some("\"1\""),
        json!({"name": "Kristiania"}),
    )
    .await;
    rename.expect(403);
    assert!(rename.body["detail"].as_str().unwrap().contains("name"));
    let oslo = app.get("/api/v1/municipalities/0301").await;
    assert!(oslo.body["website"].is_null());
    assert_eq!(oslo.body["name"], "Oslo");
    assert_eq!(oslo.body["version"], 1);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(other_callers_cannot_update_a_municipality_and_nothing_changes);

async fn a_stale_or_missing_if_match_is_refused_and_changes_nothing(app: TestApp) {
    let ks = app.ks();
    patch(
        &app,
        Some(&ks),
        "0301",
        Some("\"1\""),
        json!({"website": "https://a.no"}),
    )
    .await
    .expect(200);
    let stale = patch(
        &app,
        Some(&ks),
        "0301",
        Some("\"1\""),
        json!({"website": "https://b.no"}),
    )
    .await;
    stale.expect(412);
    assert_eq!(stale.body["current_version"], 2);
    assert_eq!(stale.body["code"], "stale-version");
    assert_eq!(stale.body["type"], "/problems/stale-version");
    patch(
        &app,
        Some(&ks),
        "0301",
        None,
        json!({"website": "https://c.no"}),
    )
    .await
    .expect(428);
    patch(
        &app,
        Some(&ks),
        "0301",
        Some("W/\"2\""),
        json!({"website": "https://d.no"}),
    )
    .await
    .expect(412);
    let oslo = app.get("/api/v1/municipalities/0301").await;
    assert_eq!(oslo.body["website"], "https://a.no/");
    assert_eq!(oslo.body["version"], 2);
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(a_stale_or_missing_if_match_is_refused_and_changes_nothing);

async fn concurrent_updates_with_the_same_if_match_have_exactly_one_winner(app: TestApp) {
    let ks = app.ks();
    let attempts = (0..8).map(|i| {
        patch(
            &app,
            Some(&ks),
            "0301",
            Some("\"1\""),
            json!({"website": format!("https://w{i}.no")}),
        )
    });
    let replies = futures::future::join_all(attempts).await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!(
        (won, refused),
        (1, 7),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let oslo = app.get("/api/v1/municipalities/0301").await;
    assert_eq!(oslo.body["version"], 2);
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(concurrent_updates_with_the_same_if_match_have_exactly_one_winner);

async fn invalid_contact_details_are_a_422_per_field_and_change_nothing(app: TestApp) {
    let reply = patch(
        &app,
        Some(&app.ks()),
        "0301",
        Some("\"1\""),
        json!({
            "website": "oslo.kommune.no",
            "digihjelp_email": "not an address",
            "digihjelp_phone": "12",
            "name": "",
            "county_number": "3",
            "organization_number": "958935421",
        }),
    )
    .await;
    reply.expect(422);
    assert_eq!(
        reply.invalid_fields(),
        [
            "website",
            "digihjelp_email",
            "digihjelp_phone",
            "organization_number",
            "name",
            "county_number"
        ]
    );
    let too_long = patch(
        &app,
        Some(&app.ks()),
        "0301",
        Some("\"1\""),
        json!({"name": "x".repeat(101)}),
    )
    .await;
    too_long.expect(422);
    patch(&app, Some(&app.ks()), "0301", Some("\"1\""), json!({}))
        .await
        .expect(422);
    patch(
        &app,
        Some(&app.ks()),
        "0301",
        Some("\"1\""),
        json!({"name": null}),
    )
    .await
    .expect(422);
    let oslo = app.get("/api/v1/municipalities/0301").await;
    assert_eq!(oslo.body["version"], 1);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(invalid_contact_details_are_a_422_per_field_and_change_nothing);

async fn ks_changes_reference_data_within_the_rules(app: TestApp) {
    let ks = app.ks();
    let renamed = patch(
        &app,
        Some(&ks),
        "0301",
        Some("\"1\""),
        json!({"name": "Oslo - Oslove"}),
    )
    .await;
    renamed.expect(200);
    assert_eq!(renamed.body["name"], "Oslo - Oslove");
    let found = app.get("/api/v1/municipalities?q=oslove").await;
    assert_eq!(numbers(&found), ["0301"]);
    let other_county = patch(
        &app,
        Some(&ks),
        "0301",
        Some("\"2\""),
        json!({"county_number": "11"}),
    )
    .await;
    other_county.expect(422);
    assert_eq!(other_county.invalid_fields(), ["county_number"]);
    let taken = patch(
        &app,
        Some(&ks),
        "0301",
        Some("\"2\""),
        json!({"organization_number": "964965226"}),
    )
    .await;
    taken.expect(409);
    patch(
        &app,
        Some(&ks),
        "9999",
        Some("\"1\""),
        json!({"website": "https://x.no"}),
    )
    .await
    .expect(404);
}
db_test!(ks_changes_reference_data_within_the_rules);

async fn ks_creates_a_municipality_that_can_be_read_back(app: TestApp) {
    let created = create(&app, &app.ks(), None, new_municipality()).await;
    created.expect(201);
    assert_eq!(
        created.header("location"),
        Some("/api/v1/municipalities/0399")
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.body["county_name"], "Oslo");
    assert_eq!(created.body["digihjelp_phone"], "+4722334455");
    let read = app.get("/api/v1/municipalities/0399").await;
    read.expect(200);
    assert_eq!(read.body["name"], "Nyby");
    let log = app
        .call(Method::GET, "/api/v1/audit?resource_id=0399")
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(log.body["items"][0]["action"], "create");
    assert_eq!(app.count("municipalities").await, 358);
}
db_test!(ks_creates_a_municipality_that_can_be_read_back);

async fn only_ks_creates_municipalities(app: TestApp) {
    let anonymous = app
        .call(Method::POST, "/api/v1/municipalities")
        .json(new_municipality())
        .send()
        .await;
    anonymous.expect(401);
    create(&app, &app.kmd(), None, new_municipality())
        .await
        .expect(403);
    create(&app, &app.municipality("0301"), None, new_municipality())
        .await
        .expect(403);
    assert_eq!(app.count("municipalities").await, 357);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(only_ks_creates_municipalities);

async fn an_invalid_or_conflicting_new_municipality_is_refused_and_nothing_is_stored(app: TestApp) {
    let ks = app.ks();
    let invalid = create(
        &app,
        &ks,
        None,
        json!({
            "number": "1199", "name": " ", "county_number": "03",
            "organization_number": "123456789", "latitude": 55.6, "longitude": 12.5,
            "website": "ftp://x.no", "digihjelp_email": "x@", "digihjelp_phone": "abc",
        }),
    )
    .await;
    invalid.expect(422);
    assert_eq!(
        invalid.invalid_fields(),
        [
            "name",
            "number",
            "organization_number",
            "latitude",
            "website",
            "digihjelp_email",
            "digihjelp_phone"
        ]
    );
    let no_such_county = create(
        &app,
        &ks,
        None,
        json!({"number": "0799", "name": "X", "county_number": "07"}),
    )
    .await;
    no_such_county.expect(422);
    assert_eq!(no_such_county.invalid_fields(), ["county_number"]);
    let half_a_point = create(
        &app,
        &ks,
        None,
        json!({"number": "0398", "name": "X", "county_number": "03", "latitude": 60.0}),
    )
    .await;
    half_a_point.expect(422);
    create(
        &app,
        &ks,
        None,
        json!({"number": "0301", "name": "Oslo", "county_number": "03"}),
    )
    .await
    .expect(409);
    let org_taken = create(
        &app,
        &ks,
        None,
        json!({
            "number": "0398", "name": "X", "county_number": "03",
            "organization_number": "958935420",
        }),
    )
    .await;
    org_taken.expect(409);
    create(&app, &ks, None, json!({"number": "0398", "name": "X"}))
        .await
        .expect(422);
    assert_eq!(app.count("municipalities").await, 357);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(an_invalid_or_conflicting_new_municipality_is_refused_and_nothing_is_stored);

async fn an_idempotency_key_replays_the_first_response_and_refuses_another_body(app: TestApp) {
    let ks = app.ks();
    let first = create(&app, &ks, Some("create-nyby-1"), new_municipality()).await;
    first.expect(201);
    let retry = create(&app, &ks, Some("create-nyby-1"), new_municipality()).await;
    retry.expect(201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    let mut other = new_municipality();
    other["name"] = json!("Annenby");
    create(&app, &ks, Some("create-nyby-1"), other)
        .await
        .expect(409);
    assert_eq!(app.count("municipalities").await, 358);
    assert_eq!(app.count("audit_entries").await, 1);
    // Another caller's key is their own: it does not replay someone else's response.
    let other_ks = app.token(digihjelpen::auth::Role::Ks, None, "ks-per");
    create(&app, &other_ks, Some("create-nyby-1"), new_municipality())
        .await
        .expect(409);
    create(&app, &ks, Some("bad key with spaces"), new_municipality())
        .await
        .expect(400);
}
db_test!(an_idempotency_key_replays_the_first_response_and_refuses_another_body);

async fn a_failed_request_releases_its_idempotency_key(app: TestApp) {
    let ks = app.ks();
    let mut invalid = new_municipality();
    invalid["county_number"] = json!("07");
    create(&app, &ks, Some("retry-me"), invalid)
        .await
        .expect(422);
    create(&app, &ks, Some("retry-me"), new_municipality())
        .await
        .expect(201);
}
db_test!(a_failed_request_releases_its_idempotency_key);

async fn concurrent_requests_with_one_idempotency_key_create_one_municipality(app: TestApp) {
    let ks = app.ks();
    let attempts = (0..8).map(|_| create(&app, &ks, Some("same-key"), new_municipality()));
    let replies = futures::future::join_all(attempts).await;
    for reply in &replies {
        reply.expect(201);
        assert_eq!(reply.body, replies[0].body);
    }
    assert_eq!(app.count("municipalities").await, 358);
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(concurrent_requests_with_one_idempotency_key_create_one_municipality);
