use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::post;
use crate::locations::{create_ok, deichman, location_at};
use crate::support::{Reply, TestApp};

fn rule(weekday: &str, opens: &str, closes: &str) -> Value {
    json!({"weekday": weekday, "opens": opens, "closes": closes, "service_mode": "drop_in"})
}

fn every_day(opens: &str, closes: &str) -> Vec<Value> {
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
    .iter()
    .map(|d| rule(d, opens, closes))
    .collect()
}

async fn put_hours(
    app: &TestApp,
    id: &str,
    version: u32,
    opens_on_holidays: bool,
    rules: Vec<Value>,
) -> Reply {
    app.call(
        Method::PUT,
        &format!("/api/v1/locations/{id}/opening-hours"),
    )
    .bearer(&app.ks())
    .header("if-match", &format!("\"{version}\""))
    .json(json!({"opens_on_holidays": opens_on_holidays, "rules": rules}))
    .send()
    .await
}

async fn schedule(app: &TestApp, id: &str, from: &str, to: &str) -> Value {
    let reply = app
        .get(&format!(
            "/api/v1/locations/{id}/schedule?from={from}&to={to}"
        ))
        .await;
    reply.expect(200);
    reply.body
}

fn day<'a>(schedule: &'a Value, date: &str) -> &'a Value {
    schedule["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("{date} missing"))
}

async fn add_exception(app: &TestApp, id: &str, body: Value) -> Reply {
    let path = format!("/api/v1/locations/{id}/exceptions");
    post(app, &app.ks(), &path, None, body).await
}

async fn weekly_hours_are_replaced_as_a_whole_with_if_match(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let put = put_hours(
        &app,
        &id,
        1,
        false,
        vec![
            rule("monday", "10:00", "12:00"),
            rule("monday", "13:00", "15:00"),
            rule("thursday", "12:00", "18:00"),
        ],
    )
    .await;
    put.expect(200);
    assert_eq!(put.header("etag"), Some("\"2\""));
    assert_eq!(put.body["rules"].as_array().unwrap().len(), 3);
    assert_eq!(put.body["rules"][1]["opens"], "13:00");
    let read = app
        .get(&format!("/api/v1/locations/{id}/opening-hours"))
        .await;
    assert_eq!(read.body, put.body);
    put_hours(&app, &id, 2, true, vec![rule("friday", "09:00", "11:00")])
        .await
        .expect(200);
    let read = app
        .get(&format!("/api/v1/locations/{id}/opening-hours"))
        .await;
    assert_eq!(read.body["rules"].as_array().unwrap().len(), 1);
    assert_eq!(read.body["opens_on_holidays"], true);
    assert_eq!(
        app.get(&format!("/api/v1/locations/{id}")).await.body["opens_on_holidays"],
        true
    );
    put_hours(&app, &id, 2, false, vec![]).await.expect(412);
    assert_eq!(app.count("opening_rules").await, 1);
}
db_test!(weekly_hours_are_replaced_as_a_whole_with_if_match);

async fn overlapping_inverted_or_malformed_rules_are_refused_naming_the_rule(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    put_hours(&app, &id, 1, false, vec![rule("monday", "10:00", "12:00")])
        .await
        .expect(200);
    let overlapping = put_hours(
        &app,
        &id,
        2,
        false,
        vec![
            rule("monday", "10:00", "12:00"),
            rule("monday", "11:00", "13:00"),
        ],
    )
    .await;
    overlapping.expect(422);
    assert_eq!(overlapping.invalid_fields(), ["rules[1]"]);
    let inverted = put_hours(&app, &id, 2, false, vec![rule("tuesday", "15:00", "10:00")]).await;
    inverted.expect(422);
    assert_eq!(inverted.invalid_fields(), ["rules[0]"]);
    let malformed = put_hours(
        &app,
        &id,
        2,
        false,
        vec![
            rule("tuesday", "9", "10:00"),
            rule("friday", "10:00", "24:00"),
        ],
    )
    .await;
    malformed.expect(422);
    assert_eq!(
        malformed.invalid_fields(),
        ["rules[0].opens", "rules[1].closes"]
    );
    let mut season = rule("monday", "10:00", "12:00");
    season["valid_from"] = json!("2026-06-01");
    season["valid_to"] = json!("2026-05-01");
    put_hours(&app, &id, 2, false, vec![season])
        .await
        .expect(422);
    put_hours(&app, &id, 2, false, vec![rule("someday", "10:00", "12:00")])
        .await
        .expect(422);
    // Touching intervals and another service mode are fine.
    let mut appointment = rule("monday", "11:00", "13:00");
    appointment["service_mode"] = json!("appointment");
    put_hours(
        &app,
        &id,
        2,
        false,
        vec![
            rule("monday", "10:00", "12:00"),
            rule("monday", "12:00", "14:00"),
            appointment,
        ],
    )
    .await
    .expect(200);
    assert_eq!(app.count("opening_rules").await, 3);
}
db_test!(overlapping_inverted_or_malformed_rules_are_refused_naming_the_rule);

