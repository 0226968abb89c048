//! Collects every invalid field of a request, so a 422 lists them all at once.

use poem_openapi::types::MaybeUndefined;

use crate::common::values::LanguageCode;
use crate::http::error::{ApiError, FieldError};

#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The value, or `None` with the error noted.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.add(field, message)).ok()
    }

    /// An optional value: `Some(None)` when absent.
    pub fn check_optional<T>(
        &mut self,
        field: &str,
        parsed: Option<Result<T, String>>,
    ) -> Option<Option<T>> {
        match parsed {
            None => Some(None),
            Some(result) => self.check(field, result).map(Some),
        }
    }

    /// A change to an optional field: `None` leaves it alone, `Some(None)` clears it.
    pub fn check_patch<T>(
        &mut self,
        field: &str,
        value: MaybeUndefined<crate::common::text::Text>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => self.check(field, parse(&v)).map(Some),
        }
    }

    /// A change to a required field: `null` is refused.
    pub fn check_required_patch<T>(
        &mut self,
        field: &str,
        value: MaybeUndefined<crate::common::text::Text>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => {
                self.add(field, "must not be null");
                None
            }
            MaybeUndefined::Value(v) => self.check(field, parse(&v)),
        }
    }

    /// A change to a field that cannot be cleared, whatever its type: `None` when left out,
    /// and `null` refused.
    pub fn required<T>(&mut self, field: &str, value: MaybeUndefined<T>) -> Option<T> {
        match value {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => {
                self.add(field, "must not be null");
                None
            }
            MaybeUndefined::Value(v) => Some(v),
        }
    }

    /// A list of language codes with between `count.start()` and `count.end()` entries,
    /// sorted and without repeats; each bad code is named by its index.
    pub fn languages(
        &mut self,
        field: &str,
        codes: &[impl AsRef<str>],
        count: std::ops::RangeInclusive<usize>,
    ) -> Option<Vec<LanguageCode>> {
        let mut parsed = Vec::new();
        let mut ok = true;
        for (i, code) in codes.iter().enumerate() {
            match LanguageCode::parse(code.as_ref()) {
                Ok(code) => parsed.push(code),
                Err(message) => {
                    self.add(&format!("{field}[{i}]"), message);
                    ok = false;
                }
            }
        }
        if codes.len() < *count.start() {
            self.add(field, "name at least one language");
            ok = false;
        } else if codes.len() > *count.end() {
            self.add(field, format!("at most {} languages", count.end()));
            ok = false;
        }
        parsed.sort();
        parsed.dedup();
        ok.then_some(parsed)
    }

    /// Whether `field` has been refused already, so that a rule tying it to other fields
    /// is not checked against a value the request did not validly give.
    pub fn refused(&self, field: &str) -> bool {
        self.0.iter().any(|error| error.field == field)
    }

    /// A 422 listing every invalid field, if there is any.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// A `from`/`to` filter whose end is not before its start (either may be left out): a 422
/// on `from` otherwise.
pub fn check_period<T: PartialOrd>(from: Option<T>, to: Option<T>) -> Result<(), ApiError> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => {
            Err(ApiError::invalid("from", "must not be after to"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_field_is_listed() {
        let mut fields = Fields::default();
        let parse = |s: &str| s.parse::<u8>().map_err(|_| "not a number".to_string());
        assert_eq!(fields.check("a", parse("1")), Some(1));
        assert_eq!(fields.check("b", parse("x")), None);
        assert_eq!(
            fields.check_optional("c", None::<Result<u8, String>>),
            Some(None)
        );
        assert_eq!(
            fields.check_patch("d", MaybeUndefined::Undefined, parse),
            None
        );
        assert_eq!(
            fields.check_patch("e", MaybeUndefined::Null, parse),
            Some(None)
        );
        assert_eq!(
            fields.check_required_patch("f", MaybeUndefined::Null, parse),
            None
        );
        assert_eq!(fields.required("g", MaybeUndefined::Value(3)), Some(3));
        assert_eq!(fields.required("h", MaybeUndefined::<u8>::Null), None);
        let Err(ApiError::Validation(errors)) = fields.finish() else {
            panic!("expected a validation error");
        };
        let named: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["b", "f", "h"]);
    }

    #[test]
    fn a_refused_field_is_known_as_refused() {
        let mut fields = Fields::default();
        fields.add("title", "is too long");
        assert!(fields.refused("title"));
        assert!(!fields.refused("ends_at"));
    }

    #[test]
    fn a_language_list_names_each_bad_code_and_its_bounds() {
        let mut fields = Fields::default();
        let codes = fields.languages("languages", &["nb", "en", "nb"], 0..=30);
        assert_eq!(codes.unwrap().len(), 2);
        assert_eq!(fields.languages("languages", &["nb", "qq"], 0..=30), None);
        assert_eq!(fields.languages("languages", &[] as &[&str], 1..=30), None);
        assert_eq!(fields.languages("languages", &["nb"; 31], 0..=30), None);
        let Err(ApiError::Validation(errors)) = fields.finish() else {
            panic!("expected a validation error");
        };
        let named: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["languages[1]", "languages", "languages"]);
    }

    #[test]
    fn a_period_may_be_open_or_empty_but_not_end_before_it_begins() {
        assert!(check_period::<i32>(None, None).is_ok());
        assert!(check_period(Some(1), None).is_ok());
        assert!(check_period(None, Some(1)).is_ok());
        assert!(check_period(Some(1), Some(1)).is_ok());
        let Err(ApiError::Validation(errors)) = check_period(Some(2), Some(1)) else {
            panic!("expected a validation error");
        };
        assert_eq!(errors, [FieldError::new("from", "must not be after to")]);
    }
}
