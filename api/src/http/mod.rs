//! What every resource shares at the HTTP edge: the error type and its problem+json body,
//! the finishing of the OpenAPI document and the route table read from it, the middleware,
//! pagination, preconditions (`If-Match`), idempotent creation and typed query parameters.
//!
//! Nothing here knows a resource: the composition root (`app.rs`) hands it the spec.

pub mod bounds;
pub mod error;
pub mod idempotency;
pub mod metrics;
pub mod middleware;
pub mod pagination;
pub mod params;
pub mod preconditions;
pub mod problems;
pub mod routes;
pub mod server;
pub mod spec;
