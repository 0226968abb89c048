//! The edge rule for values the databases cannot hold ([`crate::http::bounds`]), applied to
//! every query parameter and every request body field of every operation, read once from the
//! OpenAPI document: a date or an instant outside the years 1900 to 2200, or a string with
//! NUL, is a 400 problem naming each such field before any handler runs. So is an
//! `Idempotency-Key` or `If-Match` that is repeated or not visible ASCII: poem would read
//! the first, or none, and a retry would silently create a duplicate.

use std::collections::HashMap;

use poem::Request;
use poem::http::Method;
use serde_json::Value;

use super::schema::{BodySchema, Unreadable};
use crate::http::bounds;
use crate::http::error::{ApiError, FieldError};

/// What the document says about each operation's query parameters and request body.
pub struct ValueRules {
    operations: Vec<Operation>,
    /// `components.schemas`, for resolving `$ref`s.
    schemas: Value,
}

struct Operation {
    id: String,
    method: Method,
    segments: Vec<String>,
    /// Query parameter name → the format of its values (`date`, `date-time`, or none).
    query: HashMap<String, Option<String>>,
    body: Option<Value>,
    /// The body's schema compiled, to say field by field why poem-openapi refused a body.
    body_schema: Option<BodySchema>,
    /// Whether the operation takes a bearer token.
    secured: bool,
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
                let body_schema = body.as_ref().and_then(|schema| {
                    BodySchema::compile(schema, &spec["components"]["schemas"])
                        .inspect_err(
                            |err| tracing::error!(%path, %err, "a request schema does not compile"),
                        )
                        .ok()
                });
                operations.push(Operation {
                    id: operation["operationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    method,
                    segments: path.split('/').map(str::to_string).collect(),
                    query,
                    body,
                    body_schema,
                    // An empty requirement (`{}`) among them makes the token optional.
                    secured: operation["security"].as_array().is_some_and(|schemes| {
                        !schemes.is_empty()
                            && !schemes
                                .iter()
                                .any(|s| s.as_object().is_some_and(|o| o.is_empty()))
                    }),
                });
            }
        }
        Self {
            operations,
            schemas: spec["components"]["schemas"].clone(),
        }
    }

    /// Whether the operation a request is for takes a bearer token.
    pub fn is_secured(&self, method: &Method, path: &str) -> bool {
        self.operation(method, path).is_some_and(|op| op.secured)
    }

    /// The `operationId` of the operation a request is for, if any.
    pub fn operation_id(&self, method: &Method, path: &str) -> Option<&str> {
        self.operation(method, path).map(|op| op.id.as_str())
    }

    /// Why `body`, refused by the operation's parser, does not fit the operation's request
    /// schema: a 422 naming every field that breaks it, or a 400 with the line and column
    /// when it is not JSON. `None` when the schema finds nothing (the parser's own message
    /// stands).
    pub fn explain_body(&self, method: &Method, path: &str, body: &[u8]) -> Option<ApiError> {
        let schema = self.operation(method, path)?.body_schema.as_ref()?;
        match schema.explain(body) {
            Err(Unreadable(why)) => Some(ApiError::Malformed(vec![FieldError::new("body", why)])),
            Ok(errors) if errors.is_empty() => None,
            Ok(errors) => Some(ApiError::Validation(errors)),
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
        let mut errors = header_errors(req);
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
            Err(ApiError::Malformed(errors))
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
            Value::Number(number) => {
                let integer = schemas.iter().find(|s| s["type"] == "integer");
                if let Some(message) = integer.and_then(|s| out_of_range(number, &s["format"])) {
                    push(errors, field, message.into());
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

/// The headers whose value decides what a change does, with the bytes they may hold: an
/// `Idempotency-Key` is one token of visible ASCII, an `If-Match` a list of entity tags
/// (visible ASCII and spaces).
const PRECONDITION_HEADERS: [(&str, &str, bool); 2] = [
    ("Idempotency-Key", "idempotency-key", false),
    ("If-Match", "if-match", true),
];

fn header_errors(req: &Request) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, name, spaces) in PRECONDITION_HEADERS {
        let values: Vec<_> = req.headers().get_all(name).iter().collect();
        if values.len() > 1 {
            errors.push(FieldError::new(field, "must be sent once"));
        } else if let Some(value) = values.first() {
            let visible = |b: &u8| b.is_ascii_graphic() || (spaces && (*b == b' ' || *b == b'\t'));
            if !value.as_bytes().iter().all(visible) {
                errors.push(FieldError::new(
                    field,
                    "must be visible ASCII characters, e.g. a UUID",
                ));
            }
        }
    }
    errors
}

/// Why a number cannot be an integer of `format`, if it cannot (poem's own refusal would
/// not name the field).
fn out_of_range(number: &serde_json::Number, format: &Value) -> Option<&'static str> {
    let Some(value) = number
        .as_i64()
        .map(i128::from)
        .or(number.as_u64().map(i128::from))
    else {
        return Some("must be a whole number within the range of its type");
    };
    let fits = match format.as_str() {
        Some("int32") => i32::try_from(value).is_ok(),
        Some("uint32") => u32::try_from(value).is_ok(),
        Some("uint64") => u64::try_from(value).is_ok(),
        _ => i64::try_from(value).is_ok(),
    };
    (!fits).then_some("is out of the range of its type")
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
                    "count": {"type": "integer", "format": "int32"},
                    "sum": {"type": "integer", "format": "int64"},
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
            Err(ApiError::Malformed(errors)) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_request_schema_of_the_api_compiles() {
        let spec: Value = serde_json::from_str(&crate::app::spec()).unwrap();
        let rules = ValueRules::from_spec(&spec);
        assert!(rules.operations.iter().any(|op| op.body.is_some()));
        for op in &rules.operations {
            assert_eq!(op.body.is_some(), op.body_schema.is_some(), "{}", op.id);
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
    fn precondition_headers_are_sent_once_in_visible_ascii() {
        let check = |headers: &[(&str, &[u8])]| {
            let mut req = Request::builder().uri("/x".parse().unwrap());
            for (name, value) in headers {
                req = req.header(*name, poem::http::HeaderValue::from_bytes(value).unwrap());
            }
            let errors = header_errors(&req.finish());
            errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        assert!(
            check(&[
                ("idempotency-key", b"4f1c-2d9e"),
                ("if-match", b"\"1\", \"2\"")
            ])
            .is_empty()
        );
        assert_eq!(
            check(&[("idempotency-key", "nøkkel-A".as_bytes())]),
            ["Idempotency-Key"]
        );
        assert_eq!(check(&[("idempotency-key", b"a b")]), ["Idempotency-Key"]);
        assert_eq!(check(&[("if-match", "\"ø\"".as_bytes())]), ["If-Match"]);
        assert_eq!(
            check(&[
                ("if-match", b"\"1\""),
                ("if-match", b"\"2\""),
                ("idempotency-key", b"a"),
                ("idempotency-key", b"a")
            ]),
            ["Idempotency-Key", "If-Match"]
        );
    }

    #[test]
    fn integers_beyond_their_type_are_named() {
        let body = |count: Value, sum: Value| json!({"count": count, "sum": sum});
        assert!(check("/api/v1/things", Some(body(json!(7), json!(i64::MAX)))).is_empty());
        assert_eq!(
            check(
                "/api/v1/things",
                Some(body(json!(i64::MAX), json!(u64::MAX)))
            ),
            ["count", "sum"]
        );
        assert_eq!(
            check("/api/v1/things", Some(body(json!(1.5), json!(f64::MAX)))),
            ["count", "sum"]
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
