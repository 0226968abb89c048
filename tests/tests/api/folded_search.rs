//! Search finds what people type without Norwegian and Sámi letters, the same way for
//! locations, municipalities, topics and tickets, on rows stored before and after the
//! folded text was kept.

use serde_json::json;

use crate::db_test;
use crate::helpers::{field, names, post};
use crate::locations::{create_ok, location_at};
use crate::support::TestApp;

fn numbers(reply: &crate::support::Reply) -> Vec<String> {
    field(reply, "number")
}

async fn municipalities_are_found_as_typed_without_their_letters(app: TestApp) {
    for (typed, number) in [
        ("tromso", "5501"),
        ("karasjohka", "5610"),
        ("aalesund", "1508"),
        ("baerum", "3201"),
        ("BAERUM", "3201"),
        ("Bærum", "3201"),
    ] {
        let reply = app
            .get(&format!("/api/v1/municipalities?q={}", urlencoding(typed)))
            .await;
        reply.expect(200);
        assert_eq!(numbers(&reply), [number], "{typed}");
    }
    // Typed with the letter, it is that letter only: "bø" is not "bo".
    let bo = app.get("/api/v1/municipalities?q=b%C3%B8").await;
    assert_eq!(numbers(&bo), ["1867", "4613"]);
}
db_test!(municipalities_are_found_as_typed_without_their_letters);

async fn locations_are_found_as_typed_without_their_letters(app: TestApp) {
    create_ok(&app, location_at("5501", "Tromsø bibliotek", 69.65, 18.96)).await;
    create_ok(
        &app,
        location_at("5610", "Kárášjohka servicetorg", 69.47, 25.51),
    )
    .await;
    create_ok(&app, location_at("1508", "Ålesund bibliotek", 62.47, 6.15)).await;
    create_ok(
        &app,
        location_at("3201", "Bærum frivilligsentral", 59.89, 10.52),
    )
    .await;
    for (typed, name) in [
        ("tromso", "Tromsø bibliotek"),
        ("karasjohka", "Kárášjohka servicetorg"),
        ("aalesund", "Ålesund bibliotek"),
        ("baerum", "Bærum frivilligsentral"),
        ("T%C3%98RN", ""),
    ] {
        let reply = app.get(&format!("/api/v1/locations?q={typed}")).await;
        reply.expect(200);
        let expected: Vec<&str> = [name].into_iter().filter(|n| !n.is_empty()).collect();
        assert_eq!(names(&reply), expected, "{typed}");
    }
    let both = app.get("/api/v1/locations?q=bibliotek").await;
    assert_eq!(names(&both), ["Tromsø bibliotek", "Ålesund bibliotek"]);
    // A change of name is searched by its new spelling at once.
    let id = create_ok(&app, location_at("5501", "Mack", 69.65, 18.96)).await;
    crate::helpers::patch(
        &app,
        Some(&app.ks()),
        &format!("/api/v1/locations/{id}"),
        Some("\"1\""),
        json!({"name": "Tromsøysund kulturhus"}),
    )
    .await
    .expect(200);
    let renamed = app.get("/api/v1/locations?q=tromsoysund").await;
    assert_eq!(names(&renamed), ["Tromsøysund kulturhus"]);
}
db_test!(locations_are_found_as_typed_without_their_letters);

async fn topics_and_tickets_are_found_as_typed_without_their_letters(app: TestApp) {
    // A seeded topic says "trådløst nett".
    let topics = app.get("/api/v1/topics?q=traadlost").await;
    topics.expect(200);
    assert!(!field(&topics, "slug").is_empty());
    let with_letter = app.get("/api/v1/topics?q=tr%C3%A5dl%C3%B8st").await;
    assert_eq!(field(&with_letter, "slug"), field(&topics, "slug"));

    let token = app.municipality("5501");
    let created = post(
        &app,
        &token,
        "/api/v1/tickets",
        None,
        json!({
            "subject": "Søknad om tilskudd i Tromsø",
            "body": "Gjelder Kárášjohka også?",
            "category": "grants",
        }),
    )
    .await;
    created.expect(201);
    for typed in ["soknad", "tromso", "karasjohka", "S%C3%B8knad"] {
        let found = app
            .call(
                poem::http::Method::GET,
                &format!("/api/v1/tickets?q={typed}"),
            )
            .bearer(&app.ks())
            .send()
            .await;
        found.expect(200);
        assert_eq!(field(&found, "id").len(), 1, "{typed}");
    }
}
db_test!(topics_and_tickets_are_found_as_typed_without_their_letters);

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
