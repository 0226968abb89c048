//! The checks of a business calendar and of service-level targets, as KS sends them.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta, Weekday as ChronoWeekday};

use super::super::model::TicketPriority;
use super::super::sla::Targets;
use super::business_time::{BusinessCalendar, Hours};
use super::model::{
    BusinessHoursInput, PriorityTargetsInput, ServiceCalendarInput, ServiceLevelsInput,
};
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::common::values::TimeOfDay;
use crate::http::error::ApiError;

const WEEKLY_MAX: usize = 50;
const DATED_MAX: usize = 500;
const HOURS_PER_DAY_MAX: usize = 10;
const NOTE_MAX: usize = 200;
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2199;
/// The largest target: 60,000 business minutes are some 133 days of 7.5 hours.
pub const MINUTES_MAX: i64 = 60_000;

/// A checked calendar: the business hours, and the notes of its dated days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCalendar {
    pub calendar: BusinessCalendar,
    pub notes: BTreeMap<NaiveDate, String>,
}

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// `HH:MM` text into a time of day, noted under `field` when it is not one.
fn time(fields: &mut Fields, field: &str, text: &str) -> Option<NaiveTime> {
    fields.check(field, TimeOfDay::parse(text).map(|t| t.0))
}

/// An `(opens, closes)` pair whose closing is after its opening.
fn interval(fields: &mut Fields, field: &str, opens: &str, closes: &str) -> Option<Hours> {
    let opens = time(fields, &format!("{field}.opens"), opens);
    let closes = time(fields, &format!("{field}.closes"), closes);
    let (opens, closes) = (opens?, closes?);
    if closes <= opens {
        fields.add(
            &format!("{field}.closes"),
            format!(
                "closes ({}) must be after opens ({}) on the same day",
                hm(closes),
                hm(opens)
            ),
        );
        return None;
    }
    Some((opens, closes))
}

/// Notes every interval of one day that overlaps an earlier one (touching is fine), and
/// sorts them.
fn no_overlaps(fields: &mut Fields, day: &mut [(String, Hours)], on: &str) {
    for i in 0..day.len() {
        for j in 0..i {
            let ((a_field, a), (_, b)) = (&day[i], &day[j]);
            if a.0 < b.1 && b.0 < a.1 {
                let message = format!("overlaps {}–{} on {on}", hm(b.0), hm(b.1));
                fields.add(a_field, message);
            }
        }
    }
    day.sort_by_key(|(_, hours)| *hours);
}

/// `YYYY-MM-DD` text into a date that exists, in the years the calendar covers.
fn date(text: &str) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|_| text.len() == 10)
        .ok_or_else(|| format!("'{text}' is not a date that exists, written YYYY-MM-DD"))?;
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(format!(
            "must lie in the years {} to {}",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

fn note(fields: &mut Fields, field: &str, note: Option<&str>) -> Option<String> {
    note.and_then(|n| fields.check(field, bounded(n, NOTE_MAX)))
}

const WEEKDAYS: [ChronoWeekday; 7] = [
    ChronoWeekday::Mon,
    ChronoWeekday::Tue,
    ChronoWeekday::Wed,
    ChronoWeekday::Thu,
    ChronoWeekday::Fri,
    ChronoWeekday::Sat,
    ChronoWeekday::Sun,
];

const WEEKDAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// The name of a weekday as the API writes it.
pub fn weekday_name(day: ChronoWeekday) -> &'static str {
    WEEKDAY_NAMES[day.num_days_from_monday() as usize]
}

/// A weekday from its name.
pub fn weekday_named(name: &str) -> Option<ChronoWeekday> {
    WEEKDAY_NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| WEEKDAYS[i])
}

