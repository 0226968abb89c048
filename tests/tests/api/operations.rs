use poem::http::Method;
use serde_json::json;

use crate::db_test;
use crate::support::TestApp;

async fn liveness_and_readiness_answer_ok(app: TestApp) {
    let live = app.get("/health/live").await;
    live.expect(200);
    assert_eq!(live.body, json!({"status": "ok"}));
    let ready = app.get("/health/ready").await;
    ready.expect(200);
    assert_eq!(
        ready.body,
        json!({"status": "ok", "identity_providers": []})
    );
}
db_test!(liveness_and_readiness_answer_ok);

async fn a_stopping_server_is_not_ready_at_once_but_still_answers(app: TestApp) {
    app.state.begin_stop();
    let ready = app.get("/health/ready").await;
    ready.expect(503);
    assert_eq!(ready.header("retry-after"), Some("1"));
    assert!(ready.body["detail"].as_str().unwrap().contains("stopping"));
    // Requests that reach it are still served while it drains.
    app.get("/health/live").await.expect(200);
    app.get("/api/v1/municipalities/0301").await.expect(200);
}
db_test!(a_stopping_server_is_not_ready_at_once_but_still_answers);

async fn without_a_database_readiness_and_reads_answer_503_problems(app: TestApp) {
    app.db.close_by_ref().await.unwrap();
    let ready = app.get("/health/ready").await;
    ready.expect(503);
    assert_eq!(ready.header("retry-after"), Some("1"));
    let read = app.get("/api/v1/municipalities").await;
    read.expect(503);
    // Every 503 says when to come back.
    assert_eq!(read.header("retry-after"), Some("1"));
    assert!(!read.text.to_lowercase().contains("sql"), "{}", read.text);
    // The process itself is still alive.
    app.get("/health/live").await.expect(200);
}
db_test!(without_a_database_readiness_and_reads_answer_503_problems);

async fn metrics_count_requests_by_route_template_without_ids(app: TestApp) {
    app.get("/api/v1/municipalities/0301").await.expect(200);
    app.get("/api/v1/municipalities/9999").await.expect(404);
    app.get("/no/such/route/1234").await.expect(404);
    let metrics = app.get("/metrics").await;
    metrics.expect(200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        metrics.text.contains(concat!(
            r#"http_requests_total{method="GET","#,
            r#"route="/api/v1/municipalities/{number}",status="200"} 1"#
        )),
        "{}",
        metrics.text
    );
    assert!(metrics.text.contains(concat!(
        r#"http_requests_total{method="GET","#,
        r#"route="/api/v1/municipalities/{number}",status="404"} 1"#
    )));
    assert!(metrics.text.contains(r#"route="unmatched",status="404""#));
    assert!(
        metrics
            .text
            .contains("http_request_duration_seconds_bucket")
    );
    for id in ["0301", "9999", "1234"] {
        assert!(
            !metrics.text.contains(id),
            "an id leaked into a label: {id}"
        );
    }
}
db_test!(metrics_count_requests_by_route_template_without_ids);

async fn docs_and_the_spec_are_served(app: TestApp) {
    let docs = app.get("/docs").await;
    docs.expect(200);
    assert!(
        docs.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let spec = app.get("/openapi.json").await;
    spec.expect(200);
    assert_eq!(spec.body["openapi"], "3.0.0");
    assert_eq!(spec.text, digihjelpen::app::spec());
}
db_test!(docs_and_the_spec_are_served);

async fn a_request_id_is_generated_or_echoed(app: TestApp) {
    let generated = app.get("/health/live").await;
    let id = generated.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let echoed = app
        .call(Method::GET, "/api/v1/counties/03")
        .header("x-request-id", "trace-42")
        .send()
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("trace-42"));
    let error = app
        .call(Method::GET, "/nowhere")
        .header("x-request-id", "trace-43")
        .send()
        .await;
    assert_eq!(error.header("x-request-id"), Some("trace-43"));
}
db_test!(a_request_id_is_generated_or_echoed);

async fn cors_allows_the_configured_origin_only(app: TestApp) {
    let allowed = app
        .call(Method::OPTIONS, "/api/v1/municipalities/0301")
        .header("origin", "https://digihjelpen.example")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "authorization, if-match")
        .send()
        .await;
    assert!(allowed.status.is_success(), "{:?}", allowed);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://digihjelpen.example")
    );
    let read = app
        .call(Method::GET, "/api/v1/counties")
        .header("origin", "https://digihjelpen.example")
        .send()
        .await;
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");
    let other = app
        .call(Method::GET, "/api/v1/counties")
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}
db_test!(cors_allows_the_configured_origin_only);

async fn invented_methods_never_add_a_metric_label(app: TestApp) {
    for name in ["BREW", "PROPFIND", &"X".repeat(200)] {
        let method = Method::from_bytes(name.as_bytes()).unwrap();
        let reply = app.call(method, "/api/v1/counties").send().await;
        assert!(reply.status.is_client_error(), "{name}: {:?}", reply.status);
    }
    let metrics = app.get("/metrics").await;
    metrics.expect(200);
    assert!(
        metrics.text.contains(r#"method="other""#),
        "{}",
        metrics.text
    );
    for name in ["BREW", "PROPFIND", "XXXXXXXX"] {
        assert!(!metrics.text.contains(name), "{name} became a label");
    }
}
db_test!(invented_methods_never_add_a_metric_label);

async fn every_answer_forbids_content_sniffing(app: TestApp) {
    for path in ["/api/v1/counties", "/api/v1/counties/99", "/no/such/route"] {
        let reply = app.get(path).await;
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
    }
}
db_test!(every_answer_forbids_content_sniffing);

async fn cors_answers_vary_by_origin_and_offer_only_the_api_methods(app: TestApp) {
    let read = app
        .call(Method::GET, "/api/v1/counties")
        .header("origin", "https://digihjelpen.example")
        .send()
        .await;
    let vary: Vec<&str> = read
        .headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(vary.iter().any(|v| v.contains("Origin")), "{vary:?}");
    let preflight = app
        .call(Method::OPTIONS, "/api/v1/locations")
        .header("origin", "https://digihjelpen.example")
        .header("access-control-request-method", "POST")
        .send()
        .await;
    assert!(preflight.status.is_success(), "{:?}", preflight);
    let offered = preflight
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_uppercase();
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        assert!(offered.contains(method), "{offered}");
    }
    for method in ["CONNECT", "TRACE"] {
        assert!(!offered.contains(method), "{offered}");
    }
    let trace = app
        .call(Method::OPTIONS, "/api/v1/locations")
        .header("origin", "https://digihjelpen.example")
        .header("access-control-request-method", "TRACE")
        .send()
        .await;
    assert!(!trace.status.is_success(), "{:?}", trace);
}
db_test!(cors_answers_vary_by_origin_and_offer_only_the_api_methods);
