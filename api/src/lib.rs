//! The Digihjelpen API: a REST/JSON service for the Norwegian municipal digital-help offer.
//!
//! [`app::app`] builds the HTTP app from an [`state::AppState`]; the binary `digihjelpen`
//! (see `main.rs`) serves it, migrates the database, prints the spec and mints development
//! tokens.
//!
//! Layers, from the bottom: [`common`] (values and checks) and [`http`] (errors, spec,
//! middleware, pagination, preconditions) know no resource; `auth`, `audit`, `state` and
//! `config` serve every resource; each resource module (`locations`, `tickets`, ...) holds
//! its operations (`mod.rs`), wire types (`model.rs`), queries and writes (`store.rs`) and
//! pure rules (`rules.rs`); `app.rs` composes them.

pub mod app;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod cli;
pub mod common;
pub mod config;
pub mod counties;
pub mod coverage;
pub mod grants;
pub mod http;
pub mod languages;
pub mod locations;
pub mod logging;
pub mod me;
pub mod meeting_places;
pub mod municipalities;
pub mod operations;
pub mod state;
pub mod tags;
pub mod tickets;
pub mod topics;
pub mod webhooks;
