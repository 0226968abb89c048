//! The wire types of the coverage statistics.

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, ResponseContent};

use super::rules::tally_figures;

/// The figures of a set of municipalities.
#[derive(Debug, Clone, Default, PartialEq, Object)]
pub struct CoverageFigures {
    /// Municipalities.
    pub municipalities: u32,
    /// Of those, the ones with a location that is active or temporarily closed.
    pub with_offer: u32,
    /// `with_offer` / `municipalities` in percent, rounded half up to one decimal.
    pub offer_share_percent: f64,
    /// Municipalities with an approved application in a scheme of `year` or earlier.
    pub funded: u32,
    /// Of the funded ones, those without an offer now.
    pub funded_without_offer: u32,
    /// Kontaktpunkt tickets of these municipalities that are neither resolved nor closed.
    pub open_tickets: u32,
    /// The numbers of the municipalities without an offer, ascending.
    pub without_offer: Vec<String>,
}

/// The figures of one county.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct CountyCoverage {
    pub county_number: String,
    pub county_name: String,
    #[oai(flatten)]
    pub figures: CoverageFigures,
}

/// Coverage per county and nationally.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct Coverage {
    /// Funding counts approvals in schemes of this year and earlier.
    pub year: i32,
    pub national: CoverageFigures,
    /// Every county, by number.
    pub counties: Vec<CountyCoverage>,
}

impl Example for Coverage {
    fn example() -> Self {
        let oslo = CoverageFigures {
            municipalities: 1,
            with_offer: 1,
            offer_share_percent: 100.0,
            funded: 1,
            funded_without_offer: 0,
            open_tickets: 2,
            without_offer: vec![],
        };
        let rogaland = CoverageFigures {
            municipalities: 23,
            with_offer: 20,
            offer_share_percent: 87.0,
            funded: 9,
            funded_without_offer: 1,
            open_tickets: 1,
            without_offer: vec!["1114".into(), "1133".into(), "1144".into()],
        };
        Self {
            year: 2027,
            national: tally_figures([&oslo, &rogaland]),
            counties: vec![
                CountyCoverage {
                    county_number: "03".into(),
                    county_name: "Oslo".into(),
                    figures: oslo,
                },
                CountyCoverage {
                    county_number: "11".into(),
                    county_name: "Rogaland".into(),
                    figures: rogaland,
                },
            ],
        }
    }
}

/// The coverage as JSON or as CSV.
#[derive(ResponseContent)]
pub enum CoverageBody {
    Json(Json<Coverage>),
    /// One row per county and a national row, after a header line.
    #[oai(content_type = "text/csv; charset=utf-8")]
    Csv(PlainText<String>),
}

#[derive(ApiResponse)]
pub enum CoverageResponse {
    /// The coverage: JSON by default, CSV with `Accept: text/csv`.
    #[oai(status = 200)]
    Ok(
        CoverageBody,
        /// Always `Accept`: the body depends on it.
        #[oai(header = "Vary")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}
