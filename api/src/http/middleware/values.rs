//! The edge rule for values the databases cannot hold ([`crate::http::bounds`]), applied to
//! every query parameter and every request body field of every operation, read once from the
//! OpenAPI document: a date or an instant outside the years 1900 to 2200, or a string with
//! NUL, is a 400 problem naming each such field before any handler runs.

use std::collections::HashMap;

use poem::Request;
use poem::http::Method;
use serde_json::Value;

use crate::http::bounds;
use crate::http::error::{ApiError, FieldError};

/// What the document says about each operation's query parameters and request body.
pub struct ValueRules {
    operations: Vec<Operation>,
    /// `components.schemas`, for resolving `$ref`s.
    schemas: Value,
}

struct Operation {
    method: Method,
    segments: Vec<String>,
    /// Query parameter name → the format of its values (`date`, `date-time`, or none).
    query: HashMap<String, Option<String>>,
    body: Option<Value>,
}

impl ValueRules {
    pub fn from_spec(spec: &Value) -> Self {
        let mut operations = Vec::new();
        for (path, methods) in spec["paths"].as_object().into_iter().flatten() {
            for (method, operation) in methods.as_object().into_iter().flatten() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else {
                    continue;
                };
                let query = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| {
                        let schema = &p["schema"];
                        let format = schema["format"]
                            .as_str()
                            .or_else(|| schema["items"]["format"].as_str());
                        Some((p["name"].as_str()?.to_string(), format.map(str::to_string)))
                    })
                    .collect();
                let body = operation["requestBody"]["content"]
                    .as_object()
                    .and_then(|content| content.values().next())
                    .map(|media| media["schema"].clone());
                operations.push(Operation {
                    method,
                    segments: path.split('/').map(str::to_string).collect(),
                    query,
                    body,
                });
            }
        }
        Self {
            operations,
            schemas: spec["components"]["schemas"].clone(),
        }
    }

    /// The operation a request is for: of the templates its path fits, the one with the most
    /// literal segments (`/tickets/statistics` before `/tickets/{id}`).
    fn operation(&self, method: &Method, path: &str) -> Option<&Operation> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.operations
            .iter()
            .filter(|op| op.method == method && op.segments.len() == segments.len())
            .filter(|op| {
                op.segments
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
            })
            .max_by_key(|op| op.segments.iter().filter(|p| !p.starts_with('{')).count())
    }

    /// Every query parameter and body field of `req` the databases could not hold, as one
    /// 400 naming each; the body is read from `body` (already buffered by the size limit).
    pub fn check(&self, req: &Request, body: Option<&[u8]>) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        let operation = self.operation(req.method(), req.uri().path());
        for (name, value) in url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        {
            let format = operation
                .and_then(|op| op.query.get(name.as_ref()))
                .and_then(Option::as_deref);
            if let Some(message) =
                bounds::refusal(&name, None).or_else(|| bounds::refusal(&value, format))
            {
                push(&mut errors, name.into_owned(), message);
            }
        }
        let is_json = req
            .headers()
            .get(poem::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("json"));
        // A body that is not JSON is left to the operation's parser (400 or 415).
        if let Some(value) = body
            .filter(|_| is_json)
            .and_then(|bytes| serde_json::from_slice::<Value>(bytes).ok())
        {
            let schema = operation.and_then(|op| op.body.as_ref());
            self.walk(schema, &value, String::new(), &mut errors);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::OutOfRange(errors))
        }
    }

    /// Checks `value` (at `field`) against what `schema` says of it and of its parts; parts
    /// the schema does not describe are still checked for NUL.
    fn walk(
        &self,
        schema: Option<&Value>,
        value: &Value,
        field: String,
        errors: &mut Vec<FieldError>,
    ) {
        let schemas = schema.map(|s| self.branches(s)).unwrap_or_default();
        match value {
            Value::String(text) => {
                let format = schemas.iter().find_map(|s| s["format"].as_str());
                if let Some(message) = bounds::refusal(text, format) {
                    push(errors, field, message);
                }
            }
            Value::Object(map) => {
                for (key, part) in map {
                    let name = if field.is_empty() {
                        key.clone()
                    } else {
                        format!("{field}.{key}")
                    };
                    if key.contains('\0') {
                        push(errors, name, "must not contain NUL characters".into());
                        continue;
                    }
                    let part_schema = schemas.iter().find_map(|s| s["properties"].get(key));
                    self.walk(part_schema, part, name, errors);
                }
            }
            Value::Array(items) => {
                let item_schema = schemas.iter().find_map(|s| s.get("items"));
                for (index, item) in items.iter().enumerate() {
                    self.walk(item_schema, item, format!("{field}[{index}]"), errors);
                }
            }
            _ => {}
        }
    }

    /// A schema with its `$ref`s resolved and its `allOf`/`anyOf`/`oneOf` branches spread.
    fn branches<'a>(&'a self, schema: &'a Value) -> Vec<&'a Value> {
        let mut found = Vec::new();
        let mut pending = vec![schema];
        while let Some(schema) = pending.pop() {
            if found.len() > 32 {
                break;
            }
            if let Some(target) = schema["$ref"].as_str() {
                let name = target.rsplit('/').next().unwrap_or_default();
                if let Some(resolved) = self.schemas.get(name) {
                    pending.push(resolved);
                }
                continue;
            }
            for combinator in ["allOf", "anyOf", "oneOf"] {
                pending.extend(schema[combinator].as_array().into_iter().flatten());
            }
            found.push(schema);
        }
        found
    }
}

