//! Coverage statistics against hand-counted fixtures, as JSON and as CSV.

use poem::http::Method;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::db_test;
use crate::grants::{apply_ok, approval, decide, kmd_patch, open_scheme, rejection};
use crate::helpers::{id_of, patch, post};
use crate::locations::{create_ok, location_at};
use crate::support::{Reply, TestApp};

/// Keeps only the counties 03, 11 and 46 and the municipalities 0301, 1101, 1103, 1108,
/// 4601 and 4602, so every figure can be counted by hand.
async fn small_country(app: &TestApp) {
    for sql in [
        "DELETE FROM municipalities \
         WHERE number NOT IN ('0301', '1101', '1103', '1108', '4601', '4602')",
        "DELETE FROM counties WHERE number NOT IN ('03', '11', '46')",
    ] {
        app.db.execute_unprepared(sql).await.unwrap();
    }
}

async fn location(app: &TestApp, municipality: &str, status: &str) {
    let mut body = location_at(
        municipality,
        &format!("Digihjelpen {municipality} {status}"),
        60.0,
        10.0,
    );
    body["status"] = json!(status);
    create_ok(app, body).await;
}

/// A ticket of `municipality`, brought to `status` by KS.
async fn ticket(app: &TestApp, municipality: &str, status: &str) {
    let body = json!({
        "subject": "Tilskudd",
        "body": "Gjelder tilskuddet lønn?",
        "category": "grants",
    });
    let token = app.municipality(municipality);
    let created = post(app, &token, "/api/v1/tickets", None, body).await;
    created.expect(201);
    if status != "new" {
        let path = format!("/api/v1/tickets/{}", id_of(&created.body));
        let change = json!({"status": status});
        patch(app, Some(&app.ks()), &path, Some("\"1\""), change)
            .await
            .expect(200);
    }
}

/// The hand-counted fixture:
/// - locations: 0301 active; 1103 temporarily closed; 1108 inactive only; 4601 active and
///   inactive. With an offer: 0301, 1103, 4601.
/// - a 2025 scheme: 0301 and 1108 approved, 1103 rejected, 4602 withdrawn; a 2027 scheme:
///   4601 approved, 1101 still submitted.
/// - tickets: 0301 new and resolved; 1108 closed and waiting on the municipality; 4601 open;
///   1101 resolved. Open: 0301, 1108 and 4601 one each.
async fn fixture(app: &TestApp) {
    small_country(app).await;
    location(app, "0301", "active").await;
    location(app, "1103", "temporarily_closed").await;
    location(app, "1108", "inactive").await;
    location(app, "4601", "active").await;
    location(app, "4601", "inactive").await;

    let kmd = app.kmd();
    let first = open_scheme(app, 2025, 1_000_000).await;
    let oslo = apply_ok(app, &first, "0301", 100_000).await;
    let sandnes = apply_ok(app, &first, "1108", 200_000).await;
    let stavanger = apply_ok(app, &first, "1103", 50_000).await;
    let kinn = apply_ok(app, &first, "4602", 10_000).await;
    app.call(
        Method::POST,
        &format!("/api/v1/grant-applications/{kinn}/withdraw"),
    )
    .bearer(&app.municipality("4602"))
    .header("if-match", "\"1\"")
    .send()
    .await
    .expect(200);
    kmd_patch(app, &first, json!({"status": "closed"}))
        .await
        .expect(200);
    decide(app, &kmd, &oslo, Some("\"1\""), approval(100_000))
        .await
        .expect(200);
    decide(app, &kmd, &sandnes, Some("\"1\""), approval(150_000))
        .await
        .expect(200);
    decide(app, &kmd, &stavanger, Some("\"1\""), rejection())
        .await
        .expect(200);

    let second = open_scheme(app, 2027, 1_000_000).await;
    let bergen = apply_ok(app, &second, "4601", 300_000).await;
    apply_ok(app, &second, "1101", 20_000).await;
    kmd_patch(app, &second, json!({"status": "closed"}))
        .await
        .expect(200);
    decide(app, &kmd, &bergen, Some("\"1\""), approval(300_000))
        .await
        .expect(200);

    ticket(app, "0301", "new").await;
    ticket(app, "0301", "resolved").await;
    ticket(app, "1108", "closed").await;
    ticket(app, "1108", "waiting_on_municipality").await;
    ticket(app, "4601", "open").await;
    ticket(app, "1101", "resolved").await;
}

fn row(number: &str, name: &str, figures: Value) -> Value {
    let mut row = figures;
    row["county_number"] = json!(number);
    row["county_name"] = json!(name);
    row
}

#[allow(clippy::too_many_arguments)]
fn figures(
    municipalities: u32,
    with_offer: u32,
    share: f64,
    funded: u32,
    funded_without_offer: u32,
    open_tickets: u32,
    without_offer: &[&str],
) -> Value {
    json!({
        "municipalities": municipalities,
        "with_offer": with_offer,
        "offer_share_percent": share,
        "funded": funded,
        "funded_without_offer": funded_without_offer,
        "open_tickets": open_tickets,
        "without_offer": without_offer,
    })
}

async fn coverage(app: &TestApp, query: &str, accept: Option<&str>) -> Reply {
    let mut call = app.call(Method::GET, &format!("/api/v1/statistics/coverage{query}"));
    if let Some(accept) = accept {
        call = call.header("accept", accept);
    }
    call.send().await
}

