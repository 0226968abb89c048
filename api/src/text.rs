//! `Text`: a JSON string field that is only ever a string.
//!
//! poem-openapi's `String` also accepts numbers and booleans (`42` becomes `"42"`); a request
//! that sends the wrong type should be told so (400) rather than have its value converted.
//! NUL characters are refused too: PostgreSQL cannot store them.

use poem_openapi::NewType;
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, NewType)]
#[oai(from_json = false, from_parameter = false, from_multipart = false)]
pub struct Text(pub String);

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(s)) if s.contains('\0') => Err(ParseError::custom(
                "strings must not contain NUL characters",
            )),
            Some(Value::String(s)) => Ok(Self(s)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_strings_without_nul_parse() {
        assert_eq!(
            Text::parse_from_json(Some(json!("Oslo"))).unwrap().0,
            "Oslo"
        );
        for wrong in [
            json!(42),
            json!(true),
            json!(null),
            json!(["a"]),
            json!("a\u{0}b"),
        ] {
            assert!(
                Text::parse_from_json(Some(wrong.clone())).is_err(),
                "{wrong}"
            );
        }
    }
}
