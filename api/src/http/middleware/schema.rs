//! Why a request body does not fit its operation, field by field. poem-openapi stops at the
//! first problem and names the type, not the field; when it refuses a body, the same body is
//! checked against the operation's request schema from the OpenAPI document with a JSON
//! Schema validator, and every violation is reported with its JSON path (`address.postal_code`,
//! `rules[2].weekday`) and what was expected. One mechanism, read from the spec, so no
//! operation can forget it.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::{Map, Value};

use crate::http::error::FieldError;

/// The compiled request schema of one operation.
pub(super) struct BodySchema(Validator);

/// Why a body that is not JSON at all cannot be read: its line and column.
pub(super) struct Unreadable(pub String);

impl BodySchema {
    /// `schema` is the operation's request body schema, `components` the document's
    /// `components.schemas` its `$ref`s point into.
    pub(super) fn compile(schema: &Value, components: &Value) -> Result<Self, String> {
        let mut root = json_schema(schema);
        if let Value::Object(root) = &mut root {
            root.insert(
                "components".into(),
                Value::Object(Map::from_iter([(
                    "schemas".to_string(),
                    json_schema(components),
                )])),
            );
        }
        jsonschema::options()
            .with_draft(Draft::Draft7)
            .should_validate_formats(true)
            .build(&root)
            .map(Self)
            .map_err(|err| err.to_string())
    }

    /// Every way `body` breaks the schema, or why it is not JSON.
    pub(super) fn explain(&self, body: &[u8]) -> Result<Vec<FieldError>, Unreadable> {
        let value: Value = serde_json::from_slice(body).map_err(|err| {
            Unreadable(format!(
                "the body is not valid JSON: {err} (line {}, column {})",
                err.line(),
                err.column()
            ))
        })?;
        let mut errors: Vec<FieldError> = Vec::new();
        for error in self.0.iter_errors(&value) {
            for found in field_errors(&value, &error) {
                if !errors
                    .iter()
                    .any(|e| e.field == found.field && e.message == found.message)
                {
                    errors.push(found);
                }
            }
        }
        Ok(errors)
    }
}

/// An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a type that admits `null`.
fn json_schema(schema: &Value) -> Value {
    match schema {
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        Value::Object(map) => {
            let mut converted: Map<String, Value> = map
                .iter()
                .filter(|(key, _)| !matches!(key.as_str(), "nullable" | "example" | "examples"))
                .map(|(key, value)| (key.clone(), json_schema(value)))
                .collect();
            if map.get("nullable") != Some(&Value::Bool(true)) {
                return Value::Object(converted);
            }
            if let Some(kind @ Value::String(_)) = converted.get("type").cloned() {
                converted.insert("type".into(), Value::Array(vec![kind, "null".into()]));
                if let Some(Value::Array(options)) = converted.get_mut("enum") {
                    options.push(Value::Null);
                }
                Value::Object(converted)
            } else {
                serde_json::json!({"anyOf": [Value::Object(converted), {"type": "null"}]})
            }
        }
        other => other.clone(),
    }
}

/// The field a violation is about, as a client names it, and what was expected of it.
fn field_errors(body: &Value, error: &ValidationError) -> Vec<FieldError> {
    let (path, mut at) = (error.instance_path(), body);
    let mut field = String::new();
    for segment in path.iter() {
        match segment {
            LocationSegment::Index(index) => {
                field.push_str(&format!("[{index}]"));
                at = &at[index];
            }
            LocationSegment::Property(name) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(&name);
                at = &at[name.as_ref()];
            }
        }
    }
    let child = |name: &str| {
        if field.is_empty() {
            name.to_string()
        } else {
            format!("{field}.{name}")
        }
    };
    let message = match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            return vec![FieldError::new(child(name), "is required")];
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unexpected
                .iter()
                .map(|name| FieldError::new(child(name), "is not a field of this body"))
                .collect();
        }
        ValidationErrorKind::Type { .. } if at.is_null() => "must not be null".to_string(),
        ValidationErrorKind::Type { kind } => {
            let expected: Vec<String> = match kind {
                TypeKind::Single(kind) => vec![kind.to_string()],
                TypeKind::Multiple(kinds) => kinds.iter().map(|k| k.to_string()).collect(),
            };
            format!("must be {}", with_article(&expected))
        }
        ValidationErrorKind::Enum { options } => {
            let options: Vec<String> = options
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
                .collect();
            let null = if at.is_null() {
                "must not be null; "
            } else {
                ""
            };
            format!("{null}must be one of: {}", options.join(", "))
        }
        ValidationErrorKind::MinProperties { limit: 1 } => {
            "must name at least one field to change".to_string()
        }
        ValidationErrorKind::Format { format } => {
            let example = match format.as_str() {
                "date" => " (YYYY-MM-DD)",
                "date-time" => " (RFC 3339, e.g. 2027-01-04T09:00:00+01:00)",
                "uuid" => " (e.g. 01937c6e-8f3a-7c4e-b1a2-3d4e5f607182)",
                _ => "",
            };
            format!("must be a {format}{example}")
        }
        ValidationErrorKind::Minimum { limit } => format!("must be at least {}", number(limit)),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {}", number(limit)),
        ValidationErrorKind::MinLength { limit: 1 } => "must not be empty".to_string(),
        ValidationErrorKind::MinLength { limit } => format!("must be at least {limit} characters"),
        ValidationErrorKind::MaxLength { limit } => format!("must be at most {limit} characters"),
        ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} items"),
        ValidationErrorKind::MaxItems { limit } => format!("must have at most {limit} items"),
        ValidationErrorKind::Pattern { pattern } => format!("must match the pattern {pattern}"),
        // An enum, object or list behind `anyOf` (a nullable one): say what the value was not.
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            "has neither of the allowed shapes".to_string()
        }
        _ => error.masked().to_string(),
    };
    let field = if field.is_empty() {
        "body".to_string()
    } else {
        field
    };
    vec![FieldError::new(field, message)]
}

