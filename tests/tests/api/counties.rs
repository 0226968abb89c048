use crate::db_test;
use crate::support::TestApp;

async fn the_15_counties_are_listed_in_order(app: TestApp) {
    let reply = app.get("/api/v1/counties").await;
    reply.expect(200);
    let items = reply.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 15);
    assert_eq!(reply.body["next_cursor"], serde_json::Value::Null);
    let numbers: Vec<&str> = items
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted);
    let total: u64 = items
        .iter()
        .map(|c| c["municipality_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 357);
}
db_test!(the_15_counties_are_listed_in_order);

async fn counties_page_with_a_cursor(app: TestApp) {
    let first = app.get("/api/v1/counties?limit=10").await;
    first.expect(200);
    assert_eq!(first.body["items"].as_array().unwrap().len(), 10);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/api/v1/counties?limit=10&cursor={cursor}"))
        .await;
    second.expect(200);
    assert_eq!(second.body["items"].as_array().unwrap().len(), 5);
    assert_eq!(second.body["items"][0]["number"], "42");
    assert!(second.body["next_cursor"].is_null());
}
db_test!(counties_page_with_a_cursor);

async fn a_county_is_read_by_number(app: TestApp) {
    let nordland = app.get("/api/v1/counties/18").await;
    nordland.expect(200);
    assert_eq!(nordland.body["name"], "Nordland");
    assert_eq!(nordland.body["official_name"], "Nordland - Nordlánnda");
    assert_eq!(nordland.body["municipality_count"], 41);
    app.get("/api/v1/counties/99").await.expect(404);
    app.get("/api/v1/counties/oslo").await.expect(404);
}
db_test!(a_county_is_read_by_number);
