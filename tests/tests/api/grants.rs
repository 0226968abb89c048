//! Grant schemes, applications, and decisions that never exceed the budget.

use chrono::{Duration, Utc};
use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{self, audits, etag, id_of, in_days, municipality_numbers, post, scalar};
use crate::support::{Reply, TestApp};

/// A scheme open for applications now, with `budget` kroner.
pub fn new_scheme(year: i32, budget: i64) -> Value {
    json!({
        "year": year,
        "title": "Tilskudd til etablering av Digihjelpen",
        "description": "Kommuner som vil etablere et fast tilbud om digital veiledning, kan søke.",
        "budget_nok": budget,
        "opens_at": in_days(-1),
        "deadline": in_days(30),
        "status": "open",
    })
}

pub fn application(amount: i64) -> Value {
    json!({
        "amount_nok": amount,
        "plan": "Biblioteket åpner Digihjelpen to dager i uka, med frivillige veiledere.",
        "has_existing_offer": false,
        "contact_name": "Kari Nordmann",
        "contact_email": "digihjelp@kommune.no",
    })
}

pub async fn create_scheme(app: &TestApp, body: Value) -> Value {
    let reply = post(app, &app.kmd(), "/api/v1/grant-schemes", None, body).await;
    reply.expect(201);
    reply.body.clone()
}

/// An open scheme's id.
pub async fn open_scheme(app: &TestApp, year: i32, budget: i64) -> String {
    id_of(&create_scheme(app, new_scheme(year, budget)).await)
}

async fn patch_scheme(
    app: &TestApp,
    token: Option<&str>,
    id: &str,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    let path = format!("/api/v1/grant-schemes/{id}");
    helpers::patch(app, token, &path, if_match, body).await
}

/// Changes a scheme as the ministry, with the current version as `If-Match`.
pub async fn kmd_patch(app: &TestApp, id: &str, body: Value) -> Reply {
    let kmd = app.kmd();
    let tag = etag(app, Some(&kmd), &format!("/api/v1/grant-schemes/{id}")).await;
    patch_scheme(app, Some(&app.kmd()), id, Some(&tag), body).await
}

pub async fn apply(
    app: &TestApp,
    scheme: &str,
    municipality: &str,
    body: Value,
    key: Option<&str>,
) -> Reply {
    let path = format!("/api/v1/grant-schemes/{scheme}/applications");
    post(app, &app.municipality(municipality), &path, key, body).await
}

/// Applies and returns the application's id.
pub async fn apply_ok(app: &TestApp, scheme: &str, municipality: &str, amount: i64) -> String {
    let reply = apply(app, scheme, municipality, application(amount), None).await;
    reply.expect(201);
    id_of(&reply.body)
}

pub async fn decide(
    app: &TestApp,
    token: &str,
    application: &str,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    let path = format!("/api/v1/grant-applications/{application}/decision");
    app.call(Method::POST, &path)
        .bearer(token)
        .if_match(if_match)
        .json(body)
        .send()
        .await
}

pub fn approval(granted: i64) -> Value {
    json!({"outcome": "approved", "granted_nok": granted, "reasoning": "Godt forankret plan."})
}

pub fn rejection() -> Value {
    json!({"outcome": "rejected", "reasoning": "Planen mangler forankring i kommunen."})
}

async fn withdraw(app: &TestApp, token: &str, application: &str, if_match: Option<&str>) -> Reply {
    let path = format!("/api/v1/grant-applications/{application}/withdraw");
    app.call(Method::POST, &path)
        .bearer(token)
        .if_match(if_match)
        .send()
        .await
}

async fn patch_application(
    app: &TestApp,
    token: &str,
    application: &str,
    if_match: Option<&str>,
    body: Value,
) -> Reply {
    let path = format!("/api/v1/grant-applications/{application}");
    helpers::patch(app, Some(token), &path, if_match, body).await
}

/// A scheme as the ministry reads it (drafts included).
async fn scheme(app: &TestApp, id: &str) -> Value {
    let reply = app
        .call(Method::GET, &format!("/api/v1/grant-schemes/{id}"))
        .bearer(&app.kmd())
        .send()
        .await;
    reply.expect(200);
    reply.body.clone()
}

