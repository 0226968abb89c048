//! Weekly opening hours with seasons, dated exceptions and public holidays,
//! resolved to day plans and to instants in Europe/Oslo.
//!
//! All times of day are Oslo wall-clock times. An interval never crosses
//! midnight (`closes` must be after `opens` on the same day), which keeps
//! every question about one moment confined to that moment's local day.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Timelike, Utc, Weekday};

use super::holidays::{Holiday, holiday_on};
use crate::common::oslo;

pub use super::model::ServiceMode;

/// Recurring hours on one weekday, optionally limited to a season.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyRule {
    pub weekday: Weekday,
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    pub service_mode: ServiceMode,
    /// First day the rule applies; `None` means since always.
    pub valid_from: Option<NaiveDate>,
    /// Last day the rule applies (inclusive); `None` means until further notice.
    pub valid_to: Option<NaiveDate>,
    pub note: Option<String>,
}

impl WeeklyRule {
    /// Whether the rule's season contains `date` (the weekday is not checked).
    pub fn is_valid_on(&self, date: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| from <= date) && self.valid_to.is_none_or(|to| date <= to)
    }
}

/// What a dated exception does to its day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionKind {
    Closed,
    /// Replaces the whole day's hours with these `(opens, closes, mode)` intervals.
    OtherHours(Vec<(NaiveTime, NaiveTime, ServiceMode)>),
}

/// A one-off change for a single date; overrides holidays and weekly rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatedException {
    pub date: NaiveDate,
    pub kind: ExceptionKind,
    pub note: Option<String>,
}

/// Everything needed to answer "when is this location open?".
#[derive(Debug, Clone, Copy)]
pub struct Calendar<'a> {
    pub rules: &'a [WeeklyRule],
    /// At most one per date is expected; if several share a date the first is used.
    pub exceptions: &'a [DatedException],
    /// When false, public holidays close the location unless an exception says otherwise.
    pub opens_on_holidays: bool,
}

/// A validation finding; `index` points into the validated slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    pub index: usize,
    pub message: String,
}

/// One opening interval on a concrete day, `[opens, closes)` in Oslo wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub opens: NaiveTime,
    pub closes: NaiveTime,
    pub service_mode: ServiceMode,
    pub note: Option<String>,
}

/// Why a day has no opening hours, so callers can tell visitors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosedReason {
    Holiday(Holiday),
    /// Closed by a dated exception, with its note.
    Exception(Option<String>),
    /// No weekly rule applies to the day.
    NoHours,
}

/// The resolved hours of one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayPlan {
    /// Non-empty, sorted by `opens`.
    Open(Vec<Interval>),
    Closed(ClosedReason),
}

impl DayPlan {
    /// The day's intervals; empty when closed.
    pub fn intervals(&self) -> &[Interval] {
        match self {
            DayPlan::Open(intervals) => intervals,
            DayPlan::Closed(_) => &[],
        }
    }
}

/// One day of a [`schedule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledDay {
    pub date: NaiveDate,
    pub plan: DayPlan,
}

/// Answer to "is it open now, and until when?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub open: bool,
    /// The interval (and its local date) containing the instant, if open.
    pub current: Option<(NaiveDate, Interval)>,
    /// Next closing if open (touching or overlapping intervals count as one
    /// opening), next opening if closed; `None` if nothing changes within the
    /// local day of the instant and the following [`LOOKAHEAD_DAYS`] days.
    pub next_change_at: Option<DateTime<Utc>>,
}

/// How many days after today [`status_at`] searches for the next change.
pub const LOOKAHEAD_DAYS: u64 = 14;