/// A bound as written in the spec: `1`, not `1.0`.
fn number(limit: &Value) -> String {
    match limit.as_f64() {
        Some(value) if value.fract() == 0.0 && value.abs() < 1e15 => format!("{}", value as i64),
        _ => limit.to_string(),
    }
}

/// "a string", "an integer", "a string or null".
fn with_article(kinds: &[String]) -> String {
    let mut words: Vec<String> = kinds
        .iter()
        .filter(|k| *k != "null")
        .map(|kind| match kind.as_str() {
            "integer" | "array" | "object" => format!("an {kind}"),
            "boolean" => "true or false".to_string(),
            other => format!("a {other}"),
        })
        .collect();
    if kinds.iter().any(|k| k == "null") {
        words.push("null".to_string());
    }
    words.join(" or ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn components() -> Value {
        json!({
            "Weekday": {"type": "string", "enum": ["monday", "tuesday"]},
            "Address": {
                "type": "object",
                "additionalProperties": false,
                "required": ["postal_code"],
                "properties": {"postal_code": {"type": "string"}}
            },
            "Rule": {
                "type": "object",
                "required": ["weekday"],
                "properties": {"weekday": {"$ref": "#/components/schemas/Weekday"}}
            },
            "NewThing": {
                "type": "object",
                "additionalProperties": false,
                "required": ["name", "open"],
                "properties": {
                    "name": {"type": "string"},
                    "open": {"type": "boolean"},
                    "note": {"type": "string", "nullable": true},
                    "count": {"type": "integer", "minimum": 1, "maximum": 10},
                    "since": {"type": "string", "format": "date"},
                    "address": {"$ref": "#/components/schemas/Address"},
                    "rules": {"type": "array", "items": {"$ref": "#/components/schemas/Rule"}}
                }
            }
        })
    }

    fn explain(body: Value) -> Vec<(String, String)> {
        let schema = BodySchema::compile(
            &json!({"$ref": "#/components/schemas/NewThing"}),
            &components(),
        )
        .unwrap();
        let mut found: Vec<_> = schema
            .explain(body.to_string().as_bytes())
            .ok()
            .unwrap()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect();
        found.sort();
        found
    }

    fn pair(field: &str, message: &str) -> (String, String) {
        (field.to_string(), message.to_string())
    }

    #[test]
    fn every_missing_field_is_named_at_once() {
        assert_eq!(
            explain(json!({})),
            [pair("name", "is required"), pair("open", "is required")]
        );
    }

    #[test]
    fn wrong_types_nulls_unknown_fields_and_enum_values_are_named_by_their_path() {
        let found = explain(json!({
            "name": 5,
            "open": null,
            "note": null,
            "colour": "red",
            "count": 0,
            "since": "2027-13-45",
            "address": {"postal_code": 556, "floor": 2},
            "rules": [{"weekday": "monday"}, {"weekday": "funday"}, {}]
        }));
        assert_eq!(
            found,
            [
                pair("address.floor", "is not a field of this body"),
                pair("address.postal_code", "must be a string"),
                pair("colour", "is not a field of this body"),
                pair("count", "must be at least 1"),
                pair("name", "must be a string"),
                pair("open", "must not be null"),
                pair("rules[1].weekday", "must be one of: monday, tuesday"),
                pair("rules[2].weekday", "is required"),
                pair("since", "must be a date (YYYY-MM-DD)"),
            ]
        );
    }

    #[test]
    fn a_valid_body_has_nothing_to_explain_and_broken_json_says_where() {
        assert!(explain(json!({"name": "x", "open": true, "note": null})).is_empty());
        let schema = BodySchema::compile(
            &json!({"$ref": "#/components/schemas/NewThing"}),
            &components(),
        )
        .unwrap();
        let Err(Unreadable(why)) = schema.explain(b"{\"name\": \"x\",\n  \"open\": tru}") else {
            panic!("broken JSON was read");
        };
        assert!(why.contains("line 2"), "{why}");
    }
}