async fn only_the_municipality_or_ks_changes_opening_hours(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}/opening-hours");
    let body = json!({"opens_on_holidays": false, "rules": [rule("monday", "10:00", "12:00")]});
    app.call(Method::PUT, &path)
        .header("if-match", "\"1\"")
        .json(body.clone())
        .send()
        .await
        .expect(401);
    app.call(Method::PUT, &path)
        .bearer(&app.kmd())
        .header("if-match", "\"1\"")
        .json(body.clone())
        .send()
        .await
        .expect(403);
    app.call(Method::PUT, &path)
        .bearer(&app.municipality("1103"))
        .header("if-match", "\"1\"")
        .json(body.clone())
        .send()
        .await
        .expect(403);
    app.call(Method::PUT, &path)
        .bearer(&app.municipality("0301"))
        .json(body.clone())
        .send()
        .await
        .expect(428);
    assert_eq!(app.count("opening_rules").await, 0);
    app.call(Method::PUT, &path)
        .bearer(&app.municipality("0301"))
        .header("if-match", "\"1\"")
        .json(body)
        .send()
        .await
        .expect(200);
    app.call(Method::PUT, "/api/v1/locations/nope/opening-hours")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .json(json!({"opens_on_holidays": false, "rules": []}))
        .send()
        .await
        .expect(400);
    app.call(
        Method::PUT,
        "/api/v1/locations/01890000-0000-7000-8000-000000000000/opening-hours",
    )
    .bearer(&app.ks())
    .header("if-match", "\"1\"")
    .json(json!({"opens_on_holidays": false, "rules": []}))
    .send()
    .await
    .expect(404);
}
db_test!(only_the_municipality_or_ks_changes_opening_hours);

async fn the_schedule_keeps_wall_clock_hours_across_both_daylight_saving_changes(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    put_hours(&app, &id, 1, true, every_day("10:00", "14:00"))
        .await
        .expect(200);
    let march = schedule(&app, &id, "2026-03-28", "2026-03-30").await;
    assert_eq!(
        day(&march, "2026-03-28")["intervals"][0]["opens_at"],
        "2026-03-28T10:00:00+01:00"
    );
    assert_eq!(
        day(&march, "2026-03-29")["intervals"][0]["opens_at"],
        "2026-03-29T10:00:00+02:00"
    );
    assert_eq!(
        day(&march, "2026-03-30")["intervals"][0]["closes_at"],
        "2026-03-30T14:00:00+02:00"
    );
    let october = schedule(&app, &id, "2026-10-24", "2026-10-26").await;
    assert_eq!(
        day(&october, "2026-10-24")["intervals"][0]["opens_at"],
        "2026-10-24T10:00:00+02:00"
    );
    assert_eq!(
        day(&october, "2026-10-25")["intervals"][0]["opens_at"],
        "2026-10-25T10:00:00+01:00"
    );
    assert_eq!(
        day(&october, "2026-10-26")["intervals"][0]["closes_at"],
        "2026-10-26T14:00:00+01:00"
    );
    assert_eq!(october["time_zone"], "Europe/Oslo");
}
db_test!(the_schedule_keeps_wall_clock_hours_across_both_daylight_saving_changes);

async fn easter_and_whitsun_close_a_location_in_several_years(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    put_hours(&app, &id, 1, false, every_day("10:00", "14:00"))
        .await
        .expect(200);
    for (year, holidays) in [
        (
            2025,
            [
                "2025-04-17",
                "2025-04-18",
                "2025-04-20",
                "2025-04-21",
                "2025-06-08",
                "2025-06-09",
            ],
        ),
        (
            2026,
            [
                "2026-04-02",
                "2026-04-03",
                "2026-04-05",
                "2026-04-06",
                "2026-05-24",
                "2026-05-25",
            ],
        ),
        (
            2027,
            [
                "2027-03-25",
                "2027-03-26",
                "2027-03-28",
                "2027-03-29",
                "2027-05-16",
                "2027-05-17",
            ],
        ),
    ] {
        let plan = schedule(
            &app,
            &id,
            &format!("{year}-03-20"),
            &format!("{year}-06-15"),
        )
        .await;
        for date in holidays {
            let d = day(&plan, date);
            assert_eq!(d["open"], false, "{date}");
            assert_eq!(d["closed"]["kind"], "public_holiday", "{date}");
        }
        // The day before Maundy Thursday is an ordinary open day.
        let before = chrono::NaiveDate::parse_from_str(holidays[0], "%Y-%m-%d")
            .unwrap()
            .pred_opt()
            .unwrap();
        assert_eq!(day(&plan, &before.to_string())["open"], true);
    }
    let easter = schedule(&app, &id, "2026-04-05", "2026-04-05").await;
    assert_eq!(
        easter["days"][0]["closed"]["reason"],
        "Første påskedag (Easter Sunday)"
    );
}
db_test!(easter_and_whitsun_close_a_location_in_several_years);

