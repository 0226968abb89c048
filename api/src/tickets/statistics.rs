//! Response and resolution times of the kontaktpunkt, per category and overall.
//!
//! Figures cover the tickets created in `[from, to)`. Times are in whole seconds from a
//! ticket's `created_at` to its `first_response_at` (the first public reply of KS) and to
//! its `resolved_at`; tickets without one are left out of that figure. The median and the
//! 90th percentile use the **nearest-rank** method: of the `n` times in ascending order,
//! the p-th percentile is the one at rank `ceil(p / 100 × n)` (1-based). The median is the
//! 50th percentile, so for an even `n` it is the lower of the two middle values; every
//! figure is a time that actually occurred. Both are `null` when there is no time.
//!
//! Beside the wall-clock times stand the business times, counted in the kontaktpunkt's
//! calendar by the tickets' service-level clocks (the resolution's without the time spent
//! waiting on the municipality), and the share of tickets that met each target among those
//! whose target is settled. Figures come overall, per category and per priority.

use chrono::{DateTime, Utc};

use super::model::{
    CategoryFigures, PriorityFigures, TicketCategory, TicketFigures, TicketPriority,
    TicketStatistics, TicketStatus,
};

/// What the figures need of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketTimes {
    pub category: TicketCategory,
    pub priority: TicketPriority,
    pub status: TicketStatus,
    /// Seconds from creation to the first public reply of KS, if there was one.
    pub first_response: Option<i64>,
    /// Seconds from creation to resolution, if the ticket was resolved (or closed).
    pub resolution: Option<i64>,
    /// Business seconds to the first public reply, if there was one.
    pub first_response_business: Option<i64>,
    /// Business seconds to resolution, if the ticket was resolved.
    pub resolution_business: Option<i64>,
    /// Whether the first-response target was met, once settled.
    pub first_response_met: Option<bool>,
    /// Whether the resolution target was met, once settled.
    pub resolution_met: Option<bool>,
}

/// The `p`-th percentile (0 < p ≤ 100) of ascending `sorted` values by the nearest-rank
/// method: the value at rank `ceil(p / 100 × n)`.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// How many of `outcomes` were settled, how many met, and the share that met.
fn met_share(outcomes: &[bool]) -> (u32, u32, Option<f64>) {
    let settled = u32::try_from(outcomes.len()).unwrap_or(u32::MAX);
    let met = u32::try_from(outcomes.iter().filter(|m| **m).count()).unwrap_or(u32::MAX);
    let share = (settled > 0).then(|| f64::from(met) / f64::from(settled));
    (settled, met, share)
}

fn figures<'a>(tickets: impl Iterator<Item = &'a TicketTimes>) -> TicketFigures {
    let mut count = 0;
    let mut open_count = 0;
    let mut first_responses = Vec::new();
    let mut resolutions = Vec::new();
    let mut first_business = Vec::new();
    let mut resolution_business = Vec::new();
    let mut first_met = Vec::new();
    let mut resolution_met = Vec::new();
    for t in tickets {
        count += 1;
        if t.status.is_open() {
            open_count += 1;
        }
        first_responses.extend(t.first_response);
        resolutions.extend(t.resolution);
        first_business.extend(t.first_response_business);
        resolution_business.extend(t.resolution_business);
        first_met.extend(t.first_response_met);
        resolution_met.extend(t.resolution_met);
    }
    for times in [
        &mut first_responses,
        &mut resolutions,
        &mut first_business,
        &mut resolution_business,
    ] {
        times.sort_unstable();
    }
    let len = |v: &Vec<i64>| u32::try_from(v.len()).unwrap_or(u32::MAX);
    let (first_settled, first_met_count, first_share) = met_share(&first_met);
    let (resolution_settled, resolution_met_count, resolution_share) = met_share(&resolution_met);
    TicketFigures {
        count,
        open_count,
        responded_count: len(&first_responses),
        median_first_response_seconds: nearest_rank(&first_responses, 50),
        p90_first_response_seconds: nearest_rank(&first_responses, 90),
        resolved_count: len(&resolutions),
        median_resolution_seconds: nearest_rank(&resolutions, 50),
        p90_resolution_seconds: nearest_rank(&resolutions, 90),
        median_first_response_business_seconds: nearest_rank(&first_business, 50),
        p90_first_response_business_seconds: nearest_rank(&first_business, 90),
        median_resolution_business_seconds: nearest_rank(&resolution_business, 50),
        p90_resolution_business_seconds: nearest_rank(&resolution_business, 90),
        first_response_target_settled: first_settled,
        first_response_target_met: first_met_count,
        first_response_target_met_share: first_share,
        resolution_target_settled: resolution_settled,
        resolution_target_met: resolution_met_count,
        resolution_target_met_share: resolution_share,
    }
}

