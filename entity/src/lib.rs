//! sea-orm entities of the Digihjelpen database, one module per table.

pub mod audit_entry;
pub mod change;
pub mod county;
pub mod grant_application;
pub mod grant_scheme;
pub mod idempotency_key;
pub mod kontaktpunkt_calendar;
pub mod kontaktpunkt_service_levels;
pub mod location;
pub mod location_language;
pub mod location_topic;
pub mod meeting_place;
pub mod meeting_place_county;
pub mod meeting_place_registration;
pub mod meeting_place_registration_event;
pub mod municipality;
pub mod opening_exception;
pub mod opening_rule;
pub mod ticket;
pub mod ticket_counter;
pub mod ticket_message;
pub mod ticket_status_change;
pub mod topic;
pub mod topic_resource;
pub mod topic_resource_language;
