//! The kontaktpunkt's business calendar and service-level targets.

pub mod business_time;
