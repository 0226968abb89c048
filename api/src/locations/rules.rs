//! The rules of a location as plain functions: a new location checked into the fields it is
//! stored from, a change checked into a change set, and what that set does to the stored
//! fields.

use chrono::{DateTime, Utc};
use poem_openapi::types::MaybeUndefined;

use entity::location;

use super::model::{
    Accessibility, AddressInput, HostType, LocationChanges, LocationStatus, NewLocation,
    ServiceMode, accessibility_of, service_modes_of,
};
use crate::common::languages::LanguageText;
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::common::values::{
    Coordinates, Email, LanguageCode, MunicipalityNumber, PhoneNumber, PostalCode, WebUrl,
};
use crate::http::error::ApiError;

const NAME_MAX: usize = 200;
const STREET_MAX: usize = 200;
const POSTAL_PLACE_MAX: usize = 100;
const DESCRIPTION_MAX: usize = 2000;
const ALERT_MAX: usize = 500;
const LANGUAGES: std::ops::RangeInclusive<usize> = 0..=30;

/// The answer for an id that names nothing, e.g. "there is no location x".
pub fn not_found(kind: &str, id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no {kind} {id}"))
}

/// A street address, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedAddress {
    pub street: String,
    pub postal_code: PostalCode,
    pub postal_place: String,
}

/// Every field of a location, checked: what is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationFields {
    pub municipality_number: MunicipalityNumber,
    pub name: String,
    pub host_type: HostType,
    pub address: CheckedAddress,
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

fn address(f: &mut Fields, input: &AddressInput) -> Option<CheckedAddress> {
    let street = f.check("address.street", bounded(&input.street, STREET_MAX));
    let postal_code = f.check("address.postal_code", PostalCode::parse(&input.postal_code));
    let postal_place = f.check(
        "address.postal_place",
        bounded(&input.postal_place, POSTAL_PLACE_MAX),
    );
    Some(CheckedAddress {
        street: street?,
        postal_code: postal_code?,
        postal_place: postal_place?,
    })
}

fn service_modes(f: &mut Fields, modes: &[ServiceMode]) -> Option<Vec<ServiceMode>> {
    let modes = sorted(modes);
    if modes.is_empty() {
        f.add(
            "service_modes",
            "name at least one of drop_in and appointment",
        );
        return None;
    }
    Some(modes)
}

fn sorted<T: Ord + Clone>(items: &[T]) -> Vec<T> {
    let mut items = items.to_vec();
    items.sort();
    items.dedup();
    items
}

/// A few minutes' grace for a client's clock running ahead.
fn not_in_future(at: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if at > Utc::now() + chrono::Duration::minutes(5) {
        Err("must not be in the future".into())
    } else {
        Ok(at)
    }
}

fn optional_text(max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |text| bounded(text, max)
}

