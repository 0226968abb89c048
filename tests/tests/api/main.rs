//! Black-box tests of the Digihjelpen API, driven through the same `app(...)` builder as the
//! server. Database tests run on SQLite and, with `TEST_DATABASE_URL`, on PostgreSQL.

mod helpers;
mod support;

mod audit;
mod auth;
mod cache;
mod changes;
mod counties;
mod coverage;
mod edge;
mod errors;
mod field_errors;
mod folded_search;
mod grants;
mod hostile;
mod hostile_suite;
mod identity;
mod languages;
mod locations;
mod meeting_places;
mod municipalities;
mod opening_hours;
mod operations;
mod service_levels;
mod spec;
mod tickets;
mod topics;
mod webhooks;
