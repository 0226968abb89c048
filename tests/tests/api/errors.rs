//! Every error, the framework's own included, is problem+json; none is a 500.

use poem::http::Method;
use serde_json::json;

use crate::db_test;
use crate::support::TestApp;

async fn an_unknown_route_is_a_404_problem(app: TestApp) {
    let reply = app.get("/api/v1/nothing-here").await;
    reply.expect(404);
    assert_eq!(reply.body["type"], "/problems/not-found");
}
db_test!(an_unknown_route_is_a_404_problem);

async fn a_wrong_method_is_a_405_problem_that_names_the_allowed_methods(app: TestApp) {
    let counties = app.call(Method::DELETE, "/api/v1/counties").send().await;
    counties.expect(405);
    assert_eq!(counties.header("allow"), Some("GET"));
    let oslo = app
        .call(Method::PUT, "/api/v1/municipalities/0301")
        .send()
        .await;
    oslo.expect(405);
    assert_eq!(oslo.header("allow"), Some("GET, PATCH"));
    let location = app
        .call(
            Method::POST,
            "/api/v1/locations/0195f4c2-7d1c-7a4e-9b1a-3f2e1d0c9b8a",
        )
        .send()
        .await;
    location.expect(405);
    assert_eq!(location.header("allow"), Some("DELETE, GET, PATCH"));
}
db_test!(a_wrong_method_is_a_405_problem_that_names_the_allowed_methods);

async fn a_body_that_is_not_json_is_a_415_problem_and_changes_nothing(app: TestApp) {
    let reply = app
        .call(Method::PATCH, "/api/v1/municipalities/0301")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .raw("text/plain", "website=https://example.org")
        .send()
        .await;
    reply.expect(415);
    assert_eq!(reply.body["type"], "/problems/unsupported-media-type");
    assert_eq!(
        app.get("/api/v1/municipalities/0301").await.body["version"],
        1
    );
}
db_test!(a_body_that_is_not_json_is_a_415_problem_and_changes_nothing);

async fn an_empty_cursor_is_the_first_page(app: TestApp) {
    let first = app.get("/api/v1/municipalities?limit=2").await;
    let empty = app.get("/api/v1/municipalities?limit=2&cursor=").await;
    empty.expect(200);
    assert_eq!(empty.body["items"], first.body["items"]);
    assert_eq!(empty.body["next_cursor"], first.body["next_cursor"]);
}
db_test!(an_empty_cursor_is_the_first_page);