fn hm(t: NaiveTime) -> String {
    if t.second() == 0 && t.nanosecond() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

fn times_overlap(a: (NaiveTime, NaiveTime), b: (NaiveTime, NaiveTime)) -> bool {
    // Half-open intervals: 10–12 and 12–14 only touch.
    a.0 < b.1 && b.0 < a.1
}

fn seasons_intersect(a: &WeeklyRule, b: &WeeklyRule) -> bool {
    let start = a.valid_from.max(b.valid_from);
    let end = match (a.valid_to, b.valid_to) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    match (start, end) {
        (Some(s), Some(e)) => s <= e,
        _ => true,
    }
}

fn interval_problem(opens: NaiveTime, closes: NaiveTime) -> Option<String> {
    (closes <= opens).then(|| {
        format!(
            "closes ({}) must be after opens ({}) on the same day",
            hm(closes),
            hm(opens)
        )
    })
}

/// Finds rules that [`day_plan`] would ignore or that contradict each other:
/// empty or inverted intervals, seasons ending before they start, and
/// overlapping rules on the same weekday and service mode whose seasons
/// intersect (reported on the later rule). Touching intervals are fine.
pub fn validate_rules(rules: &[WeeklyRule]) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    let well_formed = |r: &WeeklyRule| {
        r.closes > r.opens
            && match (r.valid_from, r.valid_to) {
                (Some(from), Some(to)) => from <= to,
                _ => true,
            }
    };
    for (index, rule) in rules.iter().enumerate() {
        if let Some(message) = interval_problem(rule.opens, rule.closes) {
            problems.push(RuleProblem { index, message });
        }
        if let (Some(from), Some(to)) = (rule.valid_from, rule.valid_to)
            && to < from
        {
            problems.push(RuleProblem {
                index,
                message: format!("valid_to ({to}) is before valid_from ({from})"),
            });
        }
        if !well_formed(rule) {
            continue;
        }
        for (other_index, other) in rules[..index].iter().enumerate() {
            if well_formed(other)
                && other.weekday == rule.weekday
                && other.service_mode == rule.service_mode
                && seasons_intersect(rule, other)
                && times_overlap((rule.opens, rule.closes), (other.opens, other.closes))
            {
                problems.push(RuleProblem {
                    index,
                    message: format!(
                        "overlaps rule {other_index} ({}–{}) on {}",
                        hm(other.opens),
                        hm(other.closes),
                        weekday_name(rule.weekday)
                    ),
                });
            }
        }
    }
    problems
}

/// Like [`validate_rules`] for the `(opens, closes, mode)` hours of one
/// [`ExceptionKind::OtherHours`]; `index` points into `hours`.
pub fn validate_exception_hours(hours: &[(NaiveTime, NaiveTime, ServiceMode)]) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    for (index, &(opens, closes, mode)) in hours.iter().enumerate() {
        if let Some(message) = interval_problem(opens, closes) {
            problems.push(RuleProblem { index, message });
            continue;
        }
        for (other_index, &(o_opens, o_closes, o_mode)) in hours[..index].iter().enumerate() {
            if o_closes > o_opens
                && o_mode == mode
                && times_overlap((opens, closes), (o_opens, o_closes))
            {
                problems.push(RuleProblem {
                    index,
                    message: format!(
                        "overlaps interval {other_index} ({}–{})",
                        hm(o_opens),
                        hm(o_closes)
                    ),
                });
            }
        }
    }
    problems
}

fn finish(mut intervals: Vec<Interval>, closed: ClosedReason) -> DayPlan {
    // Empty or inverted intervals cannot be represented on one day; validation reports them.
    intervals.retain(|i| i.closes > i.opens);
    if intervals.is_empty() {
        return DayPlan::Closed(closed);
    }
    intervals.sort_by_key(|i| (i.opens, i.closes));
    DayPlan::Open(intervals)
}

/// The hours of `date`. Precedence: a dated exception for the date, then a
/// public holiday (closed unless `opens_on_holidays`), then the weekly rules
/// for that weekday whose season contains the date. Empty or inverted
/// intervals are skipped.
pub fn day_plan(cal: &Calendar, date: NaiveDate) -> DayPlan {
    if let Some(ex) = cal.exceptions.iter().find(|e| e.date == date) {
        let reason = ClosedReason::Exception(ex.note.clone());
        return match &ex.kind {
            ExceptionKind::Closed => DayPlan::Closed(reason),
            ExceptionKind::OtherHours(hours) => finish(
                hours
                    .iter()
                    .map(|&(opens, closes, service_mode)| Interval {
                        opens,
                        closes,
                        service_mode,
                        note: ex.note.clone(),
                    })
                    .collect(),
                reason,
            ),
        };
    }
    if !cal.opens_on_holidays
        && let Some(holiday) = holiday_on(date)
    {
        return DayPlan::Closed(ClosedReason::Holiday(holiday));
    }
    let weekday = date.weekday();
    finish(
        cal.rules
            .iter()
            .filter(|r| r.weekday == weekday && r.is_valid_on(date))
            .map(|r| Interval {
                opens: r.opens,
                closes: r.closes,
                service_mode: r.service_mode,
                note: r.note.clone(),
            })
            .collect(),
        ClosedReason::NoHours,
    )
}

