//! The languages the API takes, with their names in the three written standards.

use poem::http::Method;
use serde_json::Value;

use crate::db_test;
use crate::support::TestApp;

async fn every_offered_language_is_listed_once_with_its_three_names(app: TestApp) {
    let mut codes = Vec::new();
    let mut path = "/api/v1/languages?limit=20".to_string();
    loop {
        let page = app.get(&path).await;
        page.expect(200);
        assert_eq!(page.header("cache-control"), Some("public, max-age=5"));
        for language in page.body["items"].as_array().unwrap() {
            for name in ["name_nb", "name_nn", "name_en"] {
                assert!(!language[name].as_str().unwrap().is_empty(), "{language}");
            }
            codes.push(language["code"].as_str().unwrap().to_string());
        }
        match &page.body["next_cursor"] {
            Value::String(cursor) => path = format!("/api/v1/languages?limit=20&cursor={cursor}"),
            _ => break,
        }
    }
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted, "by code, each once");
    for code in [
        "nb", "nn", "se", "smj", "sma", "fkv", "nsl", "rom", "ur", "ti", "so", "pl", "ar", "fa",
        "prs", "ps", "uk", "ru",
    ] {
        assert!(codes.iter().any(|c| c == code), "{code} is offered");
    }
    let first = app.get("/api/v1/languages?limit=200").await;
    let sami = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "se")
        .unwrap()
        .clone();
    assert_eq!(sami["name_en"], "Northern Sámi");
    assert_eq!(sami["name_nb"], "nordsamisk");
    // Every code listed is one a location takes.
    assert_eq!(first.body["items"].as_array().unwrap().len(), codes.len());
}

db_test!(every_offered_language_is_listed_once_with_its_three_names);

async fn bad_paging_of_the_languages_is_refused(app: TestApp) {
    for query in ["limit=0", "limit=201", "limit=x", "cursor=not-one-of-ours"] {
        let reply = app
            .call(Method::GET, &format!("/api/v1/languages?{query}"))
            .send()
            .await;
        reply.expect(400);
    }
}
db_test!(bad_paging_of_the_languages_is_refused);

async fn three_letter_codes_are_stored_on_locations_and_resources(app: TestApp) {
    let mut body = crate::locations::deichman();
    body["languages"] = serde_json::json!(["nb", "smj", "fkv", "nsl"]);
    let id = crate::locations::create_ok(&app, body).await;
    let read = app.get(&format!("/api/v1/locations/{id}")).await;
    read.expect(200);
    let mut codes: Vec<&str> = read.body["languages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, ["fkv", "nb", "nsl", "smj"]);
    let resource = crate::helpers::post(
        &app,
        &app.ks(),
        "/api/v1/topics/buying-equipment/resources",
        None,
        serde_json::json!({
            "url": "https://www.romanifolket.no/veiledning",
            "languages": ["rmu", "rmy"],
            "format": "video",
            "publisher": "HK-dir",
            "title": "Kjøpe mobil og PC",
        }),
    )
    .await;
    resource.expect(201);
    assert_eq!(
        resource.body["languages"],
        serde_json::json!(["rmu", "rmy"])
    );
}
db_test!(three_letter_codes_are_stored_on_locations_and_resources);
