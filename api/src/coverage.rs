//! Coverage statistics: per county and nationally, how many municipalities have a Digihjelp
//! offer, how many were funded, and who is still without one: the ministry's view.
//!
//! Definitions:
//! - **with an offer**: the municipality has a location that is `active` or
//!   `temporarily_closed`, exactly as `has_digihjelp` on a municipality
//!   ([`crate::locations::store::offering_municipalities`]); this is the state now, whatever `year`.
//! - **funded**: the municipality has an `approved` application in a scheme whose `year` is
//!   at most `year`.
//! - **open tickets**: kontaktpunkt tickets of the municipality that are neither `resolved`
//!   nor `closed`, now.
//! - **offer share**: with an offer / municipalities, in percent rounded half up to one
//!   decimal (0 when there are no municipalities).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{Datelike, Utc};
use chrono_tz::Europe::Oslo;
use poem_openapi::param::Query;
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::types::Example;
use poem_openapi::{ApiResponse, Object, OpenApi, ResponseContent};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QueryOrder, QuerySelect,
    RelationTrait,
};

use entity::{county, grant_application, grant_scheme, municipality, ticket};

use crate::grants::ApplicationStatus;
use crate::http::error::{ApiError, E400, E406, Failure};
use crate::locations::store::offering_municipalities;
use crate::state::AppState;
use crate::tags::ApiTags;
use crate::tickets::TicketStatus;

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

/// `part / whole` in percent, rounded half up to one decimal, computed in integers so the
/// figure is exact.
pub fn share_percent(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    let (part, whole) = (u64::from(part), u64::from(whole));
    let permille = (part * 2000 + whole) / (2 * whole);
    permille as f64 / 10.0
}

/// Adds the figures of several sets of municipalities together.
fn tally_figures<'a>(parts: impl IntoIterator<Item = &'a CoverageFigures>) -> CoverageFigures {
    let mut total = CoverageFigures::default();
    for part in parts {
        total.municipalities += part.municipalities;
        total.with_offer += part.with_offer;
        total.funded += part.funded;
        total.funded_without_offer += part.funded_without_offer;
        total.open_tickets += part.open_tickets;
        total
            .without_offer
            .extend(part.without_offer.iter().cloned());
    }
    total.without_offer.sort();
    total.offer_share_percent = share_percent(total.with_offer, total.municipalities);
    total
}

/// What the figures are computed from.
pub struct Facts {
    /// (number, name), by number.
    pub counties: Vec<(String, String)>,
    /// (number, county number).
    pub municipalities: Vec<(String, String)>,
    pub offering: HashSet<String>,
    pub funded: HashSet<String>,
    /// Open tickets per municipality number.
    pub open_tickets: HashMap<String, u32>,
}

/// The coverage figures of `facts`, per county and nationally.
pub fn tally(year: i32, facts: &Facts) -> Coverage {
    let mut by_county: HashMap<&str, CoverageFigures> = HashMap::new();
    let mut ordered: BTreeSet<&String> = BTreeSet::new();
    for (number, county) in &facts.municipalities {
        ordered.insert(number);
        let figures = by_county.entry(county.as_str()).or_default();
        let offer = facts.offering.contains(number);
        let funded = facts.funded.contains(number);
        figures.municipalities += 1;
        figures.with_offer += u32::from(offer);
        figures.funded += u32::from(funded);
        figures.funded_without_offer += u32::from(funded && !offer);
        figures.open_tickets += facts.open_tickets.get(number).copied().unwrap_or(0);
        if !offer {
            figures.without_offer.push(number.clone());
        }
    }
    let counties: Vec<CountyCoverage> = facts
        .counties
        .iter()
        .map(|(number, name)| {
            let mut figures = by_county.remove(number.as_str()).unwrap_or_default();
            figures.without_offer.sort();
            figures.offer_share_percent = share_percent(figures.with_offer, figures.municipalities);
            CountyCoverage {
                county_number: number.clone(),
                county_name: name.clone(),
                figures,
            }
        })
        .collect();
    // Every municipality belongs to a county (a foreign key), so the counties add up to the
    // nation.
    let national = tally_figures(counties.iter().map(|c| &c.figures));
    Coverage {
        year,
        national,
        counties,
    }
}