async fn the_ministry_creates_schemes_that_everyone_reads(app: TestApp) {
    let mut body = new_scheme(2027, 2_000_000);
    body["opens_at"] = json!("2027-01-04T08:00:00.750+01:00");
    body["deadline"] = json!("2027-03-01T12:00:00+01:00");
    body["status"] = json!("draft");
    let created = app
        .call(Method::POST, "/api/v1/grant-schemes")
        .bearer(&app.kmd())
        .header("idempotency-key", "scheme-1")
        .json(body.clone())
        .send()
        .await;
    created.expect(201);
    let id = id_of(&created.body);
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/grant-schemes/{id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    let s = &created.body;
    assert_eq!(s["year"], 2027);
    assert_eq!(s["budget_nok"], 2_000_000);
    assert_eq!(s["granted_nok"], 0);
    assert_eq!(s["remaining_nok"], 2_000_000);
    // Instants are stored to the second and answered in UTC.
    assert_eq!(s["opens_at"], "2027-01-04T07:00:00+00:00");
    assert_eq!(s["deadline"], "2027-03-01T11:00:00+00:00");
    assert_eq!(s["status"], "draft");
    assert_eq!(
        s["applications"],
        json!({"submitted": 0, "withdrawn": 0, "approved": 0, "rejected": 0})
    );
    // A retry with the same key replays; another body with it is refused.
    let retry = app
        .call(Method::POST, "/api/v1/grant-schemes")
        .bearer(&app.kmd())
        .header("idempotency-key", "scheme-1")
        .json(body.clone())
        .send()
        .await;
    retry.expect(201);
    assert_eq!(retry.body, created.body);
    body["budget_nok"] = json!(1);
    app.call(Method::POST, "/api/v1/grant-schemes")
        .bearer(&app.kmd())
        .header("idempotency-key", "scheme-1")
        .json(body)
        .send()
        .await
        .expect(409);
    assert_eq!(app.count("grant_schemes").await, 1);

    // A draft is the ministry's and KS's to read; to anyone else it does not exist yet.
    for token in [app.kmd(), app.ks()] {
        let read = app
            .call(Method::GET, &format!("/api/v1/grant-schemes/{id}"))
            .bearer(&token)
            .send()
            .await;
        read.expect(200);
        assert_eq!(read.body, created.body);
        assert_eq!(read.header("etag"), Some("\"1\""));
    }
    for token in [None, Some(app.municipality("0301"))] {
        let path = format!("/api/v1/grant-schemes/{id}");
        let hidden = app
            .call(Method::GET, &path)
            .bearer_opt(token.as_deref())
            .send()
            .await;
        hidden.expect(404);
        let list = app
            .call(Method::GET, "/api/v1/grant-schemes?status=draft")
            .bearer_opt(token.as_deref())
            .send()
            .await;
        list.expect(200);
        assert_eq!(list.body["items"], json!([]));
    }
    kmd_patch(&app, &id, json!({"status": "open"}))
        .await
        .expect(200);

    // Anyone reads the other schemes, one by one or as a list filtered by year and status.
    let read = app.get(&format!("/api/v1/grant-schemes/{id}")).await;
    read.expect(200);
    assert_eq!(read.body["status"], "open");
    let other = open_scheme(&app, 2026, 500_000).await;
    let all = app.get("/api/v1/grant-schemes").await;
    all.expect(200);
    let ids: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [other.as_str(), id.as_str()]); // by year
    assert_eq!(
        app.get("/api/v1/grant-schemes?year=2027").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let open = app.get("/api/v1/grant-schemes?status=open&year=2026").await;
    assert_eq!(open.body["items"][0]["id"], json!(other));
    assert_eq!(open.body["items"].as_array().unwrap().len(), 1);
    let first = app.get("/api/v1/grant-schemes?limit=1").await;
    assert_eq!(first.body["items"][0]["id"], json!(other));
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/api/v1/grant-schemes?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second.body["items"][0]["id"], json!(id));
    assert!(second.body["next_cursor"].is_null());
    for bad in [
        "year=2016",
        "year=abc",
        "status=archived",
        "limit=0",
        "cursor=nope",
    ] {
        app.get(&format!("/api/v1/grant-schemes?{bad}"))
            .await
            .expect(400);
    }
    app.get(&format!("/api/v1/grant-schemes/{}", uuid::Uuid::now_v7()))
        .await
        .expect(404);
    app.get("/api/v1/grant-schemes/not-a-uuid")
        .await
        .expect(400);
    // Two creations and the opening of the draft.
    assert_eq!(audits(&app, "grant_scheme").await, 3);
}
db_test!(the_ministry_creates_schemes_that_everyone_reads);

async fn only_the_ministry_creates_or_changes_schemes(app: TestApp) {
    let body = new_scheme(2027, 1_000);
    app.call(Method::POST, "/api/v1/grant-schemes")
        .json(body.clone())
        .send()
        .await
        .expect(401);
    app.call(Method::POST, "/api/v1/grant-schemes")
        .bearer("not-a-token")
        .json(body.clone())
        .send()
        .await
        .expect(401);
    for token in [app.ks(), app.municipality("0301")] {
        app.call(Method::POST, "/api/v1/grant-schemes")
            .bearer(&token)
            .json(body.clone())
            .send()
            .await
            .expect(403);
    }
    assert_eq!(app.count("grant_schemes").await, 0);
    let id = open_scheme(&app, 2027, 1_000).await;
    patch_scheme(&app, None, &id, Some("\"1\""), json!({"title": "Ny"}))
        .await
        .expect(401);
    for token in [app.ks(), app.municipality("0301")] {
        patch_scheme(
            &app,
            Some(&token),
            &id,
            Some("\"1\""),
            json!({"title": "Ny"}),
        )
        .await
        .expect(403);
    }
    assert_eq!(scheme(&app, &id).await["version"], 1);
    assert_eq!(audits(&app, "grant_scheme").await, 1);
}
db_test!(only_the_ministry_creates_or_changes_schemes);

