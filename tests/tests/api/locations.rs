use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{id_of, names, post};
use crate::support::{Reply, TestApp};

pub fn deichman() -> Value {
    json!({
        "municipality_number": "0301",
        "name": "Deichman Grünerløkka",
        "host_type": "library",
        "address": {
            "street": "Schleppegrells gate 10",
            "postal_code": "0556",
            "postal_place": "Oslo",
        },
        "latitude": 59.9268, "longitude": 10.7589,
        "phone": "23 43 29 00",
        "email": "digihjelp@deichman.no",
        "website": "https://deichman.no/digihjelp",
        "service_modes": ["drop_in", "appointment", "drop_in"],
        "languages": ["nb", "en", "ar", "en"],
        "accessibility": ["step_free_access", "hearing_loop"],
        "description": "Hjelp med mobil, nettbrett og PC. Vi snakker også arabisk.",
    })
}

/// A location of `municipality` at a point, with a name.
pub fn location_at(municipality: &str, name: &str, latitude: f64, longitude: f64) -> Value {
    let mut body = deichman();
    body["municipality_number"] = json!(municipality);
    body["name"] = json!(name);
    body["latitude"] = json!(latitude);
    body["longitude"] = json!(longitude);
    body
}

pub async fn create(app: &TestApp, token: &str, body: Value) -> Reply {
    post(app, token, "/api/v1/locations", None, body).await
}

/// Creates a location as KS and returns its id.
pub async fn create_ok(app: &TestApp, body: Value) -> String {
    let reply = create(app, &app.ks(), body).await;
    reply.expect(201);
    id_of(&reply.body)
}

async fn a_municipality_creates_a_location_that_everyone_can_read(app: TestApp) {
    let created = create(&app, &app.municipality("0301"), deichman()).await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        created.header("location").unwrap(),
        format!("/api/v1/locations/{id}")
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(created.body["languages"], json!(["ar", "en", "nb"]));
    assert_eq!(
        created.body["service_modes"],
        json!(["drop_in", "appointment"])
    );
    assert_eq!(created.body["phone"], "+4723432900");
    assert_eq!(created.body["status"], "active");
    assert_eq!(created.body["opens_on_holidays"], false);
    assert!(created.body.get("distance_km").is_none());

    let read = app.get(&format!("/api/v1/locations/{id}")).await;
    read.expect(200);
    assert_eq!(read.body, created.body);
    let oslo = app.get("/api/v1/municipalities/0301").await;
    assert_eq!(oslo.body["has_digihjelp"], true);
    let with_offer = app.get("/api/v1/municipalities?has_digihjelp=true").await;
    assert_eq!(with_offer.body["items"].as_array().unwrap().len(), 1);
    let log = app
        .call(Method::GET, &format!("/api/v1/audit?resource_id={id}"))
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(log.body["items"][0]["action"], "create");
    assert_eq!(log.body["items"][0]["actor_municipality"], "0301");
}
db_test!(a_municipality_creates_a_location_that_everyone_can_read);

async fn locations_are_created_only_by_their_municipality_or_ks(app: TestApp) {
    app.call(Method::POST, "/api/v1/locations")
        .json(deichman())
        .send()
        .await
        .expect(401);
    create(&app, &app.kmd(), deichman()).await.expect(403);
    create(&app, &app.municipality("1103"), deichman())
        .await
        .expect(403);
    assert_eq!(app.count("locations").await, 0);
    create(&app, &app.ks(), deichman()).await.expect(201);
}
db_test!(locations_are_created_only_by_their_municipality_or_ks);

