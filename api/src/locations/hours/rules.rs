//! The rules of opening hours as plain functions: weekly rules and dated exceptions checked
//! (times, seasons, overlaps, bounded notes), and the dates a schedule may span.

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Europe::Oslo;

use super::super::schedule::{self, RuleProblem, WeeklyRule};
use super::model::{DayHours, NewOpeningException, OpeningRuleInput};
use crate::common::text::{Text, bounded};
use crate::common::validation::Fields;
use crate::common::values::TimeOfDay;
use crate::http::error::ApiError;

/// The longest schedule one request may expand.
pub const MAX_SCHEDULE_DAYS: i64 = 366;
const MAX_RULES: usize = 100;
const NOTE_MAX: usize = 200;
/// How many days a schedule spans when no `to` is given, after `from`.
const DEFAULT_SCHEDULE_DAYS: u64 = 30;

/// Today's date in Oslo.
pub fn oslo_today() -> NaiveDate {
    Utc::now().with_timezone(&Oslo).date_naive()
}

fn note(f: &mut Fields, field: &str, note: Option<&Text>) -> Option<Option<String>> {
    f.check_optional(field, note.map(|n| bounded(n, NOTE_MAX)))
}

/// The engine's findings as one 422, each naming its entry of `list`.
fn problems(list: &str, found: Vec<RuleProblem>) -> Result<(), ApiError> {
    let mut f = Fields::default();
    for problem in found {
        f.add(&format!("{list}[{}]", problem.index), problem.message);
    }
    f.finish()
}

fn checked_rule(f: &mut Fields, i: usize, rule: &OpeningRuleInput) -> Option<WeeklyRule> {
    let opens = f.check(&format!("rules[{i}].opens"), TimeOfDay::parse(&rule.opens));
    let closes = f.check(
        &format!("rules[{i}].closes"),
        TimeOfDay::parse(&rule.closes),
    );
    let note = note(f, &format!("rules[{i}].note"), rule.note.as_ref());
    if let (Some(from), Some(to)) = (rule.valid_from, rule.valid_to)
        && to < from
    {
        f.add(
            &format!("rules[{i}].valid_to"),
            "must not be before valid_from",
        );
    }
    Some(WeeklyRule {
        weekday: rule.weekday.into(),
        opens: opens?.0,
        closes: closes?.0,
        service_mode: rule.service_mode,
        valid_from: rule.valid_from,
        valid_to: rule.valid_to,
        note: note?,
    })
}

/// Checks each rule's fields, then overlaps between rules; every problem names its rule.
pub fn checked_rules(input: &[OpeningRuleInput]) -> Result<Vec<WeeklyRule>, ApiError> {
    let mut f = Fields::default();
    if input.len() > MAX_RULES {
        f.add("rules", format!("at most {MAX_RULES} rules"));
    }
    let rules: Vec<WeeklyRule> = input
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| checked_rule(&mut f, i, rule))
        .collect();
    f.finish()?;
    problems("rules", schedule::validate_rules(&rules))?;
    Ok(rules)
}

/// A new exception, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedException {
    pub date: NaiveDate,
    /// Empty for a day closed all day.
    pub hours: DayHours,
    pub note: Option<String>,
}

/// Checks a new exception on `today`: its date, its hours (none for a closed day, no
/// overlaps) and its note.
pub fn checked_exception(
    input: &NewOpeningException,
    today: NaiveDate,
) -> Result<CheckedException, ApiError> {
    let mut f = Fields::default();
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    if input.date < earliest || input.date > today + Days::new(5 * 366) {
        f.add("date", "must be from 2000 and at most five years ahead");
    }
    match (input.closed, input.hours.is_empty()) {
        (true, false) => f.add("hours", "a closed day has no hours"),
        (false, true) => f.add("hours", "give the day's hours, or closed: true"),
        _ => {}
    }
    let mut hours = Vec::new();
    for (i, h) in input.hours.iter().enumerate() {
        let opens = f.check(&format!("hours[{i}].opens"), TimeOfDay::parse(&h.opens));
        let closes = f.check(&format!("hours[{i}].closes"), TimeOfDay::parse(&h.closes));
        if let (Some(opens), Some(closes)) = (opens, closes) {
            hours.push((opens.0, closes.0, h.service_mode));
        }
    }
    let note = note(&mut f, "note", input.note.as_ref());
    f.finish()?;
    problems("hours", schedule::validate_exception_hours(&hours))?;
    Ok(CheckedException {
        date: input.date,
        hours,
        note: note.flatten(),
    })
}