/// Day plans for every date from `from` to `to` inclusive (empty if `to < from`).
/// The caller bounds the range.
pub fn schedule(cal: &Calendar, from: NaiveDate, to: NaiveDate) -> Vec<ScheduledDay> {
    from.iter_days()
        .take_while(|date| *date <= to)
        .map(|date| ScheduledDay {
            date,
            plan: day_plan(cal, date),
        })
        .collect()
}

/// The instants at which `interval` on `date` opens and closes, with the
/// Oslo UTC offset in force at each instant (+01:00 in winter, +02:00 in
/// summer). Non-existent wall-clock times (spring-forward gap) move forward
/// to the end of the gap; ambiguous ones (fall-back overlap) take the earlier
/// instant. An interval wholly inside the gap thus becomes empty.
pub fn to_instants(
    date: NaiveDate,
    interval: &Interval,
) -> (DateTime<FixedOffset>, DateTime<FixedOffset>) {
    (
        oslo::instant(date.and_time(interval.opens)).fixed_offset(),
        oslo::instant(date.and_time(interval.closes)).fixed_offset(),
    )
}

fn utc_span(date: NaiveDate, interval: &Interval) -> (DateTime<Utc>, DateTime<Utc>) {
    let (opens, closes) = to_instants(date, interval);
    (opens.with_timezone(&Utc), closes.with_timezone(&Utc))
}

fn oslo_date(at: DateTime<Utc>) -> NaiveDate {
    oslo::date_of(at)
}

/// The interval of `date` containing `at`: the earliest-opening one if
/// intervals of different modes overlap.
fn containing(cal: &Calendar, date: NaiveDate, at: DateTime<Utc>) -> Option<Interval> {
    day_plan(cal, date).intervals().iter().find_map(|i| {
        let (opens, closes) = utc_span(date, i);
        (opens <= at && at < closes).then(|| i.clone())
    })
}

/// Whether the location is open at `at`, and when that next changes.
/// Only the Oslo-local day of `at` and the [`LOOKAHEAD_DAYS`] days after it
/// are examined.
pub fn status_at(cal: &Calendar, at: DateTime<Utc>) -> Status {
    let today = oslo_date(at);
    let last = today
        .checked_add_days(Days::new(LOOKAHEAD_DAYS))
        .unwrap_or(NaiveDate::MAX);
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = schedule(cal, today, last)
        .iter()
        .flat_map(|day| {
            day.plan
                .intervals()
                .iter()
                .map(move |i| utc_span(day.date, i))
        })
        .filter(|(opens, closes)| opens < closes)
        .collect();
    spans.sort();

    let current = containing(cal, today, at).map(|i| (today, i));
    let next_change_at = if current.is_some() {
        // Extend through every span that touches or overlaps the opening so far.
        let mut until = at;
        for &(opens, closes) in &spans {
            if opens <= until && closes > until {
                until = closes;
            }
        }
        Some(until)
    } else {
        spans
            .iter()
            .map(|&(opens, _)| opens)
            .find(|&opens| opens > at)
    };
    Status {
        open: current.is_some(),
        current,
        next_change_at,
    }
}

