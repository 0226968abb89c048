//! Who may do what: one small rule per question of the role matrix.

use super::{Caller, Role};
use crate::http::error::ApiError;

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

/// Guidance topics and their resources are kept by KS.
pub fn manage_topics(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks => Ok(()),
        Role::Kmd | Role::Municipality => Err(forbidden(
            "only KS maintains guidance topics and their resources",
        )),
    }
}

/// KS subscribes to anything it reads, a municipality to what it reads (its own private
/// resources among them); the ministry reads through the API and the feed instead.
pub fn manage_webhooks(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks | Role::Municipality => Ok(()),
        Role::Kmd => Err(forbidden(
            "webhooks are for KS and the municipalities; the ministry follows the change feed",
        )),
    }
}

/// Meeting places are arranged by KS and the ministry.
pub fn manage_meeting_places(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks | Role::Kmd => Ok(()),
        Role::Municipality => Err(forbidden(
            "meeting places are arranged by KS and the ministry",
        )),
    }
}

/// A municipality registers itself for a meeting place, and changes or cancels its own
/// registration; the answer is its number.
pub fn register_for_meeting_place(caller: &Caller) -> Result<&str, ApiError> {
    match (caller.role, &caller.municipality) {
        (Role::Municipality, Some(number)) => Ok(number.as_str()),
        _ => Err(forbidden(
            "municipalities register themselves; KS and the ministry read registrations",
        )),
    }
}

/// Whose registrations a caller sees: KS and the ministry all (`None`), a municipality only
/// its own.
pub fn registrations_visible_to(caller: &Caller) -> Option<&str> {
    match caller.role {
        Role::Ks | Role::Kmd => None,
        Role::Municipality => Some(caller.municipality.as_ref().map_or("", |m| m.as_str())),
    }
}

/// Grant schemes are announced and changed by the ministry.
pub fn manage_grant_schemes(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Kmd => Ok(()),
        Role::Ks | Role::Municipality => {
            Err(forbidden("grant schemes are announced by the ministry"))
        }
    }
}

/// A municipality applies for a grant, and edits or withdraws its own application; the
/// answer is its number.
pub fn apply_for_grant(caller: &Caller) -> Result<&str, ApiError> {
    match (caller.role, &caller.municipality) {
        (Role::Municipality, Some(number)) => Ok(number.as_str()),
        _ => Err(forbidden(
            "municipalities apply for grants; KS and the ministry read applications",
        )),
    }
}

/// Whose applications a caller sees: KS and the ministry all (`None`), a municipality only
/// its own.
pub fn applications_visible_to(caller: &Caller) -> Option<&str> {
    match caller.role {
        Role::Ks | Role::Kmd => None,
        Role::Municipality => Some(caller.municipality.as_ref().map_or("", |m| m.as_str())),
    }
}

/// Applications are decided by the ministry.
pub fn decide_grant_applications(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Kmd => Ok(()),
        Role::Ks | Role::Municipality => {
            Err(forbidden("grant applications are decided by the ministry"))
        }
    }
}

/// The audit log is read by KS and the ministry.
pub fn read_audit_log(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks | Role::Kmd => Ok(()),
        Role::Municipality => Err(forbidden("the audit log is for KS and the ministry")),
    }
}

/// Which tickets a caller can see (and reply on). Tickets outside it are answered with 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketScope {
    /// KS runs the kontaktpunkt: every ticket.
    All,
    /// The ministry: the tickets KS has referred to it.
    ReferredToMinistry,
    /// A municipality: its own tickets.
    Municipality(String),
}

pub fn ticket_scope(caller: &Caller) -> TicketScope {
    match (caller.role, &caller.municipality) {
        (Role::Ks, _) => TicketScope::All,
        (Role::Kmd, _) => TicketScope::ReferredToMinistry,
        (Role::Municipality, Some(number)) => TicketScope::Municipality(number.to_string()),
        // The token check makes this impossible; an empty number matches no ticket.
        (Role::Municipality, None) => TicketScope::Municipality(String::new()),
    }
}

