//! The rules of municipalities as pure functions: what a new municipality and a change must
//! hold, who may change which fields, and whether a change fits what is stored.

use crate::auth::{Caller, policy};
use crate::common::text::bounded;
use crate::common::validation::Fields;
use crate::common::values::{
    Coordinates, CountyNumber, Email, MunicipalityNumber, OrganizationNumber, PhoneNumber, WebUrl,
};
use crate::http::error::{ApiError, ProblemCode};

use super::model::{MunicipalityChanges, NewMunicipality};

/// The longest official name, in characters.
const NAME_MAX: usize = 100;

fn parse_name(name: &str) -> Result<String, String> {
    bounded(name, NAME_MAX)
}

/// A new municipality whose every field has been checked.
#[derive(Debug)]
pub struct ValidNewMunicipality {
    pub number: MunicipalityNumber,
    pub name: String,
    pub county_number: CountyNumber,
    pub organization_number: Option<OrganizationNumber>,
    pub coordinates: Option<Coordinates>,
    pub website: Option<WebUrl>,
    pub digihjelp_email: Option<Email>,
    pub digihjelp_phone: Option<PhoneNumber>,
}

/// Checks every field of a new municipality; a 422 names each bad one.
pub fn check_new(body: &NewMunicipality) -> Result<ValidNewMunicipality, ApiError> {
    let mut fields = Fields::default();
    let number = fields.check("number", MunicipalityNumber::parse(&body.number));
    let name = fields.check("name", parse_name(&body.name));
    let county_number = fields.check("county_number", CountyNumber::parse(&body.county_number));
    if let (Some(number), Some(county)) = (&number, &county_number)
        && !number.as_str().starts_with(county.as_str())
    {
        fields.add("number", "must begin with the county number");
    }
    let organization_number = fields.check_optional(
        "organization_number",
        body.organization_number
            .as_deref()
            .map(OrganizationNumber::parse),
    );
    let coordinates = check_coordinates(&mut fields, body.latitude, body.longitude);
    let website = fields.check_optional("website", body.website.as_deref().map(WebUrl::parse));
    let digihjelp_email = fields.check_optional(
        "digihjelp_email",
        body.digihjelp_email.as_deref().map(Email::parse),
    );
    let digihjelp_phone = fields.check_optional(
        "digihjelp_phone",
        body.digihjelp_phone.as_deref().map(PhoneNumber::parse),
    );
    fields.finish()?;
    Ok(ValidNewMunicipality {
        number: number.expect("checked"),
        name: name.expect("checked"),
        county_number: county_number.expect("checked"),
        organization_number: organization_number.expect("checked"),
        coordinates: coordinates.expect("checked"),
        website: website.expect("checked"),
        digihjelp_email: digihjelp_email.expect("checked"),
        digihjelp_phone: digihjelp_phone.expect("checked"),
    })
}

/// A point, or none: `Some(None)` when both halves are absent, `None` with the error noted.
fn check_coordinates(
    fields: &mut Fields,
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Option<Option<Coordinates>> {
    match (latitude, longitude) {
        (None, None) => Some(None),
        (Some(lat), Some(lon)) => fields
            .check("latitude", Coordinates::parse(lat, lon))
            .map(Some),
        _ => {
            fields.add("longitude", "latitude and longitude come together");
            None
        }
    }
}

/// The reference-data fields a change names, in the order they are reported.
fn reference_fields(changes: &MunicipalityChanges) -> Vec<&'static str> {
    [
        ("name", changes.name.is_undefined()),
        ("county_number", changes.county_number.is_undefined()),
        (
            "organization_number",
            changes.organization_number.is_undefined(),
        ),
    ]
    .into_iter()
    .filter(|(_, undefined)| !undefined)
    .map(|(field, _)| field)
    .collect()
}

/// Who may change which fields: contact details the municipality itself or KS, reference
/// data KS only (a 403 naming the reference fields asked for).
pub fn may_change(
    caller: &Caller,
    number: &str,
    changes: &MunicipalityChanges,
) -> Result<(), ApiError> {
    policy::update_contact_details(caller, number)?;
    let reference_fields = reference_fields(changes);
    if !reference_fields.is_empty() {
        policy::manage_reference_data(caller).map_err(|_| {
            ApiError::Forbidden(format!(
                "only KS may change {}",
                reference_fields.join(", ")
            ))
        })?;
    }
    Ok(())
}

