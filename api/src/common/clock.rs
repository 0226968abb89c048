//! The current instant, at the precision both databases keep.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, to the microsecond: PostgreSQL keeps no finer time, so an instant computed with
/// (a due time from a start) is the same before and after it is stored.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