async fn an_exception_opens_a_holiday_and_closes_an_ordinary_day(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    put_hours(&app, &id, 1, false, every_day("10:00", "14:00"))
        .await
        .expect(200);
    let open_on_holiday = add_exception(
        &app,
        &id,
        json!({
            "date": "2026-05-17", "closed": false,
            "hours": [{"opens": "12:00", "closes": "15:00", "service_mode": "drop_in"}],
            "note": "Åpent på nasjonaldagen",
        }),
    )
    .await;
    open_on_holiday.expect(201);
    add_exception(
        &app,
        &id,
        json!({"date": "2026-05-18", "closed": true, "note": "Personalmøte"}),
    )
    .await
    .expect(201);
    let plan = schedule(&app, &id, "2026-05-16", "2026-05-18").await;
    let holiday = day(&plan, "2026-05-17");
    assert_eq!(holiday["open"], true);
    assert_eq!(
        holiday["intervals"][0]["opens_at"],
        "2026-05-17T12:00:00+02:00"
    );
    let closed = day(&plan, "2026-05-18");
    assert_eq!(
        closed["closed"],
        json!({"kind": "exception", "reason": "Personalmøte"})
    );

    // One exception per date; a closed day has no hours; hours must make sense.
    add_exception(&app, &id, json!({"date": "2026-05-18", "closed": true}))
        .await
        .expect(409);
    let invalid = add_exception(
        &app,
        &id,
        json!({
            "date": "2026-05-19",
            "closed": true,
            "hours": [{"opens": "10:00", "closes": "11:00", "service_mode": "drop_in"}],
        }),
    )
    .await;
    invalid.expect(422);
    assert_eq!(invalid.invalid_fields(), ["hours"]);
    let inverted = add_exception(
        &app,
        &id,
        json!({
            "date": "2026-05-19",
            "closed": false,
            "hours": [{"opens": "12:00", "closes": "11:00", "service_mode": "drop_in"}],
        }),
    )
    .await;
    inverted.expect(422);
    assert_eq!(inverted.invalid_fields(), ["hours[0]"]);
    add_exception(&app, &id, json!({"date": "19.05.2026", "closed": true}))
        .await
        .expect(422);
    assert_eq!(app.count("opening_exceptions").await, 2);

    let list = app
        .get(&format!(
            "/api/v1/locations/{id}/exceptions?from=2026-05-18"
        ))
        .await;
    list.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    let exception_id = open_on_holiday.body["id"].as_str().unwrap();
    let path = format!("/api/v1/locations/{id}/exceptions/{exception_id}");
    app.call(Method::DELETE, &path)
        .bearer(&app.municipality("1103"))
        .send()
        .await
        .expect(403);
    app.call(Method::DELETE, &path).send().await.expect(401);
    app.call(Method::DELETE, &path)
        .bearer(&app.municipality("0301"))
        .send()
        .await
        .expect(204);
    app.call(Method::DELETE, &path)
        .bearer(&app.ks())
        .send()
        .await
        .expect(404);
    let plan = schedule(&app, &id, "2026-05-17", "2026-05-17").await;
    assert_eq!(plan["days"][0]["closed"]["kind"], "public_holiday");
}
db_test!(an_exception_opens_a_holiday_and_closes_an_ordinary_day);

