//! The two service-level clocks of a ticket, as pure functions.
//!
//! Each ticket has a **first-response** clock (from creation to the first public reply of
//! KS) and a **resolution** clock (from creation to resolution). A clock counts business
//! time of the kontaktpunkt's calendar while it runs:
//!
//! - the first-response clock runs until KS first replies publicly, or the ticket is
//!   resolved or closed without a reply;
//! - the resolution clock runs while the ticket is `new`, `open` or `referred`, is paused
//!   while it is `waiting_on_municipality` (the due time moves by the business time it
//!   waits) and stops when it is `resolved` or `closed`; a reopened ticket starts it again
//!   from what it had counted.
//!
//! A clock stores the business time it counted up to the instant it last started, so a
//! change of the calendar or of the targets counts the time before the change with the old
//! calendar and only what is left with the new one: time already counted stays counted. A
//! due time that had been reached when something changes stays where it was; one that a
//! smaller target puts in the past becomes the instant of the change.
//!
//! The state of a target at an instant: `met` when the clock stopped by its due time,
//! `breached` when it stopped later or the due time has passed, `due_soon` when under 20 %
//! of its business time is left, `on_track` otherwise.

use chrono::{DateTime, TimeDelta, Utc};
use poem_openapi::Enum;

use super::model::TicketStatus;
use super::service_levels::business_time::BusinessCalendar;

/// The share of a target after which it is `due_soon`: 80 % used, under 20 % left.
const DUE_SOON_NUMERATOR: i32 = 4;
const DUE_SOON_DENOMINATOR: i32 = 5;

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SlaState {
    /// More than 20 % of the business time is left.
    OnTrack,
    /// Under 20 % of the business time is left.
    DueSoon,
    /// The due time has passed, or the target was reached late.
    Breached,
    /// Reached by the due time.
    Met,
}

impl SlaState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTrack => "on_track",
            Self::DueSoon => "due_soon",
            Self::Breached => "breached",
            Self::Met => "met",
        }
    }
}

/// What a clock does after a change of its ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Paused,
    Stopped,
}

/// One clock as it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Business time counted up to `running_since` (all of it while paused or stopped).
    pub counted: TimeDelta,
    /// When the clock last started; `None` while paused or stopped.
    pub running_since: Option<DateTime<Utc>>,
    /// When the target is due; `None` while paused before it was reached (the due time
    /// is not known until the clock runs again).
    pub due_at: Option<DateTime<Utc>>,
    /// When under 20 % of the target is left; `None` while paused before that.
    pub due_soon_at: Option<DateTime<Utc>>,
    /// Once stopped: whether the target was met.
    pub met: Option<bool>,
}

impl Clock {
    /// A clock that starts at `at` with nothing counted.
    pub fn start(calendar: &BusinessCalendar, target: TimeDelta, at: DateTime<Utc>) -> Self {
        let idle = Self {
            counted: TimeDelta::zero(),
            running_since: None,
            due_at: None,
            due_soon_at: None,
            met: None,
        };
        idle.project(calendar, target, at)
    }

