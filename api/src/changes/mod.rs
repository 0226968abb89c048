//! The change feed: every committed create, update and delete, in commit order, for the
//! systems that keep a copy. Entries are written by [`store::record`] in the transaction of
//! the write (through the audit log's `record`), pruned after the retention period, and
//! read by role: [`store::visible_to`].

pub mod model;
pub mod store;
mod subject;

use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;

use crate::auth::optional_caller;
use crate::http::error::{ApiError, E400, E401, E410, Failure};
use crate::http::problems::ProblemCode;
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{ChangeListResponse, ChangePage, FeedType};
pub use store::{counter, prune, record, record_message};

#[derive(Default)]
pub struct ChangesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Sync")]
impl ChangesApi {
    /// Follow the change feed
    ///
    /// Every committed create, update and delete, oldest first, each with a `sequence` that
    /// only grows: start from `after=0` (or from `latest_sequence` noted before an initial
    /// load from the lists), then ask again with `after=next_after`. Sequences follow the order the
    /// writes committed in, so a client that follows the feed never misses one. Deleted
    /// resources appear as `deleted` entries, kept like every entry for
    /// `DIGIHJELPEN_CHANGES_RETENTION` (90 days by default); an `after` older than that is
    /// 410 `changes-expired`: load the lists again. Anonymous callers see public resources;
    /// a municipality also its own tickets, registrations and applications; KS and the
    /// ministry what they read elsewhere (internal notes: KS only).
    #[oai(path = "/changes", method = "get", operation_id = "list_changes")]
    async fn list(
        &self,
        req: &poem::Request,
        state: poem::web::Data<&AppState>,
        /// The `sequence` (or `next_after`) last seen; 0 for the start.
        #[oai(default, validator(minimum(value = "0")))]
        after: Query<i64>,
        /// Only entries about this kind of resource.
        resource_type: Query<Option<FeedType>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
    ) -> Result<ChangeListResponse, Failure<{ E400 | E401 | E410 }>> {
        let caller = optional_caller(req, &state).await?;
        let types: Vec<FeedType> = resource_type.0.into_iter().collect();
        let limit = u64::from(limit.0.unwrap_or(50));
        let page = store::list(
            state.db.conn(),
            caller.as_ref(),
            after.0,
            &types,
            &[],
            limit,
        )
        .await
        .map_err(|err| match err {
            store::FeedError::Expired(pruned) => ApiError::Gone(
                ProblemCode::ChangesExpired,
                format!(
                    "the feed keeps entries after sequence {pruned} only; load the lists \
                         again and follow the feed from the counter they were read at"
                ),
            ),
            store::FeedError::Db(err) => err.into(),
        })?;
        let next_after = page.items.last().map_or(after.0, |e| e.sequence);
        Ok(ChangeListResponse::Ok(Json(ChangePage {
            items: page.items,
            next_after,
            latest_sequence: page.latest_sequence,
        })))
    }
}