async fn invalid_schemes_are_refused_per_field_and_nothing_is_stored(app: TestApp) {
    let post = |body: Value| {
        app.call(Method::POST, "/api/v1/grant-schemes")
            .bearer(&app.kmd())
            .json(body)
            .send()
    };
    let mut body = new_scheme(2027, 1_000);
    body["title"] = json!("   ");
    body["description"] = json!(" ");
    body["deadline"] = body["opens_at"].clone();
    body["status"] = json!("closed");
    let invalid = post(body).await;
    invalid.expect(422);
    assert_eq!(
        invalid.invalid_fields(),
        ["title", "description", "status", "deadline"]
    );
    // What the schema already rules out (its limits, wrong types, unknown values and
    // fields) is a 422 naming the field, like the rules' refusals.
    for (field, value) in [
        ("budget_nok", json!(0)),
        ("budget_nok", json!(10_000_000_001_i64)),
        ("budget_nok", json!("1000")),
        ("year", json!(2016)),
        ("year", json!(2101)),
        ("title", json!("x".repeat(201))),
        ("title", json!("")),
        ("title", json!(42)),
        ("description", json!("x".repeat(10_001))),
        ("status", json!("archived")),
        ("opens_at", json!("2027-01-04")),
        ("deadline", json!(null)),
        ("extra", json!(1)),
    ] {
        let mut body = new_scheme(2027, 1_000);
        body[field] = value.clone();
        let refused = post(body).await;
        refused.expect(422);
        assert_eq!(
            refused.invalid_fields(),
            [field],
            "{value}: {}",
            refused.text
        );
    }
    // A number no integer holds is refused at the edge, named the same way.
    let mut body = new_scheme(2027, 1_000);
    body["budget_nok"] = json!(10.5);
    assert_eq!(
        post(body).await.expect(400).invalid_fields(),
        ["budget_nok"]
    );
    post(json!({"year": 2027})).await.expect(422);
    app.call(Method::POST, "/api/v1/grant-schemes")
        .bearer(&app.kmd())
        .raw("application/json", "{")
        .send()
        .await
        .expect(400);
    assert_eq!(app.count("grant_schemes").await, 0);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(invalid_schemes_are_refused_per_field_and_nothing_is_stored);

async fn scheme_status_changes_follow_the_table_and_need_a_current_if_match(app: TestApp) {
    let mut draft = new_scheme(2027, 1_000);
    draft["status"] = json!("draft");
    let id = id_of(&create_scheme(&app, draft).await);
    let kmd = app.kmd();
    patch_scheme(&app, Some(&kmd), &id, None, json!({"status": "open"}))
        .await
        .expect(428);
    patch_scheme(
        &app,
        Some(&kmd),
        &id,
        Some("\"7\""),
        json!({"status": "open"}),
    )
    .await
    .expect(412);
    patch_scheme(
        &app,
        Some(&kmd),
        &uuid::Uuid::now_v7().to_string(),
        Some("\"1\""),
        json!({"status": "open"}),
    )
    .await
    .expect(404);
    patch_scheme(
        &app,
        Some(&kmd),
        "nope",
        Some("\"1\""),
        json!({"status": "open"}),
    )
    .await
    .expect(400);
    for (to, ok) in [
        ("closed", false),
        ("decided", false),
        ("open", true),
        ("draft", false),
        ("decided", false),
        ("closed", true),
        ("open", false),
        ("draft", false),
        ("decided", true),
    ] {
        let reply = kmd_patch(&app, &id, json!({"status": to})).await;
        if ok {
            reply.expect(200);
            assert_eq!(reply.body["status"], to);
        } else {
            reply.expect(422);
            assert_eq!(reply.invalid_fields(), ["status"], "{to}: {}", reply.text);
        }
    }
    // A decided scheme no longer changes.
    let frozen = kmd_patch(&app, &id, json!({"title": "Ny tittel"})).await;
    frozen.expect(422);
    assert!(
        frozen.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("decided")
    );
    let s = scheme(&app, &id).await;
    assert_eq!(s["version"], 4);
    assert_eq!(s["title"], "Tilskudd til etablering av Digihjelpen");
    assert_eq!(audits(&app, "grant_scheme").await, 4);

    // Other fields: validated per field, null refused, an empty change refused.
    let other = open_scheme(&app, 2027, 1_000).await;
    let changed = kmd_patch(
        &app,
        &other,
        json!({"title": " Ny runde ", "budget_nok": 5_000, "deadline": in_days(60), "year": 2028}),
    )
    .await;
    changed.expect(200);
    assert_eq!(changed.body["title"], "Ny runde");
    assert_eq!(changed.body["remaining_nok"], 5_000);
    assert_eq!(changed.body["year"], 2028);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    let bad = kmd_patch(
        &app,
        &other,
        json!({"title": " ", "deadline": in_days(-3), "opens_at": null}),
    )
    .await;
    bad.expect(422);
    assert_eq!(bad.invalid_fields(), ["title", "opens_at", "deadline"]);
    kmd_patch(&app, &other, json!({})).await.expect(422);
    for (field, value) in [
        ("budget_nok", json!(0)),
        ("year", json!("2028")),
        ("status", json!("archived")),
        ("extra", json!(true)),
    ] {
        kmd_patch(&app, &other, json!({field: value}))
            .await
            .expect(422);
    }
    assert_eq!(scheme(&app, &other).await["version"], 2);
}
db_test!(scheme_status_changes_follow_the_table_and_need_a_current_if_match);

async fn a_municipality_applies_once_and_sees_only_its_own(app: TestApp) {
    let id = open_scheme(&app, 2027, 1_000_000).await;
    let created = apply(&app, &id, "0301", application(200_000), None).await;
    created.expect(201);
    let oslo = id_of(&created.body);
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/grant-applications/{oslo}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    let a = &created.body;
    assert_eq!(a["scheme_id"], json!(id));
    assert_eq!(a["municipality_number"], "0301");
    assert_eq!(a["amount_nok"], 200_000);
    assert_eq!(a["status"], "submitted");
    assert!(a["granted_nok"].is_null() && a["reasoning"].is_null() && a["decided_at"].is_null());

    // A second application of the same municipality is a conflict.
    let again = apply(&app, &id, "0301", application(100_000), None).await;
    again.expect(409);
    assert!(
        again.body["detail"]
            .as_str()
            .unwrap()
            .contains("already applied")
    );
    let bergen = apply_ok(&app, &id, "4601", 300_000).await;

    // KS and the ministry see both; a municipality its own; another's is 404.
    let path = format!("/api/v1/grant-schemes/{id}/applications");
    for token in [app.ks(), app.kmd()] {
        let list = app.call(Method::GET, &path).bearer(&token).send().await;
        list.expect(200);
        let ids: Vec<&str> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [oslo.as_str(), bergen.as_str()]);
        app.call(Method::GET, &format!("/api/v1/grant-applications/{bergen}"))
            .bearer(&token)
            .send()
            .await
            .expect(200);
    }
    let own = app
        .call(Method::GET, &path)
        .bearer(&app.municipality("0301"))
        .send()
        .await;
    assert_eq!(own.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(own.body["items"][0]["id"], json!(oslo));
    let none = app
        .call(Method::GET, &path)
        .bearer(&app.municipality("1103"))
        .send()
        .await;
    assert_eq!(none.body["items"], json!([]));
    let read = app
        .call(Method::GET, &format!("/api/v1/grant-applications/{oslo}"))
        .bearer(&app.municipality("0301"))
        .send()
        .await;
    read.expect(200);
    assert_eq!(read.body, created.body);
    app.call(Method::GET, &format!("/api/v1/grant-applications/{oslo}"))
        .bearer(&app.municipality("4601"))
        .send()
        .await
        .expect(404);
    app.call(Method::GET, &format!("/api/v1/grant-applications/{oslo}"))
        .send()
        .await
        .expect(401);
    app.call(Method::GET, &path).send().await.expect(401);
    app.call(
        Method::GET,
        &format!("/api/v1/grant-applications/{}", uuid::Uuid::now_v7()),
    )
    .bearer(&app.ks())
    .send()
    .await
    .expect(404);
    app.call(Method::GET, "/api/v1/grant-applications/nope")
        .bearer(&app.ks())
        .send()
        .await
        .expect(400);
    app.call(
        Method::GET,
        &format!(
            "/api/v1/grant-schemes/{}/applications",
            uuid::Uuid::now_v7()
        ),
    )
    .bearer(&app.ks())
    .send()
    .await
    .expect(404);
    let page = app
        .call(Method::GET, &format!("{path}?limit=1"))
        .bearer(&app.ks())
        .send()
        .await;
    let cursor = page.body["next_cursor"].as_str().unwrap().to_string();
    let next = app
        .call(Method::GET, &format!("{path}?limit=1&cursor={cursor}"))
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(next.body["items"][0]["id"], json!(bergen));
    let submitted = app
        .call(Method::GET, &format!("{path}?status=submitted"))
        .bearer(&app.ks())
        .send()
        .await;
    assert_eq!(submitted.body["items"].as_array().unwrap().len(), 2);
    app.call(Method::GET, &format!("{path}?status=pending"))
        .bearer(&app.ks())
        .send()
        .await
        .expect(400);

    // The scheme counts them, and its version rose with each.
    let s = scheme(&app, &id).await;
    assert_eq!(
        s["applications"],
        json!({"submitted": 2, "withdrawn": 0, "approved": 0, "rejected": 0})
    );
    assert_eq!(s["version"], 3);
    assert_eq!(app.count("grant_applications").await, 2);
    assert_eq!(audits(&app, "grant_application").await, 2);
}
db_test!(a_municipality_applies_once_and_sees_only_its_own);

async fn only_a_municipality_applies_and_bad_applications_change_nothing(app: TestApp) {
    let id = open_scheme(&app, 2027, 500_000).await;
    let path = format!("/api/v1/grant-schemes/{id}/applications");
    app.call(Method::POST, &path)
        .json(application(1))
        .send()
        .await
        .expect(401);
    app.call(Method::POST, &path)
        .bearer(&app.ks())
        .json(application(1))
        .send()
        .await
        .expect(403);
    app.call(Method::POST, &path)
        .bearer(&app.kmd())
        .json(application(1))
        .send()
        .await
        .expect(403);
    apply(
        &app,
        &uuid::Uuid::now_v7().to_string(),
        "0301",
        application(1),
        None,
    )
    .await
    .expect(404);
    apply(&app, "not-a-uuid", "0301", application(1), None)
        .await
        .expect(400);
    let invalid = apply(
        &app,
        &id,
        "0301",
        json!({
            "amount_nok": 1_000, "plan": "  ", "has_existing_offer": true,
            "contact_name": " ", "contact_email": "kari@",
        }),
        None,
    )
    .await;
    invalid.expect(422);
    assert_eq!(
        invalid.invalid_fields(),
        ["plan", "contact_name", "contact_email"]
    );
    let too_much = apply(&app, &id, "0301", application(500_001), None).await;
    too_much.expect(422);
    assert_eq!(too_much.invalid_fields(), ["amount_nok"]);
    assert!(
        too_much.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("500000")
    );
    for (field, value) in [
        ("amount_nok", json!(0)),
        ("amount_nok", json!(-5)),
        ("amount_nok", json!("1000")),
        ("has_existing_offer", json!("yes")),
        ("plan", json!("x".repeat(10_001))),
        ("contact_name", json!("x".repeat(201))),
        ("contact_email", json!(7)),
        ("status", json!("approved")),
    ] {
        let mut body = application(1_000);
        body[field] = value;
        assert_eq!(
            apply(&app, &id, "0301", body, None)
                .await
                .expect(422)
                .invalid_fields(),
            [field]
        );
    }
    assert_eq!(app.count("grant_applications").await, 0);
    assert_eq!(scheme(&app, &id).await["version"], 1);
    assert_eq!(audits(&app, "grant_application").await, 0);
}
db_test!(only_a_municipality_applies_and_bad_applications_change_nothing);

async fn applications_are_taken_only_while_open_and_before_the_deadline(app: TestApp) {
    let mut draft = new_scheme(2027, 1_000);
    draft["status"] = json!("draft");
    let draft = id_of(&create_scheme(&app, draft).await);
    let closed = open_scheme(&app, 2027, 1_000).await;
    kmd_patch(&app, &closed, json!({"status": "closed"}))
        .await
        .expect(200);
    let mut early = new_scheme(2027, 1_000);
    early["opens_at"] = json!(in_days(2));
    let early = id_of(&create_scheme(&app, early).await);
    let mut late = new_scheme(2027, 1_000);
    late["opens_at"] = json!(in_days(-10));
    late["deadline"] = json!((Utc::now() - Duration::seconds(1)).to_rfc3339());
    let late = id_of(&create_scheme(&app, late).await);
    // A draft does not exist for a municipality.
    apply(&app, &draft, "0301", application(100), None)
        .await
        .expect(404);
    for (id, reason) in [(&closed, "closed"), (&early, "opens"), (&late, "deadline")] {
        let refused = apply(&app, id, "0301", application(100), None).await;
        refused.expect(422);
        let message = refused.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(reason), "{reason}: {message}");
    }
    assert_eq!(app.count("grant_applications").await, 0);
}
db_test!(applications_are_taken_only_while_open_and_before_the_deadline);