    /// Whether the due time has passed at `now` while the target was still open.
    fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_at.is_some_and(|due| now > due)
    }

    /// The state of the target at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> SlaState {
        match self.met {
            Some(true) => SlaState::Met,
            Some(false) => SlaState::Breached,
            None if self.overdue(now) => SlaState::Breached,
            None if self.due_soon_at.is_some_and(|soon| now > soon) => SlaState::DueSoon,
            None => SlaState::OnTrack,
        }
    }

    /// Whether the clock is paused (the due time waits for it to run again).
    pub fn paused(&self) -> bool {
        self.met.is_none() && self.running_since.is_none()
    }

    /// The business time counted up to `at`, with the calendar in force until then.
    pub fn counted_at(&self, calendar: &BusinessCalendar, at: DateTime<Utc>) -> TimeDelta {
        match self.running_since {
            Some(since) => self.counted + calendar.between(since, at),
            None => self.counted,
        }
    }

    /// Starts the clock running at `at` and places its due times with `calendar` and
    /// `target`; the clock has counted `self.counted` so far.
    fn project(
        mut self,
        calendar: &BusinessCalendar,
        target: TimeDelta,
        at: DateTime<Utc>,
    ) -> Self {
        self.running_since = Some(at);
        self.met = None;
        self.due_at = place(self.due_at, calendar, target, self.counted, at);
        self.due_soon_at = place(
            self.due_soon_at,
            calendar,
            due_soon(target),
            self.counted,
            at,
        );
        self
    }

    /// The clock after a change at `at`: the time since it last started is counted with
    /// `before` (the calendar in force until now), then it goes on in `phase` with `after`
    /// and `target` (those in force from now).
    pub fn advance(
        self,
        before: &BusinessCalendar,
        after: &BusinessCalendar,
        target: TimeDelta,
        at: DateTime<Utc>,
        phase: Phase,
    ) -> Self {
        let mut clock = self;
        let was_stopped = clock.met.is_some();
        clock.counted = clock.counted_at(before, at);
        clock.running_since = None;
        match phase {
            Phase::Running => clock.project(after, target, at),
            Phase::Stopped if was_stopped => clock,
            Phase::Stopped => {
                clock.met = Some(!self.overdue(at));
                clock
            }
            Phase::Paused => {
                clock.met = None;
                clock.due_at = reached(clock.due_at, target, clock.counted, at);
                clock.due_soon_at = reached(clock.due_soon_at, due_soon(target), clock.counted, at);
                clock
            }
        }
    }
}

/// The business time after which a target is due soon.
fn due_soon(target: TimeDelta) -> TimeDelta {
    target * DUE_SOON_NUMERATOR / DUE_SOON_DENOMINATOR
}

/// A due time once `counted` of `target` is used at `at`: one already reached stays where
/// it was (at the latest `at`); otherwise it lies what is left of the target after `at`.
fn place(
    current: Option<DateTime<Utc>>,
    calendar: &BusinessCalendar,
    target: TimeDelta,
    counted: TimeDelta,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if counted >= target {
        Some(current.map_or(at, |due| due.min(at)))
    } else {
        calendar.add(at, target - counted)
    }
}

/// A due time while paused: kept (at the latest `at`) when reached, unknown otherwise.
fn reached(
    current: Option<DateTime<Utc>>,
    target: TimeDelta,
    counted: TimeDelta,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    (counted >= target).then(|| current.map_or(at, |due| due.min(at)))
}

/// The business time each target of a priority allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    pub first_response: TimeDelta,
    pub resolution: TimeDelta,
}

/// A ticket's two clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    pub first_response: Clock,
    pub resolution: Clock,
}

/// What the clocks need to know of a ticket after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub status: TicketStatus,
    pub responded: bool,
}

impl Progress {
    fn phases(self) -> (Phase, Phase) {
        let done = !self.status.is_open();
        let first = if self.responded || done {
            Phase::Stopped
        } else {
            Phase::Running
        };
        let resolution = match self.status {
            _ if done => Phase::Stopped,
            TicketStatus::WaitingOnMunicipality => Phase::Paused,
            _ => Phase::Running,
        };
        (first, resolution)
    }
}

impl Clocks {
    /// The clocks of a ticket created at `at`.
    pub fn start(calendar: &BusinessCalendar, targets: Targets, at: DateTime<Utc>) -> Self {
        Self {
            first_response: Clock::start(calendar, targets.first_response, at),
            resolution: Clock::start(calendar, targets.resolution, at),
        }
    }

    /// The clocks after a change at `at` leaves the ticket at `progress`, with the calendar
    /// `before` in force until `at`, and `after` with `targets` from then on.
    pub fn advance(
        self,
        before: &BusinessCalendar,
        after: &BusinessCalendar,
        targets: Targets,
        at: DateTime<Utc>,
        progress: Progress,
    ) -> Self {
        let (first, resolution) = progress.phases();
        Self {
            first_response: self.first_response.advance(
                before,
                after,
                targets.first_response,
                at,
                first,
            ),
            resolution: self
                .resolution
                .advance(before, after, targets.resolution, at, resolution),
        }
    }

    /// The earliest due time of a target still open, to sort by.
    pub fn next_due_at(&self) -> Option<DateTime<Utc>> {
        [self.first_response, self.resolution]
            .iter()
            .filter(|c| c.met.is_none())
            .filter_map(|c| c.due_at)
            .min()
    }

