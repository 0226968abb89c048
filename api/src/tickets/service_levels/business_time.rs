//! Business time of the kontaktpunkt: the hours KS works, in Europe/Oslo, and arithmetic on
//! them.
//!
//! A [`BusinessCalendar`] gives each weekday its wall-clock intervals; Norwegian public
//! holidays are closed unless the calendar opens on them; a dated entry replaces a day's
//! hours (none: closed). Every interval is turned into the real instants it spans before
//! anything is counted, so a day on which the clocks change counts what really passed
//! (an 01:00–04:00 interval is two hours on the last Sunday of March and four on the last
//! Sunday of October), and nothing depends on the server's time zone.
//!
//! Business time is counted in whole seconds. The two operations are
//! [`BusinessCalendar::add`] (the instant at which `amount` of business time has passed
//! since `start`) and [`BusinessCalendar::between`] (how much business time lies between
//! two instants); `between(a, add(a, d)) == d` for every `d` the calendar can reach.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::common::holidays::holiday_on;
use crate::common::oslo;

/// How far [`BusinessCalendar::add`] walks before giving up: a calendar without business
/// time in ten years has none.
const MAX_DAYS: u64 = 3_660;

/// A wall-clock interval `[opens, closes)` of one day; `closes` is after `opens`.
pub type Hours = (NaiveTime, NaiveTime);

/// The business hours of the kontaktpunkt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    /// Per weekday, Monday first: its intervals, sorted and not overlapping.
    pub weekly: [Vec<Hours>; 7],
    /// Whether public holidays keep their weekday's hours; otherwise they are closed.
    pub open_on_public_holidays: bool,
    /// Dated days that keep other hours than their weekday, or none (closed).
    pub dated: BTreeMap<NaiveDate, Vec<Hours>>,
}

impl BusinessCalendar {
    /// The calendar KS keeps when none has been set: Monday to Friday 08:00–15:30, closed on
    /// public holidays.
    pub fn standard() -> Self {
        let day = vec![(
            NaiveTime::from_hms_opt(8, 0, 0).expect("a time"),
            NaiveTime::from_hms_opt(15, 30, 0).expect("a time"),
        )];
        Self {
            weekly: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            open_on_public_holidays: false,
            dated: BTreeMap::new(),
        }
    }

    /// The wall-clock hours of `date`: a dated entry first, then a public holiday (closed
    /// unless the calendar opens on them), then the weekday's.
    pub fn hours_on(&self, date: NaiveDate) -> &[Hours] {
        if let Some(hours) = self.dated.get(&date) {
            return hours;
        }
        if !self.open_on_public_holidays && holiday_on(date).is_some() {
            return &[];
        }
        &self.weekly[date.weekday().num_days_from_monday() as usize]
    }

