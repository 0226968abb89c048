//! The wire types of locations: objects, request bodies, responses and their examples.

use chrono::{DateTime, Utc};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object};
use uuid::Uuid;

use entity::location;

use crate::common::languages::LanguageText;
use crate::common::stored::stored_enum;
use crate::common::text::Text;
use crate::http::error::ApiError;

stored_enum! {
    /// Who hosts the location.
    HostType {
        Library = "library",
        ServiceOffice = "service_office",
        MunicipalDepartment = "municipal_department",
        VolunteerCentre = "volunteer_centre",
        Other = "other",
    }
}

stored_enum! {
    /// How visitors are served: walk in, or book a time.
    ServiceMode {
        DropIn = "drop_in",
        Appointment = "appointment",
    }
}

stored_enum! {
    /// Whether the location gives guidance now.
    LocationStatus {
        Active = "active",
        /// Closed for a while (see `alert`); still counts as an offer.
        TemporarilyClosed = "temporarily_closed",
        Inactive = "inactive",
    }
}

stored_enum! {
    /// An accessibility feature of the location.
    Accessibility {
        StepFreeAccess = "step_free_access",
        HearingLoop = "hearing_loop",
        AccessibleToilet = "accessible_toilet",
        AccessibleParking = "accessible_parking",
        QuietRoom = "quiet_room",
    }
}

/// A street address.
#[derive(Debug, Clone, Object)]
pub struct Address {
    pub street: String,
    /// Four digits.
    pub postal_code: String,
    pub postal_place: String,
}

/// An address as a client sends it.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct AddressInput {
    pub street: Text,
    pub postal_code: Text,
    pub postal_place: Text,
}