async fn a_season_boundary_switches_rules_and_two_intervals_fit_one_day(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let mut summer = rule("monday", "12:00", "16:00");
    summer["valid_from"] = json!("2026-06-15");
    let mut spring = rule("monday", "10:00", "12:00");
    spring["valid_to"] = json!("2026-06-14");
    let mut spring_afternoon = rule("monday", "13:00", "15:00");
    spring_afternoon["valid_to"] = json!("2026-06-14");
    put_hours(&app, &id, 1, false, vec![spring, spring_afternoon, summer])
        .await
        .expect(200);
    let plan = schedule(&app, &id, "2026-06-08", "2026-06-15").await;
    let before = day(&plan, "2026-06-08");
    let intervals = before["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 2);
    assert_eq!(intervals[0]["opens_at"], "2026-06-08T10:00:00+02:00");
    assert_eq!(intervals[1]["opens_at"], "2026-06-08T13:00:00+02:00");
    let after = day(&plan, "2026-06-15");
    assert_eq!(after["intervals"].as_array().unwrap().len(), 1);
    assert_eq!(
        after["intervals"][0]["opens_at"],
        "2026-06-15T12:00:00+02:00"
    );
    assert_eq!(
        day(&plan, "2026-06-09")["closed"]["kind"],
        "no_opening_hours"
    );
}
db_test!(a_season_boundary_switches_rules_and_two_intervals_fit_one_day);

async fn a_schedule_spans_at_most_366_days(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    app.get(&format!(
        "/api/v1/locations/{id}/schedule?from=2026-01-01&to=2027-01-01"
    ))
    .await
    .expect(200);
    let long = app
        .get(&format!(
            "/api/v1/locations/{id}/schedule?from=2026-01-01&to=2027-01-02"
        ))
        .await;
    long.expect(422);
    assert_eq!(long.invalid_fields(), ["to"]);
    app.get(&format!(
        "/api/v1/locations/{id}/schedule?from=2026-02-01&to=2026-01-01"
    ))
    .await
    .expect(422);
    app.get(&format!("/api/v1/locations/{id}/schedule?from=2026-02-30"))
        .await
        .expect(400);
    let default = app.get(&format!("/api/v1/locations/{id}/schedule")).await;
    assert_eq!(default.body["days"].as_array().unwrap().len(), 31);
}
db_test!(a_schedule_spans_at_most_366_days);

async fn status_just_before_at_and_after_closing_time(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    // Tuesdays 10:00-14:00 Oslo time (UTC+1 in November).
    put_hours(&app, &id, 1, false, vec![rule("tuesday", "10:00", "14:00")])
        .await
        .expect(200);
    let status = |at: &'static str| {
        let path = format!("/api/v1/locations/{id}/status?at={at}");
        let app = &app;
        async move { app.get(&path).await.body }
    };
    let before_close = status("2026-11-24T12:59:59Z").await;
    assert_eq!(before_close["open"], true);
    assert_eq!(
        before_close["current_interval"]["closes_at"],
        "2026-11-24T14:00:00+01:00"
    );
    assert_eq!(before_close["next_change_at"], "2026-11-24T13:00:00+00:00");
    let at_close = status("2026-11-24T13:00:00Z").await;
    assert_eq!(at_close["open"], false);
    assert!(at_close["current_interval"].is_null());
    assert_eq!(at_close["next_change_at"], "2026-12-01T09:00:00+00:00");
    let before_open = status("2026-11-24T08:59:00Z").await;
    assert_eq!(before_open["open"], false);
    assert_eq!(before_open["next_change_at"], "2026-11-24T09:00:00+00:00");
    let no_hours = create_ok(&app, location_at("0301", "Uten tider", 59.9, 10.7)).await;
    let never = app
        .get(&format!(
            "/api/v1/locations/{no_hours}/status?at=2026-11-24T12:00:00Z"
        ))
        .await;
    assert_eq!(never.body["open"], false);
    assert!(never.body["next_change_at"].is_null());
    app.get(&format!("/api/v1/locations/{id}/status?at=noon"))
        .await
        .expect(400);
    app.get("/api/v1/locations/00000000-0000-0000-0000-000000000000/status")
        .await
        .expect(404);
}
db_test!(status_just_before_at_and_after_closing_time);

