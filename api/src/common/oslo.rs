//! Europe/Oslo wall-clock times and the instants they name, shared by the opening hours of
//! locations and the business hours of the kontaktpunkt.

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Oslo;
use chrono_tz::Tz;

/// Resolves an Oslo wall-clock time to an instant.
///
/// Times skipped when clocks go forward (02:00–03:00 on the last Sunday of
/// March) map forward to the first instant that exists, 03:00 +02:00.
/// Times that occur twice when clocks go back (02:00–03:00 on the last
/// Sunday of October) take the earlier instant, the one at +02:00.
pub fn instant(local: NaiveDateTime) -> DateTime<Tz> {
    match Oslo.from_local_datetime(&local) {
        LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => dt,
        LocalResult::None => {
            // Transitions fall on whole minutes, so the first existing whole
            // minute after the wall-clock time is where the gap ends.
            let mut probe = local
                .with_second(0)
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(local);
            for _ in 0..(24 * 60) {
                probe += TimeDelta::minutes(1);
                match Oslo.from_local_datetime(&probe) {
                    LocalResult::Single(dt) | LocalResult::Ambiguous(dt, _) => return dt,
                    LocalResult::None => {}
                }
            }
            // Unreachable for real tz data: no gap lasts a day.
            Oslo.from_utc_datetime(&local)
        }
    }
}

/// The Oslo calendar date of an instant.
pub fn date_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Oslo).date_naive()
}
