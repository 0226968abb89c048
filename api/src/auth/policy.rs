//! Who may do what: one small rule per question of the role matrix.

use super::{Caller, Role};
use crate::error::ApiError;

fn forbidden(message: &str) -> ApiError {
    ApiError::Forbidden(message.to_string())
}

/// Reference data (municipality and county names, numbers, counties) is kept by KS.
pub fn manage_reference_data(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks => Ok(()),
        _ => Err(forbidden(
            "only KS maintains municipality and county reference data",
        )),
    }
}

/// A municipality's Digihjelpen contact details: the municipality itself, or KS.
pub fn update_contact_details(caller: &Caller, municipality: &str) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks => Ok(()),
        Role::Municipality if caller.is_municipality(municipality) => Ok(()),
        Role::Municipality => Err(forbidden(
            "a municipality may update its own contact details only",
        )),
        Role::Kmd => Err(forbidden("the ministry does not update municipalities")),
    }
}

/// Locations, their opening hours and topics: the municipality's own, or any for KS.
pub fn manage_location(caller: &Caller, municipality: &str) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks => Ok(()),
        Role::Municipality if caller.is_municipality(municipality) => Ok(()),
        Role::Municipality => Err(forbidden(
            "a municipality manages the locations of its own municipality only",
        )),
        Role::Kmd => Err(forbidden(
            "the ministry reads locations but does not manage them",
        )),
    }
}

/// The audit log is read by KS and the ministry.
pub fn read_audit_log(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks | Role::Kmd => Ok(()),
        Role::Municipality => Err(forbidden("the audit log is for KS and the ministry")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::MunicipalityNumber;

    fn caller(role: Role, municipality: Option<&str>) -> Caller {
        Caller {
            sub: "someone".into(),
            role,
            municipality: municipality.map(|m| MunicipalityNumber::parse(m).unwrap()),
            name: None,
            expires_at: 0,
        }
    }

    #[test]
    fn only_ks_manages_reference_data() {
        assert!(manage_reference_data(&caller(Role::Ks, None)).is_ok());
        assert!(manage_reference_data(&caller(Role::Kmd, None)).is_err());
        assert!(manage_reference_data(&caller(Role::Municipality, Some("0301"))).is_err());
    }

    #[test]
    fn contact_details_are_updated_by_the_municipality_itself_or_ks() {
        assert!(update_contact_details(&caller(Role::Ks, None), "0301").is_ok());
        assert!(update_contact_details(&caller(Role::Municipality, Some("0301")), "0301").is_ok());
        assert!(update_contact_details(&caller(Role::Municipality, Some("1103")), "0301").is_err());
        assert!(update_contact_details(&caller(Role::Kmd, None), "0301").is_err());
    }

    #[test]
    fn locations_are_managed_by_their_municipality_or_ks() {
        assert!(manage_location(&caller(Role::Ks, None), "0301").is_ok());
        assert!(manage_location(&caller(Role::Municipality, Some("0301")), "0301").is_ok());
        assert!(manage_location(&caller(Role::Municipality, Some("1103")), "0301").is_err());
        assert!(manage_location(&caller(Role::Kmd, None), "0301").is_err());
    }

    #[test]
    fn ks_and_kmd_read_the_audit_log() {
        assert!(read_audit_log(&caller(Role::Ks, None)).is_ok());
        assert!(read_audit_log(&caller(Role::Kmd, None)).is_ok());
        assert!(read_audit_log(&caller(Role::Municipality, Some("0301"))).is_err());
    }
}