/// Shortcut for `status_at(cal, at).open` that skips the look-ahead.
pub fn is_open_at(cal: &Calendar, at: DateTime<Utc>) -> bool {
    containing(cal, oslo_date(at), at).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    const ALL_DAYS: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    const WORKDAYS: [Weekday; 5] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rule(
        weekday: Weekday,
        opens: NaiveTime,
        closes: NaiveTime,
        mode: ServiceMode,
    ) -> WeeklyRule {
        WeeklyRule {
            weekday,
            opens,
            closes,
            service_mode: mode,
            valid_from: None,
            valid_to: None,
            note: None,
        }
    }

    fn rules_for(days: &[Weekday], opens: NaiveTime, closes: NaiveTime) -> Vec<WeeklyRule> {
        days.iter()
            .map(|&w| rule(w, opens, closes, ServiceMode::DropIn))
            .collect()
    }

    fn cal<'a>(rules: &'a [WeeklyRule], exceptions: &'a [DatedException]) -> Calendar<'a> {
        Calendar {
            rules,
            exceptions,
            opens_on_holidays: false,
        }
    }

    fn rfc(date: NaiveDate, i: &Interval) -> (String, String) {
        let (a, b) = to_instants(date, i);
        (a.to_rfc3339(), b.to_rfc3339())
    }

    fn hours_of(plan: &DayPlan) -> Vec<(NaiveTime, NaiveTime)> {
        plan.intervals()
            .iter()
            .map(|i| (i.opens, i.closes))
            .collect()
    }

    fn holiday_key(plan: &DayPlan) -> Option<&'static str> {
        match plan {
            DayPlan::Closed(ClosedReason::Holiday(h)) => Some(h.key),
            _ => None,
        }
    }

    #[test]
    fn schedule_across_spring_dst_change() {
        let rules = rules_for(&ALL_DAYS, t(10, 0), t(16, 0));
        let days = schedule(&cal(&rules, &[]), d(2026, 3, 28), d(2026, 3, 30));
        let got: Vec<_> = days
            .iter()
            .map(|day| rfc(day.date, &day.plan.intervals()[0]))
            .collect();
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            got,
            vec![
                s("2026-03-28T10:00:00+01:00", "2026-03-28T16:00:00+01:00"),
                s("2026-03-29T10:00:00+02:00", "2026-03-29T16:00:00+02:00"),
                s("2026-03-30T10:00:00+02:00", "2026-03-30T16:00:00+02:00"),
            ]
        );
    }

    #[test]
    fn schedule_across_autumn_dst_change() {
        let rules = rules_for(&ALL_DAYS, t(10, 0), t(16, 0));
        let days = schedule(&cal(&rules, &[]), d(2026, 10, 24), d(2026, 10, 26));
        let got: Vec<_> = days
            .iter()
            .map(|day| rfc(day.date, &day.plan.intervals()[0]).0)
            .collect();
        assert_eq!(
            got,
            vec![
                "2026-10-24T10:00:00+02:00",
                "2026-10-25T10:00:00+01:00",
                "2026-10-26T10:00:00+01:00",
            ]
        );
    }

    #[test]
    fn nonexistent_spring_time_moves_to_end_of_gap() {
        let i = Interval {
            opens: t(2, 30),
            closes: t(4, 0),
            service_mode: ServiceMode::DropIn,
            note: None,
        };
        assert_eq!(
            rfc(d(2026, 3, 29), &i),
            (
                "2026-03-29T03:00:00+02:00".to_string(),
                "2026-03-29T04:00:00+02:00".to_string()
            )
        );
        let with_seconds = Interval {
            opens: NaiveTime::from_hms_opt(2, 0, 30).unwrap(),
            ..i
        };
        assert_eq!(
            to_instants(d(2026, 3, 29), &with_seconds).0.to_rfc3339(),
            "2026-03-29T03:00:00+02:00"
        );
    }

    #[test]
    fn ambiguous_autumn_time_takes_earlier_instant() {
        let i = Interval {
            opens: t(2, 30),
            closes: t(3, 0),
            service_mode: ServiceMode::DropIn,
            note: None,
        };
        assert_eq!(
            rfc(d(2026, 10, 25), &i),
            (
                "2026-10-25T02:30:00+02:00".to_string(),
                "2026-10-25T03:00:00+01:00".to_string()
            )
        );
        let (a, b) = to_instants(d(2026, 10, 25), &i);
        assert_eq!(b - a, TimeDelta::minutes(90));
    }

    #[test]
    fn interval_inside_spring_gap_is_never_open() {
        let rules = vec![rule(Weekday::Sun, t(2, 0), t(2, 45), ServiceMode::DropIn)];
        let c = cal(&rules, &[]);
        let (a, b) = to_instants(d(2026, 3, 29), &day_plan(&c, d(2026, 3, 29)).intervals()[0]);
        assert_eq!(a, b);
        assert!(!is_open_at(&c, utc("2026-03-29T01:00:00Z")));
        let s = status_at(&c, utc("2026-03-29T00:30:00Z"));
        assert!(!s.open);
        // Skips the empty interval and Easter Sunday (5 April) to 12 April 02:00 +02:00.
        assert_eq!(s.next_change_at, Some(utc("2026-04-12T00:00:00Z")));
    }

    #[test]
    fn easter_and_whitsun_close_location() {
        let rules = rules_for(&ALL_DAYS, t(9, 0), t(15, 0));
        let c = cal(&rules, &[]);
        let cases = [
            (
                2025,
                [(4, 17), (4, 18), (4, 20), (4, 21), (5, 29), (6, 8), (6, 9)],
            ),
            (
                2026,
                [(4, 2), (4, 3), (4, 5), (4, 6), (5, 14), (5, 24), (5, 25)],
            ),
            (
                2027,
                [(3, 25), (3, 26), (3, 28), (3, 29), (5, 6), (5, 16), (5, 17)],
            ),
        ];
        let keys = [
            "maundy_thursday",
            "good_friday",
            "easter_sunday",
            "easter_monday",
            "ascension_day",
            "whit_sunday",
            "whit_monday",
        ];
        for (year, dates) in cases {
            for ((m, day), key) in dates.into_iter().zip(keys) {
                let plan = day_plan(&c, d(year, m, day));
                let got = holiday_key(&plan);
                // 17 May 2027 is both Constitution Day and Whit Monday.
                let expected = if (year, m, day) == (2027, 5, 17) {
                    "constitution_day"
                } else {
                    key
                };
                assert_eq!(got, Some(expected), "{year}-{m}-{day}");
            }
            // The Wednesday before Maundy Thursday is an ordinary day.
            let (m, day) = dates[0];
            let wednesday = d(year, m, day).pred_opt().unwrap();
            assert_eq!(
                hours_of(&day_plan(&c, wednesday)),
                vec![(t(9, 0), t(15, 0))]
            );
        }
    }

    #[test]
    fn opens_on_holidays_keeps_weekly_hours() {
        let rules = rules_for(&ALL_DAYS, t(9, 0), t(15, 0));
        let c = Calendar {
            opens_on_holidays: true,
            ..cal(&rules, &[])
        };
        assert_eq!(
            hours_of(&day_plan(&c, d(2026, 4, 3))),
            vec![(t(9, 0), t(15, 0))]
        );
    }

    #[test]
    fn exception_on_holiday_wins() {
        let rules = rules_for(&ALL_DAYS, t(9, 0), t(15, 0));
        let exceptions = [DatedException {
            date: d(2026, 4, 3),
            kind: ExceptionKind::OtherHours(vec![(t(11, 0), t(13, 0), ServiceMode::Appointment)]),
            note: Some("Påskeåpent".into()),
        }];
        let c = cal(&rules, &exceptions);
        assert_eq!(
            day_plan(&c, d(2026, 4, 3)),
            DayPlan::Open(vec![Interval {
                opens: t(11, 0),
                closes: t(13, 0),
                service_mode: ServiceMode::Appointment,
                note: Some("Påskeåpent".into()),
            }])
        );
        // Other holidays are still closed.
        assert_eq!(
            holiday_key(&day_plan(&c, d(2026, 4, 2))),
            Some("maundy_thursday")
        );
    }

    #[test]
    fn closed_exception_on_ordinary_day() {
        let rules = rules_for(&ALL_DAYS, t(9, 0), t(15, 0));
        let exceptions = [DatedException {
            date: d(2026, 6, 10),
            kind: ExceptionKind::Closed,
            note: Some("Personalmøte".into()),
        }];
        let c = cal(&rules, &exceptions);
        assert_eq!(
            day_plan(&c, d(2026, 6, 10)),
            DayPlan::Closed(ClosedReason::Exception(Some("Personalmøte".into())))
        );
        assert!(day_plan(&c, d(2026, 6, 11)).intervals().len() == 1);
    }

    #[test]
    fn exception_with_only_invalid_hours_closes_day() {
        let rules = rules_for(&ALL_DAYS, t(9, 0), t(15, 0));
        let exceptions = [DatedException {
            date: d(2026, 6, 10),
            kind: ExceptionKind::OtherHours(vec![(t(13, 0), t(11, 0), ServiceMode::DropIn)]),
            note: None,
        }];
        assert_eq!(
            day_plan(&cal(&rules, &exceptions), d(2026, 6, 10)),
            DayPlan::Closed(ClosedReason::Exception(None))
        );
    }

    #[test]
    fn two_intervals_in_one_day_sorted_by_opens() {
        let mut afternoon = rule(Weekday::Wed, t(12, 0), t(15, 0), ServiceMode::Appointment);
        afternoon.note = Some("Timebestilling".into());
        let rules = vec![
            afternoon,
            rule(Weekday::Wed, t(9, 0), t(11, 0), ServiceMode::DropIn),
        ];
        let plan = day_plan(&cal(&rules, &[]), d(2026, 6, 10));
        let got: Vec<_> = plan
            .intervals()
            .iter()
            .map(|i| (i.opens, i.service_mode, i.note.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (t(9, 0), ServiceMode::DropIn, None),
                (
                    t(12, 0),
                    ServiceMode::Appointment,
                    Some("Timebestilling".into())
                ),
            ]
        );
    }

    #[test]
    fn no_rule_for_weekday_is_no_hours() {
        let rules = rules_for(&WORKDAYS, t(9, 0), t(15, 0));
        assert_eq!(
            day_plan(&cal(&rules, &[]), d(2026, 6, 13)),
            DayPlan::Closed(ClosedReason::NoHours)
        );
    }

    #[test]
    fn season_boundary() {
        let mut rules = Vec::new();
        for w in ALL_DAYS {
            let mut winter = rule(w, t(9, 0), t(15, 0), ServiceMode::DropIn);
            winter.valid_to = Some(d(2026, 6, 14));
            let mut summer = rule(w, t(10, 0), t(14, 0), ServiceMode::DropIn);
            summer.valid_from = Some(d(2026, 6, 15));
            rules.push(winter);
            rules.push(summer);
        }
        assert!(validate_rules(&rules).is_empty());
        let days = schedule(&cal(&rules, &[]), d(2026, 6, 13), d(2026, 6, 16));
        let got: Vec<_> = days
            .iter()
            .map(|day| (day.date, hours_of(&day.plan)))
            .collect();
        assert_eq!(
            got,
            vec![
                (d(2026, 6, 13), vec![(t(9, 0), t(15, 0))]),
                (d(2026, 6, 14), vec![(t(9, 0), t(15, 0))]),
                (d(2026, 6, 15), vec![(t(10, 0), t(14, 0))]),
                (d(2026, 6, 16), vec![(t(10, 0), t(14, 0))]),
            ]
        );
    }

    #[test]
    fn schedule_range_is_inclusive_and_empty_when_reversed() {
        let c = cal(&[], &[]);
        assert_eq!(schedule(&c, d(2026, 1, 1), d(2026, 1, 31)).len(), 31);
        assert_eq!(schedule(&c, d(2026, 1, 1), d(2026, 1, 1)).len(), 1);
        assert!(schedule(&c, d(2026, 1, 2), d(2026, 1, 1)).is_empty());
    }

    // 2026-06-10 is a Wednesday in summer time (+02:00).
    #[test]
    fn status_just_before_closing() {
        let rules = rules_for(&WORKDAYS, t(9, 0), t(15, 0));
        let c = cal(&rules, &[]);
        let s = status_at(&c, utc("2026-06-10T14:59:59+02:00"));
        assert!(s.open);
        assert_eq!(s.current.as_ref().unwrap().0, d(2026, 6, 10));
        assert_eq!(s.current.unwrap().1.closes, t(15, 0));
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T13:00:00Z")));
    }

    #[test]
    fn status_exactly_at_closing() {
        let rules = rules_for(&WORKDAYS, t(9, 0), t(15, 0));
        let c = cal(&rules, &[]);
        let s = status_at(&c, utc("2026-06-10T15:00:00+02:00"));
        assert!(!s.open);
        assert_eq!(s.current, None);
        assert_eq!(s.next_change_at, Some(utc("2026-06-11T07:00:00Z")));
        assert!(!is_open_at(&c, utc("2026-06-10T15:00:00+02:00")));
    }

    #[test]
    fn status_just_before_and_at_opening() {
        let rules = rules_for(&WORKDAYS, t(9, 0), t(15, 0));
        let c = cal(&rules, &[]);
        let s = status_at(&c, utc("2026-06-10T08:59:59+02:00"));
        assert!(!s.open);
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T07:00:00Z")));
        let s = status_at(&c, utc("2026-06-10T09:00:00+02:00"));
        assert!(s.open);
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T13:00:00Z")));
        assert!(is_open_at(&c, utc("2026-06-10T09:00:00+02:00")));
    }

    #[test]
    fn no_rules_means_no_next_change() {
        let s = status_at(&cal(&[], &[]), utc("2026-06-10T12:00:00Z"));
        assert_eq!(
            s,
            Status {
                open: false,
                current: None,
                next_change_at: None
            }
        );
    }

    #[test]
    fn lookahead_is_limited_to_fourteen_days() {
        let opening = |date| DatedException {
            date,
            kind: ExceptionKind::OtherHours(vec![(t(10, 0), t(12, 0), ServiceMode::DropIn)]),
            note: None,
        };
        let at = utc("2026-06-10T12:00:00Z");
        let within = [opening(d(2026, 6, 24))];
        assert_eq!(
            status_at(&cal(&[], &within), at).next_change_at,
            Some(utc("2026-06-24T08:00:00Z"))
        );
        let beyond = [opening(d(2026, 6, 25))];
        assert_eq!(status_at(&cal(&[], &beyond), at).next_change_at, None);
    }

    #[test]
    fn next_change_across_weekend() {
        let rules = rules_for(&WORKDAYS, t(9, 0), t(15, 0));
        let c = cal(&rules, &[]);
        // Friday afternoon after closing -> Monday 09:00.
        let s = status_at(&c, utc("2026-06-12T16:00:00+02:00"));
        assert!(!s.open);
        assert_eq!(s.next_change_at, Some(utc("2026-06-15T07:00:00Z")));
    }

    #[test]
    fn next_change_across_weekend_and_dst_change() {
        let rules = rules_for(&WORKDAYS, t(9, 0), t(15, 0));
        let c = cal(&rules, &[]);
        // Friday in winter time, Monday in summer time.
        let s = status_at(&c, utc("2026-03-27T15:00:00+01:00"));
        assert_eq!(s.next_change_at, Some(utc("2026-03-30T07:00:00Z")));
        let s = status_at(&c, utc("2026-10-23T15:00:00+02:00"));
        assert_eq!(s.next_change_at, Some(utc("2026-10-26T08:00:00Z")));
    }

    #[test]
    fn next_change_skips_holidays() {
        let rules = rules_for(&WORKDAYS, t(9, 0), t(15, 0));
        let c = cal(&rules, &[]);
        // Wednesday before Easter 2026 -> Tuesday after Easter Monday.
        let s = status_at(&c, utc("2026-04-01T15:30:00+02:00"));
        assert_eq!(s.next_change_at, Some(utc("2026-04-07T07:00:00Z")));
    }

    #[test]
    fn touching_intervals_are_one_opening() {
        let rules = vec![
            rule(Weekday::Wed, t(10, 0), t(12, 0), ServiceMode::DropIn),
            rule(Weekday::Wed, t(12, 0), t(14, 0), ServiceMode::Appointment),
        ];
        let c = cal(&rules, &[]);
        let s = status_at(&c, utc("2026-06-10T11:00:00+02:00"));
        assert!(s.open);
        assert_eq!(s.current.unwrap().1.service_mode, ServiceMode::DropIn);
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T12:00:00Z")));
        let s = status_at(&c, utc("2026-06-10T12:00:00+02:00"));
        assert_eq!(s.current.unwrap().1.service_mode, ServiceMode::Appointment);
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T12:00:00Z")));
    }

    #[test]
    fn gap_between_intervals_is_a_change() {
        let rules = vec![
            rule(Weekday::Wed, t(9, 0), t(11, 0), ServiceMode::DropIn),
            rule(Weekday::Wed, t(12, 0), t(15, 0), ServiceMode::Appointment),
        ];
        let c = cal(&rules, &[]);
        let s = status_at(&c, utc("2026-06-10T10:00:00+02:00"));
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T09:00:00Z")));
        let s = status_at(&c, utc("2026-06-10T11:30:00+02:00"));
        assert!(!s.open);
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T10:00:00Z")));
    }

    #[test]
    fn overlapping_modes_extend_opening() {
        let rules = vec![
            rule(Weekday::Wed, t(9, 0), t(13, 0), ServiceMode::DropIn),
            rule(Weekday::Wed, t(11, 0), t(16, 0), ServiceMode::Appointment),
        ];
        let c = cal(&rules, &[]);
        let s = status_at(&c, utc("2026-06-10T12:00:00+02:00"));
        assert_eq!(s.current.unwrap().1.service_mode, ServiceMode::DropIn);
        assert_eq!(s.next_change_at, Some(utc("2026-06-10T14:00:00Z")));
    }

    #[test]
    fn status_uses_oslo_local_date() {
        // 23:30 UTC on Wednesday is 01:30 on Thursday in Oslo.
        let rules = vec![rule(Weekday::Thu, t(1, 0), t(2, 0), ServiceMode::DropIn)];
        let c = cal(&rules, &[]);
        let s = status_at(&c, utc("2026-06-10T23:30:00Z"));
        assert!(s.open);
        assert_eq!(s.current.unwrap().0, d(2026, 6, 11));
        assert_eq!(s.next_change_at, Some(utc("2026-06-11T00:00:00Z")));
    }

    #[test]
    fn validate_rules_finds_overlap() {
        let rules = vec![
            rule(Weekday::Mon, t(10, 0), t(12, 0), ServiceMode::DropIn),
            rule(Weekday::Mon, t(11, 0), t(13, 0), ServiceMode::DropIn),
        ];
        assert_eq!(
            validate_rules(&rules),
            vec![RuleProblem {
                index: 1,
                message: "overlaps rule 0 (10:00–12:00) on monday".into()
            }]
        );
    }

    #[test]
    fn validate_rules_accepts_adjacent_other_mode_other_day_and_disjoint_seasons() {
        let mut winter = rule(Weekday::Mon, t(9, 0), t(15, 0), ServiceMode::DropIn);
        winter.valid_to = Some(d(2026, 6, 14));
        let mut summer = rule(Weekday::Mon, t(10, 0), t(14, 0), ServiceMode::DropIn);
        summer.valid_from = Some(d(2026, 6, 15));
        let rules = vec![
            rule(Weekday::Tue, t(10, 0), t(12, 0), ServiceMode::DropIn),
            rule(Weekday::Tue, t(12, 0), t(14, 0), ServiceMode::DropIn),
            rule(Weekday::Tue, t(10, 0), t(14, 0), ServiceMode::Appointment),
            rule(Weekday::Wed, t(11, 0), t(13, 0), ServiceMode::DropIn),
            winter,
            summer,
        ];
        assert_eq!(validate_rules(&rules), vec![]);
    }

    #[test]
    fn validate_rules_finds_overlap_in_intersecting_seasons() {
        let mut a = rule(Weekday::Fri, t(9, 0), t(15, 0), ServiceMode::DropIn);
        a.valid_to = Some(d(2026, 6, 15));
        let mut b = rule(Weekday::Fri, t(14, 0), t(16, 0), ServiceMode::DropIn);
        b.valid_from = Some(d(2026, 6, 15));
        let problems = validate_rules(&[a, b]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].index, 1);
        assert_eq!(
            problems[0].message,
            "overlaps rule 0 (09:00–15:00) on friday"
        );
    }

    #[test]
    fn validate_rules_finds_inverted_empty_and_backwards_season() {
        let mut backwards = rule(Weekday::Thu, t(9, 0), t(10, 0), ServiceMode::DropIn);
        backwards.valid_from = Some(d(2026, 6, 1));
        backwards.valid_to = Some(d(2026, 5, 31));
        let rules = vec![
            rule(Weekday::Mon, t(12, 0), t(10, 0), ServiceMode::DropIn),
            rule(Weekday::Mon, t(10, 0), t(10, 0), ServiceMode::DropIn),
            backwards,
            rule(Weekday::Thu, t(9, 0), t(10, 0), ServiceMode::DropIn),
        ];
        assert_eq!(
            validate_rules(&rules),
            vec![
                RuleProblem {
                    index: 0,
                    message: "closes (10:00) must be after opens (12:00) on the same day".into()
                },
                RuleProblem {
                    index: 1,
                    message: "closes (10:00) must be after opens (10:00) on the same day".into()
                },
                RuleProblem {
                    index: 2,
                    message: "valid_to (2026-05-31) is before valid_from (2026-06-01)".into()
                },
            ]
        );
    }

    #[test]
    fn invalid_rules_are_skipped_by_day_plan() {
        let rules = vec![
            rule(Weekday::Mon, t(12, 0), t(10, 0), ServiceMode::DropIn),
            rule(Weekday::Mon, t(13, 0), t(14, 0), ServiceMode::DropIn),
        ];
        assert_eq!(
            hours_of(&day_plan(&cal(&rules, &[]), d(2026, 6, 8))),
            vec![(t(13, 0), t(14, 0))]
        );
    }

    #[test]
    fn validate_exception_hours_checks_each_interval() {
        let hours = [
            (t(10, 0), t(12, 0), ServiceMode::DropIn),
            (t(12, 0), t(14, 0), ServiceMode::DropIn),
            (t(11, 0), t(13, 0), ServiceMode::Appointment),
            (t(13, 30), t(15, 0), ServiceMode::DropIn),
            (t(16, 0), t(15, 0), ServiceMode::DropIn),
        ];
        assert_eq!(
            validate_exception_hours(&hours),
            vec![
                RuleProblem {
                    index: 3,
                    message: "overlaps interval 1 (12:00–14:00)".into()
                },
                RuleProblem {
                    index: 4,
                    message: "closes (15:00) must be after opens (16:00) on the same day".into()
                },
            ]
        );
        assert!(validate_exception_hours(&hours[..3]).is_empty());
    }
}
