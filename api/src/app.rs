//! The composition root: every resource's operations in one OpenAPI service, and the app
//! builder shared by the server and the tests.

use std::sync::Arc;

use poem::endpoint::make_sync;
use poem::http::{Method, header};
use poem::middleware::{Cors, SetHeader};
use poem::{Endpoint, EndpointExt, Route, get};
use poem_openapi::OpenApiService;

use crate::audit::AuditApi;
use crate::changes::ChangesApi;
use crate::config::EdgeConfig;
use crate::counties::CountiesApi;
use crate::coverage::CoverageApi;
use crate::grants::GrantSchemesApi;
use crate::grants::applications::GrantApplicationsApi;
use crate::http;
use crate::http::middleware::{Edge, Load, ResponseCache, ValueRules, edge};
use crate::http::routes::RouteTable;
use crate::languages::LanguagesApi;
use crate::locations::LocationsApi;
use crate::locations::hours::OpeningHoursApi;
use crate::locations::topics::LocationTopicsApi;
use crate::me::MeApi;
use crate::meeting_places::{MeetingPlaceFeedApi, MeetingPlacesApi, RegistrationsApi};
use crate::municipalities::MunicipalitiesApi;
use crate::operations::OperationsApi;
use crate::state::AppState;
use crate::tickets::TicketsApi;
use crate::tickets::service_levels::ServiceLevelsApi;
use crate::topics::TopicsApi;
use crate::topics::resources::TopicResourcesApi;
use crate::webhooks::WebhooksApi;

/// Every resource's operations; a resource with sub-resources is one group.
type Apis = (
    OperationsApi,
    MeApi,
    (CountiesApi, LanguagesApi),
    MunicipalitiesApi,
    (LocationsApi, OpeningHoursApi, LocationTopicsApi),
    (TopicsApi, TopicResourcesApi),
    (TicketsApi, ServiceLevelsApi),
    (MeetingPlacesApi, RegistrationsApi, MeetingPlaceFeedApi),
    (GrantSchemesApi, GrantApplicationsApi),
    CoverageApi,
    AuditApi,
    (ChangesApi, WebhooksApi),
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
        Apis::default(),
        "Digihjelpen API",
        env!("CARGO_PKG_VERSION"),
    )
    .description(DESCRIPTION)
    .license("MIT")
    .contact(
        poem_openapi::ContactObject::new()
            .name("KS Digihjelpen")
            .url("https://www.ks.no"),
    )
    .server(
        poem_openapi::ServerObject::new("/").description("the server that serves this document"),
    )
}

/// The OpenAPI document, as committed in `openapi.json`.
pub fn spec() -> String {
    http::spec::finish(&api_service().spec())
}

/// The whole HTTP app with the edge's default bounds and no rate limits (the in-process
/// tests); the server uses [`app_with`] and its configuration.
pub fn app(
    state: AppState,
    cors_origins: &[String],
) -> impl Endpoint<Output = poem::Response> + use<> {
    app_with(state, cors_origins, &EdgeConfig::without_rate_limits())
}

/// The whole HTTP app: the API, `/docs`, `/openapi.json`, CORS, and the request middleware
/// with the edge's bounds.
pub fn app_with(
    state: AppState,
    cors_origins: &[String],
    bounds: &EdgeConfig,
) -> impl Endpoint<Output = poem::Response> + use<> {
    let service = api_service();
    let docs = service.swagger_ui();
    // The document is rendered once; the route table and `/openapi.json` both come from it.
    let rendered = service.spec();
    let document: serde_json::Value = serde_json::from_str(&rendered).expect("valid JSON");
    let routes_table = Arc::new(RouteTable::from_spec(&document));
    let spec = http::spec::finish(&rendered);
    // The finished document: its request schemas refuse unknown fields, as the parsers do.
    let finished: serde_json::Value = serde_json::from_str(&spec).expect("valid JSON");
    let value_rules = Arc::new(ValueRules::from_spec(&finished));
    let metrics = Arc::clone(&state.metrics);
    let load = Arc::new(Load::new(bounds, Some(state.clone())));
    let cache = Arc::new(ResponseCache::from_env(state.db.clone()));
    let routes = Route::new()
        .nest("/", service)
        .nest("/docs", docs)
        .at("/problems", get(http::problems::index))
        .at("/problems/:code", get(http::problems::page))
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
            // Only the methods the API answers; never CONNECT or TRACE.
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .max_age(600)
    });
    // The allowed origin is echoed back, so a cache must keep one answer per origin.
    let vary = SetHeader::new().appending(header::VARY, "Origin");
    edge(
        routes
            .with_if(cors.is_some(), cors.unwrap_or_default())
            .with_if(!cors_origins.is_empty(), vary),
        Edge {
            metrics,
            routes: routes_table,
            values: value_rules,
            load,
            cache: Some(cache),
            body_timeout: bounds.body_timeout,
        },
    )
}