    /// The business spans of `date` as instants, in order; an interval that lies wholly in
    /// the hour skipped in spring is empty and left out.
    fn spans(&self, date: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> {
        self.hours_on(date)
            .iter()
            .map(move |&(opens, closes)| {
                (
                    oslo::instant(date.and_time(opens)).with_timezone(&Utc),
                    oslo::instant(date.and_time(closes)).with_timezone(&Utc),
                )
            })
            .filter(|(opens, closes)| opens < closes)
    }

    /// The instant at which `amount` of business time has passed since `start`. Business
    /// time ends at the close of an interval, not at the next opening: 30 minutes from
    /// 15:00 is 15:30 of the same day when it closes then. A `start` outside business hours
    /// counts from the next opening; a zero or negative `amount` is `start` itself. `None`
    /// when the calendar has too little business time in the ten years after `start`.
    pub fn add(&self, start: DateTime<Utc>, amount: TimeDelta) -> Option<DateTime<Utc>> {
        if amount <= TimeDelta::zero() {
            return Some(start);
        }
        let mut left = amount;
        let mut date = oslo::date_of(start);
        for _ in 0..MAX_DAYS {
            for (opens, closes) in self.spans(date) {
                if closes <= start {
                    continue;
                }
                let from = opens.max(start);
                let here = closes - from;
                if left <= here {
                    return Some(from + left);
                }
                left -= here;
            }
            date = date.checked_add_days(Days::new(1))?;
        }
        None
    }

    /// The business time from `from` to `to`: zero when `to` is not after `from`.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
        let mut total = TimeDelta::zero();
        if to <= from {
            return total;
        }
        let last = oslo::date_of(to);
        let mut date = oslo::date_of(from);
        while date <= last {
            for (opens, closes) in self.spans(date) {
                let (start, end) = (opens.max(from), closes.min(to));
                if start < end {
                    total += end - start;
                }
            }
            match date.checked_add_days(Days::new(1)) {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Oslo;

    /// An instant named by its Oslo wall-clock time (the earlier one when it occurs twice).
    fn oslo(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Oslo.with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .expect("a time that exists in Oslo")
            .with_timezone(&Utc)
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn minutes(n: i64) -> TimeDelta {
        TimeDelta::minutes(n)
    }

    /// Adds `n` business minutes and checks that counting back gives `n` again.
    fn add(cal: &BusinessCalendar, start: DateTime<Utc>, n: i64) -> DateTime<Utc> {
        let due = cal.add(start, minutes(n)).expect("reachable");
        assert_eq!(
            cal.between(start, due),
            minutes(n),
            "round trip from {start}"
        );
        due
    }

    /// Every day 01:00–04:00 and 09:00–11:00, public holidays included: the hours around
    /// the clock change are business hours.
    fn night_shift() -> BusinessCalendar {
        let day = vec![(t(1, 0), t(4, 0)), (t(9, 0), t(11, 0))];
        BusinessCalendar {
            weekly: std::array::from_fn(|_| day.clone()),
            open_on_public_holidays: true,
            dated: BTreeMap::new(),
        }
    }

    #[test]
    fn a_week_of_standard_hours_counts_seven_and_a_half_hours_a_weekday() {
        let cal = BusinessCalendar::standard();
        // Monday 7 to Monday 14 December 2026: five days of 450 minutes.
        let week = cal.between(oslo(2026, 12, 7, 0, 0), oslo(2026, 12, 14, 0, 0));
        assert_eq!(week, minutes(5 * 450));
        // Monday 09:00 + 60 minutes is 10:00; + 450 is Tuesday 09:00.
        assert_eq!(
            add(&cal, oslo(2026, 12, 7, 9, 0), 60),
            oslo(2026, 12, 7, 10, 0)
        );
        assert_eq!(
            add(&cal, oslo(2026, 12, 7, 9, 0), 450),
            oslo(2026, 12, 8, 9, 0)
        );
        // Friday 15:00 + 60 minutes: 30 on Friday, 30 on Monday.
        assert_eq!(
            add(&cal, oslo(2026, 12, 11, 15, 0), 60),
            oslo(2026, 12, 14, 8, 30)
        );
        // Ending exactly at closing time stays on that day.
        assert_eq!(
            add(&cal, oslo(2026, 12, 11, 15, 0), 30),
            oslo(2026, 12, 11, 15, 30)
        );
    }

    #[test]
    fn a_start_outside_business_hours_counts_from_the_next_opening() {
        let cal = BusinessCalendar::standard();
        // Saturday afternoon: Monday 08:00 + 30.
        assert_eq!(
            add(&cal, oslo(2026, 12, 12, 14, 0), 30),
            oslo(2026, 12, 14, 8, 30)
        );
        // Tuesday 06:10 and Tuesday 20:00.
        assert_eq!(
            add(&cal, oslo(2026, 12, 8, 6, 10), 45),
            oslo(2026, 12, 8, 8, 45)
        );
        assert_eq!(
            add(&cal, oslo(2026, 12, 8, 20, 0), 45),
            oslo(2026, 12, 9, 8, 45)
        );
        // Nothing is counted between two instants outside business hours of one night.
        let night = cal.between(oslo(2026, 12, 8, 16, 0), oslo(2026, 12, 9, 7, 59));
        assert_eq!(night, TimeDelta::zero());
        // Zero minutes from outside business hours is the start itself.
        let start = oslo(2026, 12, 12, 14, 0);
        assert_eq!(cal.add(start, TimeDelta::zero()), Some(start));
        assert_eq!(cal.between(start, start - minutes(5)), TimeDelta::zero());
    }

    #[test]
    fn several_intervals_a_day_are_walked_in_order() {
        let mut cal = BusinessCalendar::standard();
        cal.weekly[0] = vec![(t(8, 0), t(11, 0)), (t(12, 0), t(15, 0))];
        // Monday 10:30 + 60: 30 before lunch, 30 after.
        assert_eq!(
            add(&cal, oslo(2026, 12, 7, 10, 30), 60),
            oslo(2026, 12, 7, 12, 30)
        );
        // Starting at lunch counts from 12:00.
        assert_eq!(
            add(&cal, oslo(2026, 12, 7, 11, 15), 10),
            oslo(2026, 12, 7, 12, 10)
        );
        assert_eq!(
            cal.between(oslo(2026, 12, 7, 0, 0), oslo(2026, 12, 8, 0, 0)),
            minutes(360)
        );
    }

    #[test]
    fn the_spring_night_has_an_hour_less_and_the_autumn_night_an_hour_more() {
        let cal = night_shift();
        // 29 March 2026: 01:00–04:00 on the wall clock is 00:00–02:00 UTC, two hours.
        let spring = cal.between(oslo(2026, 3, 29, 0, 0), oslo(2026, 3, 29, 5, 0));
        assert_eq!(spring, minutes(120));
        // 25 October 2026: 01:00 +02:00 to 04:00 +01:00 is 23:00 to 03:00 UTC, four hours.
        let autumn = cal.between(utc(2026, 10, 24, 22, 0), utc(2026, 10, 25, 4, 0));
        assert_eq!(autumn, minutes(240));
        // Adding 90 minutes from 01:30 in spring: 01:30 +01:00 is 00:30 UTC; two hours
        // later the wall clock reads 04:00 (+02:00), so the due time is 02:00 UTC.
        assert_eq!(
            add(&cal, oslo(2026, 3, 29, 1, 30), 90),
            utc(2026, 3, 29, 2, 0)
        );
        // In autumn 150 minutes from 01:00 +02:00 (23:00 UTC) end at 01:30 UTC, which the
        // wall clock shows as the second 02:30.
        assert_eq!(
            add(&cal, utc(2026, 10, 24, 23, 0), 150),
            utc(2026, 10, 25, 1, 30)
        );
        // A whole spring day holds 4 hours, an autumn day 6 hours of business time.
        assert_eq!(
            cal.between(oslo(2026, 3, 29, 0, 0), oslo(2026, 3, 30, 0, 0)),
            minutes(240)
        );
        assert_eq!(
            cal.between(oslo(2026, 10, 25, 0, 0), oslo(2026, 10, 26, 0, 0)),
            minutes(360)
        );
    }

    #[test]
    fn an_interval_in_the_skipped_hour_is_empty() {
        let mut cal = night_shift();
        cal.weekly = std::array::from_fn(|_| vec![(t(2, 0), t(2, 45)), (t(9, 0), t(10, 0))]);
        // On 28 March 2027 02:00–02:45 does not exist: only 09:00–10:00 counts.
        assert_eq!(
            cal.between(oslo(2027, 3, 28, 0, 0), oslo(2027, 3, 29, 0, 0)),
            minutes(60)
        );
        assert_eq!(
            add(&cal, oslo(2027, 3, 28, 0, 0), 10),
            oslo(2027, 3, 28, 9, 10)
        );
        // On a standard working day across the spring change nothing moves: Friday
        // 27 March 2026 15:00 + 60 is Monday 30 March 08:30, in summer time.
        let std = BusinessCalendar::standard();
        assert_eq!(
            add(&std, oslo(2026, 3, 27, 15, 0), 60),
            oslo(2026, 3, 30, 8, 30)
        );
        assert_eq!(
            add(&std, oslo(2026, 10, 23, 15, 0), 60),
            oslo(2026, 10, 26, 8, 30)
        );
    }

    #[test]
    fn easter_is_closed_from_maundy_thursday_to_easter_monday() {
        let cal = BusinessCalendar::standard();
        // Easter 2026 is 5 April: Wednesday 1 April 15:00 + 60 is Tuesday 7 April 08:30.
        assert_eq!(
            add(&cal, oslo(2026, 4, 1, 15, 0), 60),
            oslo(2026, 4, 7, 8, 30)
        );
        // A question sent on Maundy Thursday afternoon in 2027 (Easter 28 March) is counted
        // from Tuesday 30 March 08:00: a whole day of 450 minutes ends at Tuesday's close.
        assert_eq!(
            add(&cal, oslo(2027, 3, 25, 14, 0), 450),
            oslo(2027, 3, 30, 15, 30)
        );
        // Easter 2025 is 20 April: from Monday 14 to Monday 21 April, three business days.
        assert_eq!(
            cal.between(oslo(2025, 4, 14, 0, 0), oslo(2025, 4, 22, 0, 0)),
            minutes(3 * 450)
        );
        // Easter 2024 is 31 March: Maundy Thursday 28 March to Easter Monday 1 April.
        assert_eq!(
            cal.between(oslo(2024, 3, 27, 15, 30), oslo(2024, 4, 2, 8, 0)),
            TimeDelta::zero()
        );
    }

    #[test]
    fn whitsun_and_ascension_are_closed_in_several_years() {
        let cal = BusinessCalendar::standard();
        // Whit Monday 2026 is 25 May: Friday 22 May 15:00 + 60 is Tuesday 26 May 08:30.
        assert_eq!(
            add(&cal, oslo(2026, 5, 22, 15, 0), 60),
            oslo(2026, 5, 26, 8, 30)
        );
        // Whit Monday 2027 is 17 May, also Constitution Day: Friday 14 May to Tuesday 18 May.
        assert_eq!(
            add(&cal, oslo(2027, 5, 14, 15, 0), 60),
            oslo(2027, 5, 18, 8, 30)
        );
        // Whit Monday 2028 is 5 June.
        assert_eq!(
            add(&cal, oslo(2028, 6, 2, 15, 0), 60),
            oslo(2028, 6, 6, 8, 30)
        );
        // Ascension Day 2026 is Thursday 14 May: Wednesday 13 May 15:00 + 60 is Friday.
        assert_eq!(
            add(&cal, oslo(2026, 5, 13, 15, 0), 60),
            oslo(2026, 5, 15, 8, 30)
        );
        // A calendar that opens on public holidays counts Whit Monday like any Monday.
        let open = BusinessCalendar {
            open_on_public_holidays: true,
            ..BusinessCalendar::standard()
        };
        assert_eq!(
            add(&open, oslo(2026, 5, 22, 15, 0), 60),
            oslo(2026, 5, 25, 8, 30)
        );
    }

    #[test]
    fn a_dated_closure_and_dated_other_hours_replace_the_weekday() {
        let mut cal = BusinessCalendar::standard();
        // Christmas Eve 2026 is a Thursday, closed; 23 December closes at 12:00.
        cal.dated.insert(date(2026, 12, 24), Vec::new());
        cal.dated
            .insert(date(2026, 12, 23), vec![(t(8, 0), t(12, 0))]);
        // Wednesday 23 December 11:30 + 60: 30 that day, then Christmas (24, 25, 26) and
        // the weekend, so Monday 28 December 08:30.
        assert_eq!(
            add(&cal, oslo(2026, 12, 23, 11, 30), 60),
            oslo(2026, 12, 28, 8, 30)
        );
        assert_eq!(
            cal.between(oslo(2026, 12, 21, 0, 0), oslo(2026, 12, 28, 0, 0)),
            minutes(450 + 450 + 240)
        );
        // Dated hours on a public holiday open it: Easter Monday 2026 from 10:00 to 12:00.
        cal.dated
            .insert(date(2026, 4, 6), vec![(t(10, 0), t(12, 0))]);
        assert_eq!(
            add(&cal, oslo(2026, 4, 1, 15, 0), 60),
            oslo(2026, 4, 6, 10, 30)
        );
    }

    #[test]
    fn a_calendar_without_business_time_reaches_nothing() {
        let cal = BusinessCalendar {
            weekly: Default::default(),
            open_on_public_holidays: false,
            dated: BTreeMap::new(),
        };
        assert_eq!(cal.add(oslo(2026, 12, 7, 9, 0), minutes(1)), None);
        assert_eq!(
            cal.between(oslo(2026, 12, 7, 0, 0), oslo(2027, 12, 7, 0, 0)),
            TimeDelta::zero()
        );
    }

    #[test]
    fn seconds_are_counted_exactly() {
        let cal = BusinessCalendar::standard();
        let start = oslo(2026, 12, 7, 15, 29) + TimeDelta::seconds(30);
        let due = cal.add(start, TimeDelta::seconds(45)).unwrap();
        assert_eq!(due, oslo(2026, 12, 8, 8, 0) + TimeDelta::seconds(15));
        assert_eq!(cal.between(start, due), TimeDelta::seconds(45));
    }
}