/// The dates a schedule spans: from `from` (default `today`) to `to` (default 30 days on),
/// at most [`MAX_SCHEDULE_DAYS`].
pub fn schedule_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let from = from.unwrap_or(today);
    let to = to.unwrap_or_else(|| from + Days::new(DEFAULT_SCHEDULE_DAYS));
    if to < from {
        return Err(ApiError::invalid("to", "must not be before from"));
    }
    if (to - from).num_days() >= MAX_SCHEDULE_DAYS {
        return Err(ApiError::invalid(
            "to",
            format!("a schedule spans at most {MAX_SCHEDULE_DAYS} days"),
        ));
    }
    Ok((from, to))
}

/// The dates whose rules and exceptions decide whether it is open at `at` and when that
/// next changes: its day in Oslo and the days the engine looks ahead.
pub fn status_range(at: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = at.with_timezone(&Oslo).date_naive();
    (today, today + Days::new(schedule::LOOKAHEAD_DAYS + 1))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;

    use super::*;
    use crate::locations::hours::model::{HoursInput, Weekday};
    use crate::locations::model::ServiceMode;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn time(text: &str) -> NaiveTime {
        TimeOfDay::parse(text).unwrap().0
    }

    fn rule(weekday: Weekday, opens: &str, closes: &str) -> OpeningRuleInput {
        OpeningRuleInput {
            weekday,
            opens: Text(opens.into()),
            closes: Text(closes.into()),
            service_mode: ServiceMode::DropIn,
            valid_from: None,
            valid_to: None,
            note: None,
        }
    }

    fn hours(opens: &str, closes: &str) -> HoursInput {
        HoursInput {
            opens: Text(opens.into()),
            closes: Text(closes.into()),
            service_mode: ServiceMode::DropIn,
        }
    }

    fn exception(on: &str, closed: bool, hours: Vec<HoursInput>) -> NewOpeningException {
        NewOpeningException {
            date: date(on),
            closed,
            hours,
            note: None,
        }
    }

    /// The fields a 422 names.
    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn weekly_rules_become_wall_clock_rules_in_their_order() {
        let mut thursday = rule(Weekday::Thursday, "12:00", "18:00");
        thursday.note = Some(Text("  Med timebestilling  ".into()));
        let rules = checked_rules(&[rule(Weekday::Monday, "10:00", "12:00"), thursday]).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].weekday, chrono::Weekday::Mon);
        assert_eq!(
            (rules[0].opens, rules[0].closes),
            (time("10:00"), time("12:00"))
        );
        assert_eq!(rules[1].note.as_deref(), Some("Med timebestilling"));
        assert!(checked_rules(&[]).unwrap().is_empty());
    }

    #[test]
    fn malformed_times_blank_notes_and_inverted_seasons_are_each_named() {
        let mut season = rule(Weekday::Friday, "10:00", "12:00");
        season.valid_from = Some(date("2026-08-31"));
        season.valid_to = Some(date("2026-06-01"));
        let mut blank = rule(Weekday::Friday, "13:00", "14:00");
        blank.note = Some(Text("   ".into()));
        let err = checked_rules(&[
            rule(Weekday::Monday, "9", "12:00"),
            rule(Weekday::Monday, "13:00", "25:00"),
            season,
            blank,
        ])
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "rules[0].opens",
                "rules[1].closes",
                "rules[2].valid_to",
                "rules[3].note"
            ]
        );
    }

    #[test]
    fn a_note_is_at_most_200_characters() {
        let mut long = rule(Weekday::Monday, "10:00", "12:00");
        long.note = Some(Text("x".repeat(201)));
        assert_eq!(
            fields(checked_rules(&[long.clone()]).unwrap_err()),
            ["rules[0].note"]
        );
        long.note = Some(Text("x".repeat(200)));
        assert!(checked_rules(&[long]).is_ok());
    }

    #[test]
    fn overlapping_and_inverted_rules_are_named_on_the_later_rule() {
        let overlapping = checked_rules(&[
            rule(Weekday::Monday, "10:00", "12:00"),
            rule(Weekday::Monday, "11:00", "13:00"),
        ])
        .unwrap_err();
        assert_eq!(fields(overlapping), ["rules[1]"]);
        let inverted = checked_rules(&[rule(Weekday::Monday, "12:00", "10:00")]).unwrap_err();
        assert_eq!(fields(inverted), ["rules[0]"]);
        // Touching intervals, and the same hours on another day, are fine.
        assert!(
            checked_rules(&[
                rule(Weekday::Monday, "10:00", "12:00"),
                rule(Weekday::Monday, "12:00", "14:00"),
                rule(Weekday::Tuesday, "10:00", "12:00"),
            ])
            .is_ok()
        );
    }

    #[test]
    fn more_than_100_rules_are_refused() {
        let many = vec![rule(Weekday::Monday, "10:00", "10:01"); 101];
        let err = checked_rules(&many).unwrap_err();
        assert_eq!(fields(err)[0], "rules");
    }

    #[test]
    fn a_closed_day_has_no_hours_and_an_open_one_has_some() {
        let today = date("2026-05-01");
        let closed = checked_exception(&exception("2026-05-18", true, vec![]), today).unwrap();
        assert!(closed.hours.is_empty());
        let other = exception("2026-05-19", false, vec![hours("10:00", "13:00")]);
        let other = checked_exception(&other, today).unwrap();
        assert_eq!(
            other.hours,
            [(time("10:00"), time("13:00"), ServiceMode::DropIn)]
        );
        let both = exception("2026-05-18", true, vec![hours("10:00", "13:00")]);
        assert_eq!(
            fields(checked_exception(&both, today).unwrap_err()),
            ["hours"]
        );
        let neither = exception("2026-05-18", false, vec![]);
        assert_eq!(
            fields(checked_exception(&neither, today).unwrap_err()),
            ["hours"]
        );
    }

    #[test]
    fn an_exception_lies_between_2000_and_five_years_ahead() {
        let today = date("2026-05-01");
        for on in ["1999-12-31", "2031-05-08"] {
            let err = checked_exception(&exception(on, true, vec![]), today).unwrap_err();
            assert_eq!(fields(err), ["date"], "{on}");
        }
        assert!(checked_exception(&exception("2000-01-01", true, vec![]), today).is_ok());
        assert!(checked_exception(&exception("2031-05-01", true, vec![]), today).is_ok());
    }

    #[test]
    fn an_exceptions_hours_must_be_times_that_neither_invert_nor_overlap() {
        let today = date("2026-05-01");
        let malformed = exception("2026-05-19", false, vec![hours("ten", "13:00")]);
        let err = checked_exception(&malformed, today).unwrap_err();
        assert_eq!(fields(err), ["hours[0].opens"]);
        let inverted = exception("2026-05-19", false, vec![hours("13:00", "10:00")]);
        assert_eq!(
            fields(checked_exception(&inverted, today).unwrap_err()),
            ["hours[0]"]
        );
        let overlapping = exception(
            "2026-05-19",
            false,
            vec![hours("10:00", "13:00"), hours("12:00", "14:00")],
        );
        let err = checked_exception(&overlapping, today).unwrap_err();
        assert_eq!(fields(err), ["hours[1]"]);
    }

    #[test]
    fn an_exceptions_note_is_trimmed_and_bounded() {
        let today = date("2026-05-01");
        let mut noted = exception("2026-05-18", true, vec![]);
        noted.note = Some(Text(" Stengt på grunn av kurs ".into()));
        let checked = checked_exception(&noted, today).unwrap();
        assert_eq!(checked.note.as_deref(), Some("Stengt på grunn av kurs"));
        noted.note = Some(Text("x".repeat(201)));
        assert_eq!(
            fields(checked_exception(&noted, today).unwrap_err()),
            ["note"]
        );
    }

    #[test]
    fn a_schedule_defaults_to_the_31_days_from_today_and_spans_at_most_366() {
        let today = date("2026-01-10");
        assert_eq!(
            schedule_range(None, None, today).unwrap(),
            (today, date("2026-02-09"))
        );
        let from = date("2026-01-01");
        assert!(schedule_range(Some(from), Some(date("2027-01-01")), today).is_ok());
        assert!(schedule_range(Some(from), Some(from), today).is_ok());
        for to in ["2027-01-02", "2025-12-31"] {
            let err = schedule_range(Some(from), Some(date(to)), today).unwrap_err();
            assert_eq!(fields(err), ["to"], "{to}");
        }
    }

    #[test]
    fn the_status_reads_the_oslo_day_of_the_instant_and_the_days_looked_ahead() {
        // 23:30 UTC on 31 December is already New Year's Day in Oslo.
        let at = "2026-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(status_range(at), (date("2027-01-01"), date("2027-01-16")));
    }
}
