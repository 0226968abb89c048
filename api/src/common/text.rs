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

/// Declares a JSON string type whose length bounds (and pattern) are stated in the schema
/// but checked by the operation, so an out-of-bounds value is a 422 naming the field rather
/// than a 400 for the whole body. Like [`Text`], it accepts only strings without NUL.
///
/// `checked_text!(TopicName, min = 1, max = 100);`
#[macro_export]
macro_rules! checked_text {
    ($(#[$meta:meta])* $name:ident, min = $min:expr, max = $max:expr $(, pattern = $pattern:expr)? $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl poem_openapi::types::Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> std::borrow::Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> poem_openapi::registry::MetaSchemaRef {
                let mut schema = poem_openapi::registry::MetaSchema::new("string");
                schema.min_length = Some($min);
                schema.max_length = Some($max);
                $(schema.pattern = Some($pattern.to_string());)?
                poem_openapi::registry::MetaSchemaRef::Inline(Box::new(schema))
            }

            fn as_raw_value(&self) -> Option<&Self::RawValueType> {
                Some(self)
            }

            fn raw_element_iter<'a>(
                &'a self,
            ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl poem_openapi::types::ParseFromJSON for $name {
            fn parse_from_json(value: Option<serde_json::Value>) -> poem_openapi::types::ParseResult<Self> {
                <$crate::common::text::Text as poem_openapi::types::ParseFromJSON>::parse_from_json(value)
                    .map(|text| Self(text.0))
                    .map_err(poem_openapi::types::ParseError::propagate)
            }
        }

        /// As a query parameter too, any string is taken, for the operation to check.
        impl poem_openapi::types::ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> poem_openapi::types::ParseResult<Self> {
                Ok(Self(value.to_string()))
            }
        }

        impl poem_openapi::types::ToJSON for $name {
            fn to_json(&self) -> Option<serde_json::Value> {
                Some(serde_json::Value::String(self.0.clone()))
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A text field trimmed, not empty, and at most `max` characters: the 422 message otherwise.
pub fn bounded(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    match value.chars().count() {
        0 => Err("must not be empty".into()),
        n if n > max => Err(format!("must be at most {max} characters")),
        _ => Ok(value.to_string()),
    }
}

/// Free text (a message body) kept as written: not blank, and at most `max` characters.
pub fn bounded_verbatim(value: &str, max: usize) -> Result<String, String> {
    if value.trim().is_empty() {
        Err("must not be empty".into())
    } else if value.chars().count() > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(value.to_string())
    }
}

/// A `LIKE` pattern that finds `needle` anywhere, with `%` and `_` in it taken literally.
pub fn contains_pattern(needle: &str) -> sea_orm::sea_query::LikeExpr {
    let escaped = needle
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')
}

/// The letters folded for search, as people type them on a keyboard without them: the
/// Norwegian letters by their usual spelling (`ø` → `o`, `æ` → `ae`, `å` → `aa`), Sámi and
/// other accented letters by their base letter. Keep in step with the backfill in
/// `migration/src/m20261204_000090_folded_search.rs`.
pub const FOLDED_LETTERS: &[(char, &str)] = &[
    ('ø', "o"),
    ('æ', "ae"),
    ('å', "aa"),
    ('á', "a"),
    ('à', "a"),
    ('â', "a"),
    ('ä', "a"),
    ('č', "c"),
    ('ç', "c"),
    ('đ', "d"),
    ('é', "e"),
    ('è', "e"),
    ('ê', "e"),
    ('ë', "e"),
    ('í', "i"),
    ('ï', "i"),
    ('ŋ', "n"),
    ('ñ', "n"),
    ('ó', "o"),
    ('ò', "o"),
    ('ô', "o"),
    ('ö', "o"),
    ('š', "s"),
    ('ŧ', "t"),
    ('ú', "u"),
    ('ü', "u"),
    ('ž', "z"),
    ('ʒ', "z"),
];

/// Lower-case text with the [`FOLDED_LETTERS`] folded: `Tromsø` → `tromso`, `Kárášjohka` →
/// `karasjohka`, `Ålesund` → `aalesund`, `Bærum` → `baerum`.
pub fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match FOLDED_LETTERS.iter().find(|(letter, _)| *letter == c) {
            Some((_, plain)) => folded.push_str(plain),
            None => folded.push(c),
        }
    }
    folded
}

/// Which stored text a search for `needle` reads, and the pattern for it: a needle typed
/// with none of the [`FOLDED_LETTERS`] matches the folded text (`tromso` finds Tromsø);
/// one with them matches the lower-case text, so `bø` still finds Bø and not Bodø.
pub enum Needle {
    Folded(sea_orm::sea_query::LikeExpr),
    Lower(sea_orm::sea_query::LikeExpr),
}

impl Needle {
    pub fn of(needle: &str) -> Self {
        let lower = needle.to_lowercase();
        if fold(&lower) == lower {
            Self::Folded(contains_pattern(&lower))
        } else {
            Self::Lower(contains_pattern(&lower))
        }
    }

    /// The condition on the table's folded and lower-case columns.
    pub fn condition(
        self,
        folded: impl sea_orm::sea_query::IntoColumnRef,
        lower: impl sea_orm::sea_query::IntoColumnRef,
    ) -> sea_orm::sea_query::Expr {
        use sea_orm::sea_query::{Expr, ExprTrait};
        match self {
            Self::Folded(pattern) => Expr::col(folded).like(pattern),
            Self::Lower(pattern) => Expr::col(lower).like(pattern),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn folding_is_how_people_type_without_norwegian_and_sami_letters() {
        assert_eq!(fold("Tromsø"), "tromso");
        assert_eq!(fold("Kárášjohka"), "karasjohka");
        assert_eq!(fold("ÅLESUND"), "aalesund");
        assert_eq!(fold("Bærum"), "baerum");
        assert_eq!(fold("Deichman Grünerløkka"), "deichman grunerlokka");
        assert!(matches!(Needle::of("tromso"), Needle::Folded(_)));
        assert!(matches!(Needle::of("BØ"), Needle::Lower(_)));
    }

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

    #[test]
    fn bounded_text_is_trimmed_and_counted_in_characters() {
        assert_eq!(bounded("  Deichman  ", 8).unwrap(), "Deichman");
        assert_eq!(bounded("ææææ", 4).unwrap(), "ææææ");
        assert_eq!(bounded("   ", 4).unwrap_err(), "must not be empty");
        assert_eq!(
            bounded("abcde", 4).unwrap_err(),
            "must be at most 4 characters"
        );
        assert_eq!(bounded_verbatim("  hei\n", 10).unwrap(), "  hei\n");
        assert!(bounded_verbatim(" \n ", 10).is_err());
    }
}