async fn a_municipality_edits_its_submitted_application_until_the_deadline(app: TestApp) {
    let id = open_scheme(&app, 2027, 100_000).await;
    let oslo = apply_ok(&app, &id, "0301", 50_000).await;
    let token = app.municipality("0301");
    patch_application(
        &app,
        &app.municipality("4601"),
        &oslo,
        Some("\"1\""),
        json!({"amount_nok": 60_000}),
    )
    .await
    .expect(404);
    patch_application(
        &app,
        &app.ks(),
        &oslo,
        Some("\"1\""),
        json!({"amount_nok": 60_000}),
    )
    .await
    .expect(403);
    patch_application(
        &app,
        &app.kmd(),
        &oslo,
        Some("\"1\""),
        json!({"amount_nok": 60_000}),
    )
    .await
    .expect(403);
    app.call(Method::PATCH, &format!("/api/v1/grant-applications/{oslo}"))
        .header("if-match", "\"1\"")
        .json(json!({"amount_nok": 1}))
        .send()
        .await
        .expect(401);
    patch_application(&app, &token, &oslo, None, json!({"amount_nok": 60_000}))
        .await
        .expect(428);
    let changed = patch_application(
        &app,
        &token,
        &oslo,
        Some("\"1\""),
        json!({
            "amount_nok": 60_000,
            "has_existing_offer": true,
            "contact_email": "ny@oslo.kommune.no",
        }),
    )
    .await;
    changed.expect(200);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.body["amount_nok"], 60_000);
    assert_eq!(changed.body["has_existing_offer"], true);
    assert_eq!(changed.body["contact_email"], "ny@oslo.kommune.no");
    patch_application(
        &app,
        &token,
        &oslo,
        Some("\"1\""),
        json!({"amount_nok": 70_000}),
    )
    .await
    .expect(412);
    let bad = patch_application(
        &app,
        &token,
        &oslo,
        Some("\"2\""),
        json!({
            "amount_nok": 100_001,
            "plan": " ",
            "contact_email": "ikke-en-adresse",
            "has_existing_offer": null,
        }),
    )
    .await;
    bad.expect(422);
    assert_eq!(
        bad.invalid_fields(),
        ["amount_nok", "plan", "has_existing_offer", "contact_email"]
    );
    patch_application(&app, &token, &oslo, Some("\"2\""), json!({}))
        .await
        .expect(422);
    for (field, value) in [
        ("amount_nok", json!(0)),
        ("plan", json!(5)),
        ("status", json!("approved")),
    ] {
        patch_application(&app, &token, &oslo, Some("\"2\""), json!({field: value}))
            .await
            .expect(422);
    }

    // After the deadline the application no longer changes.
    kmd_patch(
        &app,
        &id,
        json!({"deadline": (Utc::now() - Duration::seconds(1)).to_rfc3339()}),
    )
    .await
    .expect(200);
    let late = patch_application(
        &app,
        &token,
        &oslo,
        Some("\"2\""),
        json!({"plan": "En ny plan."}),
    )
    .await;
    late.expect(422);
    assert!(
        late.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deadline")
    );
    let stored = app
        .call(Method::GET, &format!("/api/v1/grant-applications/{oslo}"))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(stored.body["amount_nok"], 60_000);
    assert_eq!(stored.body["version"], 2);
    assert_eq!(audits(&app, "grant_application").await, 2);
}
db_test!(a_municipality_edits_its_submitted_application_until_the_deadline);