/// A calendar whose every field has been checked: intervals that close after they open
/// and do not overlap on a day, dates that exist and are listed once, bounded notes; every
/// problem named at once.
pub fn checked_calendar(input: &ServiceCalendarInput) -> Result<ValidCalendar, ApiError> {
    let mut fields = Fields::default();
    if input.weekly_hours.is_empty() {
        fields.add("weekly_hours", "must hold at least one business interval");
    }
    if input.weekly_hours.len() > WEEKLY_MAX {
        fields.add(
            "weekly_hours",
            format!("must hold at most {WEEKLY_MAX} intervals"),
        );
    }
    let mut weekly: [Vec<(String, Hours)>; 7] = Default::default();
    for (i, entry) in input.weekly_hours.iter().enumerate() {
        let field = format!("weekly_hours[{i}]");
        let day = ChronoWeekday::from(entry.weekday);
        if let Some(hours) = interval(&mut fields, &field, &entry.opens, &entry.closes) {
            weekly[day.num_days_from_monday() as usize].push((field, hours));
        }
    }
    for (day, intervals) in weekly.iter_mut().enumerate() {
        no_overlaps(&mut fields, intervals, WEEKDAY_NAMES[day]);
    }

    let mut dated: BTreeMap<NaiveDate, Vec<Hours>> = BTreeMap::new();
    let mut notes = BTreeMap::new();
    let mut listed: BTreeMap<NaiveDate, String> = BTreeMap::new();
    let mut take_date = |fields: &mut Fields, field: String, text: &str| {
        let date = fields.check(&field, date(text))?;
        if let Some(first) = listed.get(&date) {
            fields.add(&field, format!("{date} is already listed as {first}"));
            return None;
        }
        listed.insert(date, field);
        Some(date)
    };
    let closures = input.closures.0.as_deref().unwrap_or_default();
    if closures.len() > DATED_MAX {
        fields.add("closures", format!("must hold at most {DATED_MAX} days"));
    }
    for (i, closure) in closures.iter().enumerate() {
        let field = format!("closures[{i}]");
        let day = take_date(&mut fields, format!("{field}.date"), &closure.date);
        let text = note(
            &mut fields,
            &format!("{field}.note"),
            closure.note.as_deref(),
        );
        if let Some(day) = day {
            dated.insert(day, Vec::new());
            notes.extend(text.map(|t| (day, t)));
        }
    }
    let other = input.other_hours.0.as_deref().unwrap_or_default();
    if other.len() > DATED_MAX {
        fields.add("other_hours", format!("must hold at most {DATED_MAX} days"));
    }
    for (i, entry) in other.iter().enumerate() {
        let field = format!("other_hours[{i}]");
        let day = take_date(&mut fields, format!("{field}.date"), &entry.date);
        let text = note(&mut fields, &format!("{field}.note"), entry.note.as_deref());
        let hours = day_hours(&mut fields, &field, &entry.hours);
        if let (Some(day), Some(hours)) = (day, hours) {
            dated.insert(day, hours);
            notes.extend(text.map(|t| (day, t)));
        }
    }
    fields.finish()?;
    let weekly = weekly.map(|day| day.into_iter().map(|(_, hours)| hours).collect());
    Ok(ValidCalendar {
        calendar: BusinessCalendar {
            weekly,
            open_on_public_holidays: input.open_on_public_holidays.0.unwrap_or(false),
            dated,
        },
        notes,
    })
}

/// The hours of one dated day: one to ten, not overlapping.
fn day_hours(fields: &mut Fields, field: &str, hours: &[BusinessHoursInput]) -> Option<Vec<Hours>> {
    if hours.is_empty() || hours.len() > HOURS_PER_DAY_MAX {
        let message = format!(
            "must hold 1 to {HOURS_PER_DAY_MAX} intervals (a closed day is listed in closures)"
        );
        fields.add(&format!("{field}.hours"), message);
        return None;
    }
    let mut day = Vec::new();
    let mut complete = true;
    for (j, h) in hours.iter().enumerate() {
        let at = format!("{field}.hours[{j}]");
        match interval(fields, &at, &h.opens, &h.closes) {
            Some(hours) => day.push((at, hours)),
            None => complete = false,
        }
    }
    no_overlaps(fields, &mut day, "that day");
    complete.then(|| day.into_iter().map(|(_, hours)| hours).collect())
}

/// The targets of every priority, indexed like [`TicketPriority::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetTable(pub [Targets; 3]);

impl TargetTable {
    /// The targets a ticket of `priority` is held to.
    pub fn of(&self, priority: TicketPriority) -> Targets {
        self.0[priority_index(priority)]
    }
}

fn priority_index(priority: TicketPriority) -> usize {
    match priority {
        TicketPriority::Low => 0,
        TicketPriority::Normal => 1,
        TicketPriority::High => 2,
    }
}

/// The priorities in the order the targets are listed.
pub const PRIORITIES: [TicketPriority; 3] = [
    TicketPriority::Low,
    TicketPriority::Normal,
    TicketPriority::High,
];