async fn an_invalid_location_is_a_422_per_field_and_nothing_is_stored(app: TestApp) {
    let mut body = deichman();
    body["name"] = json!("x".repeat(201));
    body["address"]["postal_code"] = json!("556");
    body["latitude"] = json!(55.68);
    body["longitude"] = json!(12.57); // Copenhagen
    body["phone"] = json!("12");
    body["email"] = json!("not-an-address");
    body["website"] = json!("deichman.no");
    body["languages"] = json!(["nb", "xx"]);
    body["service_modes"] = json!([]);
    let reply = create(&app, &app.ks(), body).await;
    reply.expect(422);
    assert_eq!(
        reply.invalid_fields(),
        [
            "name",
            "address.postal_code",
            "latitude",
            "phone",
            "email",
            "website",
            "service_modes",
            "languages[1]"
        ]
    );
    let mut unknown = deichman();
    unknown["municipality_number"] = json!("9998");
    let reply = create(&app, &app.ks(), unknown).await;
    reply.expect(422);
    assert_eq!(reply.invalid_fields(), ["municipality_number"]);
    for (field, value) in [
        ("host_type", json!("castle")),
        ("latitude", json!("north")),
        ("service_modes[0]", json!(["walk_in"])),
        ("name", json!(7)),
    ] {
        let mut body = deichman();
        body[field.trim_end_matches("[0]")] = value;
        assert_eq!(
            create(&app, &app.ks(), body)
                .await
                .expect(422)
                .invalid_fields(),
            [field]
        );
    }
    assert_eq!(app.count("locations").await, 0);
    assert_eq!(app.count("location_languages").await, 0);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(an_invalid_location_is_a_422_per_field_and_nothing_is_stored);

async fn a_location_is_read_with_an_etag_and_revalidated(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let read = app.get(&format!("/api/v1/locations/{id}")).await;
    assert_eq!(read.header("etag"), Some("\"1\""));
    app.call(Method::GET, &format!("/api/v1/locations/{id}"))
        .header("if-none-match", "\"1\"")
        .send()
        .await
        .expect(304);
    // A malformed id is a malformed request; a well-formed id of nothing is not found.
    let malformed = app.get("/api/v1/locations/not-a-uuid").await;
    malformed.expect(400);
    assert_eq!(malformed.invalid_fields(), ["id"], "{}", malformed.text);
    app.get("/api/v1/locations/01890000-0000-7000-8000-000000000000")
        .await
        .expect(404);
}
db_test!(a_location_is_read_with_an_etag_and_revalidated);

async fn a_location_is_updated_with_if_match_by_its_municipality(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    let oslo = app.municipality("0301");
    let changed = app
        .call(Method::PATCH, &path)
        .bearer(&oslo)
        .header("if-match", "\"1\"")
        .json(json!({
            "status": "temporarily_closed",
            "alert": "Stengt for oppussing til 3. mars",
            "languages": ["so", "ti"],
            "phone": null,
        }))
        .send()
        .await;
    changed.expect(200);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.body["status"], "temporarily_closed");
    assert_eq!(changed.body["languages"], json!(["so", "ti"]));
    assert!(changed.body["phone"].is_null());
    // Temporarily closed still counts as an offer; inactive does not.
    assert_eq!(
        app.get("/api/v1/municipalities/0301").await.body["has_digihjelp"],
        true
    );
    app.call(Method::PATCH, &path)
        .bearer(&oslo)
        .header("if-match", "\"2\"")
        .json(json!({"status": "inactive"}))
        .send()
        .await
        .expect(200);
    assert_eq!(
        app.get("/api/v1/municipalities/0301").await.body["has_digihjelp"],
        false
    );

    app.call(Method::PATCH, &path)
        .bearer(&oslo)
        .header("if-match", "\"1\"")
        .json(json!({"name": "X"}))
        .send()
        .await
        .expect(412);
    app.call(Method::PATCH, &path)
        .bearer(&oslo)
        .json(json!({"name": "X"}))
        .send()
        .await
        .expect(428);
    let invalid = app
        .call(Method::PATCH, &path)
        .bearer(&oslo)
        .header("if-match", "\"3\"")
        .json(json!({"name": "", "latitude": 10.0}))
        .send()
        .await;
    invalid.expect(422);
    assert_eq!(invalid.invalid_fields(), ["name", "latitude"]);
    for (token, status) in [(app.municipality("1103"), 403), (app.kmd(), 403)] {
        app.call(Method::PATCH, &path)
            .bearer(&token)
            .header("if-match", "\"3\"")
            .json(json!({"name": "X"}))
            .send()
            .await
            .expect(status);
    }
    app.call(Method::PATCH, &path)
        .header("if-match", "\"3\"")
        .json(json!({"name": "X"}))
        .send()
        .await
        .expect(401);
    let read = app.get(&path).await;
    assert_eq!(read.body["name"], "Deichman Grünerløkka");
    assert_eq!(read.body["version"], 3);
}
db_test!(a_location_is_updated_with_if_match_by_its_municipality);