/// The statistics of `tickets`, the ones created in `[from, to)`: overall, and for every
/// category in a fixed order, also those without tickets.
pub fn statistics(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    tickets: &[TicketTimes],
) -> TicketStatistics {
    let by_category = TicketCategory::ALL
        .into_iter()
        .map(|category| CategoryFigures {
            category,
            figures: figures(tickets.iter().filter(|t| t.category == category)),
        })
        .collect();
    let by_priority = [
        TicketPriority::Low,
        TicketPriority::Normal,
        TicketPriority::High,
    ]
    .into_iter()
    .map(|priority| PriorityFigures {
        priority,
        figures: figures(tickets.iter().filter(|t| t.priority == priority)),
    })
    .collect();
    TicketStatistics {
        from,
        to,
        overall: figures(tickets.iter()),
        by_category,
        by_priority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(category: TicketCategory, status: TicketStatus, first: Option<i64>) -> TicketTimes {
        TicketTimes {
            category,
            priority: TicketPriority::Normal,
            status,
            first_response: first,
            resolution: None,
            first_response_business: None,
            resolution_business: None,
            first_response_met: None,
            resolution_met: None,
        }
    }

    #[test]
    fn business_times_and_met_shares_stand_beside_the_wall_clock_figures() {
        let ticket = |priority, business: Option<i64>, met: Option<bool>| TicketTimes {
            priority,
            first_response_business: business,
            first_response_met: met,
            resolution_met: met.map(|m| !m),
            ..times(TicketCategory::Grants, TicketStatus::Resolved, Some(1))
        };
        let tickets = [
            ticket(TicketPriority::High, Some(600), Some(true)),
            ticket(TicketPriority::High, Some(7200), Some(false)),
            ticket(TicketPriority::High, Some(60), Some(true)),
            ticket(TicketPriority::Low, None, None),
        ];
        let stats = statistics(None, None, &tickets);
        let all = &stats.overall;
        assert_eq!(all.median_first_response_business_seconds, Some(600));
        assert_eq!(all.p90_first_response_business_seconds, Some(7200));
        assert_eq!(
            (
                all.first_response_target_settled,
                all.first_response_target_met
            ),
            (3, 2)
        );
        assert_eq!(all.first_response_target_met_share, Some(2.0 / 3.0));
        assert_eq!(all.resolution_target_met_share, Some(1.0 / 3.0));
        let priorities: Vec<_> = stats.by_priority.iter().map(|p| p.priority).collect();
        assert_eq!(
            priorities,
            [
                TicketPriority::Low,
                TicketPriority::Normal,
                TicketPriority::High
            ]
        );
        let low = &stats.by_priority[0].figures;
        assert_eq!((low.count, low.first_response_target_met_share), (1, None));
        assert_eq!(
            stats.by_priority[2].figures.first_response_target_settled,
            3
        );
    }

    #[test]
    fn nearest_rank_picks_a_value_that_occurred() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        // n = 4: median rank ceil(2) = 2, p90 rank ceil(3.6) = 4.
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 50), Some(20));
        assert_eq!(nearest_rank(&[10, 20, 30, 40], 90), Some(40));
        // n = 5: median rank ceil(2.5) = 3, p90 rank ceil(4.5) = 5.
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 50), Some(3));
        assert_eq!(nearest_rank(&[1, 2, 3, 4, 5], 90), Some(5));
        // n = 10: p90 rank ceil(9) = 9.
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        assert_eq!(nearest_rank(&ten, 100), Some(10));
    }

    #[test]
    fn every_category_is_listed_and_open_tickets_are_those_not_done() {
        let tickets = [
            times(TicketCategory::Grants, TicketStatus::New, None),
            times(TicketCategory::Grants, TicketStatus::Resolved, Some(60)),
            times(TicketCategory::Technical, TicketStatus::Closed, Some(30)),
        ];
        let stats = statistics(None, None, &tickets);
        assert_eq!(stats.overall.count, 3);
        assert_eq!(stats.overall.open_count, 1);
        assert_eq!(stats.overall.responded_count, 2);
        assert_eq!(stats.overall.median_first_response_seconds, Some(30));
        assert_eq!(stats.by_category.len(), TicketCategory::ALL.len());
        let grants = &stats.by_category[1];
        assert_eq!(grants.category, TicketCategory::Grants);
        assert_eq!(grants.figures.count, 2);
        let handbook = &stats.by_category[2].figures;
        assert_eq!(
            (handbook.count, handbook.median_first_response_seconds),
            (0, None)
        );
    }
}