fn minutes(value: i64) -> Result<TimeDelta, String> {
    if (1..=MINUTES_MAX).contains(&value) {
        Ok(TimeDelta::minutes(value))
    } else {
        Err(format!("must be 1 to {MINUTES_MAX} business minutes"))
    }
}

/// Targets whose every field has been checked: each priority once, 1 to 60,000 business
/// minutes each, the resolution no sooner than the first response.
pub fn checked_targets(input: &ServiceLevelsInput) -> Result<TargetTable, ApiError> {
    let mut fields = Fields::default();
    let mut table: [Option<Targets>; 3] = [None; 3];
    let mut seen = [false; 3];
    for (i, entry) in input.targets.iter().enumerate() {
        let PriorityTargetsInput {
            priority,
            first_response_minutes,
            resolution_minutes,
        } = *entry;
        let field = format!("targets[{i}]");
        let index = priority_index(priority);
        if seen[index] {
            fields.add(
                &format!("{field}.priority"),
                format!("{} is listed twice", priority.as_str()),
            );
            continue;
        }
        seen[index] = true;
        let first = fields.check(
            &format!("{field}.first_response_minutes"),
            minutes(first_response_minutes),
        );
        let resolution = fields.check(
            &format!("{field}.resolution_minutes"),
            minutes(resolution_minutes),
        );
        if let (Some(first), Some(resolution)) = (first, resolution) {
            if resolution < first {
                fields.add(
                    &format!("{field}.resolution_minutes"),
                    "must be at least first_response_minutes",
                );
            }
            table[index] = Some(Targets {
                first_response: first,
                resolution,
            });
        }
    }
    for (index, priority) in PRIORITIES.iter().enumerate() {
        if !seen[index] {
            fields.add("targets", format!("has no entry for {}", priority.as_str()));
        }
    }
    fields.finish()?;
    Ok(TargetTable(table.map(|t| t.expect("checked"))))
}

#[cfg(test)]
mod tests {
    use super::super::model::{BusinessIntervalInput, DatedClosureInput, DatedHoursInput};
    use super::*;
    use crate::common::optional::NotNull;
    use crate::common::text::Text;
    use crate::locations::hours::model::Weekday;

    fn text(s: &str) -> Text {
        Text(s.into())
    }

    fn weekly(day: Weekday, opens: &str, closes: &str) -> BusinessIntervalInput {
        BusinessIntervalInput {
            weekday: day,
            opens: text(opens),
            closes: text(closes),
        }
    }

    fn calendar(weekly_hours: Vec<BusinessIntervalInput>) -> ServiceCalendarInput {
        ServiceCalendarInput {
            weekly_hours,
            open_on_public_holidays: NotNull(None),
            closures: NotNull(None),
            other_hours: NotNull(None),
        }
    }