async fn a_municipality_withdraws_its_application_once(app: TestApp) {
    let id = open_scheme(&app, 2027, 100_000).await;
    let oslo = apply_ok(&app, &id, "0301", 50_000).await;
    let token = app.municipality("0301");
    app.call(
        Method::POST,
        &format!("/api/v1/grant-applications/{oslo}/withdraw"),
    )
    .header("if-match", "\"1\"")
    .send()
    .await
    .expect(401);
    withdraw(&app, &app.municipality("4601"), &oslo, Some("\"1\""))
        .await
        .expect(404);
    withdraw(&app, &app.kmd(), &oslo, Some("\"1\""))
        .await
        .expect(403);
    withdraw(&app, &app.ks(), &oslo, Some("\"1\""))
        .await
        .expect(403);
    withdraw(&app, &token, &oslo, None).await.expect(428);
    withdraw(&app, &token, &oslo, Some("\"3\""))
        .await
        .expect(412);
    withdraw(
        &app,
        &token,
        &uuid::Uuid::now_v7().to_string(),
        Some("\"1\""),
    )
    .await
    .expect(404);
    let withdrawn = withdraw(&app, &token, &oslo, Some("\"1\"")).await;
    withdrawn.expect(200);
    assert_eq!(withdrawn.body["status"], "withdrawn");
    assert_eq!(withdrawn.header("etag"), Some("\"2\""));
    let again = withdraw(&app, &token, &oslo, Some("\"2\"")).await;
    again.expect(409);
    assert!(again.body["detail"].as_str().unwrap().contains("withdrawn"));
    patch_application(&app, &token, &oslo, Some("\"2\""), json!({"amount_nok": 1}))
        .await
        .expect(409);
    // Withdrawn still counts as the municipality's one application.
    apply(&app, &id, "0301", application(40_000), None)
        .await
        .expect(409);
    kmd_patch(&app, &id, json!({"status": "closed"}))
        .await
        .expect(200);
    decide(&app, &app.kmd(), &oslo, Some("\"2\""), approval(10))
        .await
        .expect(409);
    let s = scheme(&app, &id).await;
    assert_eq!(
        s["applications"],
        json!({"submitted": 0, "withdrawn": 1, "approved": 0, "rejected": 0})
    );
    assert_eq!(s["granted_nok"], 0);
    assert_eq!(audits(&app, "grant_application").await, 2);
}
db_test!(a_municipality_withdraws_its_application_once);