/// A value read back from a column that no longer parses: a fault of the data, logged and
/// answered with 500 rather than dropped.
fn stored<T>(
    column: &str,
    value: &str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, ApiError> {
    parse(value).map_err(|message| {
        tracing::error!(column, value, %message, "a stored location value does not parse");
        ApiError::Internal
    })
}

fn stored_optional<T>(
    column: &str,
    value: Option<&str>,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, ApiError> {
    value.map(|v| stored(column, v, parse)).transpose()
}

impl LocationFields {
    /// Checks a new location, naming every invalid field.
    pub fn from_new(new: &NewLocation) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let municipality_number = f.check(
            "municipality_number",
            MunicipalityNumber::parse(&new.municipality_number),
        );
        let name = f.check("name", bounded(&new.name, NAME_MAX));
        let address = address(&mut f, &new.address);
        let coordinates = f.check("latitude", Coordinates::parse(new.latitude, new.longitude));
        let phone = f.check_optional("phone", new.phone.as_deref().map(PhoneNumber::parse));
        let email = f.check_optional("email", new.email.as_deref().map(Email::parse));
        let website = f.check_optional("website", new.website.as_deref().map(WebUrl::parse));
        let modes = service_modes(&mut f, &new.service_modes);
        let codes = new.languages.0.as_deref().unwrap_or_default();
        let languages = f.languages("languages", codes, LANGUAGES);
        let description = f.check_optional(
            "description",
            new.description
                .as_deref()
                .map(optional_text(DESCRIPTION_MAX)),
        );
        let alert = f.check_optional("alert", new.alert.as_deref().map(optional_text(ALERT_MAX)));
        let last_verified_at =
            f.check_optional("last_verified_at", new.last_verified_at.map(not_in_future));
        f.finish()?;
        Ok(Self {
            municipality_number: municipality_number.expect("checked"),
            name: name.expect("checked"),
            host_type: new.host_type,
            address: address.expect("checked"),
            coordinates: coordinates.expect("checked"),
            phone: phone.expect("checked"),
            email: email.expect("checked"),
            website: website.expect("checked"),
            service_modes: modes.expect("checked"),
            languages: languages.expect("checked"),
            accessibility: sorted(new.accessibility.0.as_deref().unwrap_or_default()),
            description: description.expect("checked"),
            status: new.status.0.unwrap_or(LocationStatus::Active),
            alert: alert.expect("checked"),
            opens_on_holidays: new.opens_on_holidays.0.unwrap_or(false),
            last_verified_at: last_verified_at.expect("checked"),
        })
    }

    /// The stored location as fields, to apply a change set to.
    pub fn from_stored(m: &location::Model, languages: &[String]) -> Result<Self, ApiError> {
        Ok(Self {
            municipality_number: stored(
                "municipality_number",
                &m.municipality_number,
                MunicipalityNumber::parse,
            )?,
            name: m.name.clone(),
            host_type: HostType::from_stored(&m.host_type)?,
            address: CheckedAddress {
                street: m.street_address.clone(),
                postal_code: stored("postal_code", &m.postal_code, PostalCode::parse)?,
                postal_place: m.postal_place.clone(),
            },
            coordinates: Coordinates {
                latitude: m.latitude,
                longitude: m.longitude,
            },
            phone: stored_optional("phone", m.phone.as_deref(), PhoneNumber::from_stored)?,
            email: stored_optional("email", m.email.as_deref(), Email::parse)?,
            website: stored_optional("website", m.website.as_deref(), WebUrl::parse)?,
            service_modes: service_modes_of(m.offers_drop_in, m.offers_appointment),
            languages: languages
                .iter()
                .map(|code| stored("language", code, LanguageCode::from_stored))
                .collect::<Result<_, _>>()?,
            accessibility: accessibility_of(&m.accessibility)?,
            description: m.description.clone(),
            status: LocationStatus::from_stored(&m.status)?,
            alert: m.alert.clone(),
            opens_on_holidays: m.opens_on_holidays,
            last_verified_at: m.last_verified_at,
        })
    }

    /// Name, description and postal place in lower case, for search.
    pub fn search_text(&self) -> String {
        [
            Some(self.name.as_str()),
            self.description.as_deref(),
            Some(self.address.postal_place.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
    }
}

/// A checked change to a location: `None` leaves a field as it is; for an optional field,
/// `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocationChangeSet {
    pub name: Option<String>,
    pub host_type: Option<HostType>,
    pub address: Option<CheckedAddress>,
    pub coordinates: Option<Coordinates>,
    pub phone: Option<Option<PhoneNumber>>,
    pub email: Option<Option<Email>>,
    pub website: Option<Option<WebUrl>>,
    pub service_modes: Option<Vec<ServiceMode>>,
    pub languages: Option<Vec<LanguageCode>>,
    pub accessibility: Option<Vec<Accessibility>>,
    pub description: Option<Option<String>>,
    pub status: Option<LocationStatus>,
    pub alert: Option<Option<String>>,
    pub opens_on_holidays: Option<bool>,
    pub last_verified_at: Option<Option<DateTime<Utc>>>,
}

/// Latitude and longitude only change together.
fn coordinates(
    f: &mut Fields,
    latitude: MaybeUndefined<f64>,
    longitude: MaybeUndefined<f64>,
) -> Option<Coordinates> {
    match (latitude, longitude) {
        (MaybeUndefined::Undefined, MaybeUndefined::Undefined) => None,
        (MaybeUndefined::Value(lat), MaybeUndefined::Value(lon)) => {
            f.check("latitude", Coordinates::parse(lat, lon))
        }
        _ => {
            f.add("latitude", "latitude and longitude change together");
            None
        }
    }
}

/// A list that `null` empties.
fn clearable<T>(value: MaybeUndefined<Vec<T>>) -> Option<Vec<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(Vec::new()),
        MaybeUndefined::Value(items) => Some(items),
    }
}

