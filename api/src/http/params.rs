//! Query parameters whose shape the spec states (a `pattern`) while the handler does the
//! checking, so that a request with several bad parameters gets one 422 naming each of them
//! (poem-openapi's own validators would stop at the first with a 400).

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, Type};

macro_rules! documented_param {
    ($(#[$doc:meta])* $name:ident, $pattern:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    pattern: Some($pattern.to_string()),
                    ..MetaSchema::new("string")
                }))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }

        impl ParseFromParameter for $name {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                Ok(Self(value.to_string()))
            }
        }
    };
}

documented_param!(
    /// A county number, `01` to `99`.
    CountyParam,
    "^(0[1-9]|[1-9][0-9])$"
);

documented_param!(
    /// One of the 15 counties of 2024 (filters that need the county to exist).
    KnownCountyParam,
    "^(03|11|15|18|31|32|33|34|39|40|42|46|50|55|56)$"
);

documented_param!(
    /// A municipality number: four digits, not `0000`.
    MunicipalityParam,
    "^([0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})$"
);

documented_param!(
    /// A language code of the offered list (`GET /api/v1/languages`).
    LanguageParam,
    crate::common::values::LanguageCode::pattern()
);

/// The value of an optional documented parameter, for the handler's own parsing.
pub fn value<P: Into<String>>(param: Option<P>) -> Option<String> {
    param.map(Into::into)
}

macro_rules! into_string {
    ($($name:ident),*) => {$(
        impl From<$name> for String {
            fn from(param: $name) -> String {
                param.0
            }
        }
    )*};
}

into_string!(
    CountyParam,
    KnownCountyParam,
    MunicipalityParam,
    LanguageParam
);
