//! The wire types of municipalities: what is read, what a new one and a change carry, and
//! the answers.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object};

use entity::{county, municipality};

use crate::common::text::Text;

/// A municipality (kommune).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Municipality {
    /// The official four-digit municipality number.
    pub number: String,
    /// The official name, with parallel Sami or Kven names where there are any.
    pub name: String,
    pub county_number: String,
    pub county_name: String,
    /// The nine-digit organisation number (absent for a few newly established ones).
    #[oai(nullable)]
    pub organization_number: Option<String>,
    /// The geometric centre of the municipality (WGS 84).
    #[oai(nullable)]
    pub latitude: Option<f64>,
    #[oai(nullable)]
    pub longitude: Option<f64>,
    #[oai(nullable)]
    pub website: Option<String>,
    /// Where citizens and KS reach the municipality's Digihjelpen offer.
    #[oai(nullable)]
    pub digihjelp_email: Option<String>,
    /// In E.164 form, e.g. `+4722334455`.
    #[oai(nullable)]
    pub digihjelp_phone: Option<String>,
    /// Whether the municipality has a Digihjelp location that is active or temporarily
    /// closed.
    pub has_digihjelp: bool,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for Municipality {
    fn example() -> Self {
        Self {
            number: "0301".into(),
            name: "Oslo".into(),
            county_number: "03".into(),
            county_name: "Oslo".into(),
            organization_number: Some("958935420".into()),
            latitude: Some(59.98139),
            longitude: Some(10.73926),
            website: Some("https://www.oslo.kommune.no/".into()),
            digihjelp_email: Some("digihjelp@oslo.kommune.no".into()),
            digihjelp_phone: Some("+4721802180".into()),
            has_digihjelp: false,
            version: 1,
            updated_at: DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
                .unwrap()
                .to_utc(),
        }
    }
}

impl From<(municipality::Model, Option<county::Model>)> for Municipality {
    fn from((m, county): (municipality::Model, Option<county::Model>)) -> Self {
        Self {
            number: m.number,
            name: m.name,
            county_number: m.county_number,
            county_name: county.map(|c| c.name).unwrap_or_default(),
            organization_number: m.organization_number,
            latitude: m.latitude,
            longitude: m.longitude,
            website: m.website,
            digihjelp_email: m.digihjelp_email,
            digihjelp_phone: m.digihjelp_phone,
            // Set from the municipality's locations by `store::mark_offers`.
            has_digihjelp: false,
            version: m.version,
            updated_at: m.updated_at,
        }
    }
}

crate::page_object!(MunicipalityPage, Municipality);

/// A new municipality, e.g. after a merger or a split (KS).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewMunicipality {
    /// Four digits; the first two are the county's number.
    pub number: Text,
    pub name: Text,
    pub county_number: Text,
    #[oai(nullable)]
    pub organization_number: Option<Text>,
    #[oai(nullable)]
    pub latitude: Option<f64>,
    #[oai(nullable)]
    pub longitude: Option<f64>,
    #[oai(nullable)]
    pub website: Option<Text>,
    #[oai(nullable)]
    pub digihjelp_email: Option<Text>,
    #[oai(nullable)]
    pub digihjelp_phone: Option<Text>,
}

impl poem_openapi::types::Example for NewMunicipality {
    fn example() -> Self {
        Self {
            number: Text("1580".into()),
            name: Text("Haram".into()),
            county_number: Text("15".into()),
            organization_number: None,
            latitude: Some(62.59179),
            longitude: Some(6.4655),
            website: Some(Text("https://www.haram.kommune.no/".into())),
            digihjelp_email: None,
            digihjelp_phone: None,
        }
    }
}

/// The fields to change; absent fields stay as they are, `null` clears an optional one.
/// Contact details (`website`, `digihjelp_email`, `digihjelp_phone`) may be changed by the
/// municipality itself or KS; reference data (`name`, `county_number`,
/// `organization_number`) by KS only.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct MunicipalityChanges {
    #[oai(nullable)]
    pub website: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub digihjelp_email: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub digihjelp_phone: MaybeUndefined<Text>,
    pub name: MaybeUndefined<Text>,
    pub county_number: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub organization_number: MaybeUndefined<Text>,
}

impl poem_openapi::types::Example for MunicipalityChanges {
    fn example() -> Self {
        Self {
            website: MaybeUndefined::Value(Text("https://www.oslo.kommune.no/digihjelp".into())),
            digihjelp_email: MaybeUndefined::Value(Text("digihjelp@oslo.kommune.no".into())),
            digihjelp_phone: MaybeUndefined::Value(Text("+47 21 80 21 80".into())),
            name: MaybeUndefined::Undefined,
            county_number: MaybeUndefined::Undefined,
            organization_number: MaybeUndefined::Undefined,
        }
    }
}

#[derive(ApiResponse)]
pub enum MunicipalityListResponse {
    /// A page of municipalities, ordered by number.
    #[oai(status = 200)]
    Ok(Json<MunicipalityPage>),
}

#[derive(ApiResponse)]
pub enum MunicipalityResponse {
    /// The municipality.
    #[oai(status = 200)]
    Ok(
        Json<Box<Municipality>>,
        /// The current version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

/// The answer to a change: never a 304.
#[derive(ApiResponse)]
pub enum MunicipalityUpdated {
    /// The municipality as changed.
    #[oai(status = 200)]
    Ok(
        Json<Box<Municipality>>,
        /// The new version, for the next `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum MunicipalityCreatedResponse {
    /// The municipality was created (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Municipality>,
        /// Where the new municipality is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}