async fn deleting_a_location_removes_its_opening_hours(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    let ks = app.ks();
    app.call(Method::PUT, &format!("{path}/opening-hours"))
        .bearer(&ks)
        .header("if-match", "\"1\"")
        .json(json!({
            "opens_on_holidays": false,
            "rules": [{
                "weekday": "monday", "opens": "10:00", "closes": "14:00", "service_mode": "drop_in",
            }],
        }))
        .send()
        .await
        .expect(200);
    app.call(Method::POST, &format!("{path}/exceptions"))
        .bearer(&ks)
        .json(json!({"date": "2026-12-24", "closed": true}))
        .send()
        .await
        .expect(201);
    app.call(Method::DELETE, &path)
        .bearer(&app.municipality("1103"))
        .header("if-match", "\"2\"")
        .send()
        .await
        .expect(403);
    app.call(Method::DELETE, &path)
        .bearer(&app.kmd())
        .header("if-match", "\"2\"")
        .send()
        .await
        .expect(403);
    app.call(Method::DELETE, &path)
        .header("if-match", "\"2\"")
        .send()
        .await
        .expect(401);
    app.call(Method::DELETE, &path)
        .bearer(&ks)
        .header("if-match", "\"1\"")
        .send()
        .await
        .expect(412);
    app.call(Method::DELETE, &path)
        .bearer(&ks)
        .send()
        .await
        .expect(428);
    assert_eq!(app.count("locations").await, 1);
    app.call(Method::DELETE, &path)
        .bearer(&app.municipality("0301"))
        .header("if-match", "\"2\"")
        .send()
        .await
        .expect(204);
    app.get(&path).await.expect(404);
    for table in [
        "locations",
        "opening_rules",
        "opening_exceptions",
        "location_languages",
    ] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
}
db_test!(deleting_a_location_removes_its_opening_hours);

async fn creating_a_location_is_idempotent(app: TestApp) {
    let ks = app.ks();
    let send = || {
        app.call(Method::POST, "/api/v1/locations")
            .bearer(&ks)
            .header("idempotency-key", "loc-1")
            .json(deichman())
            .send()
    };
    let first = send().await;
    first.expect(201);
    let retry = send().await;
    retry.expect(201);
    assert_eq!(retry.body, first.body);
    assert_eq!(app.count("locations").await, 1);
}
db_test!(creating_a_location_is_idempotent);