/// A place where Digihjelp is given.
#[derive(Debug, Clone, Object)]
pub struct Location {
    pub id: Uuid,
    pub municipality_number: String,
    pub name: String,
    pub host_type: HostType,
    pub address: Address,
    /// WGS 84.
    pub latitude: f64,
    pub longitude: f64,
    /// In E.164 form, e.g. `+4722334455`.
    #[oai(nullable)]
    pub phone: Option<String>,
    #[oai(nullable)]
    pub email: Option<String>,
    #[oai(nullable)]
    pub website: Option<String>,
    pub service_modes: Vec<ServiceMode>,
    /// Codes of the languages guidance is given in (see `/languages`).
    pub languages: Vec<String>,
    /// Slugs of the guidance topics offered, in alphabetical order (see `/topics`).
    pub topics: Vec<String>,
    pub accessibility: Vec<Accessibility>,
    #[oai(nullable)]
    pub description: Option<String>,
    pub status: LocationStatus,
    /// A short public notice, e.g. "Closed for renovation until 3 March".
    #[oai(nullable)]
    pub alert: Option<String>,
    /// Whether it opens on public holidays (otherwise they close it).
    pub opens_on_holidays: bool,
    /// When the municipality last confirmed the data.
    #[oai(nullable)]
    pub last_verified_at: Option<DateTime<Utc>>,
    /// Kilometres from the `near` point, in a search by distance only.
    #[oai(skip_serializing_if_is_none)]
    pub distance_km: Option<f64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Location {
    /// The wire location of a stored row with its languages (topics are filled in by
    /// `store::assemble`); a stored value the code does not know is a 500.
    pub fn from_row(
        m: location::Model,
        languages: Vec<String>,
        distance_km: Option<f64>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            id: m.id,
            municipality_number: m.municipality_number,
            name: m.name,
            host_type: HostType::from_stored(&m.host_type)?,
            address: Address {
                street: m.street_address,
                postal_code: m.postal_code,
                postal_place: m.postal_place,
            },
            latitude: m.latitude,
            longitude: m.longitude,
            phone: m.phone,
            email: m.email,
            website: m.website,
            service_modes: service_modes_of(m.offers_drop_in, m.offers_appointment),
            languages,
            topics: Vec::new(),
            accessibility: accessibility_of(&m.accessibility)?,
            description: m.description,
            status: LocationStatus::from_stored(&m.status)?,
            alert: m.alert,
            opens_on_holidays: m.opens_on_holidays,
            last_verified_at: m.last_verified_at,
            distance_km: distance_km.map(|d| (d * 1000.0).round() / 1000.0),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// The service modes stored as two flags, drop-in first.
pub fn service_modes_of(drop_in: bool, appointment: bool) -> Vec<ServiceMode> {
    [
        (drop_in, ServiceMode::DropIn),
        (appointment, ServiceMode::Appointment),
    ]
    .into_iter()
    .filter_map(|(offered, mode)| offered.then_some(mode))
    .collect()
}

/// The accessibility features stored comma-separated.
pub fn accessibility_of(stored: &str) -> Result<Vec<Accessibility>, ApiError> {
    stored
        .split(',')
        .filter(|feature| !feature.is_empty())
        .map(Accessibility::from_stored)
        .collect()
}

/// A new location. A municipality creates locations in its own municipality; KS anywhere.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewLocation {
    pub municipality_number: Text,
    /// 1 to 200 characters.
    pub name: Text,
    pub host_type: HostType,
    pub address: AddressInput,
    /// Inside Norway, Svalbard and Jan Mayen included.
    pub latitude: f64,
    pub longitude: f64,
    #[oai(nullable)]
    pub phone: Option<Text>,
    #[oai(nullable)]
    pub email: Option<Text>,
    #[oai(nullable)]
    pub website: Option<Text>,
    /// At least one.
    pub service_modes: Vec<ServiceMode>,
    /// Codes of `/languages`, e.g. `["nb", "en", "ar"]`.
    pub languages: crate::common::optional::NotNull<Vec<LanguageText>>,
    pub accessibility: crate::common::optional::NotNull<Vec<Accessibility>>,
    /// At most 2,000 characters.
    #[oai(nullable)]
    pub description: Option<Text>,
    /// Default `active`.
    pub status: crate::common::optional::NotNull<LocationStatus>,
    /// At most 500 characters.
    #[oai(nullable, skip_serializing_if_is_none)]
    pub alert: Option<Text>,
    /// Default false: public holidays close the location.
    pub opens_on_holidays: crate::common::optional::NotNull<bool>,
    #[oai(nullable, skip_serializing_if_is_none)]
    pub last_verified_at: Option<DateTime<Utc>>,
}

impl Example for NewLocation {
    fn example() -> Self {
        Self {
            municipality_number: Text("0301".into()),
            name: Text("Deichman Grünerløkka".into()),
            host_type: HostType::Library,
            address: AddressInput {
                street: Text("Schleppegrells gate 10".into()),
                postal_code: Text("0556".into()),
                postal_place: Text("Oslo".into()),
            },
            latitude: 59.9268,
            longitude: 10.7589,
            phone: Some(Text("+47 23 43 29 00".into())),
            email: Some(Text("digihjelp@deichman.no".into())),
            website: Some(Text("https://deichman.no/digihjelp".into())),
            service_modes: vec![ServiceMode::DropIn, ServiceMode::Appointment],
            languages: crate::common::optional::NotNull(Some(vec![
                LanguageText("nb".into()),
                LanguageText("en".into()),
                LanguageText("ar".into()),
            ])),
            accessibility: crate::common::optional::NotNull(Some(vec![
                Accessibility::StepFreeAccess,
                Accessibility::HearingLoop,
            ])),
            description: Some(Text("Hjelp med mobil, nettbrett og PC.".into())),
            status: crate::common::optional::NotNull(Some(LocationStatus::Active)),
            alert: None,
            opens_on_holidays: crate::common::optional::NotNull(Some(false)),
            last_verified_at: None,
        }
    }
}

/// The fields to change; absent fields stay, `null` clears an optional one.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields, example)]
pub struct LocationChanges {
    pub name: MaybeUndefined<Text>,
    pub host_type: MaybeUndefined<HostType>,
    pub address: MaybeUndefined<AddressInput>,
    /// Latitude and longitude change together.
    #[oai(nullable)]
    pub latitude: MaybeUndefined<f64>,
    #[oai(nullable)]
    pub longitude: MaybeUndefined<f64>,
    #[oai(nullable)]
    pub phone: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub email: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub website: MaybeUndefined<Text>,
    pub service_modes: MaybeUndefined<Vec<ServiceMode>>,
    #[oai(nullable)]
    pub languages: MaybeUndefined<Vec<LanguageText>>,
    #[oai(nullable)]
    pub accessibility: MaybeUndefined<Vec<Accessibility>>,
    #[oai(nullable)]
    pub description: MaybeUndefined<Text>,
    pub status: MaybeUndefined<LocationStatus>,
    #[oai(nullable)]
    pub alert: MaybeUndefined<Text>,
    pub opens_on_holidays: MaybeUndefined<bool>,
    #[oai(nullable)]
    pub last_verified_at: MaybeUndefined<DateTime<Utc>>,
}

impl Example for LocationChanges {
    fn example() -> Self {
        Self {
            name: MaybeUndefined::Undefined,
            host_type: MaybeUndefined::Undefined,
            address: MaybeUndefined::Undefined,
            latitude: MaybeUndefined::Undefined,
            longitude: MaybeUndefined::Undefined,
            phone: MaybeUndefined::Undefined,
            email: MaybeUndefined::Undefined,
            website: MaybeUndefined::Undefined,
            service_modes: MaybeUndefined::Undefined,
            languages: MaybeUndefined::Undefined,
            accessibility: MaybeUndefined::Undefined,
            description: MaybeUndefined::Undefined,
            status: MaybeUndefined::Value(LocationStatus::TemporarilyClosed),
            alert: MaybeUndefined::Value(Text("Stengt for oppussing til 3. mars".into())),
            opens_on_holidays: MaybeUndefined::Undefined,
            last_verified_at: MaybeUndefined::Undefined,
        }
    }
}

crate::page_object!(LocationPage, Location);

#[derive(ApiResponse)]
pub enum LocationListResponse {
    /// A page of locations: by distance with `near`, otherwise by name.
    #[oai(status = 200)]
    Ok(Json<LocationPage>),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

#[derive(ApiResponse)]
pub enum LocationResponse {
    /// The location.
    #[oai(status = 200)]
    Ok(
        Json<Box<Location>>,
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
pub enum LocationUpdated {
    /// The location as changed.
    #[oai(status = 200)]
    Ok(
        Json<Box<Location>>,
        /// The new version, for the next `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum LocationCreatedResponse {
    /// The location was created (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Box<Location>>,
        #[oai(header = "Location")] String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum LocationDeletedResponse {
    /// The location and its opening hours are gone.
    #[oai(status = 204)]
    Deleted,
}
