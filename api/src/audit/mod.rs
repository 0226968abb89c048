//! The audit log: every successful write leaves an entry, in the same transaction as the
//! change ([`record`]), and KS and the ministry can read it.

pub mod model;
pub mod store;

use chrono::{DateTime, Utc};
use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::common::validation::check_period;
use crate::http::error::{AUTH, E400, E422, Failure};
use crate::http::pagination::PageRequest;
use crate::state::AppState;
use crate::tags::ApiTags;
use model::AuditListResponse;
pub use model::{Action, ResourceType};
pub use store::record;

#[derive(Default)]
pub struct AuditApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Audit")]
impl AuditApi {
    /// List audit entries
    ///
    /// Every successful write, newest first, filtered by resource, actor and time. For KS and
    /// the ministry; the ministry reads the entries of the tickets referred to it only, and
    /// no internal note's.
    #[oai(path = "/audit", method = "get", operation_id = "list_audit_entries")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// Only entries about this kind of resource, e.g. `municipality`.
        #[oai(validator(max_length = 50))]
        resource_type: Query<Option<String>>,
        /// Only entries about this resource id, e.g. `0301`.
        #[oai(validator(max_length = 100))]
        resource_id: Query<Option<String>>,
        /// Only entries made by this `sub`.
        #[oai(validator(max_length = 255))]
        actor: Query<Option<String>>,
        /// Only entries at or after this instant (RFC 3339).
        from: Query<Option<DateTime<Utc>>>,
        /// Only entries before this instant (RFC 3339).
        to: Query<Option<DateTime<Utc>>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<AuditListResponse, Failure<{ E400 | AUTH | E422 }>> {
        policy::read_audit_log(&auth.0)?;
        check_period(from.0, to.0)?;
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        let filters = store::Filters {
            resource_type: resource_type.0,
            resource_id: resource_id.0,
            actor: actor.0,
            from: from.0,
            to: to.0,
        };
        let conn = state.db.conn();
        let tickets = store::TicketEntries {
            ids: crate::tickets::store::visible_ids(conn, &auth.0).await?,
            internal_notes: policy::sees_internal_notes(&auth.0),
        };
        let page = store::list(conn, filters, tickets, &page).await?;
        Ok(AuditListResponse::Ok(Json(page.into())))
    }
}