    fn fields_of(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a 422: {other:?}"),
        }
    }

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn the_standard_week_sent_as_intervals_is_the_default_calendar() {
        let days = [
            Weekday::Friday,
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
        ];
        let input = calendar(days.map(|d| weekly(d, "08:00", "15:30")).to_vec());
        let valid = checked_calendar(&input).unwrap();
        assert_eq!(valid.calendar, BusinessCalendar::standard());
        assert!(valid.notes.is_empty());
    }

    #[test]
    fn overlapping_and_inverted_intervals_are_named_and_touching_ones_are_fine() {
        let input = calendar(vec![
            weekly(Weekday::Monday, "08:00", "12:00"),
            weekly(Weekday::Monday, "12:00", "15:00"),
            weekly(Weekday::Monday, "11:00", "13:00"),
            weekly(Weekday::Tuesday, "15:00", "09:00"),
            weekly(Weekday::Wednesday, "8:00", "24:00"),
        ]);
        let fields = fields_of(checked_calendar(&input).unwrap_err());
        assert_eq!(
            fields,
            [
                "weekly_hours[3].closes",
                "weekly_hours[4].opens",
                "weekly_hours[4].closes",
                "weekly_hours[2]",
                "weekly_hours[2]",
            ]
        );
        let fine = calendar(vec![
            weekly(Weekday::Monday, "12:00", "15:00"),
            weekly(Weekday::Monday, "08:00", "12:00"),
        ]);
        let valid = checked_calendar(&fine).unwrap();
        assert_eq!(
            valid.calendar.weekly[0],
            [(t(8, 0), t(12, 0)), (t(12, 0), t(15, 0))]
        );
        assert_eq!(
            fields_of(checked_calendar(&calendar(Vec::new())).unwrap_err()),
            ["weekly_hours"]
        );
    }

    #[test]
    fn dated_days_must_exist_and_be_listed_once() {
        let mut input = calendar(vec![weekly(Weekday::Monday, "08:00", "15:30")]);
        input.closures = NotNull(Some(vec![
            DatedClosureInput {
                date: text("2026-12-24"),
                note: Some(text("Julaften")),
            },
            DatedClosureInput {
                date: text("2027-02-30"),
                note: None,
            },
            DatedClosureInput {
                date: text("2026-13-01"),
                note: None,
            },
            DatedClosureInput {
                date: text("1850-01-01"),
                note: None,
            },
        ]));
        input.other_hours = NotNull(Some(vec![
            DatedHoursInput {
                date: text("2026-12-24"),
                hours: vec![BusinessHoursInput {
                    opens: text("08:00"),
                    closes: text("12:00"),
                }],
                note: None,
            },
            DatedHoursInput {
                date: text("2026-12-23"),
                hours: Vec::new(),
                note: Some(text("")),
            },
        ]));
        let fields = fields_of(checked_calendar(&input).unwrap_err());
        assert_eq!(
            fields,
            [
                "closures[1].date",
                "closures[2].date",
                "closures[3].date",
                "other_hours[0].date",
                "other_hours[1].note",
                "other_hours[1].hours",
            ]
        );
    }

    #[test]
    fn dated_days_replace_their_weekday_with_their_notes_kept() {
        let mut input = calendar(vec![weekly(Weekday::Monday, "08:00", "15:30")]);
        input.open_on_public_holidays = NotNull(Some(true));
        input.closures = NotNull(Some(vec![DatedClosureInput {
            date: text("2026-12-24"),
            note: Some(text(" Julaften ")),
        }]));
        input.other_hours = NotNull(Some(vec![DatedHoursInput {
            date: text("2026-12-23"),
            hours: vec![
                BusinessHoursInput {
                    opens: text("13:00"),
                    closes: text("14:00"),
                },
                BusinessHoursInput {
                    opens: text("08:00"),
                    closes: text("12:00"),
                },
            ],
            note: None,
        }]));
        let valid = checked_calendar(&input).unwrap();
        let d = |day| NaiveDate::from_ymd_opt(2026, 12, day).unwrap();
        assert!(valid.calendar.open_on_public_holidays);
        assert_eq!(valid.calendar.dated[&d(24)], []);
        assert_eq!(
            valid.calendar.dated[&d(23)],
            [(t(8, 0), t(12, 0)), (t(13, 0), t(14, 0))]
        );
        assert_eq!(valid.notes[&d(24)], "Julaften");
    }

    fn target(priority: TicketPriority, first: i64, resolution: i64) -> PriorityTargetsInput {
        PriorityTargetsInput {
            priority,
            first_response_minutes: first,
            resolution_minutes: resolution,
        }
    }

    #[test]
    fn targets_cover_each_priority_once_with_sensible_minutes() {
        let good = ServiceLevelsInput {
            targets: vec![
                target(TicketPriority::High, 60, 60),
                target(TicketPriority::Low, 900, 4500),
                target(TicketPriority::Normal, 450, 2250),
            ],
        };
        let table = checked_targets(&good).unwrap();
        assert_eq!(
            table.of(TicketPriority::High).resolution,
            TimeDelta::minutes(60)
        );
        assert_eq!(
            table.of(TicketPriority::Low).first_response,
            TimeDelta::minutes(900)
        );
        let bad = ServiceLevelsInput {
            targets: vec![
                target(TicketPriority::High, 0, -5),
                target(TicketPriority::High, 10, 10),
                target(TicketPriority::Normal, 450, 60_001),
                target(TicketPriority::Low, 900, 800),
            ],
        };
        let fields = fields_of(checked_targets(&bad).unwrap_err());
        assert_eq!(
            fields,
            [
                "targets[0].first_response_minutes",
                "targets[0].resolution_minutes",
                "targets[1].priority",
                "targets[2].resolution_minutes",
                "targets[3].resolution_minutes",
            ]
        );
        let missing = ServiceLevelsInput {
            targets: vec![target(TicketPriority::Normal, 450, 2250)],
        };
        assert_eq!(
            fields_of(checked_targets(&missing).unwrap_err()),
            ["targets", "targets"]
        );
    }
}