async fn coverage_matches_the_hand_counted_fixture(app: TestApp) {
    fixture(&app).await;
    let reply = coverage(&app, "?year=2026", None).await;
    reply.expect(200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(reply.header("vary"), Some("Accept"));
    assert_eq!(
        reply.body,
        json!({
            "year": 2026,
            "national": figures(6, 3, 50.0, 2, 1, 3, &["1101", "1108", "4602"]),
            "counties": [
                row("03", "Oslo", figures(1, 1, 100.0, 1, 0, 1, &[])),
                row("11", "Rogaland", figures(3, 1, 33.3, 1, 1, 1, &["1101", "1108"])),
                row("46", "Vestland", figures(2, 1, 50.0, 0, 0, 1, &["4602"])),
            ],
        })
    );
    // 2027 counts Bergen's grant from the 2027 scheme; 2024 counts none.
    let later = coverage(&app, "?year=2027", None).await;
    assert_eq!(
        later.body["counties"][2],
        row("46", "Vestland", figures(2, 1, 50.0, 1, 0, 1, &["4602"]))
    );
    assert_eq!(
        later.body["national"],
        figures(6, 3, 50.0, 3, 1, 3, &["1101", "1108", "4602"])
    );
    let earlier = coverage(&app, "?year=2024", None).await;
    assert_eq!(
        earlier.body["national"],
        figures(6, 3, 50.0, 0, 0, 3, &["1101", "1108", "4602"])
    );
    // Without a year: the current one in Norway.
    // (Norway is one or two hours ahead of UTC.)
    let year = coverage(&app, "", None).await.body["year"]
        .as_i64()
        .unwrap();
    let ahead = |hours| {
        chrono::Datelike::year(&(chrono::Utc::now() + chrono::Duration::hours(hours))) as i64
    };
    assert!([ahead(1), ahead(2)].contains(&year), "{year}");

    // The offer follows has_digihjelp: Sandnes, with an inactive location only, has none.
    let sandnes = app.get("/api/v1/municipalities/1108").await;
    assert_eq!(sandnes.body["has_digihjelp"], false);
    let stavanger = app.get("/api/v1/municipalities/1103").await;
    assert_eq!(stavanger.body["has_digihjelp"], true);
}
db_test!(coverage_matches_the_hand_counted_fixture);

async fn coverage_as_csv_is_one_row_per_county_and_a_national_row(app: TestApp) {
    fixture(&app).await;
    let reply = coverage(&app, "?year=2026", Some("text/csv")).await;
    reply.expect(200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(reply.header("vary"), Some("Accept"));
    assert_eq!(
        reply.text,
        "county_number,county_name,municipalities,with_offer,offer_share_percent,\
         funded,funded_without_offer,open_tickets,without_offer\r\n\
         03,Oslo,1,1,100.0,1,0,1,\r\n\
         11,Rogaland,3,1,33.3,1,1,1,1101 1108\r\n\
         46,Vestland,2,1,50.0,0,0,1,4602\r\n\
         ,Hele landet,6,3,50.0,2,1,3,1101 1108 4602\r\n"
    );
    // A preference for CSV by quality, or text/*, also gives CSV.
    for accept in ["application/json;q=0.5, text/csv", "text/*"] {
        let csv = coverage(&app, "?year=2026", Some(accept)).await;
        assert_eq!(csv.text, reply.text, "{accept}");
    }
}
db_test!(coverage_as_csv_is_one_row_per_county_and_a_national_row);

async fn coverage_covers_every_municipality_and_refuses_what_it_cannot_serve(app: TestApp) {
    // The full reference data, with no offer anywhere yet.
    let reply = coverage(&app, "?year=2027", Some("application/json")).await;
    reply.expect(200);
    let national = &reply.body["national"];
    assert_eq!(national["municipalities"], 357);
    assert_eq!(national["with_offer"], 0);
    assert_eq!(national["offer_share_percent"], 0.0);
    assert_eq!(national["without_offer"].as_array().unwrap().len(), 357);
    let counties = reply.body["counties"].as_array().unwrap();
    assert_eq!(counties.len(), 15);
    let sum: u64 = counties
        .iter()
        .map(|c| c["municipalities"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 357);
    assert_eq!(counties[0]["county_number"], "03");
    assert_eq!(counties[0]["without_offer"], json!(["0301"]));
    for accept in ["*/*", "application/*", "application/json, text/csv;q=0.9"] {
        let json = coverage(&app, "?year=2027", Some(accept)).await;
        assert_eq!(
            json.header("content-type"),
            Some("application/json; charset=utf-8"),
            "{accept}"
        );
    }
    // An Accept that allows neither JSON nor CSV: 406 problem+json.
    for accept in [
        "text/html",
        "application/xml, text/plain;q=0.5",
        "text/csv;q=0",
        "application/json;q=0",
    ] {
        let refused = coverage(&app, "?year=2027", Some(accept)).await;
        refused.expect(406);
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap()
                .contains("text/csv"),
            "{accept}"
        );
    }
    for bad in ["?year=2016", "?year=2101", "?year=abc", "?year=2027.5"] {
        coverage(&app, bad, None).await.expect(400);
    }
}
db_test!(coverage_covers_every_municipality_and_refuses_what_it_cannot_serve);

#[test]
fn the_spec_documents_both_media_types_and_the_406() {
    let spec: Value = serde_json::from_str(&digihjelpen::app::spec()).unwrap();
    let responses = &spec["paths"]["/api/v1/statistics/coverage"]["get"]["responses"];
    let content = responses["200"]["content"].as_object().unwrap();
    let types: Vec<&str> = content.keys().map(String::as_str).collect();
    assert_eq!(types, ["application/json", "text/csv"]);
    assert_eq!(
        content["application/json"]["schema"]["$ref"],
        "#/components/schemas/Coverage"
    );
    assert_eq!(content["text/csv"]["schema"]["type"], "string");
    assert!(responses["406"]["content"]["application/problem+json"].is_object());
    let deadline = &spec["components"]["schemas"]["GrantScheme"]["properties"]["deadline"];
    assert_eq!(deadline["format"], "date-time");
}