/// A change whose every field has been checked: `None` leaves a field alone, `Some(None)`
/// clears an optional one.
#[derive(Debug, Default)]
pub struct ChangeSet {
    pub website: Option<Option<WebUrl>>,
    pub digihjelp_email: Option<Option<Email>>,
    pub digihjelp_phone: Option<Option<PhoneNumber>>,
    pub organization_number: Option<Option<OrganizationNumber>>,
    pub name: Option<String>,
    pub county_number: Option<CountyNumber>,
}

impl ChangeSet {
    /// The fields it changes, for the audit summary.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("website", self.website.is_some()),
            ("digihjelp_email", self.digihjelp_email.is_some()),
            ("digihjelp_phone", self.digihjelp_phone.is_some()),
            ("organization_number", self.organization_number.is_some()),
            ("name", self.name.is_some()),
            ("county_number", self.county_number.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
    }

    /// The organisation number it gives the municipality, if any.
    pub fn new_organization_number(&self) -> Option<&OrganizationNumber> {
        self.organization_number.as_ref().and_then(Option::as_ref)
    }
}

/// Checks every field of a change to municipality `number`, each on its own and a new county
/// against what is stored (it must exist and be the first two digits of the number), so one
/// 422 names them all, or the body when it names no field.
pub fn checked_changes(
    number: &str,
    changes: MunicipalityChanges,
    stored: &Stored,
) -> Result<ChangeSet, ApiError> {
    if names_no_field(&changes) {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let mut fields = Fields::default();
    let checked = ChangeSet {
        website: fields.check_patch("website", changes.website, WebUrl::parse),
        digihjelp_email: fields.check_patch(
            "digihjelp_email",
            changes.digihjelp_email,
            Email::parse,
        ),
        digihjelp_phone: fields.check_patch(
            "digihjelp_phone",
            changes.digihjelp_phone,
            PhoneNumber::parse,
        ),
        organization_number: fields.check_patch(
            "organization_number",
            changes.organization_number,
            OrganizationNumber::parse,
        ),
        name: fields.check_required_patch("name", changes.name, parse_name),
        county_number: fields
            .check_required_patch("county_number", changes.county_number, CountyNumber::parse)
            .and_then(|county| fields.check("county_number", county_of(number, county, stored))),
    };
    fields.finish()?;
    Ok(checked)
}

/// A new county of municipality `number`: one that exists, and begins the number.
fn county_of(number: &str, county: CountyNumber, stored: &Stored) -> Result<CountyNumber, String> {
    if !stored.county_exists {
        Err(no_such_county(&county))
    } else if !number.starts_with(county.as_str()) {
        Err("must be the first two digits of the municipality number".into())
    } else {
        Ok(county)
    }
}

fn names_no_field(changes: &MunicipalityChanges) -> bool {
    reference_fields(changes).is_empty()
        && changes.website.is_undefined()
        && changes.digihjelp_email.is_undefined()
        && changes.digihjelp_phone.is_undefined()
}

/// What is stored about the values a new municipality or a change names.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Whether the county named exists; `true` when none is named.
    pub county_exists: bool,
    /// The municipality holding the organisation number named, if any.
    pub organization_holder: Option<String>,
}

fn no_such_county(county: &CountyNumber) -> String {
    format!("there is no county {}", county.as_str())
}