async fn open_at_search_respects_hours_holidays_and_exceptions(app: TestApp) {
    let tuesday = create_ok(&app, location_at("0301", "Tirsdag", 59.92, 10.75)).await;
    put_hours(
        &app,
        &tuesday,
        1,
        false,
        vec![rule("tuesday", "10:00", "14:00")],
    )
    .await
    .expect(200);
    let every = create_ok(&app, location_at("0301", "Hver dag", 59.93, 10.76)).await;
    put_hours(&app, &every, 1, false, every_day("09:00", "20:00"))
        .await
        .expect(200);
    let far = create_ok(&app, location_at("1103", "Stavanger hver dag", 58.97, 5.73)).await;
    put_hours(&app, &far, 1, false, every_day("09:00", "20:00"))
        .await
        .expect(200);

    let names = |reply: Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_string())
            .collect()
    };
    // Tuesday 24 November 2026, 12:00 Oslo.
    let tuesday_noon = names(
        app.get("/api/v1/locations?open_at=2026-11-24T11:00:00Z")
            .await,
    );
    assert_eq!(tuesday_noon, ["Hver dag", "Stavanger hver dag", "Tirsdag"]);
    let near_and_open = names(
        app.get("/api/v1/locations?open_at=2026-11-24T11:00:00Z&near=59.92,10.75&radius_km=5")
            .await,
    );
    assert_eq!(near_and_open, ["Tirsdag", "Hver dag"]);
    let evening = names(
        app.get("/api/v1/locations?open_at=2026-11-24T18:00:00Z&county=03")
            .await,
    );
    assert_eq!(evening, ["Hver dag"]);
    // Christmas Day closes both, unless an exception opens one.
    let christmas = "2026-12-25T11:00:00Z";
    assert!(
        names(
            app.get(&format!("/api/v1/locations?open_at={christmas}&county=03"))
                .await
        )
        .is_empty()
    );
    add_exception(
        &app,
        &every,
        json!({
            "date": "2026-12-25",
            "closed": false,
            "hours": [{"opens": "11:00", "closes": "13:00", "service_mode": "drop_in"}],
        }),
    )
    .await
    .expect(201);
    assert_eq!(
        names(
            app.get(&format!("/api/v1/locations?open_at={christmas}&county=03"))
                .await
        ),
        ["Hver dag"]
    );
    // Paging over filtered results still returns each open location once.
    let first = app
        .get("/api/v1/locations?open_at=2026-11-24T11:00:00Z&limit=2")
        .await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 2);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = names(
        app.get(&format!(
            "/api/v1/locations?open_at=2026-11-24T11:00:00Z&limit=2&cursor={cursor}"
        ))
        .await,
    );
    assert_eq!(second, ["Tirsdag"]);
}
db_test!(open_at_search_respects_hours_holidays_and_exceptions);

async fn public_holidays_are_listed_with_both_names(app: TestApp) {
    let reply = app.get("/api/v1/holidays?year=2026").await;
    reply.expect(200);
    let holidays = reply.body["holidays"].as_array().unwrap();
    assert_eq!(holidays.len(), 12);
    let easter_monday = holidays
        .iter()
        .find(|h| h["key"] == "easter_monday")
        .unwrap();
    assert_eq!(easter_monday["date"], "2026-04-06");
    assert_eq!(easter_monday["name_nb"], "Andre påskedag");
    assert_eq!(easter_monday["name_en"], "Easter Monday");
    let ascension = holidays
        .iter()
        .find(|h| h["key"] == "ascension_day")
        .unwrap();
    assert_eq!(ascension["date"], "2026-05-14");
    app.get("/api/v1/holidays?year=1066").await.expect(400);
    app.get("/api/v1/holidays?year=twenty").await.expect(400);
}
db_test!(public_holidays_are_listed_with_both_names);

async fn one_idempotency_key_at_two_locations_creates_an_exception_at_each(app: TestApp) {
    let first = create_ok(&app, deichman()).await;
    let second = create_ok(&app, location_at("0301", "Deichman Tøyen", 59.915, 10.77)).await;
    let body = json!({"date": "2027-05-17", "closed": true, "note": "Nasjonaldagen"});
    let mut created = Vec::new();
    for id in [&first, &second] {
        let path = format!("/api/v1/locations/{id}/exceptions");
        let reply = post(&app, &app.ks(), &path, Some("closed-17-mai"), body.clone()).await;
        reply.expect(201);
        let exception = reply.body["id"].as_str().unwrap().to_string();
        assert_eq!(
            reply.header("location"),
            Some(format!("/api/v1/locations/{id}/exceptions/{exception}").as_str())
        );
        created.push(exception);
    }
    assert_ne!(created[0], created[1]);
    assert_eq!(app.count("opening_exceptions").await, 2);
    // A retry at the second location replays the second location's exception.
    let path = format!("/api/v1/locations/{second}/exceptions");
    let retry = post(&app, &app.ks(), &path, Some("closed-17-mai"), body).await;
    retry.expect(201);
    assert_eq!(retry.body["id"], created[1]);
    for (id, exception) in [&first, &second].into_iter().zip(&created) {
        app.call(
            Method::DELETE,
            &format!("/api/v1/locations/{id}/exceptions/{exception}"),
        )
        .bearer(&app.ks())
        .send()
        .await
        .expect(204);
    }
}
db_test!(one_idempotency_key_at_two_locations_creates_an_exception_at_each);
