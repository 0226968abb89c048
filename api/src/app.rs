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
    let spec = api_service().spec();
    // Some client generators want bare media types as content keys.
    let spec = spec.replace("; charset=utf-8", "");
    let mut spec: serde_json::Value = serde_json::from_str(&spec).expect("valid JSON");
    complete_spec(&mut spec);
    serde_json::to_string_pretty(&spec).expect("serialisable") + "\n"
}

/// What poem-openapi cannot say by itself, stated once for every operation:
///
/// - chrono's `NaiveDate` calls its format `naive-date`; on the wire it is an RFC 3339
///   full-date, which OpenAPI names `date`;
/// - request bodies refuse unknown fields (`deny_unknown_fields` on every request type), so
///   their schemas carry `additionalProperties: false`;
/// - an operation with a body answers 415 when the body is not JSON;
/// - `If-Match` is required where it is a parameter: the server answers 428 without it, so a
///   generated client should make callers pass it;
/// - `Idempotency-Key` is 1 to 255 visible ASCII characters;
/// - the body of a change (`update_*`) names at least one field.
fn complete_spec(spec: &mut serde_json::Value) {
    use serde_json::{Value, json};

    fn dates(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.get("format").and_then(Value::as_str) == Some("naive-date") {
                    map.insert("format".into(), json!("date"));
                }
                map.values_mut().for_each(dates);
            }
            Value::Array(items) => items.iter_mut().for_each(dates),
            _ => {}
        }
    }
    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(
                        target
                            .trim_start_matches("#/components/schemas/")
                            .to_string(),
                    );
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    // A described or nullable reference: poem-openapi adds a type-less part
    // (`{"description": ..., "nullable": true}`) beside the `$ref`, which validators and
    // client generators refuse; the same keys on the property itself say the same.
    fn nullable_refs(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(all_of)) = map.get_mut("allOf") {
                    all_of.retain(|part| {
                        part.get("$ref").is_some()
                            || part.as_object().is_some_and(|keys| {
                                keys.keys().any(|k| k != "description" && k != "nullable")
                            })
                    });
                }
                map.values_mut().for_each(nullable_refs);
            }
            Value::Array(items) => items.iter_mut().for_each(nullable_refs),
            _ => {}
        }
    }

    dates(spec);
    nullable_refs(spec);
    let mut request_schemas = Vec::new();
    let mut patch_schemas = Vec::new();
    if let Some(paths) = spec["paths"].as_object_mut() {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in operation.values_mut().filter_map(Value::as_object_mut) {
                if let Some(body) = operation.get("requestBody") {
                    refs(body, &mut request_schemas);
                    if operation
                        .get("operationId")
                        .and_then(Value::as_str)
                        .is_some_and(|id| id.starts_with("update_"))
                    {
                        refs(body, &mut patch_schemas);
                    }
                    operation["responses"]["415"] = json!({
                        "description": "The body is not `application/json`.",
                        "content": {"application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/ProblemDetails"}
                        }}
                    });
                }
                for parameter in operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if parameter["in"] == "header" && parameter["name"] == "If-Match" {
                        parameter["required"] = json!(true);
                        // A blank one counts as missing (428).
                        parameter["schema"]["pattern"] = json!("\\S");
                    }
                    // The rule of `idempotency::create_once`: 1 to 255 visible ASCII
                    // characters (HTTP drops the spaces and tabs around a header value).
                    if parameter["in"] == "header" && parameter["name"] == "Idempotency-Key" {
                        parameter["schema"] = json!({
                            "type": "string",
                            "pattern": "^[ \t]*[!-~]{1,255}[ \t]*$"
                        });
                    }
                }
            }
        }
    }
    // A change names at least one field (the server answers `{}` with 422).
    for name in patch_schemas {
        spec["components"]["schemas"][&name]["minProperties"] = json!(1);
    }
    // Request types and the types nested in them.
    let schemas = spec["components"]["schemas"].clone();
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = request_schemas.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        refs(&schemas[&name], &mut request_schemas);
        let schema = &mut spec["components"]["schemas"][&name];
        if schema["type"] == "object" {
            schema["additionalProperties"] = json!(false);
        }
    }
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

/// The methods each path answers, for the `Allow` header of a 405: route templates
/// (`/api/v1/locations/{id}`) with their methods, from the spec.
pub fn route_methods() -> Vec<(String, String)> {
    let spec: serde_json::Value = serde_json::from_str(&api_service().spec()).expect("valid JSON");
    let mut routes = vec![("/openapi.json".to_string(), "GET".to_string())];
    for (path, operations) in spec["paths"].as_object().into_iter().flatten() {
        let methods: Vec<String> = operations
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
            .map(|m| m.to_uppercase())
            .collect();
        routes.push((path.clone(), methods.join(", ")));
    }
    routes
}

/// The `Allow` value for a request path, when a route matches it.
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    static ROUTES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(route_methods);
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    routes
        .iter()
        .find(|(template, _)| {
            let pattern: Vec<&str> = template.split('/').collect();
            pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s)
        })
        .map(|(_, methods)| methods.as_str())
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
