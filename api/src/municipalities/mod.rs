//! Municipalities: the official reference list, each municipality's Digihjelpen contact
//! details, and whether it has a Digihjelp offer.

pub mod model;
pub mod rules;
pub mod store;

use poem_openapi::OpenApi;
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;

use crate::auth::{BearerAuth, policy};
use crate::http::error::{AUTH, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{check_if_match, etag};
use crate::state::AppState;
use crate::tags::ApiTags;
use model::{
    MunicipalityChanges, MunicipalityCreatedResponse, MunicipalityListResponse,
    MunicipalityResponse, MunicipalityUpdated, NewMunicipality,
};

#[derive(Default)]
pub struct MunicipalitiesApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Municipalities")]
impl MunicipalitiesApi {
    /// List municipalities
    ///
    /// All 357 municipalities of Norway (and any KS has added since), ordered by number,
    /// filtered by county, by whether they have a Digihjelp offer, and by name.
    #[oai(
        path = "/municipalities",
        method = "get",
        operation_id = "list_municipalities"
    )]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        /// Only municipalities of this county, e.g. `03`.
        county: Query<Option<crate::http::params::KnownCountyParam>>,
        /// Only municipalities with (`true`) or without (`false`) a Digihjelp offer.
        has_digihjelp: Query<Option<bool>>,
        /// Part of the name, in any case (`bø` finds Bø and Bømlo).
        #[oai(validator(min_length = 1, max_length = 100))]
        q: Query<Option<String>>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<MunicipalityListResponse, Failure<{ E400 | E422 }>> {
        let page = PageRequest::<String>::new(limit.0, cursor.0.as_deref())?;
        let conn = state.db.conn();
        let filters = store::Filters {
            county: store::known_county(conn, crate::http::params::value(county.0)).await?,
            name: q.0,
            has_digihjelp: has_digihjelp.0,
        };
        let page = store::list(conn, filters, &page).await?;
        Ok(MunicipalityListResponse::Ok(Json(page.into())))
    }

    /// Get a municipality
    ///
    /// Anyone; the `ETag` is its version, to send back in `If-Match` when changing it.
    #[oai(
        path = "/municipalities/:number",
        method = "get",
        operation_id = "get_municipality"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        /// The four-digit municipality number, e.g. `0301`.
        number: Path<String>,
    ) -> Result<MunicipalityResponse, Failure<{ E400 | E404 }>> {
        let found = store::find(state.db.conn(), &number.0).await?;
        let tag = etag(found.version);
        Ok(MunicipalityResponse::Ok(Json(Box::new(found)), tag))
    }

    /// Create a municipality
    ///
    /// For mergers and new municipality numbers (KS). Send an `Idempotency-Key` to make a
    /// retry safe.
    #[oai(
        path = "/municipalities",
        method = "post",
        operation_id = "create_municipality"
    )]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        body: Json<NewMunicipality>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<MunicipalityCreatedResponse, Failure<{ E400 | AUTH | E409 | E422 }>> {
        let caller = &auth.0;
        policy::manage_reference_data(caller)?;
        let new = rules::check_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_municipality",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| store::create(tx, caller, new).await,
        )
        .await?;
        let location = format!("/api/v1/municipalities/{}", created.number);
        let tag = etag(created.version);
        Ok(MunicipalityCreatedResponse::Created(
            Json(created),
            location,
            tag,
        ))
    }

    /// Update a municipality
    ///
    /// Changes contact details (the municipality itself or KS) or reference data (KS).
    /// Send `If-Match` with the ETag you read; a stale one is refused with 412.
    #[oai(
        path = "/municipalities/:number",
        method = "patch",
        operation_id = "update_municipality"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The four-digit municipality number, e.g. `0301`.
        number: Path<String>,
        /// The ETag of the version you read, e.g. `"3"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<MunicipalityChanges>,
    ) -> Result<MunicipalityUpdated, Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 | E428 }>>
    {
        let caller = &auth.0;
        rules::may_change(caller, &number.0, &body.0)?;
        let tx = state.db.begin_write().await?;
        let current = store::find_model(&tx, &number.0).await?;
        let stored = store::stored_for_change(&tx, &body.0).await?;
        // Every field, a new county against the stored number included, is checked before
        // `If-Match`, so that one 422 names them all.
        let changes = rules::checked_changes(&current.number, body.0, &stored)?;
        check_if_match(if_match.0.as_deref(), current.version)?;
        rules::organization_number_free(&current.number, &changes, &stored)?;
        let updated = store::update(&tx, caller, &current, changes).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(MunicipalityUpdated::Ok(Json(Box::new(updated)), tag))
    }
}