async fn the_ministry_decides_once_and_never_beyond_the_budget(app: TestApp) {
    let id = open_scheme(&app, 2027, 300_000).await;
    let oslo = apply_ok(&app, &id, "0301", 200_000).await;
    let bergen = apply_ok(&app, &id, "4601", 150_000).await;
    let stavanger = apply_ok(&app, &id, "1103", 120_000).await;
    let kmd = app.kmd();

    // Decisions wait for the scheme to close.
    let early = decide(&app, &kmd, &oslo, Some("\"1\""), approval(150_000)).await;
    early.expect(409);
    assert!(early.body["detail"].as_str().unwrap().contains("open"));
    kmd_patch(&app, &id, json!({"status": "closed"}))
        .await
        .expect(200);

    app.call(
        Method::POST,
        &format!("/api/v1/grant-applications/{oslo}/decision"),
    )
    .header("if-match", "\"1\"")
    .json(approval(1))
    .send()
    .await
    .expect(401);
    decide(&app, &app.ks(), &oslo, Some("\"1\""), approval(1))
        .await
        .expect(403);
    decide(
        &app,
        &app.municipality("0301"),
        &oslo,
        Some("\"1\""),
        approval(1),
    )
    .await
    .expect(403);
    decide(
        &app,
        &kmd,
        &uuid::Uuid::now_v7().to_string(),
        Some("\"1\""),
        approval(1),
    )
    .await
    .expect(404);
    decide(&app, &kmd, "nope", Some("\"1\""), approval(1))
        .await
        .expect(400);
    decide(&app, &kmd, &oslo, None, approval(1))
        .await
        .expect(428);
    decide(&app, &kmd, &oslo, Some("\"5\""), approval(1))
        .await
        .expect(412);
    for (body, field) in [
        (
            json!({"outcome": "approved", "reasoning": "Bra."}),
            "granted_nok",
        ),
        (approval(200_001), "granted_nok"),
        (
            json!({"outcome": "rejected", "granted_nok": 5, "reasoning": "Nei."}),
            "granted_nok",
        ),
        (
            json!({"outcome": "rejected", "reasoning": "   "}),
            "reasoning",
        ),
    ] {
        let refused = decide(&app, &kmd, &oslo, Some("\"1\""), body).await;
        refused.expect(422);
        assert_eq!(refused.invalid_fields(), [field]);
    }
    for body in [
        json!({"outcome": "maybe", "reasoning": "?"}),
        json!({"outcome": "approved", "granted_nok": 0, "reasoning": "?"}),
        json!({"outcome": "approved", "granted_nok": "5", "reasoning": "?"}),
        json!({"outcome": "approved", "granted_nok": 5}),
        json!({"outcome": "approved", "granted_nok": 5, "reasoning": "x".repeat(4001)}),
        json!({"outcome": "approved", "granted_nok": 5, "reasoning": "?", "extra": 1}),
    ] {
        decide(&app, &kmd, &oslo, Some("\"1\""), body)
            .await
            .expect(422);
    }
    assert_eq!(scheme(&app, &id).await["granted_nok"], 0);

    let approved = decide(&app, &kmd, &oslo, Some("\"1\""), approval(180_000)).await;
    approved.expect(200);
    assert_eq!(approved.header("etag"), Some("\"2\""));
    assert_eq!(approved.body["status"], "approved");
    assert_eq!(approved.body["granted_nok"], 180_000);
    assert_eq!(approved.body["reasoning"], "Godt forankret plan.");
    assert!(approved.body["decided_at"].is_string());
    // A decision is final.
    let second = decide(&app, &kmd, &oslo, Some("\"2\""), rejection()).await;
    second.expect(409);
    assert!(second.body["detail"].as_str().unwrap().contains("final"));
    patch_application(
        &app,
        &app.municipality("0301"),
        &oslo,
        Some("\"2\""),
        json!({"plan": "Ny"}),
    )
    .await
    .expect(409);
    withdraw(&app, &app.municipality("0301"), &oslo, Some("\"2\""))
        .await
        .expect(409);

    // 150 000 does not fit in the 120 000 left: 409 saying what remains; nothing changes.
    let over = decide(&app, &kmd, &bergen, Some("\"1\""), approval(150_000)).await;
    over.expect(409);
    assert_eq!(over.body["remaining_budget_nok"], 120_000);
    assert_eq!(over.body["code"], "budget-exceeded");
    assert!(over.body["detail"].as_str().unwrap().contains("120000"));
    let unchanged = app
        .call(Method::GET, &format!("/api/v1/grant-applications/{bergen}"))
        .bearer(&kmd)
        .send()
        .await;
    assert_eq!(unchanged.body["status"], "submitted");
    assert_eq!(unchanged.body["version"], 1);
    decide(&app, &kmd, &bergen, Some("\"1\""), approval(120_000))
        .await
        .expect(200);
    let rejected = decide(&app, &kmd, &stavanger, Some("\"1\""), rejection()).await;
    rejected.expect(200);
    assert_eq!(rejected.body["status"], "rejected");
    assert!(rejected.body["granted_nok"].is_null());

    let s = scheme(&app, &id).await;
    assert_eq!(s["granted_nok"], 300_000);
    assert_eq!(s["remaining_nok"], 0);
    assert_eq!(
        s["applications"],
        json!({"submitted": 0, "withdrawn": 0, "approved": 2, "rejected": 1})
    );
    // The budget cannot drop below what is granted.
    let shrink = kmd_patch(&app, &id, json!({"budget_nok": 299_999})).await;
    shrink.expect(422);
    assert_eq!(shrink.invalid_fields(), ["budget_nok"]);
    kmd_patch(&app, &id, json!({"status": "decided"}))
        .await
        .expect(200);
    assert_eq!(
        scalar(
            &app,
            "SELECT CAST(SUM(granted_nok) AS BIGINT) AS n FROM grant_applications"
        )
        .await,
        300_000
    );
    let decisions = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'decide'",
    )
    .await;
    assert_eq!(decisions, 3);
}
db_test!(the_ministry_decides_once_and_never_beyond_the_budget);

