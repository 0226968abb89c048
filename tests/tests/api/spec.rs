//! The committed `openapi.json` is the contract: it must match the code exactly.

use serde_json::Value;

fn spec() -> Value {
    serde_json::from_str(&digihjelpen::app::spec()).unwrap()
}

#[test]
fn the_committed_openapi_json_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json"))
            .expect("openapi.json is committed at the repository root");
    assert!(
        committed == digihjelpen::app::spec(),
        "openapi.json is out of date: run `cargo run -p digihjelpen -- openapi > openapi.json`"
    );
}

#[test]
fn the_service_builds_into_an_endpoint() {
    // Duplicate operation ids only panic when the service becomes an endpoint.
    let _ = poem::Route::new().nest("/", digihjelpen::app::api_service());
}

#[test]
fn every_operation_is_documented_and_errors_use_the_problem_schema() {
    let spec = spec();
    let tags: Vec<&str> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert!(t["description"].is_string(), "tag without description: {t}");
            t["name"].as_str().unwrap()
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no operationId"));
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(operation["summary"].is_string(), "{name}: no summary");
            let tag = operation["tags"][0]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no tag"));
            assert!(tags.contains(&tag), "{name}: undeclared tag {tag}");
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/ProblemDetails",
                        "{name} {status}"
                    );
                }
            }
            let protected = operation.get("security").is_some();
            let documents_401 = operation["responses"].get("401").is_some();
            assert_eq!(
                protected, documents_401,
                "{name}: security and 401 disagree"
            );
            if path.starts_with("/api/") {
                assert!(
                    operation["responses"].get("500").is_some(),
                    "{name}: no 500"
                );
            }
        }
    }
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
}

#[test]
fn fields_and_enum_values_are_snake_case() {
    let spec = spec();
    let snake = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        for field in schema["properties"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.keys())
        {
            assert!(snake(field) || field == "type", "{name}.{field}");
        }
        // Problem codes are spelled as the last segment of their type URI
        // (`capacity-exceeded`, `/problems/capacity-exceeded`).
        let kebab = name == "ProblemCode";
        for value in schema["enum"].as_array().into_iter().flatten() {
            let value = value.as_str().unwrap();
            let as_snake = if kebab {
                value.replace('-', "_")
            } else {
                value.to_string()
            };
            assert!(snake(&as_snake), "{name}: {value}");
        }
    }
}

#[test]
fn the_spec_states_what_clients_need_to_generate_working_code() {
    let spec = spec();
    let text = spec.to_string();
    assert!(!text.contains("naive-date"), "dates must be `format: date`");
    assert!(spec["info"]["contact"]["name"].is_string());
    assert!(!spec["servers"].as_array().unwrap().is_empty());
    let schemas = &spec["components"]["schemas"];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(
                operation["description"].is_string(),
                "{name}: no description"
            );
            let responses = operation["responses"].as_object().unwrap();
            if method != "get" {
                assert!(
                    !responses.contains_key("304"),
                    "{name}: a write never answers 304"
                );
            }
            if let Some(body) = operation.get("requestBody") {
                assert!(responses.contains_key("415"), "{name}: no 415");
                let target = body["content"]["application/json"]["schema"]["$ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: body without a schema $ref"));
                let schema = &schemas[target.trim_start_matches("#/components/schemas/")];
                assert_eq!(schema["additionalProperties"], false, "{name}: open body");
                assert!(
                    schema["example"].is_object(),
                    "{name}: body without example"
                );
                if method == "patch" {
                    assert_eq!(schema["minProperties"], 1, "{name}: empty change allowed");
                }
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                match parameter["name"].as_str().unwrap() {
                    "If-Match" => assert_eq!(parameter["required"], true, "{name}"),
                    "Idempotency-Key" => {
                        assert!(
                            parameter["schema"]["pattern"]
                                .as_str()
                                .unwrap()
                                .contains("{1,255}"),
                            "{name}"
                        )
                    }
                    "county" | "municipality" | "language" if parameter["in"] == "query" => {
                        assert!(parameter["schema"]["pattern"].is_string(), "{name}")
                    }
                    _ => {}
                }
            }
        }
    }
    // A nullable or described reference is `allOf: [{$ref}]` with no type-less part.
    fn check_refs(value: &Value, at: &str) {
        match value {
            Value::Object(map) => {
                if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
                    assert!(
                        parts.iter().all(|p| p.get("$ref").is_some()),
                        "{at}: type-less allOf part"
                    );
                }
                for (key, inner) in map {
                    check_refs(inner, &format!("{at}.{key}"));
                }
            }
            Value::Array(items) => items.iter().for_each(|v| check_refs(v, at)),
            _ => {}
        }
    }
    check_refs(schemas, "components.schemas");
}

#[test]
fn query_patterns_match_what_the_server_accepts() {
    let spec = spec();
    let parameter = |path: &str, name: &str| -> String {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]["pattern"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let language = parameter("/api/v1/locations", "language");
    assert!(language.contains("|nb|") && language.contains("|se|") && !language.contains("xx"));
    let known = parameter("/api/v1/municipalities", "county");
    assert_eq!(known.matches('|').count(), 14, "the 15 counties of 2024");
}