fn push(errors: &mut Vec<FieldError>, field: String, message: String) {
    if !errors.iter().any(|e| e.field == field) {
        errors.push(FieldError::new(field, message));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules() -> ValueRules {
        ValueRules::from_spec(&json!({
            "paths": {
                "/api/v1/things": {"post": {
                    "parameters": [
                        {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                        {"name": "day", "in": "query", "schema": {"type": "string", "format": "naive-date"}}
                    ],
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewThing"}}}}
                }},
                "/api/v1/things/{id}": {"post": {
                    "parameters": [{"name": "from", "in": "query", "schema": {"type": "string"}}]
                }},
                "/api/v1/things/special": {"post": {
                    "parameters": [{"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}}]
                }}
            },
            "components": {"schemas": {
                "NewThing": {"type": "object", "properties": {
                    "starts_at": {"type": "string", "format": "date-time"},
                    "note": {"type": "string"},
                    "days": {"type": "array", "items": {"$ref": "#/components/schemas/Day"}},
                    "maybe": {"allOf": [{"$ref": "#/components/schemas/Day"}]}
                }},
                "Day": {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}}
            }}
        }))
    }

    fn check(uri: &str, body: Option<Value>) -> Vec<String> {
        let req = Request::builder()
            .method(Method::POST)
            .uri(uri.parse().unwrap())
            .content_type("application/json")
            .finish();
        let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
        match rules().check(&req, bytes.as_deref()) {
            Ok(()) => vec![],
            Err(ApiError::OutOfRange(errors)) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn query_parameters_are_bounded_by_their_documented_format() {
        assert!(
            check(
                "/api/v1/things?from=2026-01-01T00:00:00Z&day=2026-01-01",
                None
            )
            .is_empty()
        );
        assert_eq!(
            check(
                "/api/v1/things?from=%2B10000-01-01T00:00:00Z&day=0000-01-01",
                None
            ),
            ["from", "day"]
        );
        // NUL in any parameter, documented or not, once decoded.
        assert_eq!(check("/api/v1/things?x=a%00b", None), ["x"]);
        // The template with the most literal segments is the operation.
        assert_eq!(
            check("/api/v1/things/special?from=3000-01-01", None),
            ["from"]
        );
        assert!(check("/api/v1/things/abc?from=3000-01-01", None).is_empty());
    }

    #[test]
    fn body_fields_are_named_with_their_path() {
        let body = json!({
            "starts_at": "+262143-01-01T00:00:00Z",
            "note": "3000-01-01",
            "days": [{"date": "2026-01-01"}, {"date": "1800-01-01", "x": "a\u{0}"}],
            "maybe": {"date": "2201-01-01"},
            "extra\u{0}": 1
        });
        assert_eq!(
            check("/api/v1/things", Some(body)),
            [
                "days[1].date",
                "days[1].x",
                "extra\u{0}",
                "maybe.date",
                "starts_at"
            ]
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_left_to_the_operation() {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/things".parse().unwrap())
            .content_type("application/json")
            .finish();
        assert!(rules().check(&req, Some(b"{not json")).is_ok());
    }
}
