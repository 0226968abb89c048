//! The wire types of locations and the checked set of fields a location is stored from.

use chrono::{DateTime, Utc};
use poem_openapi::Object;
use poem_openapi::types::{Example, MaybeUndefined};
use uuid::Uuid;

use entity::location;

use crate::common::text::Text;
use crate::common::validation::Fields;
use crate::common::values::{
    Coordinates, Email, LanguageCode, MunicipalityNumber, PhoneNumber, PostalCode, WebUrl,
};
use crate::http::error::ApiError;

use crate::common::stored::stored_enum;

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
    /// ISO 639-1 codes of the languages guidance is given in.
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
    pub fn from_parts(
        m: location::Model,
        languages: Vec<String>,
        distance_km: Option<f64>,
    ) -> Self {
        let mut service_modes = Vec::new();
        if m.offers_drop_in {
            service_modes.push(ServiceMode::DropIn);
        }
        if m.offers_appointment {
            service_modes.push(ServiceMode::Appointment);
        }
        Self {
            id: m.id,
            municipality_number: m.municipality_number,
            name: m.name,
            host_type: HostType::from_name(&m.host_type).unwrap_or(HostType::Other),
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
            service_modes,
            languages,
            // Filled in by `store::assemble`, which reads them for a whole page at once.
            topics: Vec::new(),
            accessibility: m
                .accessibility
                .split(',')
                .filter_map(Accessibility::from_name)
                .collect(),
            description: m.description,
            status: LocationStatus::from_name(&m.status).unwrap_or(LocationStatus::Inactive),
            alert: m.alert,
            opens_on_holidays: m.opens_on_holidays,
            last_verified_at: m.last_verified_at,
            distance_km: distance_km.map(|d| (d * 1000.0).round() / 1000.0),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
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
    /// ISO 639-1 codes, e.g. `["nb", "en", "ar"]`.
    pub languages: crate::common::optional::NotNull<Vec<Text>>,
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
                Text("nb".into()),
                Text("en".into()),
                Text("ar".into()),
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
    pub languages: MaybeUndefined<Vec<Text>>,
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

/// Every field of a location, checked: what is stored.
#[derive(Debug, Clone)]
pub struct LocationFields {
    pub municipality_number: MunicipalityNumber,
    pub name: String,
    pub host_type: HostType,
    pub street: String,
    pub postal_code: PostalCode,
    pub postal_place: String,
    pub coordinates: Coordinates,
    pub phone: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub website: Option<WebUrl>,
    pub service_modes: Vec<ServiceMode>,
    pub languages: Vec<LanguageCode>,
    pub accessibility: Vec<Accessibility>,
    pub description: Option<String>,
    pub status: LocationStatus,
    pub alert: Option<String>,
    pub opens_on_holidays: bool,
    pub last_verified_at: Option<DateTime<Utc>>,
}

fn bounded(text: &str, min: usize, max: usize) -> Result<String, String> {
    let text = text.trim();
    let length = text.chars().count();
    if length < min {
        Err("must not be empty".into())
    } else if length > max {
        Err(format!("must be at most {max} characters"))
    } else {
        Ok(text.to_string())
    }
}

fn optional_text(max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |s| bounded(s, 1, max)
}

fn languages(fields: &mut Fields, codes: &[Text]) -> Option<Vec<LanguageCode>> {
    let mut parsed = Vec::new();
    let mut ok = true;
    for (i, code) in codes.iter().enumerate() {
        match LanguageCode::parse(code) {
            Ok(code) => parsed.push(code),
            Err(message) => {
                fields.add(&format!("languages[{i}]"), message);
                ok = false;
            }
        }
    }
    if codes.len() > 30 {
        fields.add("languages", "at most 30 languages");
        ok = false;
    }
    parsed.sort();
    parsed.dedup();
    ok.then_some(parsed)
}

fn service_modes(fields: &mut Fields, modes: &[ServiceMode]) -> Option<Vec<ServiceMode>> {
    let mut modes = modes.to_vec();
    modes.sort();
    modes.dedup();
    if modes.is_empty() {
        fields.add(
            "service_modes",
            "name at least one of drop_in and appointment",
        );
        return None;
    }
    Some(modes)
}

fn dedup<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}

fn not_in_future(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if at > Utc::now() + chrono::Duration::minutes(5) {
        Err("must not be in the future".into())
    } else {
        Ok(at)
    }
}

impl LocationFields {
    /// Checks a new location, naming every invalid field.
    pub fn from_new(new: &NewLocation) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let municipality_number = f.check(
            "municipality_number",
            MunicipalityNumber::parse(&new.municipality_number),
        );
        let name = f.check("name", bounded(&new.name, 1, 200));
        let street = f.check("address.street", bounded(&new.address.street, 1, 200));
        let postal_code = f.check(
            "address.postal_code",
            PostalCode::parse(&new.address.postal_code),
        );
        let postal_place = f.check(
            "address.postal_place",
            bounded(&new.address.postal_place, 1, 100),
        );
        let coordinates = f.check("latitude", Coordinates::parse(new.latitude, new.longitude));
        let phone = f.check_optional("phone", new.phone.as_deref().map(PhoneNumber::parse));
        let email = f.check_optional("email", new.email.as_deref().map(Email::parse));
        let website = f.check_optional("website", new.website.as_deref().map(WebUrl::parse));
        let modes = service_modes(&mut f, &new.service_modes);
        let languages = languages(&mut f, new.languages.0.as_deref().unwrap_or_default());
        let description = f.check_optional(
            "description",
            new.description.as_deref().map(optional_text(2000)),
        );
        let alert = f.check_optional("alert", new.alert.as_deref().map(optional_text(500)));
        let last_verified_at =
            f.check_optional("last_verified_at", new.last_verified_at.map(not_in_future));
        f.finish()?;
        Ok(Self {
            municipality_number: municipality_number.expect("checked"),
            name: name.expect("checked"),
            host_type: new.host_type,
            street: street.expect("checked"),
            postal_code: postal_code.expect("checked"),
            postal_place: postal_place.expect("checked"),
            coordinates: coordinates.expect("checked"),
            phone: phone.expect("checked"),
            email: email.expect("checked"),
            website: website.expect("checked"),
            service_modes: modes.expect("checked"),
            languages: languages.expect("checked"),
            accessibility: dedup(new.accessibility.0.as_deref().unwrap_or_default()),
            description: description.expect("checked"),
            status: new.status.0.unwrap_or(LocationStatus::Active),
            alert: alert.expect("checked"),
            opens_on_holidays: new.opens_on_holidays.0.unwrap_or(false),
            last_verified_at: last_verified_at.expect("checked"),
        })
    }

    /// The stored location as fields, to apply changes to.
    pub fn from_stored(m: &location::Model, languages: &[String]) -> Self {
        let wire = Location::from_parts(m.clone(), languages.to_vec(), None);
        Self {
            municipality_number: MunicipalityNumber::parse(&m.municipality_number)
                .expect("stored numbers are valid"),
            name: m.name.clone(),
            host_type: wire.host_type,
            street: m.street_address.clone(),
            postal_code: PostalCode::parse(&m.postal_code).expect("stored codes are valid"),
            postal_place: m.postal_place.clone(),
            coordinates: Coordinates {
                latitude: m.latitude,
                longitude: m.longitude,
            },
            phone: m.phone.as_deref().and_then(|p| PhoneNumber::parse(p).ok()),
            email: m.email.as_deref().and_then(|e| Email::parse(e).ok()),
            website: m.website.as_deref().and_then(|w| WebUrl::parse(w).ok()),
            service_modes: wire.service_modes,
            languages: languages
                .iter()
                .filter_map(|l| LanguageCode::parse(l).ok())
                .collect(),
            accessibility: wire.accessibility,
            description: m.description.clone(),
            status: wire.status,
            alert: m.alert.clone(),
            opens_on_holidays: m.opens_on_holidays,
            last_verified_at: m.last_verified_at,
        }
    }

    /// Applies a set of changes, naming every invalid field; returns the names changed.
    pub fn apply(&mut self, changes: LocationChanges) -> Result<Vec<&'static str>, ApiError> {
        let mut f = Fields::default();
        let mut changed = Vec::new();
        let required = |f: &mut Fields, field: &str| f.add(field, "must not be null");

        match changes.name {
            MaybeUndefined::Value(v) => {
                if let Some(v) = f.check("name", bounded(&v, 1, 200)) {
                    self.name = v;
                }
                changed.push("name");
            }
            MaybeUndefined::Null => required(&mut f, "name"),
            MaybeUndefined::Undefined => {}
        }
        match changes.host_type {
            MaybeUndefined::Value(v) => {
                self.host_type = v;
                changed.push("host_type");
            }
            MaybeUndefined::Null => required(&mut f, "host_type"),
            MaybeUndefined::Undefined => {}
        }
        match changes.address {
            MaybeUndefined::Value(a) => {
                let street = f.check("address.street", bounded(&a.street, 1, 200));
                let code = f.check("address.postal_code", PostalCode::parse(&a.postal_code));
                let place = f.check("address.postal_place", bounded(&a.postal_place, 1, 100));
                if let (Some(street), Some(code), Some(place)) = (street, code, place) {
                    (self.street, self.postal_code, self.postal_place) = (street, code, place);
                }
                changed.push("address");
            }
            MaybeUndefined::Null => required(&mut f, "address"),
            MaybeUndefined::Undefined => {}
        }
        match (changes.latitude, changes.longitude) {
            (MaybeUndefined::Undefined, MaybeUndefined::Undefined) => {}
            (MaybeUndefined::Value(lat), MaybeUndefined::Value(lon)) => {
                if let Some(c) = f.check("latitude", Coordinates::parse(lat, lon)) {
                    self.coordinates = c;
                }
                changed.push("coordinates");
            }
            _ => f.add("latitude", "latitude and longitude change together"),
        }
        if let Some(v) = f.check_patch("phone", changes.phone, PhoneNumber::parse) {
            self.phone = v;
            changed.push("phone");
        }
        if let Some(v) = f.check_patch("email", changes.email, Email::parse) {
            self.email = v;
            changed.push("email");
        }
        if let Some(v) = f.check_patch("website", changes.website, WebUrl::parse) {
            self.website = v;
            changed.push("website");
        }
        match changes.service_modes {
            MaybeUndefined::Value(modes) => {
                if let Some(modes) = service_modes(&mut f, &modes) {
                    self.service_modes = modes;
                }
                changed.push("service_modes");
            }
            MaybeUndefined::Null => required(&mut f, "service_modes"),
            MaybeUndefined::Undefined => {}
        }
        match changes.languages {
            MaybeUndefined::Value(codes) => {
                if let Some(codes) = languages(&mut f, &codes) {
                    self.languages = codes;
                }
                changed.push("languages");
            }
            MaybeUndefined::Null => {
                self.languages.clear();
                changed.push("languages");
            }
            MaybeUndefined::Undefined => {}
        }
        match changes.accessibility {
            MaybeUndefined::Value(features) => {
                self.accessibility = dedup(&features);
                changed.push("accessibility");
            }
            MaybeUndefined::Null => {
                self.accessibility.clear();
                changed.push("accessibility");
            }
            MaybeUndefined::Undefined => {}
        }
        if let Some(v) = f.check_patch("description", changes.description, optional_text(2000)) {
            self.description = v;
            changed.push("description");
        }
        match changes.status {
            MaybeUndefined::Value(v) => {
                self.status = v;
                changed.push("status");
            }
            MaybeUndefined::Null => required(&mut f, "status"),
            MaybeUndefined::Undefined => {}
        }
        if let Some(v) = f.check_patch("alert", changes.alert, optional_text(500)) {
            self.alert = v;
            changed.push("alert");
        }
        match changes.opens_on_holidays {
            MaybeUndefined::Value(v) => {
                self.opens_on_holidays = v;
                changed.push("opens_on_holidays");
            }
            MaybeUndefined::Null => required(&mut f, "opens_on_holidays"),
            MaybeUndefined::Undefined => {}
        }
        match changes.last_verified_at {
            MaybeUndefined::Value(at) => {
                if let Some(at) = f.check("last_verified_at", not_in_future(at)) {
                    self.last_verified_at = Some(at);
                }
                changed.push("last_verified_at");
            }
            MaybeUndefined::Null => {
                self.last_verified_at = None;
                changed.push("last_verified_at");
            }
            MaybeUndefined::Undefined => {}
        }
        f.finish()?;
        if changed.is_empty() {
            return Err(ApiError::invalid("body", "names no field to change"));
        }
        Ok(changed)
    }

    /// Name, description and postal place in lower case, for search.
    pub fn search_text(&self) -> String {
        [
            Some(self.name.as_str()),
            self.description.as_deref(),
            Some(self.postal_place.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
    }
}
