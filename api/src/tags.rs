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
    /// Digihjelp locations: where guidance is given, and search for "near me" and "open now".
    Locations,
    /// Weekly opening hours, dated exceptions, schedules and public holidays.
    OpeningHours,
    /// Guidance topics: what Digihjelp helps with and what it does not, in Bokmål, Nynorsk
    /// and English, with the courses, videos and guides linked from each.
    Topics,
    /// The kontaktpunkt: questions from municipalities to KS, answered, referred and
    /// resolved, with response-time statistics.
    Tickets,
    /// Regional meeting places, municipalities' registrations, and the calendar feed.
    MeetingPlaces,
    /// Grant schemes of the ministry, the municipalities' applications, and the decisions
    /// on them.
    Grants,
    /// Coverage: which municipalities have a Digihjelp offer, which were funded, per county
    /// and nationally.
    Statistics,
    /// Who changed what, and when (KS and the ministry).
    Audit,
    /// Keeping a copy in sync: the change feed, and webhooks that push it.
    Sync,
    /// The languages guidance is given in, as `languages` fields take them.
    Languages,
}
