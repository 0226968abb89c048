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
        for value in schema["enum"].as_array().into_iter().flatten() {
            assert!(snake(value.as_str().unwrap()), "{name}: {value}");
        }
    }
}