async fn a_scheme_is_decided_only_once_nothing_is_left_submitted(app: TestApp) {
    let id = open_scheme(&app, 2027, 1_000).await;
    let oslo = apply_ok(&app, &id, "0301", 500).await;
    kmd_patch(&app, &id, json!({"status": "closed"}))
        .await
        .expect(200);
    let refused = kmd_patch(&app, &id, json!({"status": "decided"})).await;
    refused.expect(422);
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("1 application")
    );
    decide(&app, &app.kmd(), &oslo, Some("\"1\""), rejection())
        .await
        .expect(200);
    kmd_patch(&app, &id, json!({"status": "decided"}))
        .await
        .expect(200);
}
db_test!(a_scheme_is_decided_only_once_nothing_is_left_submitted);

async fn an_idempotency_key_replays_an_application(app: TestApp) {
    let id = open_scheme(&app, 2027, 100_000).await;
    let first = apply(&app, &id, "0301", application(1_000), Some("app-1")).await;
    first.expect(201);
    let retry = apply(&app, &id, "0301", application(1_000), Some("app-1")).await;
    retry.expect(201);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("location"), first.header("location"));
    apply(&app, &id, "0301", application(2_000), Some("app-1"))
        .await
        .expect(409);
    apply(&app, &id, "0301", application(1_000), Some("bad key"))
        .await
        .expect(400);
    assert_eq!(app.count("grant_applications").await, 1);
    // The same key at another scheme is another request.
    let other = open_scheme(&app, 2027, 100_000).await;
    let elsewhere = apply(&app, &other, "0301", application(1_000), Some("app-1")).await;
    elsewhere.expect(201);
    assert_ne!(elsewhere.body["id"], first.body["id"]);
}
db_test!(an_idempotency_key_replays_an_application);

