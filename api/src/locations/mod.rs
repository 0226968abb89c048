//! Digihjelp locations: where guidance is given, when it is open, and search for the public
//! "find Digihjelp near you" pages.

pub use crate::common::holidays;
pub mod hours;
pub mod model;
pub mod rules;
pub mod schedule;
pub mod search;
pub mod store;
pub mod topics;

use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use uuid::Uuid;

use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    HostType, LocationChanges, LocationCreatedResponse, LocationDeletedResponse,
    LocationListResponse, LocationResponse, LocationStatus, LocationUpdated, NewLocation,
    ServiceMode,
};
use rules::LocationFields;

#[derive(Default)]
pub struct LocationsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Locations")]
impl LocationsApi {
    /// Search locations
    ///
    /// All filters combine. Without `status`, active and temporarily closed locations are
    /// listed. With `near`, locations within `radius_km` are ordered by distance (nearest
    /// first) and carry `distance_km`; otherwise they are ordered by name, then id.
    #[oai(path = "/locations", method = "get", operation_id = "list_locations")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        /// Only locations of this municipality, e.g. `0301`.
        municipality: Query<Option<crate::http::params::MunicipalityParam>>,
        /// Only locations in this county, e.g. `03`.
        county: Query<Option<crate::http::params::CountyParam>>,
        /// Only locations that give guidance in this language (a code of `/languages`), e.g. `ar`.
        language: Query<Option<crate::http::params::LanguageParam>>,
        /// Only locations serving visitors this way.
        service_mode: Query<Option<ServiceMode>>,
        host_type: Query<Option<HostType>>,
        /// One or more statuses (repeat the parameter); default active and
        /// temporarily_closed.
        status: Query<Vec<LocationStatus>>,
        /// Only locations offering this guidance topic (a slug); repeat the parameter for
        /// locations offering every one of them.
        #[oai(validator(max_items = 20))]
        topic: Query<Option<Vec<crate::topics::model::SlugText>>>,
        /// Words in the name, description or postal place, in any case.
        #[oai(validator(min_length = 1, max_length = 100))]
        q: Query<Option<String>>,
        /// Only locations open at this instant (RFC 3339).
        open_at: Query<Option<chrono::DateTime<chrono::Utc>>>,
        /// `true`: only locations open now.
        open_now: Query<Option<bool>>,
        /// A point `latitude,longitude`, e.g. `59.91,10.75`: order by distance from it.
        near: Query<Option<String>>,
        /// With `near`: how far to look, in kilometres (default 25, at most 500).
        radius_km: Query<Option<f64>>,
        /// Only locations changed at or after this instant (RFC 3339), for systems that sync.
        updated_since: Query<Option<chrono::DateTime<chrono::Utc>>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<LocationListResponse, Failure<{ E400 | E422 }>> {
        let filters = search::Filters::parse(search::RawFilters {
            municipality: crate::http::params::value(municipality.0),
            county: crate::http::params::value(county.0),
            language: crate::http::params::value(language.0),
            service_mode: service_mode.0,
            host_type: host_type.0,
            statuses: status.0,
            topics: topic.0.into_iter().flatten().map(|slug| slug.0).collect(),
            q: q.0,
            open_at: open_at.0,
            open_now: open_now.0,
            near: near.0,
            radius_km: radius_km.0,
            updated_since: updated_since.0,
        })?;
        let page = store::search(state.db.conn(), &filters, limit.0, cursor.0.as_deref()).await?;
        Ok(LocationListResponse::Ok(Json(page.into())))
    }

    /// Get a location
    ///
    /// Anyone; the `ETag` is its version, to send back in `If-Match` when changing it.
    #[oai(path = "/locations/:id", method = "get", operation_id = "get_location")]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The location's id (a UUID).
        id: Path<Uuid>,
    ) -> Result<LocationResponse, Failure<{ E400 | E404 }>> {
        let location = store::find(state.db.conn(), id.0).await?;
        let tag = etag(location.version);
        Ok(LocationResponse::Ok(Json(Box::new(location)), tag))
    }

    /// Create a location
    ///
    /// A municipality creates locations in its own municipality, KS in any. Send an
    /// `Idempotency-Key` to make a retry safe.
    #[oai(path = "/locations", method = "post", operation_id = "create_location")]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewLocation>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<LocationCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        let fields = LocationFields::from_new(&body.0)?;
        policy::manage_location(caller, fields.municipality_number.as_str())?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_location",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| store::create(tx, caller, &fields).await,
        )
        .await?;
        let location = format!("/api/v1/locations/{}", created.id);
        let tag = etag(created.version);
        Ok(LocationCreatedResponse::Created(
            Json(Box::new(created)),
            location,
            tag,
        ))
    }

    /// Update a location
    ///
    /// Send `If-Match` with the ETag you read; a stale one is refused with 412.
    #[oai(
        path = "/locations/:id",
        method = "patch",
        operation_id = "update_location"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<LocationChanges>,
    ) -> Result<LocationUpdated, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>> {
        let id = id.0;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &current.municipality_number)?;
        let changes = rules::checked_changes(body.0)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        let changed = changes.changed();
        let fields = changes.apply_to(store::current_fields(&tx, &current).await?);
        let updated = store::update(&tx, &auth.0, &current, &fields, &changed).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(LocationUpdated::Ok(Json(Box::new(updated)), tag))
    }

    /// Delete a location
    ///
    /// Removes the location with its opening hours and exceptions. Send `If-Match`.
    #[oai(
        path = "/locations/:id",
        method = "delete",
        operation_id = "delete_location"
    )]
    async fn delete(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The location's id (a UUID).
        id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<LocationDeletedResponse, Failure<{ E400 | AUTH | E404 | E412 | E428 }>> {
        let id = id.0;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, id).await?;
        policy::manage_location(&auth.0, &current.municipality_number)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        store::delete(&tx, &auth.0, &current).await?;
        tx.commit().await?;
        Ok(LocationDeletedResponse::Deleted)
    }
}
