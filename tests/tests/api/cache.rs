//! Anonymous public reads answered from memory: never older than what any instance
//! committed, never for authenticated callers, and `Cache-Control` on every kind of answer.

use poem::http::Method;
use serde_json::json;

use crate::db_test;
use crate::locations::{create_ok, deichman};
use crate::support::TestApp;

async fn a_write_through_one_instance_is_read_at_once_through_another(app: TestApp) {
    let second = app.another_instance().await;
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    let list = "/api/v1/locations?municipality=0301";
    // The second instance keeps both answers...
    for _ in 0..2 {
        assert_eq!(second.get(&path).await.body["name"], "Deichman Grünerløkka");
        assert_eq!(
            second.get(list).await.body["items"][0]["name"],
            "Deichman Grünerløkka"
        );
    }
    // ...and a change committed through the first is what it answers next.
    app.call(Method::PATCH, &path)
        .bearer(&app.ks())
        .if_match(Some("\"1\""))
        .json(json!({"name": "Deichman Grünerløkka bibliotek"}))
        .send()
        .await
        .expect(200);
    let read = second.get(&path).await;
    read.expect(200);
    assert_eq!(read.body["name"], "Deichman Grünerløkka bibliotek");
    assert_eq!(read.header("etag"), Some("\"2\""));
    assert_eq!(
        second.get(list).await.body["items"][0]["name"],
        "Deichman Grünerløkka bibliotek"
    );
    // A deletion too.
    app.call(Method::DELETE, &path)
        .bearer(&app.ks())
        .if_match(Some("\"2\""))
        .send()
        .await
        .expect(204);
    second.get(&path).await.expect(404);
    assert_eq!(second.get(list).await.body["items"], json!([]));
}
db_test!(a_write_through_one_instance_is_read_at_once_through_another);

async fn authenticated_reads_never_come_from_the_cache(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    assert_eq!(app.get(&path).await.body["name"], "Deichman Grünerløkka");
    // Written behind the API's back: no write transaction bumps the change counter, so
    // the anonymous copy stays as kept, while a caller with a token reads the database.
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        // By name: the id's storage differs between the databases.
        "UPDATE locations SET name = 'Skrevet direkte' WHERE name = 'Deichman Grünerløkka'",
    )
    .await
    .unwrap();
    assert_eq!(app.get(&path).await.body["name"], "Deichman Grünerløkka");
    for token in [app.ks(), app.municipality("0301"), app.municipality("1103")] {
        let read = app.call(Method::GET, &path).bearer(&token).send().await;
        read.expect(200);
        assert_eq!(read.body["name"], "Skrevet direkte");
        assert_eq!(read.header("cache-control"), Some("private, no-store"));
    }
}
db_test!(authenticated_reads_never_come_from_the_cache);

async fn every_kind_of_answer_says_how_it_may_be_cached(app: TestApp) {
    let id = create_ok(&app, deichman()).await;
    let path = format!("/api/v1/locations/{id}");
    let public = "public, max-age=5";
    let private = "private, no-store";
    let anonymous = app.get(&path).await;
    anonymous.expect(200);
    assert_eq!(anonymous.header("cache-control"), Some(public));
    let tag = anonymous.header("etag").unwrap().to_string();
    let revalidated = app
        .call(Method::GET, &path)
        .header("if-none-match", &tag)
        .send()
        .await;
    revalidated.expect(304);
    assert_eq!(revalidated.header("cache-control"), Some(public));
    assert_eq!(
        app.get("/api/v1/topics").await.header("cache-control"),
        Some(public)
    );

    let cases = [
        app.call(Method::GET, &path).bearer(&app.ks()).send().await,
        app.get("/api/v1/locations/0195c5a4-3b1e-7000-8000-000000000000")
            .await,
        app.get("/api/v1/locations?limit=0").await,
        app.get("/api/v1/audit").await,
        app.call(Method::POST, "/api/v1/locations")
            .bearer(&app.ks())
            .json(deichman())
            .send()
            .await,
        app.call(Method::PATCH, &path)
            .bearer(&app.ks())
            .if_match(Some("\"9\""))
            .json(json!({"name": "Ny"}))
            .send()
            .await,
    ];
    let statuses: Vec<u16> = cases.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [200, 404, 400, 401, 201, 412]);
    for reply in &cases {
        assert_eq!(
            reply.header("cache-control"),
            Some(private),
            "{}",
            reply.status
        );
    }
}
db_test!(every_kind_of_answer_says_how_it_may_be_cached);