async fn search_filters_combine_and_default_to_active_offers(app: TestApp) {
    let a = create_ok(&app, deichman()).await;
    let mut stavanger = location_at("1103", "Sølvberget", 58.9700, 5.7331);
    stavanger["host_type"] = json!("service_office");
    stavanger["languages"] = json!(["nb", "pl"]);
    stavanger["service_modes"] = json!(["appointment"]);
    stavanger["description"] = json!("Servicetorget på Sølvberget");
    stavanger["address"]["postal_place"] = json!("Stavanger");
    create_ok(&app, stavanger).await;
    let mut closed = location_at("0301", "Gamle Deichman", 59.9170, 10.7500);
    closed["status"] = json!("inactive");
    create_ok(&app, closed).await;

    let all = app.get("/api/v1/locations").await;
    all.expect(200);
    assert_eq!(names(&all), ["Deichman Grünerløkka", "Sølvberget"]);
    assert_eq!(
        names(&app.get("/api/v1/locations?county=11").await),
        ["Sølvberget"]
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?municipality=0301").await),
        ["Deichman Grünerløkka"]
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?language=pl").await),
        ["Sølvberget"]
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?service_mode=drop_in").await),
        ["Deichman Grünerløkka"]
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?host_type=service_office").await),
        ["Sølvberget"]
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?q=S%C3%98LVBERG").await),
        ["Sølvberget"]
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?q=stavanger").await),
        ["Sølvberget"]
    );
    assert_eq!(
        names(&app.get("/api/v1/locations?status=inactive").await),
        ["Gamle Deichman"]
    );
    assert_eq!(
        names(
            &app.get("/api/v1/locations?status=inactive&status=active&county=03")
                .await
        ),
        ["Deichman Grünerløkka", "Gamle Deichman"]
    );
    assert!(names(&app.get("/api/v1/locations?county=11&language=ar").await).is_empty());
    let future = app
        .get("/api/v1/locations?updated_since=2200-01-01T00:00:00Z")
        .await;
    assert!(names(&future).is_empty());
    let past = app
        .get("/api/v1/locations?updated_since=2000-01-01T00:00:00Z")
        .await;
    assert_eq!(names(&past).len(), 2);
    // The list revalidates too.
    let tag = all.header("etag").unwrap().to_string();
    app.call(Method::GET, "/api/v1/locations")
        .header("if-none-match", &tag)
        .send()
        .await
        .expect(304);
    app.call(Method::PATCH, &format!("/api/v1/locations/{a}"))
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"name": "Deichman Grünerløkka bibliotek"}))
        .send()
        .await
        .expect(200);
    app.call(Method::GET, "/api/v1/locations")
        .header("if-none-match", &tag)
        .send()
        .await
        .expect(200);
}
db_test!(search_filters_combine_and_default_to_active_offers);

async fn invalid_search_parameters_are_refused_not_ignored(app: TestApp) {
    for (query, status) in [
        ("county=oslo", 422),
        ("municipality=1", 422),
        ("language=xx", 422),
        ("near=59.9", 422),
        ("near=abc,def", 422),
        ("near=55.6,12.5", 422),
        ("near=59.9,10.7&radius_km=0", 422),
        ("near=59.9,10.7&radius_km=501", 422),
        ("radius_km=5", 422),
        ("open_now=true&open_at=2026-11-23T12:00:00Z", 422),
        ("host_type=castle", 400),
        ("status=closed", 400),
        ("service_mode=any", 400),
        ("open_at=tomorrow", 400),
        ("updated_since=yesterday", 400),
        ("limit=500", 400),
        ("q=", 400),
        ("cursor=xyz", 400),
    ] {
        let reply = app.get(&format!("/api/v1/locations?{query}")).await;
        assert_eq!(reply.status.as_u16(), status, "{query}: {}", reply.text);
        reply.expect(status);
    }
}
db_test!(invalid_search_parameters_are_refused_not_ignored);