/// Reads the facts from the database: five small queries, however many municipalities.
pub async fn facts(conn: &impl ConnectionTrait, year: i32) -> Result<Facts, ApiError> {
    let counties: Vec<(String, String)> = county::Entity::find()
        .select_only()
        .columns([county::Column::Number, county::Column::Name])
        .order_by_asc(county::Column::Number)
        .into_tuple()
        .all(conn)
        .await?;
    let municipalities: Vec<(String, String)> = municipality::Entity::find()
        .select_only()
        .columns([
            municipality::Column::Number,
            municipality::Column::CountyNumber,
        ])
        .into_tuple()
        .all(conn)
        .await?;
    let offering: Vec<String> = municipality::Entity::find()
        .select_only()
        .column(municipality::Column::Number)
        .filter(municipality::Column::Number.in_subquery(offering_municipalities()))
        .into_tuple()
        .all(conn)
        .await?;
    let funded: Vec<String> = grant_application::Entity::find()
        .select_only()
        .column(grant_application::Column::MunicipalityNumber)
        .distinct()
        .join(
            JoinType::InnerJoin,
            grant_application::Relation::Scheme.def(),
        )
        .filter(grant_application::Column::Status.eq(ApplicationStatus::Approved.as_str()))
        .filter(grant_scheme::Column::Year.lte(year))
        .into_tuple()
        .all(conn)
        .await?;
    let open_tickets: Vec<(String, i64)> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::MunicipalityNumber)
        .column_as(ticket::Column::Id.count(), "n")
        .filter(ticket::Column::Status.is_not_in(TicketStatus::DONE.map(|s| s.as_db())))
        .group_by(ticket::Column::MunicipalityNumber)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(Facts {
        counties,
        municipalities,
        offering: offering.into_iter().collect(),
        funded: funded.into_iter().collect(),
        open_tickets: open_tickets
            .into_iter()
            .map(|(m, n)| (m, u32::try_from(n).unwrap_or(u32::MAX)))
            .collect(),
    })
}

/// The CSV columns, in order.
pub const CSV_HEADER: [&str; 9] = [
    "county_number",
    "county_name",
    "municipalities",
    "with_offer",
    "offer_share_percent",
    "funded",
    "funded_without_offer",
    "open_tickets",
    "without_offer",
];

/// The name of the national row in the CSV.
pub const NATIONAL: &str = "Hele landet";

/// One row per county, then the national row (empty `county_number`), after a header; RFC
/// 4180 (CRLF line ends, quotes where needed). `without_offer` holds the municipality
/// numbers separated by spaces.
pub fn to_csv(coverage: &Coverage) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let row = |number: &str, name: &str, f: &CoverageFigures| -> Vec<String> {
        vec![
            number.to_string(),
            name.to_string(),
            f.municipalities.to_string(),
            f.with_offer.to_string(),
            format!("{:.1}", f.offer_share_percent),
            f.funded.to_string(),
            f.funded_without_offer.to_string(),
            f.open_tickets.to_string(),
            f.without_offer.join(" "),
        ]
    };
    let mut rows = vec![CSV_HEADER.iter().map(|s| s.to_string()).collect()];
    for c in &coverage.counties {
        rows.push(row(&c.county_number, &c.county_name, &c.figures));
    }
    rows.push(row("", NATIONAL, &coverage.national));
    for record in rows {
        writer
            .write_record(&record)
            .expect("writing to memory does not fail");
    }
    let bytes = writer
        .into_inner()
        .expect("writing to memory does not fail");
    String::from_utf8(bytes).expect("the fields are UTF-8")
}