/// 409 when the organisation number belongs to another municipality than `number`.
fn organization_number_is_free(
    number: &str,
    organization_number: Option<&OrganizationNumber>,
    stored: &Stored,
) -> Result<(), ApiError> {
    match (organization_number, &stored.organization_holder) {
        (Some(org), Some(holder)) if holder != number => Err(ApiError::Conflict(
            ProblemCode::AlreadyExists,
            format!(
                "organization_number {} belongs to municipality {holder}",
                org.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

/// Whether a checked new municipality fits what is stored: its number free (409), its
/// county existing (422), its organisation number free (409).
pub fn allow_new(
    new: &ValidNewMunicipality,
    number_taken: bool,
    stored: &Stored,
) -> Result<(), ApiError> {
    let number = new.number.as_str();
    if number_taken {
        return Err(ApiError::Conflict(
            ProblemCode::AlreadyExists,
            format!("municipality {number} already exists"),
        ));
    }
    if !stored.county_exists {
        return Err(ApiError::invalid(
            "county_number",
            no_such_county(&new.county_number),
        ));
    }
    organization_number_is_free(number, new.organization_number.as_ref(), stored)
}

/// Whether a checked change to municipality `number` fits what is stored: a new
/// organisation number must not belong to another municipality (409).
pub fn organization_number_free(
    number: &str,
    changes: &ChangeSet,
    stored: &Stored,
) -> Result<(), ApiError> {
    organization_number_is_free(number, changes.new_organization_number(), stored)
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::MaybeUndefined;

    use super::*;
    use crate::auth::Role;
    use crate::common::text::Text;

    fn ks() -> Caller {
        Caller {
            sub: "ks-staff".into(),
            role: Role::Ks,
            municipality: None,
            name: None,
            expires_at: 0,
            via: crate::auth::Via::Secret,
            organization_number: None,
        }
    }

    fn ministry() -> Caller {
        Caller {
            role: Role::Kmd,
            ..ks()
        }
    }

    fn staff_of(number: &str) -> Caller {
        Caller {
            role: Role::Municipality,
            municipality: MunicipalityNumber::parse(number).ok(),
            ..ks()
        }
    }

    fn text(value: &str) -> MaybeUndefined<Text> {
        MaybeUndefined::Value(Text(value.into()))
    }

    fn nothing() -> MunicipalityChanges {
        MunicipalityChanges {
            website: MaybeUndefined::Undefined,
            digihjelp_email: MaybeUndefined::Undefined,
            digihjelp_phone: MaybeUndefined::Undefined,
            name: MaybeUndefined::Undefined,
            county_number: MaybeUndefined::Undefined,
            organization_number: MaybeUndefined::Undefined,
        }
    }

    fn new_municipality() -> NewMunicipality {
        NewMunicipality {
            number: Text("0399".into()),
            name: Text(" Nyby ".into()),
            county_number: Text("03".into()),
            organization_number: None,
            latitude: None,
            longitude: None,
            website: None,
            digihjelp_email: None,
            digihjelp_phone: Some(Text("22 33 44 55".into())),
        }
    }

    fn nothing_stored() -> Stored {
        Stored {
            county_exists: true,
            organization_holder: None,
        }
    }

    fn invalid_fields(error: ApiError) -> Vec<String> {
        match error {
            ApiError::Validation(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    fn status(result: Result<(), ApiError>) -> u16 {
        result.err().map_or(200, |e| e.status().as_u16())
    }

    #[test]
    fn a_municipality_changes_its_own_contact_details_and_ks_any() {
        let website = MunicipalityChanges {
            website: text("https://www.oslo.kommune.no/"),
            ..nothing()
        };
        assert_eq!(status(may_change(&staff_of("0301"), "0301", &website)), 200);
        assert_eq!(status(may_change(&ks(), "0301", &website)), 200);
        assert_eq!(status(may_change(&staff_of("1103"), "0301", &website)), 403);
        assert_eq!(status(may_change(&ministry(), "0301", &website)), 403);
    }

    #[test]
    fn only_ks_changes_reference_data_and_the_refusal_names_the_fields() {
        let rename = MunicipalityChanges {
            name: text("Kristiania"),
            organization_number: MaybeUndefined::Null,
            ..nothing()
        };
        let refused = may_change(&staff_of("0301"), "0301", &rename);
        let Err(ApiError::Forbidden(detail)) = refused else {
            panic!("expected a 403");
        };
        assert_eq!(detail, "only KS may change name, organization_number");
        assert!(may_change(&ks(), "0301", &rename).is_ok());
    }

    #[test]
    fn a_new_municipality_is_trimmed_and_normalised() {
        let new = check_new(&new_municipality()).unwrap();
        assert_eq!(new.name, "Nyby");
        assert_eq!(new.number.as_str(), "0399");
        assert_eq!(new.digihjelp_phone.unwrap().as_str(), "+4722334455");
        assert!(new.coordinates.is_none());
    }

    #[test]
    fn a_new_municipality_names_every_bad_field_at_once() {
        let bad = NewMunicipality {
            number: Text("1199".into()),
            name: Text(" ".into()),
            organization_number: Some(Text("123456789".into())),
            latitude: Some(55.6),
            longitude: Some(12.5),
            website: Some(Text("ftp://x.no".into())),
            digihjelp_email: Some(Text("x@".into())),
            digihjelp_phone: Some(Text("abc".into())),
            ..new_municipality()
        };
        assert_eq!(
            invalid_fields(check_new(&bad).unwrap_err()),
            [
                "name",
                "number",
                "organization_number",
                "latitude",
                "website",
                "digihjelp_email",
                "digihjelp_phone"
            ]
        );
    }

    #[test]
    fn latitude_and_longitude_come_together() {
        let half = NewMunicipality {
            latitude: Some(60.0),
            ..new_municipality()
        };
        assert_eq!(invalid_fields(check_new(&half).unwrap_err()), ["longitude"]);
    }

    #[test]
    fn a_name_longer_than_a_hundred_characters_is_refused() {
        let long = NewMunicipality {
            name: Text("x".repeat(101)),
            ..new_municipality()
        };
        assert_eq!(invalid_fields(check_new(&long).unwrap_err()), ["name"]);
        let longest = NewMunicipality {
            name: Text("x".repeat(100)),
            ..new_municipality()
        };
        assert!(check_new(&longest).is_ok());
    }

    #[test]
    fn a_new_municipality_needs_a_free_number_an_existing_county_and_a_free_organization_number() {
        let new = check_new(&NewMunicipality {
            organization_number: Some(Text("958935420".into())),
            ..new_municipality()
        })
        .unwrap();
        assert_eq!(status(allow_new(&new, false, &nothing_stored())), 200);
        assert_eq!(status(allow_new(&new, true, &nothing_stored())), 409);
        let no_county = Stored {
            county_exists: false,
            ..nothing_stored()
        };
        assert_eq!(status(allow_new(&new, false, &no_county)), 422);
        let held = Stored {
            organization_holder: Some("0301".into()),
            ..nothing_stored()
        };
        assert_eq!(status(allow_new(&new, false, &held)), 409);
    }

    /// A change to Oslo (0301), checked with nothing stored in its way.
    fn check(changes: MunicipalityChanges) -> Result<ChangeSet, ApiError> {
        checked_changes("0301", changes, &nothing_stored())
    }

    #[test]
    fn a_change_names_every_bad_field_in_the_order_of_the_body() {
        let bad = MunicipalityChanges {
            website: text("oslo.kommune.no"),
            digihjelp_email: text("not an address"),
            digihjelp_phone: text("12"),
            name: text(""),
            county_number: text("3"),
            organization_number: text("958935421"),
        };
        assert_eq!(
            invalid_fields(check(bad).unwrap_err()),
            [
                "website",
                "digihjelp_email",
                "digihjelp_phone",
                "organization_number",
                "name",
                "county_number"
            ]
        );
    }

    #[test]
    fn a_change_that_names_no_field_is_refused() {
        assert_eq!(invalid_fields(check(nothing()).unwrap_err()), ["body"]);
    }

    #[test]
    fn null_clears_an_optional_field_but_not_a_required_one() {
        let clear = MunicipalityChanges {
            website: MaybeUndefined::Null,
            ..nothing()
        };
        let changes = check(clear).unwrap();
        assert!(matches!(changes.website, Some(None)));
        assert_eq!(changes.fields(), ["website"]);
        let unname = MunicipalityChanges {
            name: MaybeUndefined::Null,
            ..nothing()
        };
        assert_eq!(invalid_fields(check(unname).unwrap_err()), ["name"]);
    }

    #[test]
    fn the_change_set_lists_its_fields_in_a_fixed_order() {
        let changes = check(MunicipalityChanges {
            county_number: text("03"),
            website: text("https://a.no"),
            name: text("Oslo - Oslove"),
            ..nothing()
        })
        .unwrap();
        assert_eq!(changes.fields(), ["website", "name", "county_number"]);
    }

    #[test]
    fn a_municipality_moves_only_to_an_existing_county_that_begins_its_number() {
        let move_to = |county: &str, stored: &Stored| {
            let changes = MunicipalityChanges {
                county_number: text(county),
                ..nothing()
            };
            checked_changes("0301", changes, stored)
        };
        assert!(move_to("03", &nothing_stored()).is_ok());
        let elsewhere = move_to("11", &nothing_stored()).unwrap_err();
        assert_eq!(invalid_fields(elsewhere), ["county_number"]);
        let no_county = Stored {
            county_exists: false,
            ..nothing_stored()
        };
        let Err(ApiError::Validation(errors)) = move_to("07", &no_county) else {
            panic!("expected a 422");
        };
        assert_eq!(errors[0].field, "county_number");
        assert_eq!(errors[0].message, "there is no county 07");
    }

    #[test]
    fn a_bad_field_and_a_county_that_does_not_begin_the_stored_number_are_named_at_once() {
        let changes = MunicipalityChanges {
            website: text("oslo.kommune.no"),
            name: text(&"x".repeat(101)),
            county_number: text("11"),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(check(changes).unwrap_err()),
            ["website", "name", "county_number"]
        );
    }

    #[test]
    fn an_organization_number_held_by_another_municipality_is_a_conflict() {
        let changes = check(MunicipalityChanges {
            organization_number: text("964965226"),
            ..nothing()
        })
        .unwrap();
        let held_by = |holder: &str| Stored {
            organization_holder: Some(holder.into()),
            ..nothing_stored()
        };
        let free = |stored: &Stored| status(organization_number_free("0301", &changes, stored));
        assert_eq!(free(&held_by("1103")), 409);
        assert_eq!(free(&held_by("0301")), 200);
        assert_eq!(free(&nothing_stored()), 200);
    }
}
