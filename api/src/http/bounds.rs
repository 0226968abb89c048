//! The values both databases can hold, as one rule for every parameter, body field and
//! cursor: dates and instants in the years 1900 to 2200 (as `/holidays` takes them), and
//! text without NUL (PostgreSQL refuses it, SQLite would store it).
//!
//! Keeping instants within four-digit years also keeps SQLite's text comparison of stored
//! instants in time order: `+10000-01-01` would sort before `2026-01-01` as text.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2200;

/// Why a string cannot be taken, if it cannot: it holds NUL, or it reads as a date or an
/// instant outside the years [`FIRST_YEAR`] to [`LAST_YEAR`]. `format` is the schema's
/// (`date`, `date-time`), or `None` to check only the text.
pub fn refusal(value: &str, format: Option<&str>) -> Option<String> {
    if value.contains('\0') {
        return Some("must not contain NUL characters".into());
    }
    let year = match format {
        Some("date-time") => value.parse::<DateTime<Utc>>().ok().map(|t| t.year()),
        Some("date" | "naive-date") => value.parse::<NaiveDate>().ok().map(|d| d.year()),
        _ => return None,
    };
    let in_range = match year {
        Some(year) => (FIRST_YEAR..=LAST_YEAR).contains(&year),
        // Beyond what chrono reads (±262143): refused here too when it is written as a year,
        // so that the answer names the field; anything else is left to the parser.
        None => !has_extended_year(value),
    };
    (!in_range).then(|| format!("must lie in the years {FIRST_YEAR} to {LAST_YEAR}"))
}

/// A date written with a sign or with other than four digits of year (`+262143-01-01`).
fn has_extended_year(value: &str) -> bool {
    let unsigned = value.trim_start_matches(['+', '-']);
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0
        && unsigned.as_bytes().get(digits) == Some(&b'-')
        && (digits != 4 || unsigned.len() != value.len())
}

/// The same for a value whose format is not known (a decoded cursor): any string that reads
/// as a date or an instant is bounded.
pub fn refusal_of_any(value: &str) -> Option<String> {
    refusal(value, Some("date-time")).or_else(|| refusal(value, Some("date")))
}

/// Whether an instant lies within the years both databases and the API take.
pub fn instant_in_range(instant: &DateTime<Utc>) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&instant.year())
}

/// Whether a date lies within the years both databases and the API take.
pub fn date_in_range(date: NaiveDate) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&date.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants_are_bounded_to_four_digit_years() {
        for ok in ["1900-01-01", "2026-12-01", "2200-12-31"] {
            assert_eq!(refusal(ok, Some("date")), None, "{ok}");
        }
        for bad in [
            "1899-12-31",
            "2201-01-01",
            "0000-01-01",
            "+262142-12-31",
            "-4714-01-01",
        ] {
            assert!(refusal(bad, Some("date")).is_some(), "{bad}");
        }
        assert_eq!(refusal("2026-12-01T10:00:00Z", Some("date-time")), None);
        assert!(refusal("+10000-01-01T00:00:00Z", Some("date-time")).is_some());
        // The bound is on the instant in UTC.
        assert!(refusal("2200-12-31T23:00:00-05:00", Some("date-time")).is_some());
        // What does not parse is left to the parameter's own parser (a 400).
        assert_eq!(refusal("tomorrow", Some("date-time")), None);
        assert_eq!(refusal("2026-13-01", Some("date")), None);
        // Beyond what chrono reads, but written as a year.
        assert!(refusal("+262143-01-01T00:00:00Z", Some("date-time")).is_some());
        assert!(refusal("-262144-01-01", Some("date")).is_some());
    }

    #[test]
    fn nul_is_refused_in_any_string_and_plain_text_is_not_read_as_a_date() {
        assert!(refusal("a\0b", None).is_some());
        assert!(refusal("\0", Some("date")).is_some());
        assert_eq!(refusal("3000-01-01", None), None);
        assert!(refusal_of_any("3000-01-01").is_some());
        assert!(refusal_of_any("3000-01-01T00:00:00Z").is_some());
        assert_eq!(refusal_of_any("0301"), None);
    }

    #[test]
    fn range_checks_agree_with_the_string_rule() {
        let inside = NaiveDate::from_ymd_opt(2200, 12, 31).unwrap();
        assert!(date_in_range(inside));
        assert!(!date_in_range(NaiveDate::from_ymd_opt(2201, 1, 1).unwrap()));
        assert!(instant_in_range(
            &inside.and_hms_opt(23, 59, 59).unwrap().and_utc()
        ));
        assert!(!instant_in_range(&DateTime::<Utc>::MIN_UTC));
    }
}
