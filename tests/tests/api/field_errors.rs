//! A refused request names what it is about: every field of a body that breaks the operation's
//! schema (by its JSON path, with what was expected), every parameter and header that did not
//! parse; and nothing is stored.

use poem::http::Method;
use serde_json::{Value, json};

use crate::db_test;
use crate::support::{Reply, TestApp};

/// `(field, message)` of each entry of a problem's `errors`, sorted.
fn errors(reply: &Reply) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = reply.body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors list: {}", reply.text))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    found
}

fn pair(field: &str, message: &str) -> (String, String) {
    (field.to_string(), message.to_string())
}

async fn create_location(app: &TestApp, token: &str, body: Value) -> Reply {
    app.call(Method::POST, "/api/v1/locations")
        .bearer(token)
        .json(body)
        .send()
        .await
}

async fn a_body_missing_fields_is_a_422_naming_each_one(app: TestApp) {
    let oslo = app.municipality("0301");
    let reply = create_location(
        &app,
        &oslo,
        json!({"municipality_number": "0301", "host_type": "library"}),
    )
    .await;
    reply.expect(422);
    assert_eq!(reply.body["type"], "/problems/validation");
    assert_eq!(
        errors(&reply),
        [
            pair("address", "is required"),
            pair("latitude", "is required"),
            pair("longitude", "is required"),
            pair("name", "is required"),
            pair("service_modes", "is required"),
        ]
    );
    assert_eq!(app.count("locations").await, 0);
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(a_body_missing_fields_is_a_422_naming_each_one);

async fn wrong_types_nulls_unknown_fields_and_enum_values_are_named_by_their_path(app: TestApp) {
    let oslo = app.municipality("0301");
    let reply = create_location(
        &app,
        &oslo,
        json!({
            "municipality_number": "0301",
            "name": 5,
            "host_type": "castle",
            "address": {"street": "Storgata 1", "postal_code": 556, "postal_place": "Oslo", "floor": 2},
            "latitude": "north",
            "longitude": 10.75,
            "service_modes": ["drop_in", "by_pigeon"],
            "opens_on_holidays": null,
            "colour": "red"
        }),
    )
    .await;
    reply.expect(422);
    let found = errors(&reply);
    for expected in [
        pair("name", "must be a string"),
        pair("address.postal_code", "must be a string"),
        pair("address.floor", "is not a field of this body"),
        pair("latitude", "must be a number"),
        pair("opens_on_holidays", "must not be null"),
        pair("colour", "is not a field of this body"),
    ] {
        assert!(found.contains(&expected), "{expected:?} not in {found:?}");
    }
    // An unknown enum value lists the values there are.
    let host_type = found
        .iter()
        .find(|(field, _)| field == "host_type")
        .unwrap();
    assert!(
        host_type.1.starts_with("must be one of: ") && host_type.1.contains("library"),
        "{host_type:?}"
    );
    assert!(
        found
            .iter()
            .any(|(field, message)| field == "service_modes[1]" && message.contains("drop_in")),
        "{found:?}"
    );
    assert_eq!(app.count("locations").await, 0);
}
db_test!(wrong_types_nulls_unknown_fields_and_enum_values_are_named_by_their_path);

async fn opening_hours_name_the_rule_and_the_missing_flag(app: TestApp) {
    let oslo = app.municipality("0301");
    let created = create_location(
        &app,
        &oslo,
        json!({
            "municipality_number": "0301",
            "name": "Deichman Grünerløkka",
            "host_type": "library",
            "address": {"street": "Schleppegrells gate 10", "postal_code": "0556", "postal_place": "Oslo"},
            "latitude": 59.9268,
            "longitude": 10.7589,
            "service_modes": ["drop_in"]
        }),
    )
    .await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap();
    let reply = app
        .call(Method::PUT, &format!("/api/v1/locations/{id}/opening-hours"))
        .bearer(&oslo)
        .if_match(Some("\"1\""))
        .json(json!({
            "rules": [
                {"weekday": "monday", "opens": "10:00", "closes": "12:00", "service_mode": "drop_in"},
                {"weekday": "someday", "opens": "10:00", "closes": "12:00", "service_mode": "drop_in"},
                {"weekday": "friday", "opens": "10:00", "service_mode": "drop_in", "valid_from": "2027-02-30x"}
            ]
        }))
        .send()
        .await;
    reply.expect(422);
    let found = errors(&reply);
    assert!(found.contains(&pair("opens_on_holidays", "is required")));
    assert!(found.contains(&pair("rules[2].closes", "is required")));
    assert!(found.contains(&pair("rules[2].valid_from", "must be a date (YYYY-MM-DD)")));
    assert!(
        found
            .iter()
            .any(|(field, message)| field == "rules[1].weekday" && message.contains("monday")),
        "{found:?}"
    );
    assert!(!found.iter().any(|(field, _)| field.starts_with("rules[0]")));
    let hours = app
        .get(&format!("/api/v1/locations/{id}/opening-hours"))
        .await;
    assert_eq!(hours.body["rules"], json!([]));
    assert_eq!(app.count("audit_entries").await, 1);
}
db_test!(opening_hours_name_the_rule_and_the_missing_flag);

async fn broken_json_is_a_400_with_its_line_and_column(app: TestApp) {
    let reply = app
        .call(Method::POST, "/api/v1/tickets")
        .bearer(&app.municipality("0301"))
        .raw(
            "application/json",
            "{\"subject\": \"Hjelp\",\n \"body\": \"x\",\n \"category\": }",
        )
        .send()
        .await;
    reply.expect(400);
    let found = errors(&reply);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "body");
    assert!(found[0].1.contains("line 3"), "{found:?}");
    assert_eq!(app.count("tickets").await, 0);
}
db_test!(broken_json_is_a_400_with_its_line_and_column);