/// Tickets are created by municipalities: KS answers them, the ministry is referred to.
pub fn create_ticket(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Municipality => Ok(()),
        Role::Ks | Role::Kmd => Err(forbidden("tickets are created by municipalities")),
    }
}

/// Status, priority, category, tags, assignee and referral of a ticket are KS's to change.
pub fn manage_tickets(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks => Ok(()),
        Role::Kmd | Role::Municipality => Err(forbidden("only KS manages kontaktpunkt tickets")),
    }
}

/// Internal notes are written, and read, by KS only.
pub fn write_internal_notes(caller: &Caller) -> Result<(), ApiError> {
    if sees_internal_notes(caller) {
        Ok(())
    } else {
        Err(forbidden("only KS writes internal notes"))
    }
}

pub fn sees_internal_notes(caller: &Caller) -> bool {
    caller.role == Role::Ks
}

/// Where a ticket's service-level targets stand (`on_track`, `breached`, ...) is KS's
/// internal follow-up, shared with the ministry; a municipality sees the due times only.
pub fn sees_service_level_states(caller: &Caller) -> bool {
    matches!(caller.role, Role::Ks | Role::Kmd)
}

/// Filtering by where the targets stand tells what the states do: KS and the ministry.
pub fn filter_tickets_by_service_level(caller: &Caller) -> Result<(), ApiError> {
    if sees_service_level_states(caller) {
        Ok(())
    } else {
        Err(forbidden(
            "the service-level states of tickets are for KS and the ministry",
        ))
    }
}

/// The business calendar is read by KS and the ministry, and kept by KS.
pub fn read_service_calendar(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks | Role::Kmd => Ok(()),
        Role::Municipality => Err(forbidden(
            "the kontaktpunkt's calendar is for KS and the ministry",
        )),
    }
}

/// The business calendar and the service-level targets are changed by KS only.
pub fn manage_service_levels(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks => Ok(()),
        Role::Kmd | Role::Municipality => Err(forbidden(
            "the kontaktpunkt's service levels are KS's to set",
        )),
    }
}

/// The service-level targets are read by KS and the ministry, which follows them in the
/// statistics.
pub fn read_service_levels(caller: &Caller) -> Result<(), ApiError> {
    read_service_calendar(caller)
}

