//! Validated domain values, parsed once at the edge of the API. Each `parse` returns the
//! message a client sees in the `errors` entry of a 422.

use std::fmt;

macro_rules! string_value {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// A municipality (kommune) number: four digits, the first two being the county's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MunicipalityNumber(String);
string_value!(MunicipalityNumber);

impl MunicipalityNumber {
    pub fn parse(s: &str) -> Result<Self, String> {
        if is_digits(s, 4) && s != "0000" {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "'{s}' is not a municipality number (four digits, e.g. 0301)"
            ))
        }
    }
}

/// A county (fylke) number: two digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CountyNumber(String);
string_value!(CountyNumber);

impl CountyNumber {
    pub fn parse(s: &str) -> Result<Self, String> {
        if is_digits(s, 2) && s != "00" {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "'{s}' is not a county number (two digits, e.g. 03)"
            ))
        }
    }
}

/// A Norwegian organisation number: nine digits whose last is a modulus-11 check digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrganizationNumber(String);
string_value!(OrganizationNumber);

impl OrganizationNumber {
    const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

    pub fn parse(s: &str) -> Result<Self, String> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        if !is_digits(&compact, 9) {
            return Err("must be nine digits".into());
        }
        let digits: Vec<u32> = compact.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = Self::WEIGHTS.iter().zip(&digits).map(|(w, d)| w * d).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => return Err("is not a valid organisation number (no check digit fits)".into()),
            check => check,
        };
        if digits[8] == check {
            Ok(Self(compact))
        } else {
            Err("is not a valid organisation number (the check digit does not match)".into())
        }
    }
}

/// An e-mail address, checked against RFC 5322 by the `email_address` crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);
string_value!(Email);

impl Email {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() > 254 {
            return Err("is longer than 254 characters".into());
        }
        // A display name ("Kari <kari@x.no>") is valid RFC 5322 but not an address to store.
        if s.contains(['<', '>', ' ']) || !s.contains('.') {
            return Err("is not an e-mail address".into());
        }
        match s.parse::<email_address::EmailAddress>() {
            Ok(_) => Ok(Self(s.to_string())),
            Err(_) => Err("is not an e-mail address".into()),
        }
    }
}

/// An absolute `http` or `https` URL with a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebUrl(String);
string_value!(WebUrl);

impl WebUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.len() > 500 {
            return Err("is longer than 500 characters".into());
        }
        let url = url::Url::parse(s).map_err(|_| "is not an absolute URL".to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http or https URL".into());
        }
        if !url
            .host_str()
            .is_some_and(|host| host.contains('.') || host == "localhost")
        {
            return Err("must name a host, such as https://www.oslo.kommune.no".into());
        }
        Ok(Self(url.to_string()))
    }
}

/// A telephone number, stored in E.164 form (`+4722334455`) and checked against the numbering
/// plans of libphonenumber (the `phonenumber` crate). Norwegian numbers may be written without
/// their country code; others need it (`+46 8 123 456 78` or `0046 ...`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneNumber(String);
string_value!(PhoneNumber);

impl PhoneNumber {
    /// Long enough for any number written with spaces; libphonenumber reads at most 250.
    const MAX_LENGTH: usize = 40;

