//! Registrations: a municipality registers itself for a meeting place (one registration per
//! municipality per meeting place), changes its participants or contact, or cancels, until
//! the registration deadline. KS and the ministry see all registrations of a meeting place, a
//! municipality only its own; the public none.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use entity::meeting_place_registration as registration;

mod store;

use super::places;
use crate::auth::{BearerAuth, policy};
use crate::common::text::Text;
use crate::http::error::{AUTH, E400, E401, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::etag;
use crate::state::AppState;
use crate::tags::ApiTags;
use store::{cancel, find_visible, register, update, validate_new};

const RESOURCE: crate::audit::ResourceType = crate::audit::ResourceType::MeetingPlaceRegistration;

/// A municipality's registration for a meeting place.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Registration {
    pub id: Uuid,
    pub meeting_place_id: Uuid,
    pub municipality_number: String,
    /// How many the municipality brings.
    pub participants: i32,
    pub contact_name: String,
    pub contact_email: String,
    /// Whether the municipality will share its experience.
    pub will_share_experience: bool,
    /// What it will share (with `will_share_experience` only).
    #[oai(nullable)]
    pub sharing_topic: Option<String>,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Example for Registration {
    fn example() -> Self {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .expect("a valid instant")
            .to_utc();
        Self {
            id: Uuid::parse_str("019a8f5e-7c00-7000-8000-000000000002").expect("a UUID"),
            meeting_place_id: Uuid::parse_str("019a8f5e-7c00-7000-8000-000000000001")
                .expect("a UUID"),
            municipality_number: "3201".into(),
            participants: 2,
            contact_name: "Kari Nordmann".into(),
            contact_email: "digihjelp@baerum.kommune.no".into(),
            will_share_experience: true,
            sharing_topic: Some("Digihjelp in the library, with volunteers".into()),
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }
}

impl From<registration::Model> for Registration {
    fn from(r: registration::Model) -> Self {
        Self {
            id: r.id,
            meeting_place_id: r.meeting_place_id,
            municipality_number: r.municipality_number,
            participants: r.participants,
            contact_name: r.contact_name,
            contact_email: r.contact_email,
            will_share_experience: r.will_share_experience,
            sharing_topic: r.sharing_topic,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

crate::page_object!(RegistrationPage, Registration);

/// A registration of the caller's municipality.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewRegistration {
    /// 1 to 500, within the meeting place's remaining capacity.
    pub participants: i32,
    /// 1 to 200 characters.
    pub contact_name: Text,
    pub contact_email: Text,
    pub will_share_experience: bool,
    /// Required with `will_share_experience`; up to 300 characters.
    #[oai(nullable)]
    pub sharing_topic: Option<Text>,
}

impl Example for NewRegistration {
    fn example() -> Self {
        let example = Registration::example();
        Self {
            participants: example.participants,
            contact_name: Text(example.contact_name),
            contact_email: Text(example.contact_email),
            will_share_experience: example.will_share_experience,
            sharing_topic: example.sharing_topic.map(Text),
        }
    }
}

/// The fields to change; absent fields stay as they are.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct RegistrationChanges {
    pub participants: MaybeUndefined<i32>,
    pub contact_name: MaybeUndefined<Text>,
    pub contact_email: MaybeUndefined<Text>,
    pub will_share_experience: MaybeUndefined<bool>,
    #[oai(nullable)]
    pub sharing_topic: MaybeUndefined<Text>,
}

impl Example for RegistrationChanges {
    fn example() -> Self {
        Self {
            participants: MaybeUndefined::Value(3),
            contact_name: MaybeUndefined::Undefined,
            contact_email: MaybeUndefined::Undefined,
            will_share_experience: MaybeUndefined::Undefined,
            sharing_topic: MaybeUndefined::Undefined,
        }
    }
}

#[derive(ApiResponse)]
pub enum RegistrationListResponse {
    /// A page of registrations, oldest first.
    #[oai(status = 200)]
    Ok(Json<RegistrationPage>),
}

#[derive(ApiResponse)]
pub enum RegistrationResponse {
    /// The registration.
    #[oai(status = 200)]
    Ok(
        Json<Registration>,
        /// The current version, for `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum RegistrationCreatedResponse {
    /// The registration was made (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Registration>,
        /// Where the new registration is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

#[derive(ApiResponse)]
pub enum RegistrationCancelledResponse {
    /// The registration was cancelled and its places released.
    #[oai(status = 204)]
    Cancelled,
}

pub struct RegistrationsApi;

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::MeetingPlaces")]
impl RegistrationsApi {
    /// List registrations for a meeting place
    ///
    /// KS and the ministry see every registration; a municipality sees its own.
    #[oai(
        path = "/meeting-places/:id/registrations",
        method = "get",
        operation_id = "list_registrations"
    )]
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// Page size, 1 to 200 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<RegistrationListResponse, Failure<{ E400 | E401 | E404 }>> {
        let page = PageRequest::<Uuid>::new(limit.0, cursor.0.as_deref())?;
        let conn = state.db.conn();
        places::find_model(conn, id.0).await?;
        let mut query = registration::Entity::find()
            .filter(registration::Column::MeetingPlaceId.eq(id.0))
            .order_by_asc(registration::Column::Id);
        if let Some(own) = policy::registrations_visible_to(&auth.0) {
            query = query.filter(registration::Column::MunicipalityNumber.eq(own));
        }
        if let Some(after) = page.after {
            query = query.filter(registration::Column::Id.gt(after));
        }
        let rows = query.limit(page.fetch()).all(conn).await?;
        Ok(RegistrationListResponse::Ok(Json(
            page.page(rows, |r| r.id).into(),
        )))
    }

    /// Register for a meeting place
    ///
    /// A municipality registers itself, once per meeting place, while the meeting place is
    /// `open` and before its registration deadline (422 otherwise). A registration the
    /// meeting place has no room for is refused with 409 and `remaining_capacity`. Send an
    /// `Idempotency-Key` to make a retry safe.
    #[oai(
        path = "/meeting-places/:id/registrations",
        method = "post",
        operation_id = "create_registration"
    )]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        body: Json<NewRegistration>,
        /// A key of your choice (e.g. a UUID); a retry with the same key and body returns
        /// the first response.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
    ) -> Result<RegistrationCreatedResponse, Failure<{ E400 | AUTH | E404 | E409 | E422 }>> {
        let caller = &auth.0;
        let municipality = policy::register_for_meeting_place(caller)?;
        let valid = validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            // The target is part of the operation: one key at two meeting places is two
            // requests.
            &format!("create_registration {}", id.0),
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| register(tx, caller, municipality, id.0, valid).await,
        )
        .await?;
        let location = format!(
            "/api/v1/meeting-places/{}/registrations/{}",
            created.meeting_place_id, created.id
        );
        let tag = etag(created.version);
        Ok(RegistrationCreatedResponse::Created(
            Json(created),
            location,
            tag,
        ))
    }

    /// Get a registration
    ///
    /// KS and the ministry read any; a municipality its own (another's is 404).
    #[oai(
        path = "/meeting-places/:id/registrations/:registration_id",
        method = "get",
        operation_id = "get_registration"
    )]
    async fn get(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The registration's id.
        registration_id: Path<Uuid>,
    ) -> Result<RegistrationResponse, Failure<{ E400 | E401 | E404 }>> {
        let found = find_visible(state.db.conn(), &auth.0, id.0, registration_id.0).await?;
        let tag = etag(found.version);
        Ok(RegistrationResponse::Ok(Json(found.into()), tag))
    }

    /// Update a registration
    ///
    /// The municipality changes its participants or contact until the registration deadline.
    /// More participants need room (409 with `remaining_capacity` otherwise) and an `open`
    /// meeting place. Send `If-Match` with the ETag you read.
    #[oai(
        path = "/meeting-places/:id/registrations/:registration_id",
        method = "patch",
        operation_id = "update_registration"
    )]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The registration's id.
        registration_id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"1"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
        body: Json<RegistrationChanges>,
    ) -> Result<RegistrationResponse, Failure<{ E400 | AUTH | E404 | E409 | E412 | E422 | E428 }>>
    {
        let caller = &auth.0;
        policy::register_for_meeting_place(caller)?;
        let tx = state.db.begin_write().await?;
        let updated = update(
            &tx,
            caller,
            id.0,
            registration_id.0,
            if_match.0.as_deref(),
            body.0,
        )
        .await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(RegistrationResponse::Ok(Json(updated), tag))
    }

    /// Cancel a registration
    ///
    /// The municipality cancels its own registration until the registration deadline; its
    /// places are released. Send `If-Match` with the ETag you read.
    #[oai(
        path = "/meeting-places/:id/registrations/:registration_id",
        method = "delete",
        operation_id = "cancel_registration"
    )]
    async fn cancel(
        &self,
        state: poem::web::Data<&AppState>,
        auth: BearerAuth,
        /// The meeting place's id.
        id: Path<Uuid>,
        /// The registration's id.
        registration_id: Path<Uuid>,
        /// The ETag of the version you read, e.g. `"1"`.
        #[oai(name = "If-Match")]
        if_match: Header<Option<String>>,
    ) -> Result<RegistrationCancelledResponse, Failure<{ E400 | AUTH | E404 | E412 | E422 | E428 }>>
    {
        let caller = &auth.0;
        policy::register_for_meeting_place(caller)?;
        let tx = state.db.begin_write().await?;
        cancel(&tx, caller, id.0, registration_id.0, if_match.0.as_deref()).await?;
        tx.commit().await?;
        Ok(RegistrationCancelledResponse::Cancelled)
    }
}