/// Response and resolution times are followed by KS and the ministry.
pub fn read_ticket_statistics(caller: &Caller) -> Result<(), ApiError> {
    match caller.role {
        Role::Ks | Role::Kmd => Ok(()),
        Role::Municipality => Err(forbidden("ticket statistics are for KS and the ministry")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::values::MunicipalityNumber;

    fn caller(role: Role, municipality: Option<&str>) -> Caller {
        Caller {
            sub: "someone".into(),
            role,
            municipality: municipality.map(|m| MunicipalityNumber::parse(m).unwrap()),
            name: None,
            expires_at: 0,
            via: crate::auth::Via::Secret,
            organization_number: None,
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
    fn only_ks_manages_topics() {
        assert!(manage_topics(&caller(Role::Ks, None)).is_ok());
        assert!(manage_topics(&caller(Role::Kmd, None)).is_err());
        assert!(manage_topics(&caller(Role::Municipality, Some("0301"))).is_err());
    }

    #[test]
    fn ks_and_kmd_read_the_audit_log() {
        assert!(read_audit_log(&caller(Role::Ks, None)).is_ok());
        assert!(read_audit_log(&caller(Role::Kmd, None)).is_ok());
        assert!(read_audit_log(&caller(Role::Municipality, Some("0301"))).is_err());
    }

    #[test]
    fn ks_sees_every_ticket_the_ministry_referred_ones_a_municipality_its_own() {
        assert_eq!(ticket_scope(&caller(Role::Ks, None)), TicketScope::All);
        assert_eq!(
            ticket_scope(&caller(Role::Kmd, None)),
            TicketScope::ReferredToMinistry
        );
        assert_eq!(
            ticket_scope(&caller(Role::Municipality, Some("0301"))),
            TicketScope::Municipality("0301".into())
        );
    }

    #[test]
    fn municipalities_create_tickets_and_ks_manages_them() {
        assert!(create_ticket(&caller(Role::Municipality, Some("0301"))).is_ok());
        assert!(create_ticket(&caller(Role::Ks, None)).is_err());
        assert!(create_ticket(&caller(Role::Kmd, None)).is_err());
        assert!(manage_tickets(&caller(Role::Ks, None)).is_ok());
        assert!(manage_tickets(&caller(Role::Kmd, None)).is_err());
        assert!(manage_tickets(&caller(Role::Municipality, Some("0301"))).is_err());
    }

    #[test]
    fn only_ks_writes_and_sees_internal_notes() {
        assert!(write_internal_notes(&caller(Role::Ks, None)).is_ok());
        assert!(write_internal_notes(&caller(Role::Kmd, None)).is_err());
        assert!(write_internal_notes(&caller(Role::Municipality, Some("0301"))).is_err());
        assert!(!sees_internal_notes(&caller(Role::Kmd, None)));
        assert!(!sees_internal_notes(&caller(
            Role::Municipality,
            Some("0301")
        )));
    }

    #[test]
    fn ks_keeps_the_service_levels_the_ministry_reads_them_and_municipalities_see_due_times() {
        let ks = caller(Role::Ks, None);
        let kmd = caller(Role::Kmd, None);
        let oslo = caller(Role::Municipality, Some("0301"));
        assert!(manage_service_levels(&ks).is_ok());
        assert!(manage_service_levels(&kmd).is_err());
        assert!(manage_service_levels(&oslo).is_err());
        assert!(read_service_calendar(&ks).is_ok());
        assert!(read_service_calendar(&kmd).is_ok());
        assert!(read_service_calendar(&oslo).is_err());
        assert!(read_service_levels(&kmd).is_ok());
        assert!(read_service_levels(&oslo).is_err());
        assert!(sees_service_level_states(&ks));
        assert!(sees_service_level_states(&kmd));
        assert!(!sees_service_level_states(&oslo));
    }

    #[test]
    fn ks_and_kmd_read_ticket_statistics() {
        assert!(read_ticket_statistics(&caller(Role::Ks, None)).is_ok());
        assert!(read_ticket_statistics(&caller(Role::Kmd, None)).is_ok());
        assert!(read_ticket_statistics(&caller(Role::Municipality, Some("0301"))).is_err());
    }

    #[test]
    fn ks_and_kmd_manage_meeting_places_and_municipalities_register() {
        let ks = caller(Role::Ks, None);
        let kmd = caller(Role::Kmd, None);
        let oslo = caller(Role::Municipality, Some("0301"));
        assert!(manage_meeting_places(&ks).is_ok());
        assert!(manage_meeting_places(&kmd).is_ok());
        assert!(manage_meeting_places(&oslo).is_err());
        assert_eq!(register_for_meeting_place(&oslo).unwrap(), "0301");
        assert!(register_for_meeting_place(&ks).is_err());
        assert!(register_for_meeting_place(&kmd).is_err());
        assert_eq!(registrations_visible_to(&ks), None);
        assert_eq!(registrations_visible_to(&kmd), None);
        assert_eq!(registrations_visible_to(&oslo), Some("0301"));
    }

    #[test]
    fn the_ministry_runs_grants_and_municipalities_apply() {
        let ks = caller(Role::Ks, None);
        let kmd = caller(Role::Kmd, None);
        let oslo = caller(Role::Municipality, Some("0301"));
        assert!(manage_grant_schemes(&kmd).is_ok());
        assert!(manage_grant_schemes(&ks).is_err());
        assert!(manage_grant_schemes(&oslo).is_err());
        assert!(decide_grant_applications(&kmd).is_ok());
        assert!(decide_grant_applications(&ks).is_err());
        assert!(decide_grant_applications(&oslo).is_err());
        assert_eq!(apply_for_grant(&oslo).unwrap(), "0301");
        assert!(apply_for_grant(&ks).is_err());
        assert!(apply_for_grant(&kmd).is_err());
        assert_eq!(applications_visible_to(&ks), None);
        assert_eq!(applications_visible_to(&kmd), None);
        assert_eq!(applications_visible_to(&oslo), Some("0301"));
    }
}