async fn parameters_and_path_ids_that_do_not_parse_are_named(app: TestApp) {
    for (query, field) in [
        ("limit=abc", "limit"),
        ("limit=500", "limit"),
        ("has_digihjelp=maybe", "has_digihjelp"),
    ] {
        let reply = app.get(&format!("/api/v1/municipalities?{query}")).await;
        reply.expect(400);
        assert_eq!(reply.invalid_fields(), [field], "{query}: {}", reply.text);
    }
    let reply = app.get("/api/v1/locations/not-a-uuid").await;
    reply.expect(400);
    assert_eq!(reply.invalid_fields(), ["id"]);
    let reply = app
        .call(Method::POST, "/api/v1/tickets")
        .bearer(&app.municipality("0301"))
        .idempotency_key(Some("nøkkel"))
        .json(json!({"subject": "Hjelp", "body": "x", "category": "other"}))
        .send()
        .await;
    reply.expect(400);
    assert_eq!(reply.invalid_fields(), ["Idempotency-Key"]);
    assert_eq!(app.count("tickets").await, 0);
}
db_test!(parameters_and_path_ids_that_do_not_parse_are_named);

/// `components.schemas` of the served document, `$ref`s followed.
fn resolve<'a>(spec: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(target) = schema["$ref"].as_str() {
        schema = &spec["components"]["schemas"][target.rsplit('/').next().unwrap()];
    }
    schema
}

async fn every_body_of_the_spec_names_its_required_and_unknown_fields(app: TestApp) {
    let spec = app.get("/openapi.json").await.body;
    let ks = app.ks();
    let mut checked = 0;
    for (path, methods) in spec["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let Some(schema) =
                operation["requestBody"]["content"]["application/json"].get("schema")
            else {
                continue;
            };
            let schema = resolve(&spec, schema);
            let required: Vec<String> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|name| name.as_str().unwrap().to_string())
                .collect();
            // Any well-formed value will do: the body is read before the path is looked up.
            let url = path
                .replace("{number}", "0301")
                .replace("{slug}", "getting-online")
                .replace("{id}", "0195f4c2-7d1c-7a4e-9b1a-3f2e1d0c9b8a")
                .replace("{registration_id}", "0195f4c2-7d1c-7a4e-9b1a-3f2e1d0c9b8b")
                .replace("{exception_id}", "0195f4c2-7d1c-7a4e-9b1a-3f2e1d0c9b8c");
            let send = |body: Value| {
                app.call(method.to_uppercase().parse().unwrap(), &url)
                    .bearer(&ks)
                    .if_match(Some("\"1\""))
                    .json(body)
                    .send()
            };
            let operation_id = operation["operationId"].as_str().unwrap();
            if !required.is_empty() {
                let reply = send(json!({})).await;
                assert_eq!(reply.status, 422, "{operation_id}: {}", reply.text);
                let mut named = reply.invalid_fields();
                named.sort();
                let mut expected = required.clone();
                expected.sort();
                assert_eq!(named, expected, "{operation_id}");
            }
            let reply = send(json!({"no_such_field": 1})).await;
            assert_eq!(reply.status, 422, "{operation_id}: {}", reply.text);
            let mut named = reply.invalid_fields();
            named.sort();
            let mut expected = required;
            expected.push("no_such_field".to_string());
            expected.sort();
            assert_eq!(named, expected, "{operation_id}");
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} operations with a body");
    for table in ["locations", "tickets", "grant_schemes", "meeting_places"] {
        assert_eq!(app.count(table).await, 0, "{table}");
    }
    assert_eq!(app.count("audit_entries").await, 0);
}
db_test!(every_body_of_the_spec_names_its_required_and_unknown_fields);
