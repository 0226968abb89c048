//! The Digihjelpen API: a REST/JSON service for the Norwegian municipal digital-help offer.
//!
//! [`app::app`] builds the HTTP app from an [`state::AppState`]; the binary `digihjelpen`
//! (see `main.rs`) serves it, migrates the database, prints the spec and mints development
//! tokens.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod conditional;
pub mod config;
pub mod counties;
pub mod coverage;
pub mod error;
pub mod grants;
pub mod idempotency;
pub mod locations;
pub mod me;
pub mod meeting_places;
pub mod municipalities;
pub mod operations;
pub mod optional;
pub mod pagination;
pub mod params;
pub mod preconditions;
pub mod state;
pub mod tags;
pub mod telemetry;
pub mod text;
pub mod tickets;
pub mod topics;
pub mod validation;
pub mod values;
