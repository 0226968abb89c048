//! Enums stored in a text column as their snake_case wire names: one mechanism, one policy.
//! A stored value the code does not know is a fault of the data, never a default: it is
//! logged and answered with 500.

/// Declares a wire enum stored as its snake_case name, with `as_str`, `from_name` (for text
/// from a request: `None` when unknown) and `from_stored` (for text from the database).
///
/// ```text
/// stored_enum! {
///     /// Who hosts the location.
///     HostType { Library = "library", Other = "other" }
/// }
/// ```
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            poem_openapi::Enum, serde::Serialize, serde::Deserialize,
        )]
        #[oai(rename_all = "snake_case")]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The value a name stands for, if any.
            pub fn from_name(s: &str) -> Option<Self> {
                match s {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// A value read back from a column: an unknown one is logged and is a 500.
            pub fn from_stored(s: &str) -> Result<Self, $crate::http::error::ApiError> {
                Self::from_name(s).ok_or_else(|| {
                    tracing::error!(value = s, kind = stringify!($name), "a stored enum value is unknown");
                    $crate::http::error::ApiError::Internal
                })
            }
        }
    };
}

pub(crate) use stored_enum;

#[cfg(test)]
mod tests {
    stored_enum! {
        Colour { Red = "red", DarkBlue = "dark_blue" }
    }

    #[test]
    fn names_round_trip_and_unknown_stored_values_are_errors() {
        assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
        assert_eq!(Colour::from_name("red"), Some(Colour::Red));
        assert_eq!(Colour::from_name("green"), None);
        assert!(Colour::from_stored("dark_blue").is_ok());
        assert!(Colour::from_stored("green").is_err());
    }
}