async fn near_orders_by_distance_within_the_radius(app: TestApp) {
    // Points due north of Oslo S (59.9111, 10.7528): one degree of latitude is 111.195 km.
    let km_north = |km: f64| 59.9111 + km / 111.195;
    create_ok(
        &app,
        location_at("0301", "C 9.9 km", km_north(9.9), 10.7528),
    )
    .await;
    create_ok(&app, location_at("0301", "A 1 km", km_north(1.0), 10.7528)).await;
    create_ok(
        &app,
        location_at("0301", "D 10.1 km", km_north(10.1), 10.7528),
    )
    .await;
    create_ok(&app, location_at("0301", "B 5 km", km_north(5.0), 10.7528)).await;
    let reply = app
        .get("/api/v1/locations?near=59.9111,10.7528&radius_km=10")
        .await;
    reply.expect(200);
    assert_eq!(names(&reply), ["A 1 km", "B 5 km", "C 9.9 km"]);
    let distances: Vec<f64> = reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["distance_km"].as_f64().unwrap())
        .collect();
    assert_eq!(distances, [1.0, 5.0, 9.9]);

    // Paging by distance keeps the order.
    let first = app
        .get("/api/v1/locations?near=59.9111,10.7528&radius_km=20&limit=2")
        .await;
    assert_eq!(names(&first), ["A 1 km", "B 5 km"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!(
            "/api/v1/locations?near=59.9111,10.7528&radius_km=20&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(names(&second), ["C 9.9 km", "D 10.1 km"]);
    assert!(second.body["next_cursor"].is_null());
    // A cursor of a search by name does not fit a search by distance.
    let by_name = app.get("/api/v1/locations?limit=1").await;
    let name_cursor = by_name.body["next_cursor"].as_str().unwrap();
    app.get(&format!(
        "/api/v1/locations?near=59.9111,10.7528&cursor={name_cursor}"
    ))
    .await
    .expect(400);
}
db_test!(near_orders_by_distance_within_the_radius);

async fn paging_by_name_returns_every_location_once(app: TestApp) {
    for i in 0..7 {
        create_ok(
            &app,
            location_at("0301", &format!("Sted {}", 7 - i), 59.9, 10.7),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/locations?limit=3".to_string();
    loop {
        let page = app.get(&path).await;
        page.expect(200);
        seen.extend(names(&page));
        match page.body["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/locations?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (1..=7).map(|i| format!("Sted {i}")).collect::<Vec<_>>()
    );
}
db_test!(paging_by_name_returns_every_location_once);

async fn a_municipality_moved_to_another_county_takes_its_locations_along(app: TestApp) {
    use sea_orm::ConnectionTrait;
    // As if the reference data had placed Oslo in county 11 until KS corrected it.
    app.db
        .execute_unprepared("UPDATE municipalities SET county_number = '11' WHERE number = '0301'")
        .await
        .unwrap();
    create_ok(&app, deichman()).await;
    assert_eq!(
        names(&app.get("/api/v1/locations?county=11").await),
        ["Deichman Grünerløkka"]
    );
    assert!(names(&app.get("/api/v1/locations?county=03").await).is_empty());

    app.call(Method::PATCH, "/api/v1/municipalities/0301")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"county_number": "03"}))
        .send()
        .await
        .expect(200);
    assert_eq!(
        names(&app.get("/api/v1/locations?county=03").await),
        ["Deichman Grünerløkka"]
    );
    assert!(names(&app.get("/api/v1/locations?county=11").await).is_empty());
    // A refused change moves nothing: a stale If-Match (412), or a county that does not
    // begin the municipality number (422, checked before If-Match).
    app.call(Method::PATCH, "/api/v1/municipalities/0301")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"name": "Oslo"}))
        .send()
        .await
        .expect(412);
    let moved_back = app
        .call(Method::PATCH, "/api/v1/municipalities/0301")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"county_number": "11"}))
        .send()
        .await;
    moved_back.expect(422);
    assert_eq!(moved_back.invalid_fields(), ["county_number"]);
    assert_eq!(
        names(&app.get("/api/v1/locations?county=03").await),
        ["Deichman Grünerløkka"]
    );
}
db_test!(a_municipality_moved_to_another_county_takes_its_locations_along);

async fn every_combination_of_statuses_finds_exactly_those(app: TestApp) {
    for (name, status) in [
        ("A aktiv", "active"),
        ("B stengt nå", "temporarily_closed"),
        ("C nedlagt", "inactive"),
    ] {
        let mut body = location_at("0301", name, 59.9170, 10.7500);
        body["status"] = json!(status);
        create_ok(&app, body).await;
    }
    for (query, expected) in [
        ("", vec!["A aktiv", "B stengt nå"]),
        ("?status=active", vec!["A aktiv"]),
        ("?status=temporarily_closed", vec!["B stengt nå"]),
        ("?status=inactive", vec!["C nedlagt"]),
        (
            "?status=active&status=inactive",
            vec!["A aktiv", "C nedlagt"],
        ),
        (
            "?status=temporarily_closed&status=inactive",
            vec!["B stengt nå", "C nedlagt"],
        ),
        (
            "?status=inactive&status=active&status=temporarily_closed",
            vec!["A aktiv", "B stengt nå", "C nedlagt"],
        ),
        ("?status=active&status=active", vec!["A aktiv"]),
    ] {
        let reply = app.get(&format!("/api/v1/locations{query}")).await;
        reply.expect(200);
        assert_eq!(names(&reply), expected, "{query}");
    }
}
db_test!(every_combination_of_statuses_finds_exactly_those);
