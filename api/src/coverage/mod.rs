//! Coverage statistics: per county and nationally, how many municipalities have a Digihjelp
//! offer, how many were funded, and who is still without one: the ministry's view.
//!
//! Definitions:
//! - **with an offer**: the municipality has a location that is `active` or
//!   `temporarily_closed`, exactly as `has_digihjelp` on a municipality
//!   ([`crate::municipalities::store::with_offer`]); this is the state now, whatever `year`.
//! - **funded**: the municipality has an `approved` application in a scheme whose `year` is
//!   at most `year`.
//! - **open tickets**: kontaktpunkt tickets of the municipality that are neither `resolved`
//!   nor `closed`, now.
//! - **offer share**: with an offer / municipalities, in percent rounded half up to one
//!   decimal (0 when there are no municipalities).

pub mod model;
pub mod rules;
pub mod store;

use chrono::Utc;
use poem_openapi::OpenApi;
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, PlainText};

use crate::http::error::{ApiError, E400, E406, Failure};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{CoverageBody, CoverageResponse};
use rules::Format;

#[derive(Default)]
pub struct CoverageApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Statistics")]
impl CoverageApi {
    /// Coverage statistics
    ///
    /// Public. Per county and nationally: municipalities, those with an offer (a location
    /// that is active or temporarily closed, as `has_digihjelp`), the share in percent, those
    /// funded (an approved application in a scheme of `year` or earlier), those funded but
    /// still without an offer, open kontaktpunkt tickets (neither resolved nor closed), and
    /// the numbers of the municipalities without an offer. Offers and tickets are as they
    /// are now; `year` bounds the funding only.
    ///
    /// JSON by default; `Accept: text/csv` gives a header line, one row per county and a
    /// national row (`county_number` empty, `county_name` `Hele landet`), with the numbers
    /// without an offer separated by spaces. An `Accept` that allows neither JSON nor CSV is
    /// refused with 406.
    #[oai(
        path = "/statistics/coverage",
        method = "get",
        operation_id = "get_coverage"
    )]
    async fn coverage(
        &self,
        state: poem::web::Data<&AppState>,
        request: &poem::Request,
        /// Count funding up to this year (default: the current year in Norway), 2017 to
        /// 2100.
        #[oai(validator(minimum(value = "2017"), maximum(value = "2100")))]
        year: Query<Option<i32>>,
    ) -> Result<CoverageResponse, Failure<{ E400 | E406 }>> {
        let accept = request
            .headers()
            .get(poem::http::header::ACCEPT)
            .map(|v| v.to_str().unwrap_or("\u{0}"));
        let format = rules::negotiate(accept).ok_or_else(|| {
            ApiError::NotAcceptable("the coverage is served as application/json or text/csv".into())
        })?;
        let year = rules::funding_year(year.0, Utc::now());
        let coverage = rules::tally(year, &store::facts(state.db.conn(), year).await?);
        let body = match format {
            Format::Json => CoverageBody::Json(Json(coverage)),
            Format::Csv => CoverageBody::Csv(PlainText(rules::to_csv(&coverage))),
        };
        Ok(CoverageResponse::Ok(body, "Accept".into()))
    }
}
