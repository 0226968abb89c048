//! Response and resolution times of the kontaktpunkt, per category and overall.
//!
//! Figures cover the tickets created in `[from, to)`. Times are in whole seconds from a
//! ticket's `created_at` to its `first_response_at` (the first public reply of KS) and to
//! its `resolved_at`; tickets without one are left out of that figure. The median and the
//! 90th percentile use the **nearest-rank** method: of the `n` times in ascending order,
//! the p-th percentile is the one at rank `ceil(p / 100 × n)` (1-based). The median is the
//! 50th percentile, so for an even `n` it is the lower of the two middle values; every
//! figure is a time that actually occurred. Both are `null` when there is no time.

use chrono::{DateTime, Utc};

use super::model::{
    CategoryFigures, TicketCategory, TicketFigures, TicketStatistics, TicketStatus,
};

/// What the figures need of one ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketTimes {
    pub category: TicketCategory,
    pub status: TicketStatus,
    /// Seconds from creation to the first public reply of KS, if there was one.
    pub first_response: Option<i64>,
    /// Seconds from creation to resolution, if the ticket was resolved (or closed).
    pub resolution: Option<i64>,
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

fn figures<'a>(tickets: impl Iterator<Item = &'a TicketTimes>) -> TicketFigures {
    let mut count = 0;
    let mut open_count = 0;
    let mut first_responses = Vec::new();
    let mut resolutions = Vec::new();
    for t in tickets {
        count += 1;
        if t.status.is_open() {
            open_count += 1;
        }
        first_responses.extend(t.first_response);
        resolutions.extend(t.resolution);
    }
    first_responses.sort_unstable();
    resolutions.sort_unstable();
    let len = |v: &Vec<i64>| u32::try_from(v.len()).unwrap_or(u32::MAX);
    TicketFigures {
        count,
        open_count,
        responded_count: len(&first_responses),
        median_first_response_seconds: nearest_rank(&first_responses, 50),
        p90_first_response_seconds: nearest_rank(&first_responses, 90),
        resolved_count: len(&resolutions),
        median_resolution_seconds: nearest_rank(&resolutions, 50),
        p90_resolution_seconds: nearest_rank(&resolutions, 90),
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
    TicketStatistics {
        from,
        to,
        overall: figures(tickets.iter()),
        by_category,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn times(category: TicketCategory, status: TicketStatus, first: Option<i64>) -> TicketTimes {
        TicketTimes {
            category,
            status,
            first_response: first,
            resolution: None,
        }
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
