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
use poem_openapi::Object;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use entity::ticket;

use super::{TicketCategory, TicketStatus, from_db};
use crate::http::error::ApiError;

/// The figures of a set of tickets.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct TicketFigures {
    /// Tickets created in the period.
    pub count: u32,
    /// Of those, the ones neither resolved nor closed.
    pub open_count: u32,
    /// Of those, the ones KS has answered (with a public reply).
    pub responded_count: u32,
    /// Median seconds from creation to the first public reply of KS (nearest rank).
    #[oai(nullable)]
    pub median_first_response_seconds: Option<i64>,
    /// 90th percentile of the same (nearest rank).
    #[oai(nullable)]
    pub p90_first_response_seconds: Option<i64>,
    /// Tickets with a `resolved_at` (resolved, or closed).
    pub resolved_count: u32,
    /// Median seconds from creation to resolution (nearest rank).
    #[oai(nullable)]
    pub median_resolution_seconds: Option<i64>,
    /// 90th percentile of the same (nearest rank).
    #[oai(nullable)]
    pub p90_resolution_seconds: Option<i64>,
}

/// The figures of one category.
#[derive(Debug, Object)]
pub struct CategoryFigures {
    pub category: TicketCategory,
    pub figures: TicketFigures,
}

/// Response and resolution times of the tickets created in a period.
#[derive(Debug, Object)]
pub struct TicketStatistics {
    /// The start of the period (inclusive); `null` for since the beginning.
    #[oai(nullable)]
    pub from: Option<DateTime<Utc>>,
    /// The end of the period (exclusive); `null` for up to now.
    #[oai(nullable)]
    pub to: Option<DateTime<Utc>>,
    pub overall: TicketFigures,
    /// Every category, in a fixed order, also those without tickets.
    pub by_category: Vec<CategoryFigures>,
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

struct Times {
    status: TicketStatus,
    first_response: Option<i64>,
    resolution: Option<i64>,
}

fn figures<'a>(tickets: impl Iterator<Item = &'a Times>) -> TicketFigures {
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

/// The statistics of the tickets created in `[from, to)`.
pub async fn compute(
    conn: &impl ConnectionTrait,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<TicketStatistics, ApiError> {
    let mut query = ticket::Entity::find().order_by_asc(ticket::Column::Id);
    if let Some(from) = from {
        query = query.filter(ticket::Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(ticket::Column::CreatedAt.lt(to));
    }
    // Only the columns the figures need: a ticket's body can be long.
    let found = query
        .select_only()
        .columns([
            ticket::Column::Category,
            ticket::Column::Status,
            ticket::Column::CreatedAt,
            ticket::Column::FirstResponseAt,
            ticket::Column::ResolvedAt,
        ])
        .into_tuple::<(
            String,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        )>()
        .all(conn)
        .await?;
    let mut rows: Vec<(TicketCategory, Times)> = Vec::with_capacity(found.len());
    for (category, status, created_at, first_response_at, resolved_at) in found {
        let seconds = |at: Option<DateTime<Utc>>| at.map(|at| (at - created_at).num_seconds());
        rows.push((
            from_db(&category)?,
            Times {
                status: from_db(&status)?,
                first_response: seconds(first_response_at),
                resolution: seconds(resolved_at),
            },
        ));
    }
    let overall = figures(rows.iter().map(|(_, t)| t));
    let by_category = TicketCategory::ALL
        .into_iter()
        .map(|category| CategoryFigures {
            category,
            figures: figures(rows.iter().filter(|(c, _)| *c == category).map(|(_, t)| t)),
        })
        .collect();
    Ok(TicketStatistics {
        from,
        to,
        overall,
        by_category,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
