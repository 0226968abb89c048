//! The OpenAPI document as committed in `openapi.json`: poem-openapi's rendering, finished
//! with what it cannot say by itself.

use serde_json::{Value, json};

use crate::http::middleware::EXPENSIVE_READS;

/// The committed form of a document poem-openapi rendered: bare media types (some client
/// generators want them as content keys) and [`complete`]'s additions, pretty-printed.
pub fn finish(rendered: &str) -> String {
    let mut spec: Value =
        serde_json::from_str(&rendered.replace("; charset=utf-8", "")).expect("valid JSON");
    complete(&mut spec);
    serde_json::to_string_pretty(&spec).expect("serialisable") + "\n"
}

/// What poem-openapi cannot say by itself, stated once for every operation:
///
/// - chrono's `NaiveDate` calls its format `naive-date`; on the wire it is an RFC 3339
///   full-date, which OpenAPI names `date`;
/// - request bodies refuse unknown fields (`deny_unknown_fields` on every request type), so
///   their schemas carry `additionalProperties: false`;
/// - an operation with a body answers 415 when the body is not JSON;
/// - `If-Match` is required where it is a parameter: the server answers 428 without it, so a
///   generated client should make callers pass it;
/// - `Idempotency-Key` is 1 to 255 visible ASCII characters;
/// - the body of a change (`update_*`) names at least one field;
/// - writes and the expensive reads are rate limited per client: 429 with `Retry-After`;
/// - the problem codes, each with its status and meaning, are listed on their enum;
/// - operations that anonymous callers may use and that show a verified caller more take
///   the bearer token optionally (`security: [{}, {bearer: []}]`); a token sent must verify.
pub fn complete(spec: &mut Value) {
    dates(spec);
    optional_security(spec);
    spec["components"]["schemas"]["ProblemCode"]["description"] = json!(format!(
        "What kind of refusal a problem is; stable, so clients may branch on it. Its page \
         is at `/problems/<code>`.\n\n{}",
        crate::http::problems::catalogue()
    ));
    nullable_refs(spec);
    rated(spec);
    let mut request_schemas = Vec::new();
    let mut patch_schemas = Vec::new();
    for operation in operations(spec) {
        if let Some(body) = operation.get("requestBody") {
            refs(body, &mut request_schemas);
            if operation
                .get("operationId")
                .and_then(Value::as_str)
                .is_some_and(|id| id.starts_with("update_"))
            {
                refs(body, &mut patch_schemas);
            }
            operation["responses"]["415"] = json!({
                "description": "The body is not `application/json`.",
                "content": {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/ProblemDetails"}
                }}
            });
        }
        headers(operation);
    }
    // A change names at least one field (the server answers `{}` with 422).
    for name in patch_schemas {
        spec["components"]["schemas"][&name]["minProperties"] = json!(1);
    }
    closed(spec, request_schemas);
}

/// 429 on the operations the edge rates (`http::middleware::Load`).
fn rated(spec: &mut Value) {
    let paths = spec["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|p| p.values_mut());
    for methods in paths.filter_map(Value::as_object_mut) {
        for (method, operation) in methods.iter_mut() {
            let id = operation["operationId"].as_str().unwrap_or_default();
            if method != "get" || EXPENSIVE_READS.contains(&id) {
                operation["responses"]["429"] = json!({
                    "description": "Too many requests from this client; retry after `Retry-After` seconds.",
                    "headers": {"Retry-After": {
                        "description": "Seconds to wait.",
                        "required": true,
                        "schema": {"type": "integer"}
                    }},
                    "content": {"application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/ProblemDetails"}
                    }}
                });
            }
        }
    }
}

/// Every operation of the document.
fn operations(spec: &mut Value) -> impl Iterator<Item = &mut serde_json::Map<String, Value>> {
    spec["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|path| path.values_mut())
        .filter_map(Value::as_object_mut)
}

/// `If-Match` required and not blank (a blank one counts as missing: 428); `Idempotency-Key`
/// with the rule of `idempotency::create_once`: 1 to 255 visible ASCII characters (HTTP drops
/// the spaces and tabs around a header value).
fn headers(operation: &mut serde_json::Map<String, Value>) {
    let parameters = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten();
    for parameter in parameters.filter(|p| p["in"] == "header") {
        if parameter["name"] == "If-Match" {
            parameter["required"] = json!(true);
            parameter["schema"]["pattern"] = json!("\\S");
        }
        if parameter["name"] == "Idempotency-Key" {
            parameter["schema"] = json!({
                "type": "string",
                "pattern": "^[ \t]*[!-~]{1,255}[ \t]*$"
            });
        }
    }
}

/// `additionalProperties: false` on the request types and the types nested in them.
fn closed(spec: &mut Value, mut request_schemas: Vec<String>) {
    let schemas = spec["components"]["schemas"].clone();
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = request_schemas.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        refs(&schemas[&name], &mut request_schemas);
        let schema = &mut spec["components"]["schemas"][&name];
        if schema["type"] == "object" {
            schema["additionalProperties"] = json!(false);
        }
    }
}

fn dates(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("format").and_then(Value::as_str) == Some("naive-date") {
                map.insert("format".into(), json!("date"));
            }
            map.values_mut().for_each(dates);
        }
        Value::Array(items) => items.iter_mut().for_each(dates),
        _ => {}
    }
}

/// The schema names `value` refers to.
fn refs(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(
                    target
                        .trim_start_matches("#/components/schemas/")
                        .to_string(),
                );
            }
            map.values().for_each(|v| refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
        _ => {}
    }
}

/// A described or nullable reference: poem-openapi adds a type-less part
/// (`{"description": ..., "nullable": true}`) beside the `$ref`, which validators and client
/// generators refuse; the same keys on the property itself say the same.
fn nullable_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(all_of)) = map.get_mut("allOf") {
                all_of.retain(|part| {
                    part.get("$ref").is_some()
                        || part.as_object().is_some_and(|keys| {
                            keys.keys().any(|k| k != "description" && k != "nullable")
                        })
                });
            }
            map.values_mut().for_each(nullable_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(nullable_refs),
        _ => {}
    }
}

/// The operations whose token is optional, by `operationId`.
const OPTIONAL_TOKEN: [&str; 1] = ["list_changes"];

fn optional_security(spec: &mut Value) {
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let optional = operation["operationId"]
            .as_str()
            .is_some_and(|id| OPTIONAL_TOKEN.contains(&id));
        if optional {
            operation["security"] = json!([{}, {"bearer": []}]);
        }
    }
}
