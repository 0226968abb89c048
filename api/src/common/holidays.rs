//! Norwegian public holidays (helligdager plus 1 and 17 May).
//!
//! Locations close on these days by default, so the schedule engine needs
//! them for any year without a lookup table.

use chrono::{Datelike, Days, NaiveDate};

/// One public holiday on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Holiday {
    pub date: NaiveDate,
    /// Stable machine-readable identifier, e.g. `"easter_sunday"`.
    pub key: &'static str,
    pub name_nb: &'static str,
    pub name_en: &'static str,
}

/// Gregorian Easter Sunday, or `None` outside 1583..=9999 where the
/// Gregorian computus is not defined.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let d = computus::gregorian(year).ok()?;
    NaiveDate::from_ymd_opt(d.year, d.month, d.day)
}

/// Fixed-date holidays as (month, day, key, name_nb, name_en).
const FIXED: [(u32, u32, &str, &str, &str); 5] = [
    (1, 1, "new_years_day", "Første nyttårsdag", "New Year's Day"),
    (
        5,
        1,
        "labour_day",
        "Arbeidernes dag (Offentlig høytidsdag)",
        "Labour Day",
    ),
    (
        5,
        17,
        "constitution_day",
        "Grunnlovsdag",
        "Constitution Day",
    ),
    (12, 25, "christmas_day", "Første juledag", "Christmas Day"),
    (
        12,
        26,
        "st_stephens_day",
        "Andre juledag",
        "St Stephen's Day",
    ),
];

/// Holidays relative to Easter Sunday as (days after Easter, key, name_nb, name_en).
const MOVABLE: [(i64, &str, &str, &str); 7] = [
    (-3, "maundy_thursday", "Skjærtorsdag", "Maundy Thursday"),
    (-2, "good_friday", "Langfredag", "Good Friday"),
    (0, "easter_sunday", "Første påskedag", "Easter Sunday"),
    (1, "easter_monday", "Andre påskedag", "Easter Monday"),
    (
        39,
        "ascension_day",
        "Kristi himmelfartsdag",
        "Ascension Day",
    ),
    (49, "whit_sunday", "Første pinsedag", "Whit Sunday"),
    (50, "whit_monday", "Andre pinsedag", "Whit Monday"),
];

