//! The tags that group operations in the spec and the docs.

use poem_openapi::Tags;

#[derive(Tags)]
pub enum ApiTags {
    /// Liveness, readiness and metrics, for load balancers and monitoring.
    Operations,
    /// The caller's verified identity.
    Identity,
    /// The 15 counties (fylker) of Norway.
    Counties,
    /// The municipalities (kommuner) of Norway and their Digihjelpen contact details.
    Municipalities,
    /// The kontaktpunkt: questions from municipalities to KS, answered, referred and
    /// resolved, with response-time statistics.
    Tickets,
    /// Who changed what, and when (KS and the ministry).
    Audit,
}