fn last_verified_at(
    f: &mut Fields,
    value: MaybeUndefined<DateTime<Utc>>,
) -> Option<Option<DateTime<Utc>>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(at) => f.check("last_verified_at", not_in_future(at)).map(Some),
    }
}

/// Checks a requested change, naming every invalid field; a change that names no field is
/// refused too.
pub fn checked_changes(changes: LocationChanges) -> Result<LocationChangeSet, ApiError> {
    let mut f = Fields::default();
    let set = LocationChangeSet {
        name: f.check_required_patch("name", changes.name, |v| bounded(v, NAME_MAX)),
        host_type: f.required("host_type", changes.host_type),
        address: f
            .required("address", changes.address)
            .and_then(|a| address(&mut f, &a)),
        coordinates: coordinates(&mut f, changes.latitude, changes.longitude),
        phone: f.check_patch("phone", changes.phone, PhoneNumber::parse),
        email: f.check_patch("email", changes.email, Email::parse),
        website: f.check_patch("website", changes.website, WebUrl::parse),
        service_modes: f
            .required("service_modes", changes.service_modes)
            .and_then(|modes| service_modes(&mut f, &modes)),
        languages: clearable(changes.languages)
            .and_then(|codes: Vec<LanguageText>| f.languages("languages", &codes, LANGUAGES)),
        accessibility: clearable(changes.accessibility).map(|features| sorted(&features)),
        description: f.check_patch(
            "description",
            changes.description,
            optional_text(DESCRIPTION_MAX),
        ),
        status: f.required("status", changes.status),
        alert: f.check_patch("alert", changes.alert, optional_text(ALERT_MAX)),
        opens_on_holidays: f.required("opens_on_holidays", changes.opens_on_holidays),
        last_verified_at: last_verified_at(&mut f, changes.last_verified_at),
    };
    f.finish()?;
    if set.changed().is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    Ok(set)
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

impl LocationChangeSet {
    /// The names of the fields it changes, for the audit entry.
    pub fn changed(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("host_type", self.host_type.is_some()),
            ("address", self.address.is_some()),
            ("coordinates", self.coordinates.is_some()),
            ("phone", self.phone.is_some()),
            ("email", self.email.is_some()),
            ("website", self.website.is_some()),
            ("service_modes", self.service_modes.is_some()),
            ("languages", self.languages.is_some()),
            ("accessibility", self.accessibility.is_some()),
            ("description", self.description.is_some()),
            ("status", self.status.is_some()),
            ("alert", self.alert.is_some()),
            ("opens_on_holidays", self.opens_on_holidays.is_some()),
            ("last_verified_at", self.last_verified_at.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect()
    }

    /// The stored fields with the change made.
    pub fn apply_to(self, mut fields: LocationFields) -> LocationFields {
        set(&mut fields.name, self.name);
        set(&mut fields.host_type, self.host_type);
        set(&mut fields.address, self.address);
        set(&mut fields.coordinates, self.coordinates);
        set(&mut fields.phone, self.phone);
        set(&mut fields.email, self.email);
        set(&mut fields.website, self.website);
        set(&mut fields.service_modes, self.service_modes);
        set(&mut fields.languages, self.languages);
        set(&mut fields.accessibility, self.accessibility);
        set(&mut fields.description, self.description);
        set(&mut fields.status, self.status);
        set(&mut fields.alert, self.alert);
        set(&mut fields.opens_on_holidays, self.opens_on_holidays);
        set(&mut fields.last_verified_at, self.last_verified_at);
        fields
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::Example;

    use crate::common::text::Text;

    use super::*;

    fn fields(err: ApiError) -> Vec<String> {
        match err {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    fn text(value: &str) -> Text {
        Text(value.into())
    }

    fn lang(code: &str) -> LanguageText {
        LanguageText(code.into())
    }

    fn deichman() -> LocationFields {
        LocationFields::from_new(&NewLocation::example()).unwrap()
    }

    /// A change that names no field.
    fn no_change() -> LocationChanges {
        LocationChanges {
            status: MaybeUndefined::Undefined,
            alert: MaybeUndefined::Undefined,
            ..LocationChanges::example()
        }
    }

    fn stored(fields: &LocationFields) -> location::Model {
        let now = Utc::now();
        location::Model {
            id: uuid::Uuid::now_v7(),
            municipality_number: fields.municipality_number.to_string(),
            county_number: "03".into(),
            name: fields.name.clone(),
            search_text: fields.search_text(),
            search_ascii: String::new(),
            host_type: fields.host_type.as_str().into(),
            street_address: fields.address.street.clone(),
            postal_code: fields.address.postal_code.to_string(),
            postal_place: fields.address.postal_place.clone(),
            latitude: fields.coordinates.latitude,
            longitude: fields.coordinates.longitude,
            phone: fields.phone.as_ref().map(ToString::to_string),
            email: fields.email.as_ref().map(ToString::to_string),
            website: fields.website.as_ref().map(ToString::to_string),
            offers_drop_in: fields.service_modes.contains(&ServiceMode::DropIn),
            offers_appointment: fields.service_modes.contains(&ServiceMode::Appointment),
            accessibility: fields
                .accessibility
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(","),
            description: fields.description.clone(),
            status: fields.status.as_str().into(),
            alert: fields.alert.clone(),
            opens_on_holidays: fields.opens_on_holidays,
            last_verified_at: fields.last_verified_at,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_new_location_is_trimmed_normalised_and_given_its_defaults() {
        let mut new = NewLocation::example();
        new.name = text("  Deichman Grünerløkka ");
        new.status.0 = None;
        new.opens_on_holidays.0 = None;
        new.languages.0 = Some(vec![lang("nb"), lang("en"), lang("ar"), lang("en")]);
        let fields = LocationFields::from_new(&new).unwrap();
        assert_eq!(fields.name, "Deichman Grünerløkka");
        assert_eq!(fields.phone.as_ref().unwrap().to_string(), "+4723432900");
        let codes: Vec<String> = fields.languages.iter().map(ToString::to_string).collect();
        assert_eq!(codes, ["ar", "en", "nb"]);
        assert_eq!(fields.status, LocationStatus::Active);
        assert!(!fields.opens_on_holidays);
        assert_eq!(
            fields.search_text(),
            "deichman grünerløkka\nhjelp med mobil, nettbrett og pc.\noslo"
        );
    }

    #[test]
    fn every_invalid_field_of_a_new_location_is_named_at_once() {
        let mut new = NewLocation::example();
        new.name = text(&"x".repeat(201));
        new.address.postal_code = text("556");
        new.latitude = 55.68; // Copenhagen
        new.phone = Some(text("12"));
        new.service_modes = vec![];
        new.languages.0 = Some(vec![lang("nb"), lang("xx")]);
        new.description = Some(text(" "));
        let err = LocationFields::from_new(&new).unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "address.postal_code",
                "latitude",
                "phone",
                "service_modes",
                "languages[1]",
                "description"
            ]
        );
    }

    #[test]
    fn a_location_gives_guidance_in_at_most_30_languages_or_in_none_named() {
        let mut new = NewLocation::example();
        new.languages.0 = Some(vec![lang("nb"); 31]);
        let err = LocationFields::from_new(&new).unwrap_err();
        assert_eq!(fields(err), ["languages"]);
        new.languages.0 = None;
        assert!(LocationFields::from_new(&new).unwrap().languages.is_empty());
    }

    #[test]
    fn last_verified_at_must_not_lie_in_the_future() {
        let mut new = NewLocation::example();
        new.last_verified_at = Some(Utc::now() + chrono::Duration::hours(1));
        let err = LocationFields::from_new(&new).unwrap_err();
        assert_eq!(fields(err), ["last_verified_at"]);
        new.last_verified_at = Some(Utc::now() + chrono::Duration::minutes(1));
        assert!(LocationFields::from_new(&new).is_ok());
    }

    #[test]
    fn a_change_sets_only_the_fields_it_names() {
        let changes = checked_changes(LocationChanges::example()).unwrap();
        assert_eq!(changes.changed(), ["status", "alert"]);
        let before = deichman();
        let after = changes.apply_to(before.clone());
        assert_eq!(after.status, LocationStatus::TemporarilyClosed);
        assert_eq!(
            after.alert.as_deref(),
            Some("Stengt for oppussing til 3. mars")
        );
        assert_eq!(
            LocationFields {
                status: before.status,
                alert: before.alert.clone(),
                ..after
            },
            before
        );
    }

    #[test]
    fn null_clears_an_optional_field_or_a_list_but_not_a_required_field() {
        let clearing = LocationChanges {
            phone: MaybeUndefined::Null,
            languages: MaybeUndefined::Null,
            accessibility: MaybeUndefined::Null,
            last_verified_at: MaybeUndefined::Null,
            ..no_change()
        };
        let changes = checked_changes(clearing).unwrap();
        assert_eq!(
            changes.changed(),
            ["phone", "languages", "accessibility", "last_verified_at"]
        );
        let after = changes.apply_to(deichman());
        assert!(after.phone.is_none() && after.languages.is_empty());
        assert!(after.accessibility.is_empty() && after.last_verified_at.is_none());

        let refused = LocationChanges {
            name: MaybeUndefined::Null,
            host_type: MaybeUndefined::Null,
            address: MaybeUndefined::Null,
            service_modes: MaybeUndefined::Null,
            status: MaybeUndefined::Null,
            opens_on_holidays: MaybeUndefined::Null,
            ..no_change()
        };
        assert_eq!(
            fields(checked_changes(refused).unwrap_err()),
            [
                "name",
                "host_type",
                "address",
                "service_modes",
                "status",
                "opens_on_holidays"
            ]
        );
    }

    #[test]
    fn latitude_and_longitude_change_together() {
        let one = LocationChanges {
            latitude: MaybeUndefined::Value(59.95),
            ..no_change()
        };
        assert_eq!(fields(checked_changes(one).unwrap_err()), ["latitude"]);
        let both = LocationChanges {
            latitude: MaybeUndefined::Value(59.95),
            longitude: MaybeUndefined::Value(10.76),
            ..no_change()
        };
        let changes = checked_changes(both).unwrap();
        assert_eq!(changes.changed(), ["coordinates"]);
        assert_eq!(changes.apply_to(deichman()).coordinates.latitude, 59.95);
    }

    #[test]
    fn a_change_with_invalid_fields_names_each_and_one_naming_nothing_is_refused() {
        let invalid = LocationChanges {
            name: MaybeUndefined::Value(text("")),
            email: MaybeUndefined::Value(text("not-an-address")),
            languages: MaybeUndefined::Value(vec![lang("so"), lang("qq")]),
            alert: MaybeUndefined::Value(text(&"x".repeat(501))),
            ..no_change()
        };
        assert_eq!(
            fields(checked_changes(invalid).unwrap_err()),
            ["name", "email", "languages[1]", "alert"]
        );
        assert_eq!(fields(checked_changes(no_change()).unwrap_err()), ["body"]);
    }

    #[test]
    fn a_stored_location_reads_back_as_the_fields_it_was_stored_from() {
        let fields = deichman();
        let row = stored(&fields);
        let languages = ["ar".to_string(), "en".into(), "nb".into()];
        assert_eq!(
            LocationFields::from_stored(&row, &languages).unwrap(),
            fields
        );
    }

    #[test]
    fn a_stored_value_the_code_does_not_know_is_an_internal_error_not_a_default() {
        let fields = deichman();
        for broken in [
            location::Model {
                host_type: "castle".into(),
                ..stored(&fields)
            },
            location::Model {
                phone: Some("12".into()),
                ..stored(&fields)
            },
            location::Model {
                accessibility: "ramp".into(),
                ..stored(&fields)
            },
        ] {
            assert!(matches!(
                LocationFields::from_stored(&broken, &[]),
                Err(ApiError::Internal)
            ));
        }
    }
}