    /// The clocks of a ticket that has none stored yet (created before service levels
    /// were kept): replayed from its creation through every change of its status and its
    /// first response, with the calendar and targets of today.
    pub fn replay(
        calendar: &BusinessCalendar,
        targets: Targets,
        created_at: DateTime<Utc>,
        changes: &[(DateTime<Utc>, TicketStatus)],
        first_response_at: Option<DateTime<Utc>>,
    ) -> Self {
        let mut events: Vec<(DateTime<Utc>, Option<TicketStatus>)> =
            changes.iter().map(|&(at, s)| (at, Some(s))).collect();
        events.extend(first_response_at.map(|at| (at, None)));
        events.sort_by_key(|&(at, _)| at);
        let mut clocks = Self::start(calendar, targets, created_at);
        let mut status = TicketStatus::New;
        for (at, change) in events {
            status = change.unwrap_or(status);
            let responded = first_response_at.is_some_and(|r| r <= at);
            let progress = Progress { status, responded };
            clocks = clocks.advance(calendar, calendar, targets, at.max(created_at), progress);
        }
        clocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Europe::Oslo;

    use TicketStatus::*;

    fn oslo(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Oslo.with_ymd_and_hms(y, m, d, h, min, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn minutes(n: i64) -> TimeDelta {
        TimeDelta::minutes(n)
    }

    fn targets(first: i64, resolution: i64) -> Targets {
        Targets {
            first_response: minutes(first),
            resolution: minutes(resolution),
        }
    }

    fn progress(status: TicketStatus, responded: bool) -> Progress {
        Progress { status, responded }
    }

    #[test]
    fn a_new_ticket_is_due_after_its_targets_in_business_time() {
        let cal = BusinessCalendar::standard();
        // Monday 7 December 2026 14:00, targets 120 and 900 minutes.
        let clocks = Clocks::start(&cal, targets(120, 900), oslo(2026, 12, 7, 14, 0));
        assert_eq!(clocks.first_response.due_at, Some(oslo(2026, 12, 8, 8, 30)));
        assert_eq!(clocks.resolution.due_at, Some(oslo(2026, 12, 9, 14, 0)));
        // Under 20 % left after 96 minutes: Tuesday 08:06.
        assert_eq!(
            clocks.first_response.due_soon_at,
            Some(oslo(2026, 12, 8, 8, 6))
        );
        assert_eq!(clocks.next_due_at(), Some(oslo(2026, 12, 8, 8, 30)));
        let first = clocks.first_response;
        assert_eq!(first.state(oslo(2026, 12, 7, 20, 0)), SlaState::OnTrack);
        assert_eq!(first.state(oslo(2026, 12, 8, 8, 7)), SlaState::DueSoon);
        assert_eq!(first.state(oslo(2026, 12, 8, 8, 30)), SlaState::DueSoon);
        assert_eq!(first.state(oslo(2026, 12, 8, 8, 31)), SlaState::Breached);
    }

    #[test]
    fn a_reply_by_the_due_time_meets_the_target_and_a_late_one_breaches_it() {
        let cal = BusinessCalendar::standard();
        let t = targets(120, 900);
        let start = Clocks::start(&cal, t, oslo(2026, 12, 7, 14, 0));
        let on_time = start.advance(
            &cal,
            &cal,
            t,
            oslo(2026, 12, 8, 8, 30),
            progress(Open, true),
        );
        assert_eq!(on_time.first_response.met, Some(true));
        assert_eq!(
            on_time.first_response.state(oslo(2027, 1, 1, 0, 0)),
            SlaState::Met
        );
        assert_eq!(on_time.first_response.counted, minutes(120));
        let late = start.advance(&cal, &cal, t, oslo(2026, 12, 8, 9, 0), progress(Open, true));
        assert_eq!(late.first_response.met, Some(false));
        assert_eq!(
            late.first_response.state(oslo(2026, 12, 8, 9, 0)),
            SlaState::Breached
        );
        // The resolution clock goes on, its due time unchanged.
        assert_eq!(late.resolution.due_at, start.resolution.due_at);
        assert_eq!(late.next_due_at(), start.resolution.due_at);
    }

    #[test]
    fn waiting_on_the_municipality_moves_the_resolution_due_time_by_the_business_time_waited() {
        let cal = BusinessCalendar::standard();
        let t = targets(120, 900);
        let created = oslo(2026, 12, 7, 9, 0);
        let clocks = Clocks::start(&cal, t, created);
        assert_eq!(clocks.resolution.due_at, Some(oslo(2026, 12, 9, 9, 0)));
        // KS asks the municipality on Monday at 10:00 (60 minutes counted) ...
        let asked = oslo(2026, 12, 7, 10, 0);
        let waiting = clocks.advance(&cal, &cal, t, asked, progress(WaitingOnMunicipality, true));
        assert!(waiting.resolution.paused());
        assert_eq!(waiting.resolution.due_at, None);
        assert_eq!(waiting.resolution.counted, minutes(60));
        assert_eq!(
            waiting.resolution.state(oslo(2026, 12, 20, 0, 0)),
            SlaState::OnTrack
        );
        // ... which answers on Tuesday at 11:00: it waited 510 business minutes (Monday
        // 10:00–15:30 is 330, Tuesday 08:00–11:00 is 180), and the due time moves from
        // Wednesday 09:00 by those 510 minutes, to Thursday 10:00.
        let answered = oslo(2026, 12, 8, 11, 0);
        let resumed = waiting.advance(&cal, &cal, t, answered, progress(Open, true));
        assert_eq!(resumed.resolution.counted, minutes(60));
        assert_eq!(resumed.resolution.due_at, Some(oslo(2026, 12, 10, 10, 0)));
        assert_eq!(cal.between(asked, answered), minutes(510));
        assert_eq!(
            cal.between(oslo(2026, 12, 9, 9, 0), oslo(2026, 12, 10, 10, 0)),
            minutes(510)
        );
    }

    #[test]
    fn a_pause_after_the_due_time_keeps_the_ticket_breached() {
        let cal = BusinessCalendar::standard();
        let t = targets(30, 60);
        let clocks = Clocks::start(&cal, t, oslo(2026, 12, 7, 9, 0));
        let paused = clocks.advance(
            &cal,
            &cal,
            t,
            oslo(2026, 12, 7, 11, 0),
            progress(WaitingOnMunicipality, true),
        );
        assert_eq!(paused.resolution.due_at, Some(oslo(2026, 12, 7, 10, 0)));
        assert_eq!(
            paused.resolution.state(oslo(2026, 12, 8, 0, 0)),
            SlaState::Breached
        );
        let resolved = paused.advance(
            &cal,
            &cal,
            t,
            oslo(2026, 12, 8, 9, 0),
            progress(Resolved, true),
        );
        assert_eq!(resolved.resolution.met, Some(false));
    }

    #[test]
    fn resolving_while_paused_before_the_due_time_meets_the_target() {
        let cal = BusinessCalendar::standard();
        let t = targets(30, 60);
        let clocks = Clocks::start(&cal, t, oslo(2026, 12, 7, 9, 0));
        let at = oslo(2026, 12, 7, 9, 20);
        let paused = clocks.advance(&cal, &cal, t, at, progress(WaitingOnMunicipality, false));
        // The first-response clock does not pause.
        assert_eq!(paused.first_response.due_at, Some(oslo(2026, 12, 7, 9, 30)));
        let later = oslo(2026, 12, 14, 9, 0);
        let resolved = paused.advance(&cal, &cal, t, later, progress(Resolved, false));
        assert_eq!(resolved.resolution.met, Some(true));
        assert_eq!(resolved.resolution.counted, minutes(20));
        // Resolved without a reply, a week late for the first response.
        assert_eq!(resolved.first_response.met, Some(false));
        assert_eq!(resolved.next_due_at(), None);
    }

    #[test]
    fn a_reopened_ticket_goes_on_from_what_it_had_counted() {
        let cal = BusinessCalendar::standard();
        let t = targets(90, 120);
        let clocks = Clocks::start(&cal, t, oslo(2026, 12, 7, 9, 0));
        let resolved = clocks.advance(
            &cal,
            &cal,
            t,
            oslo(2026, 12, 7, 10, 0),
            progress(Resolved, true),
        );
        assert_eq!(resolved.resolution.met, Some(true));
        // Reopened on Friday at 15:00: 60 minutes left, 30 on Friday and 30 on Monday.
        let reopened = resolved.advance(
            &cal,
            &cal,
            t,
            oslo(2026, 12, 11, 15, 0),
            progress(Open, true),
        );
        assert_eq!(reopened.resolution.met, None);
        assert_eq!(reopened.resolution.due_at, Some(oslo(2026, 12, 14, 8, 30)));
        // The first response stays met.
        assert_eq!(reopened.first_response.met, Some(true));
    }

    #[test]
    fn a_new_calendar_counts_only_the_time_left() {
        let old = BusinessCalendar::standard();
        let mut new = BusinessCalendar::standard();
        // From Tuesday on KS works 08:00–12:00 only.
        new.weekly = std::array::from_fn(|d| {
            if d < 5 {
                vec![(
                    chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
                    chrono::NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
                )]
            } else {
                Vec::new()
            }
        });
        let t = targets(120, 900);
        let clocks = Clocks::start(&old, t, oslo(2026, 12, 7, 9, 0));
        // Changed on Monday at 15:00: 360 minutes were counted with the old calendar and
        // stay counted; the 540 left take 240 + 240 + 60 minutes of the new hours, so
        // resolution is due on Thursday at 09:00.
        let at = oslo(2026, 12, 7, 15, 0);
        let changed = clocks.advance(&old, &new, t, at, progress(Open, true));
        assert_eq!(changed.resolution.counted, minutes(360));
        assert_eq!(changed.resolution.due_at, Some(oslo(2026, 12, 10, 9, 0)));
        // The first response was due at 11:00, before the change: it stays breached there.
        let unanswered = clocks.advance(&old, &new, t, at, progress(New, false));
        assert_eq!(
            unanswered.first_response.due_at,
            Some(oslo(2026, 12, 7, 11, 0))
        );
        assert_eq!(unanswered.first_response.state(at), SlaState::Breached);
    }

    #[test]
    fn a_smaller_target_that_is_already_used_up_falls_due_at_the_change() {
        let cal = BusinessCalendar::standard();
        let clocks = Clocks::start(&cal, targets(120, 900), oslo(2026, 12, 7, 9, 0));
        let at = oslo(2026, 12, 7, 10, 30);
        let changed = clocks.advance(&cal, &cal, targets(60, 900), at, progress(New, false));
        assert_eq!(changed.first_response.due_at, Some(at));
        assert_eq!(
            changed.first_response.state(oslo(2026, 12, 7, 10, 31)),
            SlaState::Breached
        );
        // A larger target moves a due time not yet reached.
        let larger = clocks.advance(&cal, &cal, targets(240, 900), at, progress(New, false));
        assert_eq!(larger.first_response.due_at, Some(oslo(2026, 12, 7, 13, 0)));
    }

    #[test]
    fn a_ticket_without_clocks_is_replayed_from_its_history() {
        let cal = BusinessCalendar::standard();
        let t = targets(120, 900);
        let created = oslo(2026, 12, 7, 9, 0);
        let replied = oslo(2026, 12, 7, 10, 0);
        let asked = oslo(2026, 12, 7, 10, 30);
        let answered = oslo(2026, 12, 8, 10, 30);
        let history = [
            (created, New),
            (replied, Open),
            (asked, WaitingOnMunicipality),
            (answered, Open),
        ];
        let replayed = Clocks::replay(&cal, t, created, &history, Some(replied));
        let stepped = Clocks::start(&cal, t, created)
            .advance(&cal, &cal, t, replied, progress(Open, true))
            .advance(&cal, &cal, t, asked, progress(WaitingOnMunicipality, true))
            .advance(&cal, &cal, t, answered, progress(Open, true));
        assert_eq!(replayed, stepped);
        assert_eq!(replayed.first_response.met, Some(true));
        assert_eq!(replayed.resolution.counted, minutes(90));
        // 810 minutes left from Tuesday 10:30: 300 on Tuesday, 450 on Wednesday, 60 on
        // Thursday.
        assert_eq!(replayed.resolution.due_at, Some(oslo(2026, 12, 10, 9, 0)));
    }
}