async fn thirty_concurrent_approvals_never_exceed_a_budget_that_fits_ten(app: TestApp) {
    const BUDGET: i64 = 1_000_000;
    const GRANT: i64 = 100_000;
    let id = open_scheme(&app, 2027, BUDGET).await;
    let numbers = municipality_numbers(&app, 30).await;
    let mut applications = Vec::new();
    for number in &numbers {
        applications.push(apply_ok(&app, &id, number, GRANT).await);
    }
    kmd_patch(&app, &id, json!({"status": "closed"}))
        .await
        .expect(200);
    let kmd = app.kmd();
    let attempts = applications
        .iter()
        .map(|a| decide(&app, &kmd, a, Some("\"1\""), approval(GRANT)));
    let replies = futures::future::join_all(attempts).await;

    let mut accepted = 0;
    let mut refused = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            200 => accepted += 1,
            409 => {
                reply.expect(409);
                assert_eq!(reply.body["remaining_budget_nok"], 0, "{}", reply.text);
                refused += 1;
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    let stored = scalar(
        &app,
        "SELECT CAST(COALESCE(SUM(granted_nok), 0) AS BIGINT) AS n \
         FROM grant_applications WHERE status = 'approved'",
    )
    .await;
    let granted = scalar(
        &app,
        "SELECT CAST(granted_nok AS BIGINT) AS n FROM grant_schemes",
    )
    .await;
    eprintln!(
        "concurrent approvals on {:?}: accepted {accepted}, refused {refused}, \
         stored sum {stored} of budget {BUDGET}",
        app.db.get_database_backend(),
    );
    assert_eq!(accepted, 10);
    assert_eq!(refused, 20);
    assert_eq!(stored, BUDGET);
    assert_eq!(granted, stored);
    let s = scheme(&app, &id).await;
    assert_eq!(s["remaining_nok"], 0);
    assert_eq!(
        s["applications"],
        json!({"submitted": 20, "withdrawn": 0, "approved": 10, "rejected": 0})
    );
    let decisions = scalar(
        &app,
        "SELECT COUNT(*) AS n FROM audit_entries WHERE action = 'decide'",
    )
    .await;
    assert_eq!(decisions, 10);
}
db_test!(thirty_concurrent_approvals_never_exceed_a_budget_that_fits_ten);
