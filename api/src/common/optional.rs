//! `NotNull<T>`: an optional request field that may be left out but not sent as `null`.
//!
//! poem-openapi reads `null` into an `Option` as if the field were absent, so the spec would
//! have to call the field nullable; for enum and object fields that renders as a type-less
//! `allOf` that generated clients cannot read. A `null` here is a wrong type, refused with 400
//! as for any other.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotNull<T>(pub Option<T>);

impl<T> Default for NotNull<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T: Type> Type for NotNull<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("optional_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_ref().and_then(Type::as_raw_value)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        match &self.0 {
            Some(value) => value.raw_element_iter(),
            None => Box::new(std::iter::empty()),
        }
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: ParseFromJSON> ParseFromJSON for NotNull<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            None => Ok(Self(None)),
            Some(Value::Null) => Err(ParseError::custom(
                "must not be null: leave the field out for its default",
            )),
            Some(value) => T::parse_from_json(Some(value))
                .map(|v| Self(Some(v)))
                .map_err(ParseError::propagate),
        }
    }
}

impl<T: ToJSON> ToJSON for NotNull<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.as_ref().and_then(ToJSON::to_json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn absent_is_none_null_is_refused_a_value_is_parsed() {
        assert_eq!(NotNull::<i32>::parse_from_json(None).unwrap().0, None);
        assert!(NotNull::<i32>::parse_from_json(Some(Value::Null)).is_err());
        assert_eq!(
            NotNull::<i32>::parse_from_json(Some(json!(3))).unwrap().0,
            Some(3)
        );
        assert!(NotNull::<i32>::parse_from_json(Some(json!("x"))).is_err());
    }
}