async fn malformed_json_is_a_400_problem_and_changes_nothing(app: TestApp) {
    let reply = app
        .call(Method::PATCH, "/api/v1/municipalities/0301")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .raw("application/json", "{\"website\": ")
        .send()
        .await;
    reply.expect(400);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(malformed_json_is_a_400_problem_and_changes_nothing);

async fn a_wrong_type_or_unknown_field_is_a_422_naming_it_and_nul_a_400(app: TestApp) {
    for (body, status, field) in [
        (json!({"website": 42}), 422, "website"),
        (json!({"name": true}), 422, "name"),
        (json!({"webside": "https://x.no"}), 422, "webside"),
        (json!([1, 2]), 422, "body"),
        (json!({"name": "a\u{0}b"}), 400, "name"),
    ] {
        let reply = app
            .call(Method::PATCH, "/api/v1/municipalities/0301")
            .bearer(&app.ks())
            .header("if-match", "\"1\"")
            .json(body)
            .send()
            .await;
        reply.expect(status);
        assert_eq!(reply.invalid_fields(), [field]);
    }
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(a_wrong_type_or_unknown_field_is_a_422_naming_it_and_nul_a_400);

async fn a_wrong_content_type_is_a_415_problem(app: TestApp) {
    app.call(Method::PATCH, "/api/v1/municipalities/0301")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .raw("text/plain", "website=https://x.no")
        .send()
        .await
        .expect(415);
}
db_test!(a_wrong_content_type_is_a_415_problem);

async fn bad_query_parameters_are_400_problems(app: TestApp) {
    for query in [
        "limit=abc",
        "limit=0",
        "limit=201",
        "has_digihjelp=maybe",
        "cursor=%%%",
        "cursor=bm90LWEtY3Vyc29y",
    ] {
        app.get(&format!("/api/v1/municipalities?{query}"))
            .await
            .expect(400);
    }
    app.get("/api/v1/audit?from=yesterday").await.expect(401);
    let ks = app.ks();
    app.call(Method::GET, "/api/v1/audit?from=yesterday")
        .bearer(&ks)
        .send()
        .await
        .expect(400);
}
db_test!(bad_query_parameters_are_400_problems);

async fn a_body_over_one_mebibyte_is_a_413_problem(app: TestApp) {
    let huge = format!(
        "{{\"website\": \"https://x.no/{}\"}}",
        "a".repeat(1024 * 1024)
    );
    app.call(Method::PATCH, "/api/v1/municipalities/0301")
        .bearer(&app.ks())
        .header("if-match", "\"1\"")
        .raw("application/json", huge)
        .send()
        .await
        .expect(413);
}
db_test!(a_body_over_one_mebibyte_is_a_413_problem);

async fn bad_input_of_every_kind_never_gives_a_500(app: TestApp) {
    let ks = app.ks();
    let paths = [
        "/api/v1/municipalities/%00",
        "/api/v1/municipalities/%F0%9F%98%80",
        "/api/v1/counties/'%20OR%201=1",
        "/api/v1/municipalities?q=%25%27%22",
        "/api/v1/municipalities?county=%27",
        "/api/v1/audit?resource_id=%27%3B",
        "/api/v1/audit?actor=%00",
        "/api/v1/municipalities?q=a%00b",
    ];
    for path in paths {
        let reply = app.call(Method::GET, path).bearer(&ks).send().await;
        assert!(reply.status.as_u16() < 500, "{path}: {}", reply.text);
        if reply.status.as_u16() >= 400 {
            reply.expect(reply.status.as_u16());
        }
    }
}
db_test!(bad_input_of_every_kind_never_gives_a_500);

async fn every_refusal_carries_its_code_and_its_type_is_a_page(app: TestApp) {
    let ks = app.ks();
    // A municipality number that exists: already-exists.
    let taken = app
        .call(Method::POST, "/api/v1/municipalities")
        .bearer(&ks)
        .json(json!({"number": "0301", "name": "Oslo", "county_number": "03"}))
        .send()
        .await;
    taken.expect(409);
    assert_eq!(taken.body["code"], "already-exists");
    assert_eq!(taken.body["type"], "/problems/already-exists");
    // The generic kinds of each status.
    for (reply, code) in [
        (app.get("/api/v1/nothing-here").await, "not-found"),
        (app.get("/api/v1/audit").await, "unauthorized"),
        (
            app.call(Method::GET, "/api/v1/audit")
                .bearer(&app.municipality("0301"))
                .send()
                .await,
            "forbidden",
        ),
        (app.get("/api/v1/locations/not-a-uuid").await, "malformed"),
        (
            app.call(Method::PATCH, "/api/v1/municipalities/0301")
                .bearer(&ks)
                .json(json!({"website": "https://x.no"}))
                .send()
                .await,
            "precondition-required",
        ),
        (
            app.call(Method::PATCH, "/api/v1/municipalities/0301")
                .bearer(&ks)
                .header("if-match", "\"1\"")
                .json(json!({"website": 42}))
                .send()
                .await,
            "validation",
        ),
    ] {
        assert_eq!(reply.body["code"], code, "{}", reply.text);
        assert_eq!(reply.body["type"], format!("/problems/{code}"));
        // The type is a page for people, naming the code.
        let page = app.get(&format!("/problems/{code}")).await;
        page.expect(200);
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            page.text.contains(&format!("<code>{code}</code>")),
            "{}",
            page.text
        );
    }
    let index = app.get("/problems").await;
    index.expect(200);
    let spec = app.get("/openapi.json").await.body;
    let codes = spec["components"]["schemas"]["ProblemCode"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    assert!(codes.len() > 20);
    for code in &codes {
        let code = code.as_str().unwrap();
        assert!(
            index.text.contains(&format!("/problems/{code}\"")),
            "{code}"
        );
        assert!(
            spec["components"]["schemas"]["ProblemCode"]["description"]
                .as_str()
                .unwrap()
                .contains(&format!("| `{code}` |")),
            "{code}"
        );
    }
    app.get("/problems/castle").await.expect(404);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(every_refusal_carries_its_code_and_its_type_is_a_page);