/// The media types the coverage can be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// The format an `Accept` header asks for (RFC 9110 §12.5.1): each format takes the quality
/// of the most specific media range that matches it; the higher quality wins, JSON on a
/// tie. No header means JSON; `None` when neither is acceptable (406).
pub fn negotiate(accept: Option<&str>) -> Option<Format> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Some(Format::Json);
    };
    let ranges: Vec<(String, String, f32)> = accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';');
            let media = parts.next()?.trim().to_ascii_lowercase();
            let (kind, sub) = media.split_once('/')?;
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, v)| v.trim().parse::<f32>().ok())?;
            Some((kind.trim().to_string(), sub.trim().to_string(), q))
        })
        .collect();
    let quality = |kind: &str, sub: &str| -> f32 {
        // Specificity: 2 for type/subtype, 1 for type/*, 0 for */*.
        ranges
            .iter()
            .filter_map(|(k, s, q)| match (k.as_str(), s.as_str()) {
                (k, s) if k == kind && s == sub => Some((2, *q)),
                (k, "*") if k == kind => Some((1, *q)),
                ("*", "*") => Some((0, *q)),
                _ => None,
            })
            .max_by_key(|(specificity, _)| *specificity)
            .map_or(0.0, |(_, q)| q)
    };
    let json = quality("application", "json");
    let csv = quality("text", "csv");
    if json <= 0.0 && csv <= 0.0 {
        None
    } else if csv > json {
        Some(Format::Csv)
    } else {
        Some(Format::Json)
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
        let format = negotiate(accept).ok_or_else(|| {
            ApiError::NotAcceptable("the coverage is served as application/json or text/csv".into())
        })?;
        let year = year
            .0
            .unwrap_or_else(|| Utc::now().with_timezone(&Oslo).year());
        let coverage = tally(year, &facts(state.db.conn(), year).await?);
        let body = match format {
            Format::Json => CoverageBody::Json(Json(coverage)),
            Format::Csv => CoverageBody::Csv(PlainText(to_csv(&coverage))),
        };
        Ok(CoverageResponse::Ok(body, "Accept".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_rounded_half_up_to_one_decimal() {
        assert_eq!(share_percent(2, 3), 66.7);
        assert_eq!(share_percent(1, 3), 33.3);
        assert_eq!(share_percent(1, 8), 12.5);
        // 1/16 = 6.25 %: half up gives 6.3.
        assert_eq!(share_percent(1, 16), 6.3);
        assert_eq!(share_percent(0, 5), 0.0);
        assert_eq!(share_percent(5, 5), 100.0);
        assert_eq!(share_percent(0, 0), 0.0);
    }

    #[test]
    fn accept_picks_json_or_csv_by_quality_and_specificity() {
        use Format::*;
        assert_eq!(negotiate(None), Some(Json));
        assert_eq!(negotiate(Some("")), Some(Json));
        assert_eq!(negotiate(Some("*/*")), Some(Json));
        assert_eq!(negotiate(Some("application/json")), Some(Json));
        assert_eq!(negotiate(Some("text/csv")), Some(Csv));
        assert_eq!(negotiate(Some("Text/CSV; charset=utf-8")), Some(Csv));
        assert_eq!(negotiate(Some("text/*")), Some(Csv));
        assert_eq!(
            negotiate(Some("text/csv;q=0.5, application/json")),
            Some(Json)
        );
        assert_eq!(
            negotiate(Some("text/csv, application/json;q=0.9")),
            Some(Csv)
        );
        assert_eq!(negotiate(Some("text/csv, */*;q=0.1")), Some(Csv));
        // The most specific range decides: JSON is excluded although */* allows it.
        assert_eq!(negotiate(Some("application/json;q=0, */*")), Some(Csv));
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/xml, text/html;q=0.9")), None);
        assert_eq!(negotiate(Some("*/*;q=0")), None);
        assert_eq!(negotiate(Some("text/csv;q=0")), None);
    }

    fn facts() -> Facts {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<HashSet<_>>();
        Facts {
            counties: vec![
                ("03".into(), "Oslo".into()),
                ("11".into(), "Rogaland".into()),
            ],
            municipalities: vec![
                ("0301".into(), "03".into()),
                ("1103".into(), "11".into()),
                ("1101".into(), "11".into()),
                ("1106".into(), "11".into()),
            ],
            offering: s(&["0301", "1103"]),
            funded: s(&["1103", "1106"]),
            open_tickets: HashMap::from([("1101".to_string(), 2), ("0301".to_string(), 1)]),
        }
    }

    #[test]
    fn figures_add_up_per_county_and_nationally() {
        let coverage = tally(2027, &facts());
        let rogaland = &coverage.counties[1].figures;
        assert_eq!(coverage.counties[1].county_number, "11");
        assert_eq!(rogaland.municipalities, 3);
        assert_eq!(rogaland.with_offer, 1);
        assert_eq!(rogaland.offer_share_percent, 33.3);
        assert_eq!(rogaland.funded, 2);
        assert_eq!(rogaland.funded_without_offer, 1);
        assert_eq!(rogaland.open_tickets, 2);
        assert_eq!(rogaland.without_offer, ["1101", "1106"]);
        assert_eq!(coverage.national.municipalities, 4);
        assert_eq!(coverage.national.with_offer, 2);
        assert_eq!(coverage.national.offer_share_percent, 50.0);
        assert_eq!(coverage.national.open_tickets, 3);
        assert_eq!(coverage.national.without_offer, ["1101", "1106"]);
    }

    #[test]
    fn the_csv_has_a_header_a_row_per_county_and_a_national_row() {
        let mut facts = facts();
        facts.counties[1].1 = "Roga, \"land\"".into();
        let csv = to_csv(&tally(2027, &facts));
        assert_eq!(
            csv,
            "county_number,county_name,municipalities,with_offer,offer_share_percent,funded,\
             funded_without_offer,open_tickets,without_offer\r\n\
             03,Oslo,1,1,100.0,0,0,1,\r\n\
             11,\"Roga, \"\"land\"\"\",3,1,33.3,2,1,2,1101 1106\r\n\
             ,Hele landet,4,2,50.0,2,1,3,1101 1106\r\n"
        );
    }
}
