//! The app builder shared by the server and the tests, and the OpenAPI document.

use std::collections::HashMap;
use std::sync::Arc;

use poem::endpoint::make_sync;
use poem::middleware::Cors;
use poem::{Endpoint, EndpointExt, Route, get};
use poem_openapi::OpenApiService;

use crate::audit::AuditApi;
use crate::counties::CountiesApi;
use crate::coverage::CoverageApi;
use crate::grants::GrantsApi;
use crate::locations::LocationsApi;
use crate::locations::hours::OpeningHoursApi;
use crate::locations::topics::LocationTopicsApi;
use crate::me::MeApi;
use crate::meeting_places::{MeetingPlaceFeedApi, MeetingPlacesApi, RegistrationsApi};
use crate::municipalities::MunicipalitiesApi;
use crate::operations::OperationsApi;
use crate::state::AppState;
use crate::telemetry::observe;
use crate::tickets::TicketsApi;
use crate::topics::TopicsApi;
use crate::topics::resources::TopicResourcesApi;

type Apis = (
    OperationsApi,
    MeApi,
    CountiesApi,
    MunicipalitiesApi,
    LocationsApi,
    OpeningHoursApi,
    LocationTopicsApi,
    TopicsApi,
    TopicResourcesApi,
    TicketsApi,
    MeetingPlacesApi,
    RegistrationsApi,
    MeetingPlaceFeedApi,
    GrantsApi,
    CoverageApi,
    AuditApi,
);

const DESCRIPTION: &str = "\
The system of record for Digihjelpen, the municipal digital-help offer in Norway: \
municipalities, Digihjelp locations and their opening hours, guidance topics, regional \
meeting places, kontaktpunkt tickets and grants.

**Authentication**: a bearer JWT with the claims `sub`, `role` (`ks`, `kmd` or \
`municipality`), `municipality` (for the municipality role), `iss`, `aud` and `exp`.

**Errors** are RFC 9457 `application/problem+json`; a 422 lists every invalid field in \
`errors`.

**Lists** take `limit` (1 to 200, default 50) and `cursor` (the `next_cursor` of the \
previous page).

**Changes** need `If-Match` with the resource's `ETag` (412 when stale, 428 when missing); \
creating `POST`s accept an `Idempotency-Key`.";

pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        (
            OperationsApi,
            MeApi,
            CountiesApi,
            MunicipalitiesApi,
            LocationsApi,
            OpeningHoursApi,
            LocationTopicsApi,
            TopicsApi,
            TopicResourcesApi,
            TicketsApi,
            MeetingPlacesApi,
            RegistrationsApi,
            MeetingPlaceFeedApi,
            GrantsApi,
            CoverageApi,
            AuditApi,
        ),
        "Digihjelpen API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
    .license("MIT")
}

/// The OpenAPI document, as committed in `openapi.json`.
pub fn spec() -> String {
    let spec = api_service().spec();
    // Some client generators want bare media types as content keys.
    spec.replace("; charset=utf-8", "") + "\n"
}

/// Operation id → route template (`/api/v1/municipalities/{number}`), for metric labels.
pub fn route_templates() -> HashMap<String, String> {
    let spec: serde_json::Value = serde_json::from_str(&api_service().spec()).expect("valid JSON");
    let mut routes = HashMap::new();
    if let Some(paths) = spec["paths"].as_object() {
        for (path, operations) in paths {
            for operation in operations.as_object().into_iter().flat_map(|o| o.values()) {
                if let Some(id) = operation["operationId"].as_str() {
                    routes.insert(id.to_string(), path.clone());
                }
            }
        }
    }
    routes
}

/// The whole HTTP app: the API, `/docs`, `/openapi.json`, CORS, and the request middleware.
pub fn app(
    state: AppState,
    cors_origins: &[String],
) -> impl Endpoint<Output = poem::Response> + use<> {
    let service = api_service();
    let docs = service.swagger_ui();
    let spec = spec();
    let metrics = Arc::clone(&state.metrics);
    let routes = Route::new()
        .nest("/", service)
        .nest("/docs", docs)
        .at(
            "/openapi.json",
            get(make_sync(move |_| {
                poem::Response::builder()
                    .content_type("application/json")
                    .body(spec.clone())
            })),
        )
        .data(state);
    let cors = (!cors_origins.is_empty()).then(|| {
        cors_origins
            .iter()
            .fold(Cors::new(), |cors, origin| {
                cors.allow_origin(origin.as_str())
            })
            .allow_headers([
                "authorization",
                "content-type",
                "if-match",
                "if-none-match",
                "idempotency-key",
                "x-request-id",
            ])
            .expose_headers(["etag", "location", "x-request-id"])
            .max_age(600)
    });
    routes
        .with_if(cors.is_some(), cors.unwrap_or_default())
        .around(move |ep, req| observe(ep, req, Arc::clone(&metrics)))
}
