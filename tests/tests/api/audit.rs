use poem::http::Method;
use serde_json::json;

use crate::db_test;
use crate::helpers::patch;
use crate::support::TestApp;

async fn change_website(app: &TestApp, token: &str, number: &str, version: u32) {
    let path = format!("/api/v1/municipalities/{number}");
    let tag = format!("\"{version}\"");
    let body = json!({"website": format!("https://www.k{number}.no/v{version}")});
    patch(app, Some(token), &path, Some(&tag), body)
        .await
        .expect(200);
}

async fn ks_and_kmd_read_the_audit_log_newest_first(app: TestApp) {
    change_website(&app, &app.municipality("0301"), "0301", 1).await;
    change_website(&app, &app.ks(), "1103", 1).await;
    for token in [app.ks(), app.kmd()] {
        let log = app
            .call(Method::GET, "/api/v1/audit")
            .bearer(&token)
            .send()
            .await;
        log.expect(200);
        let items = log.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["resource_id"], "1103");
        assert_eq!(items[0]["actor_role"], "ks");
        assert_eq!(items[1]["actor_sub"], "staff-0301");
        assert_eq!(items[1]["actor_role"], "municipality");
        assert_eq!(items[1]["actor_municipality"], "0301");
        assert_eq!(items[1]["action"], "update");
        assert_eq!(items[1]["resource_type"], "municipality");
        assert_eq!(items[1]["summary"], "changed website");
    }
}
db_test!(ks_and_kmd_read_the_audit_log_newest_first);

async fn municipalities_and_anonymous_callers_cannot_read_the_audit_log(app: TestApp) {
    change_website(&app, &app.ks(), "0301", 1).await;
    app.get("/api/v1/audit").await.expect(401);
    app.call(Method::GET, "/api/v1/audit")
        .bearer(&app.municipality("0301"))
        .send()
        .await
        .expect(403);
}
db_test!(municipalities_and_anonymous_callers_cannot_read_the_audit_log);

async fn the_audit_log_filters_by_resource_actor_and_time_and_pages(app: TestApp) {
    for version in 1..=3 {
        change_website(&app, &app.ks(), "0301", version).await;
    }
    change_website(&app, &app.municipality("1103"), "1103", 1).await;
    let ks = app.ks();
    let get = |query: String| {
        let ks = ks.clone();
        let app = &app;
        async move {
            app.call(Method::GET, &format!("/api/v1/audit?{query}"))
                .bearer(&ks)
                .send()
                .await
        }
    };
    let by_resource = get("resource_type=municipality&resource_id=0301".into()).await;
    assert_eq!(by_resource.body["items"].as_array().unwrap().len(), 3);
    let by_actor = get("actor=staff-1103".into()).await;
    assert_eq!(by_actor.body["items"].as_array().unwrap().len(), 1);
    let future = get("from=2200-01-01T00:00:00Z".into()).await;
    assert_eq!(future.body["items"].as_array().unwrap().len(), 0);
    let past = get("to=2000-01-01T00:00:00Z".into()).await;
    assert_eq!(past.body["items"].as_array().unwrap().len(), 0);
    let all = get("from=2000-01-01T00:00:00Z&to=2200-01-01T00:00:00Z".into()).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 4);
    let inverted = get("from=2200-01-01T00:00:00Z&to=2000-01-01T00:00:00Z".into()).await;
    inverted.expect(422);
    assert_eq!(inverted.invalid_fields(), ["from"]);

    let first = get("limit=3".into()).await;
    assert_eq!(first.body["items"].as_array().unwrap().len(), 3);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let second = get(format!("limit=3&cursor={cursor}")).await;
    let items = second.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["summary"], "changed website");
    assert!(second.body["next_cursor"].is_null());
}
db_test!(the_audit_log_filters_by_resource_actor_and_time_and_pages);