    pub fn parse(s: &str) -> Result<Self, String> {
        let invalid = || "is not a telephone number (e.g. +47 22 33 44 55)".to_string();
        let s = s.trim();
        // Letters would be read as a keypad's digits (1-800-FLOWERS); no one writes them here.
        if s.is_empty()
            || s.len() > Self::MAX_LENGTH
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '+'))
        {
            return Err(invalid());
        }
        let international = match s.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => s.to_string(),
        };
        let number = phonenumber::parse(Some(phonenumber::country::Id::NO), &international)
            .map_err(|_| invalid())?;
        if !number.is_valid() {
            return Err(invalid());
        }
        Ok(Self(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// A number read back from the database, as it was stored: numbering plans change, and a
    /// number valid when written stays readable.
    pub fn from_stored(s: &str) -> Result<Self, String> {
        let digits = s.strip_prefix('+').unwrap_or_default();
        if (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("'{s}' is not an E.164 telephone number"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn municipality_numbers_are_four_digits() {
        assert_eq!(MunicipalityNumber::parse("0301").unwrap().as_str(), "0301");
        for bad in ["301", "03011", "03a1", "", "0000", " 301"] {
            assert!(MunicipalityNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn county_numbers_are_two_digits() {
        assert!(CountyNumber::parse("03").is_ok());
        for bad in ["3", "003", "x3", "00"] {
            assert!(CountyNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn real_organisation_numbers_pass_the_modulus_11_check() {
        // Oslo, Stavanger, Bergen kommune and Brønnøysundregistrene.
        for valid in [
            "958935420",
            "964965226",
            "964338531",
            "974760673",
            "974 760 673",
        ] {
            assert!(OrganizationNumber::parse(valid).is_ok(), "{valid}");
        }
        assert_eq!(
            OrganizationNumber::parse("974 760 673").unwrap().as_str(),
            "974760673"
        );
    }

    #[test]
    fn a_wrong_check_digit_or_length_is_refused() {
        for invalid in [
            "958935421",
            "964965227",
            "123456789",
            "95893542",
            "9589354200",
            "abcdefghi",
        ] {
            assert!(OrganizationNumber::parse(invalid).is_err(), "{invalid}");
        }
        // 10 as remainder leaves no valid check digit: 000000060 has weighted sum 12.
        assert!(OrganizationNumber::parse("000000060").is_err());
    }

    #[test]
    fn emails() {
        for valid in ["digihjelp@oslo.kommune.no", "kari.nordmann+dh@ks.no"] {
            assert_eq!(Email::parse(valid).unwrap().as_str(), valid);
        }
        for invalid in [
            "",
            "kari",
            "kari@",
            "@ks.no",
            "kari nordmann@ks.no",
            "Kari <k@ks.no>",
            "kari@localhost",
        ] {
            assert!(Email::parse(invalid).is_err(), "{invalid}");
        }
        assert!(Email::parse(&format!("{}@ks.no", "a".repeat(250))).is_err());
    }

    #[test]
    fn urls_must_be_absolute_http_with_a_host() {
        assert_eq!(
            WebUrl::parse("https://www.oslo.kommune.no/digihjelp")
                .unwrap()
                .as_str(),
            "https://www.oslo.kommune.no/digihjelp"
        );
        for invalid in [
            "www.oslo.kommune.no",
            "ftp://oslo.kommune.no",
            "javascript:alert(1)",
            "https://",
            "http://intranet",
        ] {
            assert!(WebUrl::parse(invalid).is_err(), "{invalid}");
        }
        assert!(WebUrl::parse(&format!("https://ks.no/{}", "a".repeat(500))).is_err());
    }

    #[test]
    fn phone_numbers_are_normalised_to_e164() {
        assert_eq!(
            PhoneNumber::parse("22 33 44 55").unwrap().as_str(),
            "+4722334455"
        );
        assert_eq!(
            PhoneNumber::parse("+47 22 33 44 55").unwrap().as_str(),
            "+4722334455"
        );
        assert_eq!(
            PhoneNumber::parse("0047 22334455").unwrap().as_str(),
            "+4722334455"
        );
        assert_eq!(
            PhoneNumber::parse("+46 8 123 456 78").unwrap().as_str(),
            "+46812345678"
        );
        assert_eq!(
            PhoneNumber::parse("+47 915 55 555").unwrap().as_str(),
            "+4791555555"
        );
        for invalid in [
            "",
            "1234",
            "+47 1234",
            "phone",
            "+47 22 33 44 55 66",
            "+0123456789",
            // No Norwegian number begins with 0 or 1 (the plan of Nkom).
            "+47 01234567",
            "+47 12345678",
            "+999 12345678",
            "1-800-FLOWERS",
        ] {
            assert!(PhoneNumber::parse(invalid).is_err(), "{invalid}");
        }
        assert!(PhoneNumber::from_stored("+4722334455").is_ok());
        assert!(PhoneNumber::from_stored("22334455").is_err());
    }
}

/// A point inside Norway's bounding box, Svalbard and Jan Mayen included (WGS 84).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

impl Coordinates {
    pub const LATITUDE: std::ops::RangeInclusive<f64> = 57.5..=81.0;
    pub const LONGITUDE: std::ops::RangeInclusive<f64> = -9.5..=35.0;

    pub fn parse(latitude: f64, longitude: f64) -> Result<Self, String> {
        if Self::LATITUDE.contains(&latitude) && Self::LONGITUDE.contains(&longitude) {
            Ok(Self {
                latitude,
                longitude,
            })
        } else {
            Err(format!(
                "({latitude}, {longitude}) is outside Norway (latitude 57.5 to 81, longitude -9.5 to 35)"
            ))
        }
    }
}

#[cfg(test)]
mod coordinate_tests {
    use super::*;

    #[test]
    fn norway_svalbard_and_jan_mayen_are_inside_and_stockholm_is_not() {
        assert!(Coordinates::parse(59.91, 10.75).is_ok()); // Oslo
        assert!(Coordinates::parse(78.22, 15.65).is_ok()); // Longyearbyen
        assert!(Coordinates::parse(70.98, -8.5).is_ok()); // Jan Mayen
        assert!(Coordinates::parse(71.17, 25.78).is_ok()); // Nordkapp
        assert!(Coordinates::parse(55.6, 12.5).is_err()); // Copenhagen
        assert!(Coordinates::parse(59.33, 45.0).is_err());
        assert!(Coordinates::parse(f64::NAN, 10.0).is_err());
    }
}

/// A language code of the offered list (a BCP 47 primary subtag, e.g. `nb`, `se`, `smj`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageCode(String);
string_value!(LanguageCode);

impl LanguageCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        if crate::common::languages::offered(s).is_some() {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "'{s}' is not a language of the offered list (see /api/v1/languages; e.g. nb, se, ar)"
            ))
        }
    }

    /// A code read back from the database: any BCP 47 primary subtag, so that a language
    /// taken off the offered list leaves the rows that name it readable.
    pub fn from_stored(s: &str) -> Result<Self, String> {
        if crate::common::languages::is_primary_subtag(s) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("'{s}' is not a BCP 47 primary language subtag"))
        }
    }

    /// The offered codes, for the `enum` of the spec.
    pub fn offered_codes() -> impl Iterator<Item = &'static str> {
        crate::common::languages::OFFERED.iter().map(|l| l.code)
    }

    /// The offered codes as a pattern, for parameters whose schema is a pattern.
    pub fn pattern() -> String {
        format!(
            "^({})$",
            Self::offered_codes().collect::<Vec<_>>().join("|")
        )
    }
}

/// A Norwegian postal code: four digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostalCode(String);
string_value!(PostalCode);

impl PostalCode {
    pub fn parse(s: &str) -> Result<Self, String> {
        if is_digits(s, 4) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("'{s}' is not a postal code (four digits)"))
        }
    }
}

/// A wall-clock time in Europe/Oslo, written `HH:MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(pub chrono::NaiveTime);

impl TimeOfDay {
    pub fn parse(s: &str) -> Result<Self, String> {
        let invalid = || format!("'{s}' is not a time of day written HH:MM (00:00 to 23:59)");
        if s.len() != 5 || s.as_bytes()[2] != b':' {
            return Err(invalid());
        }
        chrono::NaiveTime::parse_from_str(s, "%H:%M")
            .map(Self)
            .map_err(|_| invalid())
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

#[cfg(test)]
mod location_value_tests {
    use super::*;

    #[test]
    fn language_codes_are_those_offered() {
        for code in [
            "nb", "nn", "se", "smj", "sma", "fkv", "en", "ar", "so", "ti", "ur", "pl",
        ] {
            assert!(LanguageCode::parse(code).is_ok(), "{code}");
        }
        for bad in ["NB", "xx", "qf", "nob", "", "n", "nb\0"] {
            assert!(LanguageCode::parse(bad).is_err(), "{bad}");
        }
        // Read back, any primary subtag holds, offered or not.
        assert!(LanguageCode::from_stored("yo").is_ok());
        assert!(LanguageCode::from_stored("nob").is_err());
        let pattern = LanguageCode::pattern();
        assert!(pattern.starts_with("^(am|ar|") && pattern.ends_with("|zh)$"));
    }

    #[test]
    fn postal_codes_are_four_digits() {
        assert!(PostalCode::parse("0150").is_ok());
        for bad in ["150", "01500", "O150"] {
            assert!(PostalCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(TimeOfDay::parse("09:30").unwrap().to_string(), "09:30");
        assert_eq!(TimeOfDay::parse("23:59").unwrap().to_string(), "23:59");
        for bad in ["9:30", "24:00", "12:60", "12.30", "12:30:00", ""] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
    }
}