fn add_days(date: NaiveDate, n: i64) -> Option<NaiveDate> {
    if n >= 0 {
        date.checked_add_days(Days::new(n.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(n.unsigned_abs()))
    }
}

/// All public holidays of `year`, sorted by date.
///
/// Coinciding holidays (17 May can fall on Ascension Day, Whit Sunday or
/// Whit Monday; 1 May on Ascension Day) are all kept; on a shared date the
/// fixed-date holiday comes first. Outside 1583..=9999 only the fixed-date
/// holidays are returned.
pub fn holidays(year: i32) -> Vec<Holiday> {
    let mut out: Vec<Holiday> = FIXED
        .iter()
        .filter_map(|&(m, d, key, name_nb, name_en)| {
            Some(Holiday {
                date: NaiveDate::from_ymd_opt(year, m, d)?,
                key,
                name_nb,
                name_en,
            })
        })
        .collect();
    if let Some(easter) = easter_sunday(year) {
        out.extend(
            MOVABLE
                .iter()
                .filter_map(|&(offset, key, name_nb, name_en)| {
                    Some(Holiday {
                        date: add_days(easter, offset)?,
                        key,
                        name_nb,
                        name_en,
                    })
                }),
        );
    }
    // Stable sort keeps fixed-date holidays ahead of movable ones on a shared date.
    out.sort_by_key(|h| h.date);
    out
}

/// The holiday on `date`, if any; the first of [`holidays`] when two coincide.
pub fn holiday_on(date: NaiveDate) -> Option<Holiday> {
    holidays(date.year()).into_iter().find(|h| h.date == date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn keyed(year: i32) -> Vec<(&'static str, NaiveDate)> {
        holidays(year)
            .into_iter()
            .map(|h| (h.key, h.date))
            .collect()
    }

    #[test]
    fn easter_matches_official_dates() {
        let cases = [
            (2019, d(2019, 4, 21)),
            (2024, d(2024, 3, 31)),
            (2025, d(2025, 4, 20)),
            (2026, d(2026, 4, 5)),
            (2027, d(2027, 3, 28)),
            (2038, d(2038, 4, 25)),
        ];
        for (year, expected) in cases {
            assert_eq!(easter_sunday(year), Some(expected), "year {year}");
        }
    }

    #[test]
    fn easter_out_of_gregorian_range_is_none() {
        assert_eq!(easter_sunday(1582), None);
        assert_eq!(easter_sunday(10_000), None);
    }

    #[test]
    fn holidays_2025() {
        assert_eq!(
            keyed(2025),
            vec![
                ("new_years_day", d(2025, 1, 1)),
                ("maundy_thursday", d(2025, 4, 17)),
                ("good_friday", d(2025, 4, 18)),
                ("easter_sunday", d(2025, 4, 20)),
                ("easter_monday", d(2025, 4, 21)),
                ("labour_day", d(2025, 5, 1)),
                ("constitution_day", d(2025, 5, 17)),
                ("ascension_day", d(2025, 5, 29)),
                ("whit_sunday", d(2025, 6, 8)),
                ("whit_monday", d(2025, 6, 9)),
                ("christmas_day", d(2025, 12, 25)),
                ("st_stephens_day", d(2025, 12, 26)),
            ]
        );
    }

    #[test]
    fn holidays_2026() {
        assert_eq!(
            keyed(2026),
            vec![
                ("new_years_day", d(2026, 1, 1)),
                ("maundy_thursday", d(2026, 4, 2)),
                ("good_friday", d(2026, 4, 3)),
                ("easter_sunday", d(2026, 4, 5)),
                ("easter_monday", d(2026, 4, 6)),
                ("labour_day", d(2026, 5, 1)),
                ("ascension_day", d(2026, 5, 14)),
                ("constitution_day", d(2026, 5, 17)),
                ("whit_sunday", d(2026, 5, 24)),
                ("whit_monday", d(2026, 5, 25)),
                ("christmas_day", d(2026, 12, 25)),
                ("st_stephens_day", d(2026, 12, 26)),
            ]
        );
    }

    #[test]
    fn whit_monday_2027_coincides_with_constitution_day() {
        let all = holidays(2027);
        assert_eq!(all.len(), 12);
        let on_17_may: Vec<_> = all
            .iter()
            .filter(|h| h.date == d(2027, 5, 17))
            .map(|h| h.key)
            .collect();
        assert_eq!(on_17_may, vec!["constitution_day", "whit_monday"]);
        assert_eq!(holiday_on(d(2027, 5, 17)).unwrap().key, "constitution_day");
    }

    #[test]
    fn ascension_2008_coincides_with_labour_day() {
        let keys: Vec<_> = holidays(2008)
            .into_iter()
            .filter(|h| h.date == d(2008, 5, 1))
            .map(|h| h.key)
            .collect();
        assert_eq!(keys, vec!["labour_day", "ascension_day"]);
    }

    #[test]
    fn always_twelve_sorted_entries() {
        for year in 1990..=2100 {
            let all = holidays(year);
            assert_eq!(all.len(), 12, "year {year}");
            assert!(
                all.windows(2).all(|w| w[0].date <= w[1].date),
                "year {year}"
            );
        }
    }

    #[test]
    fn holiday_on_finds_names_and_misses_ordinary_days() {
        let h = holiday_on(d(2026, 4, 3)).unwrap();
        assert_eq!(h.key, "good_friday");
        assert_eq!(h.name_nb, "Langfredag");
        assert_eq!(h.name_en, "Good Friday");
        assert_eq!(holiday_on(d(2026, 5, 17)).unwrap().name_nb, "Grunnlovsdag");
        assert_eq!(holiday_on(d(2026, 4, 1)), None);
        assert_eq!(holiday_on(d(2026, 12, 24)), None);
    }

    #[test]
    fn outside_gregorian_range_only_fixed_dates() {
        let keys: Vec<_> = holidays(1500).into_iter().map(|h| h.key).collect();
        assert_eq!(
            keys,
            vec![
                "new_years_day",
                "labour_day",
                "constitution_day",
                "christmas_day",
                "st_stephens_day"
            ]
        );
    }
}
