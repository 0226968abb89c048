//! The kontaktpunkt's business calendar and service-level targets, and the due times and
//! target states they give tickets.

use chrono::{DateTime, Duration, TimeDelta, Utc};
use digihjelpen::tickets::service_levels::business_time::BusinessCalendar;
use entity::{ticket, ticket_status_change};
use poem::http::Method;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{self, audits, field, id_of, items};
use crate::support::{Reply, TestApp};

const CALENDAR: &str = "/api/v1/kontaktpunkt/calendar";
const LEVELS: &str = "/api/v1/kontaktpunkt/service-levels";

fn instant(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

fn instant_of(value: &Value) -> DateTime<Utc> {
    instant(value.as_str().expect("an instant"))
}

async fn get(app: &TestApp, token: Option<&str>, path: &str) -> Reply {
    app.call(Method::GET, path).bearer_opt(token).send().await
}

async fn put(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
    tag: Option<&str>,
    body: Value,
) -> Reply {
    app.call(Method::PUT, path)
        .bearer_opt(token)
        .if_match(tag)
        .json(body)
        .send()
        .await
}

/// Every day 06:00–22:00, public holidays worked.
fn long_days() -> Value {
    let days = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    json!({
        "weekly_hours": days.map(|d| json!({"weekday": d, "opens": "06:00", "closes": "22:00"})),
        "open_on_public_holidays": true,
    })
}

/// The same calendar as the library computes with.
fn long_days_calendar() -> BusinessCalendar {
    let day = vec![(
        chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
        chrono::NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
    )];
    BusinessCalendar {
        weekly: std::array::from_fn(|_| day.clone()),
        open_on_public_holidays: true,
        dated: Default::default(),
    }
}

fn new_ticket() -> Value {
    json!({
        "subject": "Når får vi svar om tilskuddet?",
        "body": "Vi sendte søknaden for to uker siden.",
        "category": "grants",
    })
}

async fn ticket_of(app: &TestApp, municipality: &str) -> Reply {
    let token = app.municipality(municipality);
    let created = helpers::post(app, &token, "/api/v1/tickets", None, new_ticket()).await;
    created.expect(201);
    created
}

async fn read(app: &TestApp, token: &str, id: &str) -> Reply {
    let reply = get(app, Some(token), &format!("/api/v1/tickets/{id}")).await;
    reply.expect(200);
    reply
}

/// The version part of a ticket's ETag (`"2"` of `"2-5f2a9c01"`).
fn written(reply: &Reply) -> String {
    let tag = reply.header("etag").expect("an ETag");
    let dash = tag.find('-').expect("a clock-dependent part");
    format!("{}\"", &tag[..dash])
}

async fn set_status(app: &TestApp, id: &str, status: &str) -> Reply {
    let ks = app.ks();
    let current = read(app, &ks, id).await;
    let tag = current.header("etag").unwrap().to_string();
    let path = format!("/api/v1/tickets/{id}");
    helpers::patch(app, Some(&ks), &path, Some(&tag), json!({"status": status})).await
}

/// When the ticket's status history last records `to`.
fn changed_to(ticket: &Value, to: &str) -> DateTime<Utc> {
    let history = ticket["status_history"].as_array().unwrap();
    let entry = history.iter().rev().find(|c| c["to"] == to).unwrap();
    instant_of(&entry["changed_at"])
}

async fn the_calendar_defaults_to_weekdays_and_only_ks_and_the_ministry_read_it(app: TestApp) {
    let ks = get(&app, Some(&app.ks()), CALENDAR).await;
    ks.expect(200);
    assert_eq!(ks.header("etag"), Some("\"1\""));
    let weekdays: Vec<Value> = ["monday", "tuesday", "wednesday", "thursday", "friday"]
        .iter()
        .map(|d| json!({"weekday": d, "opens": "08:00", "closes": "15:30"}))
        .collect();
    assert_eq!(
        ks.body,
        json!({
            "weekly_hours": weekdays, "open_on_public_holidays": false,
            "closures": [], "other_hours": [], "version": 1,
            "updated_at": null, "updated_by": null,
        })
    );
    let kmd = get(&app, Some(&app.kmd()), CALENDAR).await;
    kmd.expect(200);
    assert_eq!(kmd.body, ks.body);
    get(&app, Some(&app.municipality("0301")), CALENDAR)
        .await
        .expect(403);
    get(&app, None, CALENDAR).await.expect(401);
    get(&app, Some("not-a-token"), CALENDAR).await.expect(401);
}
db_test!(the_calendar_defaults_to_weekdays_and_only_ks_and_the_ministry_read_it);

fn christmas_calendar() -> Value {
    json!({
        "weekly_hours": [
            {"weekday": "monday", "opens": "12:00", "closes": "15:30"},
            {"weekday": "monday", "opens": "08:00", "closes": "11:30"},
            {"weekday": "friday", "opens": "08:00", "closes": "15:00"},
        ],
        "closures": [
            {"date": "2026-12-31", "note": "Nyttårsaften"},
            {"date": "2026-12-24", "note": "Julaften"},
        ],
        "other_hours": [
            {"date": "2026-12-23", "hours": [{"opens": "08:00", "closes": "12:00"}], "note": null},
        ],
    })
}

async fn ks_replaces_the_calendar_with_if_match_and_the_change_is_audited(app: TestApp) {
    let ks = app.ks();
    // Roles that may not change it, and a missing or stale If-Match: nothing stored.
    for token in [app.kmd(), app.municipality("0301")] {
        put(
            &app,
            Some(&token),
            CALENDAR,
            Some("\"1\""),
            christmas_calendar(),
        )
        .await
        .expect(403);
    }
    put(&app, None, CALENDAR, Some("\"1\""), christmas_calendar())
        .await
        .expect(401);
    put(&app, Some(&ks), CALENDAR, None, christmas_calendar())
        .await
        .expect(428);
    let stale = put(
        &app,
        Some(&ks),
        CALENDAR,
        Some("\"7\""),
        christmas_calendar(),
    )
    .await;
    stale.expect(412);
    assert_eq!(stale.body["current_version"], 1);
    assert_eq!(audits(&app, "service_calendar").await, 0);
    assert_eq!(get(&app, Some(&ks), CALENDAR).await.body["version"], 1);

    let replaced = put(
        &app,
        Some(&ks),
        CALENDAR,
        Some("\"1\""),
        christmas_calendar(),
    )
    .await;
    replaced.expect(200);
    assert_eq!(replaced.header("etag"), Some("\"2\""));
    let body = &replaced.body;
    assert_eq!(
        body["weekly_hours"],
        json!([
            {"weekday": "monday", "opens": "08:00", "closes": "11:30"},
            {"weekday": "monday", "opens": "12:00", "closes": "15:30"},
            {"weekday": "friday", "opens": "08:00", "closes": "15:00"},
        ])
    );
    assert_eq!(body["open_on_public_holidays"], false);
    assert_eq!(
        body["closures"],
        json!([{"date": "2026-12-24", "note": "Julaften"}, {"date": "2026-12-31", "note": "Nyttårsaften"}])
    );
    assert_eq!(
        body["other_hours"],
        json!([{"date": "2026-12-23", "hours": [{"opens": "08:00", "closes": "12:00"}], "note": null}])
    );
    assert_eq!(body["version"], 2);
    assert_eq!(body["updated_by"], "ks-kari");
    assert!(body["updated_at"].is_string());
    let read_back = get(&app, Some(&ks), CALENDAR).await;
    assert_eq!(read_back.body, replaced.body);
    assert_eq!(audits(&app, "service_calendar").await, 1);
    assert_eq!(
        helpers::audit_actions(&app, "service_calendar", "kontaktpunkt").await,
        ["update"]
    );
    // The ministry reads the entry in the audit log too.
    let log = get(
        &app,
        Some(&app.kmd()),
        "/api/v1/audit?resource_type=service_calendar",
    )
    .await;
    log.expect(200);
    assert_eq!(items(&log).len(), 1);
    // The old version is stale now.
    put(&app, Some(&ks), CALENDAR, Some("\"1\""), long_days())
        .await
        .expect(412);
}
db_test!(ks_replaces_the_calendar_with_if_match_and_the_change_is_audited);

async fn a_bad_calendar_is_refused_naming_each_field_and_nothing_is_stored(app: TestApp) {
    let ks = app.ks();
    let refused = |body: Value| {
        let app = &app;
        let ks = ks.clone();
        async move { put(app, Some(&ks), CALENDAR, Some("\"1\""), body).await }
    };
    let overlapping = refused(json!({"weekly_hours": [
        {"weekday": "monday", "opens": "08:00", "closes": "12:00"},
        {"weekday": "monday", "opens": "11:00", "closes": "15:00"},
        {"weekday": "tuesday", "opens": "15:00", "closes": "09:00"},
        {"weekday": "wednesday", "opens": "8.00", "closes": "24:00"},
    ]}))
    .await;
    overlapping.expect(422);
    assert_eq!(
        overlapping.invalid_fields(),
        [
            "weekly_hours[2].closes",
            "weekly_hours[3].opens",
            "weekly_hours[3].closes",
            "weekly_hours[1]",
        ]
    );
    let dates = refused(json!({
        "weekly_hours": [{"weekday": "monday", "opens": "08:00", "closes": "15:30"}],
        "closures": [
            {"date": "2027-02-29"}, {"date": "2026-12-24"}, {"date": "24.12.2026"},
            {"date": "1899-12-24"}, {"date": "2026-12-31", "note": "x".repeat(201)},
        ],
        "other_hours": [
            {"date": "2026-12-24", "hours": [{"opens": "08:00", "closes": "12:00"}]},
            {"date": "2026-12-23", "hours": []},
            {"date": "2026-12-22", "hours": [
                {"opens": "08:00", "closes": "12:00"}, {"opens": "09:00", "closes": "10:00"},
            ]},
        ],
    }))
    .await;
    dates.expect(422);
    assert_eq!(
        dates.invalid_fields(),
        [
            "closures[0].date",
            "closures[2].date",
            "closures[3].date",
            "closures[4].note",
            "other_hours[0].date",
            "other_hours[1].hours",
            "other_hours[2].hours[1]",
        ]
    );
    assert!(dates.text.contains("2027-02-29"), "{}", dates.text);
    refused(json!({"weekly_hours": []})).await.expect(422);
    // Wrong types, unknown weekdays and fields, and null where a list goes: a 422 naming
    // the field by its path.
    for (body, field) in [
        (
            json!({"weekly_hours": [{"weekday": "monday", "opens": 8, "closes": "15:30"}]}),
            "weekly_hours[0].opens",
        ),
        (
            json!({"weekly_hours": [{"weekday": "funday", "opens": "08:00", "closes": "15:30"}]}),
            "weekly_hours[0].weekday",
        ),
        (json!({"weekly_hours": [], "timezone": "UTC"}), "timezone"),
        (json!({"weekly_hours": [], "closures": null}), "closures"),
        (json!({"weekly_hours": "monday"}), "weekly_hours"),
        (json!({}), "weekly_hours"),
    ] {
        let reply = refused(body).await;
        assert_eq!(
            reply.expect(422).invalid_fields(),
            [field],
            "{}",
            reply.text
        );
    }
    let current = get(&app, Some(&ks), CALENDAR).await;
    assert_eq!(current.body["version"], 1);
    assert_eq!(current.body["closures"], json!([]));
    assert_eq!(audits(&app, "service_calendar").await, 0);
}
db_test!(a_bad_calendar_is_refused_naming_each_field_and_nothing_is_stored);

fn targets(high: (i64, i64), normal: (i64, i64), low: (i64, i64)) -> Value {
    json!({"targets": [
        {"priority": "high", "first_response_minutes": high.0, "resolution_minutes": high.1},
        {"priority": "normal", "first_response_minutes": normal.0, "resolution_minutes": normal.1},
        {"priority": "low", "first_response_minutes": low.0, "resolution_minutes": low.1},
    ]})
}

async fn ks_sets_the_targets_and_bad_ones_are_refused(app: TestApp) {
    let ks = app.ks();
    let defaults = get(&app, Some(&ks), LEVELS).await;
    defaults.expect(200);
    assert_eq!(defaults.header("etag"), Some("\"1\""));
    assert_eq!(
        defaults.body["targets"],
        json!([
            {"priority": "low", "first_response_minutes": 900, "resolution_minutes": 4500},
            {"priority": "normal", "first_response_minutes": 450, "resolution_minutes": 2250},
            {"priority": "high", "first_response_minutes": 120, "resolution_minutes": 900},
        ])
    );
    get(&app, Some(&app.kmd()), LEVELS).await.expect(200);
    get(&app, Some(&app.municipality("0301")), LEVELS)
        .await
        .expect(403);
    get(&app, None, LEVELS).await.expect(401);

    let good = targets((60, 480), (240, 1800), (480, 3600));
    for token in [app.kmd(), app.municipality("0301")] {
        put(&app, Some(&token), LEVELS, Some("\"1\""), good.clone())
            .await
            .expect(403);
    }
    put(&app, Some(&ks), LEVELS, None, good.clone())
        .await
        .expect(428);
    let bad = put(
        &app,
        Some(&ks),
        LEVELS,
        Some("\"1\""),
        json!({"targets": [
            {"priority": "high", "first_response_minutes": -5, "resolution_minutes": 0},
            {"priority": "high", "first_response_minutes": 10, "resolution_minutes": 10},
            {"priority": "normal", "first_response_minutes": 450, "resolution_minutes": 1_000_000},
            {"priority": "low", "first_response_minutes": 900, "resolution_minutes": 800},
        ]}),
    )
    .await;
    bad.expect(422);
    assert_eq!(
        bad.invalid_fields(),
        [
            "targets[0].first_response_minutes",
            "targets[0].resolution_minutes",
            "targets[1].priority",
            "targets[2].resolution_minutes",
            "targets[3].resolution_minutes",
        ]
    );
    let missing = put(
        &app,
        Some(&ks),
        LEVELS,
        Some("\"1\""),
        json!({"targets": [{"priority": "normal", "first_response_minutes": 450, "resolution_minutes": 2250}]}),
    )
    .await;
    missing.expect(422);
    assert_eq!(missing.invalid_fields(), ["targets", "targets"]);
    for (body, status, field) in [
        (
            json!({"targets": [{"priority": "urgent", "first_response_minutes": 1, "resolution_minutes": 1}]}),
            422,
            "targets[0].priority",
        ),
        (
            json!({"targets": [{"priority": "high", "first_response_minutes": "60", "resolution_minutes": 1}]}),
            422,
            "targets[0].first_response_minutes",
        ),
        // A number no integer holds is refused at the edge, named the same way.
        (
            json!({"targets": [{"priority": "high", "first_response_minutes": 1.5, "resolution_minutes": 2}]}),
            400,
            "targets[0].first_response_minutes",
        ),
        (json!({"targets": null}), 422, "targets"),
    ] {
        let reply = put(&app, Some(&ks), LEVELS, Some("\"1\""), body).await;
        assert_eq!(
            reply.expect(status).invalid_fields(),
            [field],
            "{}",
            reply.text
        );
    }
    assert_eq!(audits(&app, "service_levels").await, 0);
    assert_eq!(get(&app, Some(&ks), LEVELS).await.body["version"], 1);

    let replaced = put(&app, Some(&ks), LEVELS, Some("\"1\""), good).await;
    replaced.expect(200);
    assert_eq!(replaced.header("etag"), Some("\"2\""));
    assert_eq!(
        replaced.body["targets"][2],
        json!({"priority": "high", "first_response_minutes": 60, "resolution_minutes": 480})
    );
    assert_eq!(replaced.body["updated_by"], "ks-kari");
    assert_eq!(get(&app, Some(&ks), LEVELS).await.body, replaced.body);
    assert_eq!(audits(&app, "service_levels").await, 1);
    put(
        &app,
        Some(&ks),
        LEVELS,
        Some("\"1\""),
        targets((1, 1), (1, 1), (1, 1)),
    )
    .await
    .expect(412);
}
db_test!(ks_sets_the_targets_and_bad_ones_are_refused);

async fn a_ticket_is_due_in_business_time_and_a_municipality_sees_only_the_due_times(app: TestApp) {
    let created = ticket_of(&app, "0301").await;
    let id = id_of(&created.body);
    let at = instant_of(&created.body["created_at"]);
    let cal = BusinessCalendar::standard();
    // A normal ticket: a reply within 450 and resolution within 2,250 business minutes.
    let first_due = cal.add(at, TimeDelta::minutes(450)).unwrap();
    let resolution_due = cal.add(at, TimeDelta::minutes(2250)).unwrap();
    let ks = read(&app, &app.ks(), &id).await;
    assert_eq!(instant_of(&ks.body["first_response_due_at"]), first_due);
    assert_eq!(instant_of(&ks.body["resolution_due_at"]), resolution_due);
    assert_eq!(
        ks.body["sla"],
        json!({"first_response": "on_track", "resolution": "on_track", "resolution_paused": false})
    );
    assert_eq!(
        created.body["first_response_due_at"],
        ks.body["first_response_due_at"]
    );
    let oslo = read(&app, &app.municipality("0301"), &id).await;
    assert_eq!(
        oslo.body["first_response_due_at"],
        ks.body["first_response_due_at"]
    );
    assert_eq!(oslo.body["resolution_due_at"], ks.body["resolution_due_at"]);
    assert!(oslo.body.get("sla").is_none(), "{}", oslo.text);
    // The ministry sees the states of the tickets referred to it.
    helpers::post(
        &app,
        &app.ks(),
        &format!("/api/v1/tickets/{id}/referral"),
        None,
        json!({"to": "ministry", "note": "Gjelder regelverket."}),
    )
    .await
    .expect(200);
    let kmd = read(&app, &app.kmd(), &id).await;
    assert_eq!(kmd.body["sla"]["first_response"], "on_track");
    // A high priority is due sooner: the due times move to the high targets.
    let ks_token = app.ks();
    let current = read(&app, &ks_token, &id).await;
    let tag = current.header("etag").unwrap().to_string();
    let high = helpers::patch(
        &app,
        Some(&ks_token),
        &format!("/api/v1/tickets/{id}"),
        Some(&tag),
        json!({"priority": "high"}),
    )
    .await;
    high.expect(200);
    assert_eq!(
        instant_of(&high.body["first_response_due_at"]),
        cal.add(at, TimeDelta::minutes(120)).unwrap()
    );
    assert_eq!(
        instant_of(&high.body["resolution_due_at"]),
        cal.add(at, TimeDelta::minutes(900)).unwrap()
    );
    // The first public reply of KS meets the first-response target.
    helpers::post(
        &app,
        &ks_token,
        &format!("/api/v1/tickets/{id}/messages"),
        None,
        json!({"body": "Vi ser på det."}),
    )
    .await
    .expect(201);
    let replied = read(&app, &ks_token, &id).await;
    assert_eq!(replied.body["sla"]["first_response"], "met");
    assert_eq!(
        replied.body["first_response_due_at"],
        high.body["first_response_due_at"]
    );
}
db_test!(a_ticket_is_due_in_business_time_and_a_municipality_sees_only_the_due_times);

async fn waiting_on_the_municipality_pauses_the_resolution_clock(app: TestApp) {
    // Long days, so that the test counts business time whenever it runs.
    let ks = app.ks();
    put(&app, Some(&ks), CALENDAR, Some("\"1\""), long_days())
        .await
        .expect(200);
    let cal = long_days_calendar();
    let created = ticket_of(&app, "0301").await;
    let id = id_of(&created.body);
    let created_at = instant_of(&created.body["created_at"]);
    let waiting = set_status(&app, &id, "waiting_on_municipality").await;
    waiting.expect(200);
    assert!(waiting.body["resolution_due_at"].is_null());
    assert_eq!(waiting.body["sla"]["resolution_paused"], true);
    assert_eq!(waiting.body["sla"]["resolution"], "on_track");
    // The first-response clock does not pause.
    assert_eq!(
        instant_of(&waiting.body["first_response_due_at"]),
        cal.add(created_at, TimeDelta::minutes(450)).unwrap()
    );
    let paused_at = changed_to(&waiting.body, "waiting_on_municipality");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // The municipality answers: the clock runs again from what it had counted.
    helpers::post(
        &app,
        &app.municipality("0301"),
        &format!("/api/v1/tickets/{id}/messages"),
        None,
        json!({"body": "Her er svaret."}),
    )
    .await
    .expect(201);
    let resumed = read(&app, &ks, &id).await;
    assert_eq!(resumed.body["status"], "open");
    assert_eq!(resumed.body["sla"]["resolution_paused"], false);
    let resumed_at = changed_to(&resumed.body, "open");
    let counted = cal.between(created_at, paused_at);
    let expected = cal
        .add(resumed_at, TimeDelta::minutes(2250) - counted)
        .unwrap();
    assert_eq!(instant_of(&resumed.body["resolution_due_at"]), expected);
    // It moved by the business time it waited.
    let before = cal.add(created_at, TimeDelta::minutes(2250)).unwrap();
    assert_eq!(
        cal.between(before, expected),
        cal.between(paused_at, resumed_at)
    );
    // Later, unless the wait fell wholly outside business hours (a run in the evening).
    if cal.between(paused_at, resumed_at) > TimeDelta::zero() {
        assert!(expected > before);
    } else {
        assert_eq!(expected, before);
    }
    // Resolving stops it: met.
    let resolved = set_status(&app, &id, "resolved").await;
    resolved.expect(200);
    assert_eq!(resolved.body["sla"]["resolution"], "met");
    assert_eq!(
        resolved.body["resolution_due_at"],
        resumed.body["resolution_due_at"]
    );
    // A reply of the municipality reopens it: the clock runs on from what it had counted,
    // the time it was resolved left out.
    let resolved_at = changed_to(&resolved.body, "resolved");
    helpers::post(
        &app,
        &app.municipality("0301"),
        &format!("/api/v1/tickets/{id}/messages"),
        None,
        json!({"body": "Ett spørsmål til."}),
    )
    .await
    .expect(201);
    let reopened = read(&app, &ks, &id).await;
    let reopened_at = changed_to(&reopened.body, "open");
    let counted = cal.between(created_at, paused_at) + cal.between(resumed_at, resolved_at);
    assert_eq!(
        instant_of(&reopened.body["resolution_due_at"]),
        cal.add(reopened_at, TimeDelta::minutes(2250) - counted)
            .unwrap()
    );
    assert_eq!(reopened.body["sla"]["resolution"], "on_track");
    assert_eq!(reopened.body["sla"]["first_response"], "on_track");
}
db_test!(waiting_on_the_municipality_pauses_the_resolution_clock);

/// A ticket row as a version before service levels wrote it: no clock columns set.
async fn old_ticket(
    app: &TestApp,
    number: &str,
    created_at: &str,
    changes: &[(&str, &str)],
    first_response_at: Option<&str>,
) -> String {
    let id = uuid::Uuid::now_v7();
    let created_at = instant(created_at);
    let status = changes.last().map_or("new", |(_, s)| *s);
    let resolved_at = changes
        .iter()
        .rev()
        .find(|(_, s)| *s == "resolved" || *s == "closed")
        .map(|(at, _)| instant(at));
    ticket::ActiveModel {
        id: Set(id),
        number: Set(number.into()),
        municipality_number: Set("0301".into()),
        created_by: Set("staff-0301".into()),
        subject: Set("Et gammelt spørsmål".into()),
        body: Set("Fra før tjenestenivåene.".into()),
        search_folded: Set("et gammelt spørsmål".into()),
        category: Set("grants".into()),
        priority: Set("normal".into()),
        status: Set(status.into()),
        assignee: Set(None),
        tags: Set(String::new()),
        referral_to: Set(None),
        referral_note: Set(None),
        referred_at: Set(None),
        referred_by: Set(None),
        first_response_at: Set(first_response_at.map(instant)),
        resolved_at: Set(resolved_at),
        version: Set(1),
        created_at: Set(created_at),
        updated_at: Set(created_at),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .expect("an old ticket");
    let mut from: Option<&str> = None;
    for (at, to) in [(created_at.to_rfc3339().as_str(), "new")]
        .into_iter()
        .chain(changes.iter().copied())
        .collect::<Vec<_>>()
    {
        ticket_status_change::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            ticket_id: Set(id),
            from_status: Set(from.map(str::to_string)),
            to_status: Set(to.into()),
            actor_sub: Set("ks-kari".into()),
            actor_role: Set("ks".into()),
            reason: Set(if from.is_none() { "created" } else { "changed" }.into()),
            changed_at: Set(instant(at)),
        }
        .insert(&app.db)
        .await
        .expect("a status change");
        from = Some(to);
    }
    id.to_string()
}

async fn stored(app: &TestApp, id: &str) -> ticket::Model {
    ticket::Entity::find_by_id(uuid::Uuid::parse_str(id).unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn a_ticket_from_before_service_levels_gets_due_times_on_read_and_on_write(app: TestApp) {
    // Monday 2 November 2026 09:00 in Oslo.
    let id = old_ticket(&app, "KP-2026-09001", "2026-11-02T08:00:00Z", &[], None).await;
    assert!(
        stored(&app, &id)
            .await
            .first_response_counted_micros
            .is_none()
    );
    let ks = app.ks();
    let read_back = read(&app, &ks, &id).await;
    // 450 business minutes: 390 on Monday, 60 on Tuesday; 2,250: a week to Monday 09:00.
    assert_eq!(
        instant_of(&read_back.body["first_response_due_at"]),
        instant("2026-11-03T08:00:00Z")
    );
    assert_eq!(
        instant_of(&read_back.body["resolution_due_at"]),
        instant("2026-11-09T08:00:00Z")
    );
    assert_eq!(
        read_back.body["sla"],
        json!({"first_response": "breached", "resolution": "breached", "resolution_paused": false})
    );
    let oslo = read(&app, &app.municipality("0301"), &id).await;
    assert_eq!(
        instant_of(&oslo.body["resolution_due_at"]),
        instant("2026-11-09T08:00:00Z")
    );
    // A read stores nothing; a write stores the clocks.
    assert!(
        stored(&app, &id)
            .await
            .first_response_counted_micros
            .is_none()
    );
    let tag = written(&read_back);
    let changed = helpers::patch(
        &app,
        Some(&ks),
        &format!("/api/v1/tickets/{id}"),
        Some(&tag),
        json!({"tags": ["gammel"]}),
    )
    .await;
    changed.expect(200);
    assert_eq!(
        instant_of(&changed.body["first_response_due_at"]),
        instant("2026-11-03T08:00:00Z")
    );
    let row = stored(&app, &id).await;
    assert!(row.first_response_counted_micros.unwrap() > 450 * 60);
    assert_eq!(
        row.first_response_due_at,
        Some(instant("2026-11-03T08:00:00Z"))
    );
    assert_eq!(row.resolution_due_at, Some(instant("2026-11-09T08:00:00Z")));
    assert_eq!(row.sla_next_due_at, Some(instant("2026-11-03T08:00:00Z")));

    // At start-up the clocks of every older ticket are stored, so lists find them.
    let other = old_ticket(&app, "KP-2026-09002", "2026-11-02T08:00:00Z", &[], None).await;
    let list = get(&app, Some(&ks), "/api/v1/tickets?sla=breached").await;
    assert_eq!(field(&list, "id"), [id.as_str()]);
    let counted = digihjelpen::tickets::store::store_missing_clocks(&app.db)
        .await
        .unwrap();
    assert_eq!(counted, 1);
    assert!(
        stored(&app, &other)
            .await
            .first_response_counted_micros
            .is_some()
    );
    let list = get(&app, Some(&ks), "/api/v1/tickets?sla=breached").await;
    assert_eq!(field(&list, "id"), [other, id]);
}
db_test!(a_ticket_from_before_service_levels_gets_due_times_on_read_and_on_write);

/// Sets the clock columns of a ticket directly: (due, due soon, met) per target.
#[allow(clippy::type_complexity)]
async fn set_clocks(
    app: &TestApp,
    id: &str,
    first: (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<bool>),
    resolution: (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<bool>),
) {
    let next = [first, resolution]
        .iter()
        .filter(|c| c.2.is_none())
        .filter_map(|c| c.0)
        .min();
    ticket::ActiveModel {
        id: Set(uuid::Uuid::parse_str(id).unwrap()),
        first_response_due_at: Set(first.0),
        first_response_due_soon_at: Set(first.1),
        first_response_met: Set(first.2),
        resolution_due_at: Set(resolution.0),
        resolution_due_soon_at: Set(resolution.1),
        resolution_met: Set(resolution.2),
        sla_next_due_at: Set(next),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .expect("the clocks are written");
}

async fn lists_filter_by_where_the_targets_stand_and_sort_by_the_next_due_time(app: TestApp) {
    let now = Utc::now();
    let h = |n: i64| Some(now + Duration::hours(n));
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(id_of(&ticket_of(&app, "0301").await.body));
    }
    let [breached, due_soon, on_track, met, paused] = ids.clone().try_into().unwrap();
    // First response overdue; resolution on track.
    set_clocks(&app, &breached, (h(-1), h(-2), None), (h(48), h(40), None)).await;
    // First response met; resolution due in an hour, under 20 % left.
    set_clocks(
        &app,
        &due_soon,
        (h(-30), h(-31), Some(true)),
        (h(1), h(-1), None),
    )
    .await;
    set_clocks(&app, &on_track, (h(5), h(4), None), (h(50), h(40), None)).await;
    set_clocks(
        &app,
        &met,
        (h(-30), h(-31), Some(true)),
        (h(-5), h(-6), Some(true)),
    )
    .await;
    // Waiting on the municipality: no resolution due time; the first response met late.
    set_clocks(
        &app,
        &paused,
        (h(-30), h(-31), Some(false)),
        (None, None, None),
    )
    .await;

    let ks = app.ks();
    let listed = |query: &str| {
        let app = &app;
        let ks = ks.clone();
        let path = format!("/api/v1/tickets?{query}");
        async move {
            let reply = get(app, Some(&ks), &path).await;
            reply.expect(200);
            field(&reply, "id")
        }
    };
    assert_eq!(
        listed("sla=breached").await,
        [paused.clone(), breached.clone()]
    );
    assert_eq!(listed("sla=due_soon").await, [due_soon.as_str()]);
    assert_eq!(listed("sla=on_track").await, [on_track.as_str()]);
    assert_eq!(listed("sla=met").await, [met.as_str()]);
    let list = get(&app, Some(&ks), "/api/v1/tickets?sla=breached").await;
    assert_eq!(items(&list)[1]["sla"]["first_response"], "breached");
    // By the next due time, overdue first, those without one last (oldest first).
    let order = [
        breached.clone(),
        due_soon.clone(),
        on_track.clone(),
        met.clone(),
        paused.clone(),
    ];
    assert_eq!(listed("sort=next_due").await, order);
    let first = get(&app, Some(&ks), "/api/v1/tickets?sort=next_due&limit=2").await;
    assert_eq!(field(&first, "id"), order[..2]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = listed(&format!("sort=next_due&limit=2&cursor={cursor}")).await;
    assert_eq!(second, order[2..4]);
    let third = get(
        &app,
        Some(&ks),
        "/api/v1/tickets?sort=next_due&limit=2&cursor=",
    )
    .await;
    assert_eq!(field(&third, "id"), order[..2]);
    let page = get(&app, Some(&ks), "/api/v1/tickets?sort=next_due&limit=3").await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    assert_eq!(
        listed(&format!("sort=next_due&limit=3&cursor={cursor}")).await,
        order[3..]
    );
    assert_eq!(
        listed("sort=next_due&sla=breached").await,
        [breached.clone(), paused.clone()]
    );
    // A cursor of the other order, a bad value, or a municipality asking for states.
    let newest = get(&app, Some(&ks), "/api/v1/tickets?limit=1").await;
    let newest_cursor = newest.body["next_cursor"].as_str().unwrap().to_string();
    get(
        &app,
        Some(&ks),
        &format!("/api/v1/tickets?sort=next_due&cursor={newest_cursor}"),
    )
    .await
    .expect(400);
    for query in ["sla=late", "sort=due", "sla="] {
        get(&app, Some(&ks), &format!("/api/v1/tickets?{query}"))
            .await
            .expect(400);
    }
    get(
        &app,
        Some(&app.municipality("0301")),
        "/api/v1/tickets?sla=breached",
    )
    .await
    .expect(403);
    let own = get(
        &app,
        Some(&app.municipality("0301")),
        "/api/v1/tickets?sort=next_due",
    )
    .await;
    own.expect(200);
    assert_eq!(field(&own, "id"), order);
    assert!(items(&own)[0].get("sla").is_none());
    get(&app, None, "/api/v1/tickets?sla=breached")
        .await
        .expect(401);
}
db_test!(lists_filter_by_where_the_targets_stand_and_sort_by_the_next_due_time);

async fn a_change_of_calendar_moves_only_the_due_times_not_yet_reached(app: TestApp) {
    let ks = app.ks();
    let created = ticket_of(&app, "0301").await;
    let id = id_of(&created.body);
    let created_at = instant_of(&created.body["created_at"]);
    // One ticket whose first response was due (and missed) long ago.
    let overdue = old_ticket(&app, "KP-2026-09003", "2026-11-02T08:00:00Z", &[], None).await;
    let changed = put(&app, Some(&ks), CALENDAR, Some("\"1\""), long_days()).await;
    changed.expect(200);
    let at = instant_of(&changed.body["updated_at"]);
    let (old, new) = (BusinessCalendar::standard(), long_days_calendar());
    let left = |target: i64| TimeDelta::minutes(target) - old.between(created_at, at);
    let moved = read(&app, &ks, &id).await;
    assert_eq!(
        instant_of(&moved.body["first_response_due_at"]),
        new.add(at, left(450)).unwrap()
    );
    assert_eq!(
        instant_of(&moved.body["resolution_due_at"]),
        new.add(at, left(2250)).unwrap()
    );
    // The time counted before the change stays counted with the old calendar.
    let row = stored(&app, &id).await;
    assert_eq!(
        row.resolution_counted_micros,
        old.between(created_at, at).num_microseconds()
    );
    assert_eq!(row.resolution_clock_since, Some(at));
    // The version did not change (nothing was written by a client); the ETag did.
    assert_eq!(moved.body["version"], 1);
    assert_eq!(written(&moved), "\"1\"");
    let before = created.header("etag").unwrap();
    if moved.body["first_response_due_at"] != created.body["first_response_due_at"] {
        assert_ne!(moved.header("etag"), Some(before));
    }
    // A due time already reached stays where it was.
    let still = read(&app, &ks, &overdue).await;
    assert_eq!(
        instant_of(&still.body["first_response_due_at"]),
        instant("2026-11-03T08:00:00Z")
    );
    assert_eq!(still.body["sla"]["first_response"], "breached");
    // New tickets are counted with the new calendar from the start.
    let later = ticket_of(&app, "0301").await;
    let later_at = instant_of(&later.body["created_at"]);
    assert_eq!(
        instant_of(&later.body["first_response_due_at"]),
        new.add(later_at, TimeDelta::minutes(450)).unwrap()
    );
    // A smaller target puts a due time in the past: it falls due at the change.
    let levels = put(
        &app,
        Some(&ks),
        LEVELS,
        Some("\"1\""),
        targets((1, 2), (1, 2), (1, 2)),
    )
    .await;
    levels.expect(200);
    let cut = instant_of(&levels.body["updated_at"]);
    let tightened = read(&app, &ks, &id).await;
    let due = instant_of(&tightened.body["first_response_due_at"]);
    let counted = old.between(created_at, at) + new.between(at, cut);
    if counted >= TimeDelta::minutes(1) {
        assert_eq!(due, cut);
    } else {
        assert_eq!(due, new.add(cut, TimeDelta::minutes(1) - counted).unwrap());
    }
}
db_test!(a_change_of_calendar_moves_only_the_due_times_not_yet_reached);

async fn an_etag_follows_the_clock_but_if_match_only_the_writes(app: TestApp) {
    let ks = app.ks();
    let created = ticket_of(&app, "0301").await;
    let id = id_of(&created.body);
    let path = format!("/api/v1/tickets/{id}");
    let first = read(&app, &ks, &id).await;
    let tag = first.header("etag").unwrap().to_string();
    assert_eq!(
        app.call(Method::GET, &path)
            .bearer(&ks)
            .header("if-none-match", &tag)
            .send()
            .await
            .status,
        304
    );
    // Time passes: the first response is overdue now, without any write.
    let past = Some(Utc::now() - Duration::minutes(1));
    set_clocks(&app, &id, (past, past, None), (None, None, None)).await;
    let revalidated = app
        .call(Method::GET, &path)
        .bearer(&ks)
        .header("if-none-match", &tag)
        .send()
        .await;
    revalidated.expect(200);
    assert_eq!(revalidated.body["sla"]["first_response"], "breached");
    assert_ne!(revalidated.header("etag"), Some(tag.as_str()));
    // The tag read before is still good for a write: only time passed.
    let changed = helpers::patch(
        &app,
        Some(&ks),
        &path,
        Some(&tag),
        json!({"priority": "low"}),
    )
    .await;
    changed.expect(200);
    // A tag of an older version is not.
    helpers::patch(
        &app,
        Some(&ks),
        &path,
        Some(&tag),
        json!({"priority": "high"}),
    )
    .await
    .expect(412);
    helpers::patch(
        &app,
        Some(&ks),
        &path,
        Some("\"2\""),
        json!({"priority": "high"}),
    )
    .await
    .expect(200);
}
db_test!(an_etag_follows_the_clock_but_if_match_only_the_writes);

async fn calendar_changes_racing_ticket_writes_lose_no_time(app: TestApp) {
    let ks = app.ks();
    let oslo = app.municipality("0301");
    let mut existing = Vec::new();
    for _ in 0..4 {
        existing.push(id_of(&ticket_of(&app, "0301").await.body));
    }
    // Ticket creations, replies, status changes and a calendar change, all at once.
    let creations = (0..8).map(|_| {
        let app = &app;
        let oslo = oslo.clone();
        async move { helpers::post(app, &oslo, "/api/v1/tickets", None, new_ticket()).await }
    });
    let replies = existing.iter().map(|id| {
        let app = &app;
        let ks = ks.clone();
        let path = format!("/api/v1/tickets/{id}/messages");
        async move { helpers::post(app, &ks, &path, None, json!({"body": "Svar"})).await }
    });
    let change = put(&app, Some(&ks), CALENDAR, Some("\"1\""), long_days());
    let (created, replied, changed) = futures::join!(
        futures::future::join_all(creations),
        futures::future::join_all(replies),
        change
    );
    changed.expect(200);
    for reply in created.iter().chain(&replied) {
        reply.expect(201);
    }
    let at = instant_of(&changed.body["updated_at"]);
    let (old, new) = (BusinessCalendar::standard(), long_days_calendar());
    // Every ticket is counted with the old calendar up to the change and with the new one
    // after it, whichever committed first: due times as a serial run gives them.
    let target = TimeDelta::minutes(2250);
    let mut ids: Vec<String> = created.iter().map(|r| id_of(&r.body)).collect();
    ids.extend(existing);
    for id in ids {
        let ticket = read(&app, &ks, &id).await;
        let created_at = instant_of(&ticket.body["created_at"]);
        let expected = if created_at < at {
            new.add(at, target - old.between(created_at, at)).unwrap()
        } else {
            new.add(created_at, target).unwrap()
        };
        assert_eq!(
            instant_of(&ticket.body["resolution_due_at"]),
            expected,
            "ticket created at {created_at}, calendar changed at {at}"
        );
    }
    assert_eq!(app.count("tickets").await, 12);
}
db_test!(calendar_changes_racing_ticket_writes_lose_no_time);

async fn statistics_give_business_times_and_the_share_meeting_each_target(app: TestApp) {
    // Created Monday 2 November 2026 09:00 in Oslo; answered at 11:00, resolved on
    // Wednesday at 09:00: 120 and 900 business minutes, both targets met.
    old_ticket(
        &app,
        "KP-2026-09004",
        "2026-11-02T08:00:00Z",
        &[
            ("2026-11-02T10:00:00Z", "open"),
            ("2026-11-04T08:00:00Z", "resolved"),
        ],
        Some("2026-11-02T10:00:00Z"),
    )
    .await;
    // Answered on Thursday at 09:00 (1,350 business minutes, late), waiting on the
    // municipality from Friday 09:00 to Monday 9 November 09:00 (not counted), resolved on
    // Friday 20 November 09:00: late for both targets.
    old_ticket(
        &app,
        "KP-2026-09005",
        "2026-11-02T08:00:00Z",
        &[
            ("2026-11-05T08:00:00Z", "open"),
            ("2026-11-06T08:00:00Z", "waiting_on_municipality"),
            ("2026-11-09T08:00:00Z", "open"),
            ("2026-11-20T08:00:00Z", "resolved"),
        ],
        Some("2026-11-05T08:00:00Z"),
    )
    .await;
    digihjelpen::tickets::store::store_missing_clocks(&app.db)
        .await
        .unwrap();
    let reply = get(
        &app,
        Some(&app.kmd()),
        "/api/v1/tickets/statistics?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z",
    )
    .await;
    reply.expect(200);
    let overall = &reply.body["overall"];
    // First responses: 120 and 1,350 business minutes; nearest rank: median the first,
    // p90 the second.
    assert_eq!(overall["median_first_response_business_seconds"], 120 * 60);
    assert_eq!(overall["p90_first_response_business_seconds"], 1350 * 60);
    assert_eq!(overall["median_first_response_seconds"], 2 * 3600);
    // Resolution of the second: Monday 390 + Tuesday to Thursday 1,350 + Friday 60 before
    // the wait, then 9 to 19 November 9 × 450 and Friday 20 November 60: 5,910 minutes.
    assert_eq!(overall["median_resolution_business_seconds"], 900 * 60);
    assert_eq!(overall["p90_resolution_business_seconds"], 5850 * 60);
    assert_eq!(overall["first_response_target_settled"], 2);
    assert_eq!(overall["first_response_target_met"], 1);
    assert_eq!(overall["first_response_target_met_share"], 0.5);
    assert_eq!(overall["resolution_target_met_share"], 0.5);
    let priorities = reply.body["by_priority"].as_array().unwrap();
    let names: Vec<&str> = priorities
        .iter()
        .map(|p| p["priority"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["low", "normal", "high"]);
    assert_eq!(priorities[1]["figures"]["resolution_target_settled"], 2);
    assert_eq!(priorities[2]["figures"]["count"], 0);
    assert!(priorities[2]["figures"]["first_response_target_met_share"].is_null());
    let grants = &reply.body["by_category"][1];
    assert_eq!(grants["category"], "grants");
    assert_eq!(grants["figures"]["resolution_target_met"], 1);
    get(
        &app,
        Some(&app.municipality("0301")),
        "/api/v1/tickets/statistics",
    )
    .await
    .expect(403);
}
db_test!(statistics_give_business_times_and_the_share_meeting_each_target);

async fn changes_of_calendar_and_targets_racing_each_other_and_ticket_writes_leave_every_clock_whole(
    app: TestApp,
) {
    let ks = app.ks();
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(id_of(&ticket_of(&app, "0301").await.body));
    }
    let creations = (0..4).map(|_| ticket_of(&app, "4601"));
    let writes = ids.iter().map(|id| {
        let app = &app;
        let ks = ks.clone();
        let path = format!("/api/v1/tickets/{id}");
        async move {
            helpers::patch(
                app,
                Some(&ks),
                &path,
                Some("\"1\""),
                json!({"priority": "high"}),
            )
            .await
        }
    });
    let calendar = put(&app, Some(&ks), CALENDAR, Some("\"1\""), long_days());
    let levels = put(
        &app,
        Some(&ks),
        LEVELS,
        Some("\"1\""),
        targets((30, 300), (200, 2000), (400, 4000)),
    );
    let (created, written, calendar, levels) = futures::join!(
        futures::future::join_all(creations),
        futures::future::join_all(writes),
        calendar,
        levels
    );
    calendar.expect(200);
    levels.expect(200);
    for reply in &written {
        reply.expect(200);
    }
    ids.extend(created.iter().map(|r| id_of(&r.body)));
    // Whatever the order, every clock ends up placed with the final calendar and targets:
    // its due time is what is left of its target after the instant it last started.
    let cal = long_days_calendar();
    let last_change =
        instant_of(&calendar.body["updated_at"]).max(instant_of(&levels.body["updated_at"]));
    for id in ids {
        let row = stored(&app, &id).await;
        let since = row.resolution_clock_since.expect("a running clock");
        // Each was recounted by the later change, or started (or was written) after it.
        assert!(since >= last_change, "ticket {} since {since}", row.number);
        let counted = TimeDelta::microseconds(row.resolution_counted_micros.unwrap());
        let target = TimeDelta::minutes(if row.priority == "high" { 300 } else { 2000 });
        assert_eq!(
            row.resolution_due_at,
            cal.add(since, target - counted),
            "ticket {} ({}) since {since}, counted {counted}",
            row.number,
            row.priority
        );
    }
}
db_test!(
    changes_of_calendar_and_targets_racing_each_other_and_ticket_writes_leave_every_clock_whole
);
