//! Municipalities: the official reference list, each municipality's Digihjelpen contact
//! details, and whether it has a Digihjelp offer.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Object, OpenApi};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use entity::{county, location, municipality};

use crate::audit;
use crate::auth::{BearerAuth, Caller, policy};
use crate::common::text::Text;
use crate::common::text::contains_pattern;
use crate::common::validation::Fields;
use crate::common::values::{
    Coordinates, CountyNumber, Email, MunicipalityNumber, OrganizationNumber, PhoneNumber, WebUrl,
};
use crate::http::error::{AUTH, ApiError, E400, E404, E409, E412, E422, E428, Failure};
use crate::http::idempotency;
use crate::http::pagination::PageRequest;
use crate::http::preconditions::{check_if_match, etag};
use crate::locations::store::offering_municipalities;
use crate::state::AppState;
use crate::tags::ApiTags;

const RESOURCE: audit::ResourceType = audit::ResourceType::Municipality;

/// A municipality (kommune).
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct Municipality {
    /// The official four-digit municipality number.
    pub number: String,
    /// The official name, with parallel Sami or Kven names where there are any.
    pub name: String,
    pub county_number: String,
    pub county_name: String,
    /// The nine-digit organisation number (absent for a few newly established ones).
    #[oai(nullable)]
    pub organization_number: Option<String>,
    /// The geometric centre of the municipality (WGS 84).
    #[oai(nullable)]
    pub latitude: Option<f64>,
    #[oai(nullable)]
    pub longitude: Option<f64>,
    #[oai(nullable)]
    pub website: Option<String>,
    /// Where citizens and KS reach the municipality's Digihjelpen offer.
    #[oai(nullable)]
    pub digihjelp_email: Option<String>,
    /// In E.164 form, e.g. `+4722334455`.
    #[oai(nullable)]
    pub digihjelp_phone: Option<String>,
    /// Whether the municipality has a Digihjelp location that is active or temporarily
    /// closed.
    pub has_digihjelp: bool,
    /// Increases by one with every change; send it back as `If-Match: "<version>"`.
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

impl poem_openapi::types::Example for Municipality {
    fn example() -> Self {
        Self {
            number: "0301".into(),
            name: "Oslo".into(),
            county_number: "03".into(),
            county_name: "Oslo".into(),
            organization_number: Some("958935420".into()),
            latitude: Some(59.98139),
            longitude: Some(10.73926),
            website: Some("https://www.oslo.kommune.no/".into()),
            digihjelp_email: Some("digihjelp@oslo.kommune.no".into()),
            digihjelp_phone: Some("+4721802180".into()),
            has_digihjelp: false,
            version: 1,
            updated_at: DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
                .unwrap()
                .to_utc(),
        }
    }
}

impl Municipality {
    fn from_row(m: municipality::Model, county: Option<county::Model>) -> Self {
        Self {
            number: m.number,
            name: m.name,
            county_number: m.county_number,
            county_name: county.map(|c| c.name).unwrap_or_default(),
            organization_number: m.organization_number,
            latitude: m.latitude,
            longitude: m.longitude,
            website: m.website,
            digihjelp_email: m.digihjelp_email,
            digihjelp_phone: m.digihjelp_phone,
            // Set from the municipality's locations by `mark_offers`.
            has_digihjelp: false,
            version: m.version,
            updated_at: m.updated_at,
        }
    }
}

impl From<(municipality::Model, Option<county::Model>)> for Municipality {
    fn from((m, county): (municipality::Model, Option<county::Model>)) -> Self {
        Self::from_row(m, county)
    }
}

crate::page_object!(MunicipalityPage, Municipality);

/// A new municipality, e.g. after a merger or a split (KS).
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewMunicipality {
    /// Four digits; the first two are the county's number.
    pub number: Text,
    pub name: Text,
    pub county_number: Text,
    #[oai(nullable)]
    pub organization_number: Option<Text>,
    #[oai(nullable)]
    pub latitude: Option<f64>,
    #[oai(nullable)]
    pub longitude: Option<f64>,
    #[oai(nullable)]
    pub website: Option<Text>,
    #[oai(nullable)]
    pub digihjelp_email: Option<Text>,
    #[oai(nullable)]
    pub digihjelp_phone: Option<Text>,
}

impl poem_openapi::types::Example for NewMunicipality {
    fn example() -> Self {
        Self {
            number: Text("1580".into()),
            name: Text("Haram".into()),
            county_number: Text("15".into()),
            organization_number: None,
            latitude: Some(62.59179),
            longitude: Some(6.4655),
            website: Some(Text("https://www.haram.kommune.no/".into())),
            digihjelp_email: None,
            digihjelp_phone: None,
        }
    }
}

/// The fields to change; absent fields stay as they are, `null` clears an optional one.
/// Contact details (`website`, `digihjelp_email`, `digihjelp_phone`) may be changed by the
/// municipality itself or KS; reference data (`name`, `county_number`,
/// `organization_number`) by KS only.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
pub struct MunicipalityChanges {
    #[oai(nullable)]
    pub website: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub digihjelp_email: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub digihjelp_phone: MaybeUndefined<Text>,
    pub name: MaybeUndefined<Text>,
    pub county_number: MaybeUndefined<Text>,
    #[oai(nullable)]
    pub organization_number: MaybeUndefined<Text>,
}

impl poem_openapi::types::Example for MunicipalityChanges {
    fn example() -> Self {
        Self {
            website: MaybeUndefined::Value(Text("https://www.oslo.kommune.no/digihjelp".into())),
            digihjelp_email: MaybeUndefined::Value(Text("digihjelp@oslo.kommune.no".into())),
            digihjelp_phone: MaybeUndefined::Value(Text("+47 21 80 21 80".into())),
            name: MaybeUndefined::Undefined,
            county_number: MaybeUndefined::Undefined,
            organization_number: MaybeUndefined::Undefined,
        }
    }
}

impl MunicipalityChanges {
    fn reference_fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_undefined()),
            ("county_number", self.county_number.is_undefined()),
            (
                "organization_number",
                self.organization_number.is_undefined(),
            ),
        ]
        .into_iter()
        .filter(|(_, undefined)| !undefined)
        .map(|(field, _)| field)
        .collect()
    }

    fn is_empty(&self) -> bool {
        self.reference_fields().is_empty()
            && self.website.is_undefined()
            && self.digihjelp_email.is_undefined()
            && self.digihjelp_phone.is_undefined()
    }
}

#[derive(ApiResponse)]
pub enum MunicipalityListResponse {
    /// A page of municipalities, ordered by number.
    #[oai(status = 200)]
    Ok(Json<MunicipalityPage>),
}

#[derive(ApiResponse)]
pub enum MunicipalityResponse {
    /// The municipality.
    #[oai(status = 200)]
    Ok(
        Json<Box<Municipality>>,
        /// The current version, for `If-Match` and `If-None-Match`.
        #[oai(header = "ETag")]
        String,
    ),
    /// Nothing changed since the `If-None-Match` ETag.
    #[oai(status = 304)]
    NotModified,
}

/// The answer to a change: never a 304.
#[derive(ApiResponse)]
pub enum MunicipalityUpdated {
    /// The municipality as changed.
    #[oai(status = 200)]
    Ok(
        Json<Box<Municipality>>,
        /// The new version, for the next `If-Match`.
        #[oai(header = "ETag")]
        String,
    ),
}

#[derive(ApiResponse)]
pub enum MunicipalityCreatedResponse {
    /// The municipality was created (or, for a retried `Idempotency-Key`, had been).
    #[oai(status = 201)]
    Created(
        Json<Municipality>,
        /// Where the new municipality is.
        #[oai(header = "Location")]
        String,
        #[oai(header = "ETag")] String,
    ),
}

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
        let mut query = municipality::Entity::find()
            .find_also_related(county::Entity)
            .order_by_asc(municipality::Column::Number);
        if let Some(county) = crate::http::params::value(county.0) {
            let county =
                CountyNumber::parse(&county).map_err(|m| ApiError::invalid("county", m))?;
            require_county(state.db.conn(), county.as_str(), "county").await?;
            query = query.filter(municipality::Column::CountyNumber.eq(county.into_inner()));
        }
        if let Some(q) = q.0 {
            query = query.filter(
                Expr::col((municipality::Entity, municipality::Column::NameFolded))
                    .like(contains_pattern(&q.to_lowercase())),
            );
        }
        match has_digihjelp.0 {
            Some(true) => {
                query = query
                    .filter(municipality::Column::Number.in_subquery(offering_municipalities()))
            }
            Some(false) => {
                query = query
                    .filter(municipality::Column::Number.not_in_subquery(offering_municipalities()))
            }
            None => {}
        }
        if let Some(after) = page.after.clone() {
            query = query.filter(municipality::Column::Number.gt(after));
        }
        let rows = query.limit(page.fetch()).all(state.db.conn()).await?;
        let mut page = page.page(rows, |(m, _)| m.number.clone());
        mark_offers(state.db.conn(), &mut page.items).await?;
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
        let found = find(state.db.conn(), &number.0).await?;
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
        let new = validate_new(&body.0)?;
        let created = idempotency::create_once(
            &state.db,
            caller,
            "create_municipality",
            idempotency_key.0.as_deref(),
            &body.0,
            async |tx| create(tx, caller, new).await,
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
        policy::update_contact_details(caller, &number.0)?;
        let reference_fields = body.0.reference_fields();
        if !reference_fields.is_empty() {
            policy::manage_reference_data(caller).map_err(|_| {
                ApiError::Forbidden(format!(
                    "only KS may change {}",
                    reference_fields.join(", ")
                ))
            })?;
        }
        let tx = state.db.begin_write().await?;
        let updated = update(&tx, caller, &number.0, if_match.0.as_deref(), body.0).await?;
        tx.commit().await?;
        let tag = etag(updated.version);
        Ok(MunicipalityUpdated::Ok(Json(Box::new(updated)), tag))
    }
}

async fn require_county(
    conn: &impl ConnectionTrait,
    number: &str,
    field: &str,
) -> Result<(), ApiError> {
    let exists = county::Entity::find_by_id(number).count(conn).await? > 0;
    if exists {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("there is no county {number}"),
        ))
    }
}

async fn find(conn: &impl ConnectionTrait, number: &str) -> Result<Municipality, ApiError> {
    // Anything that is not a municipality number cannot name one: no need to ask.
    MunicipalityNumber::parse(number).map_err(|_| not_found(number))?;
    let found = municipality::Entity::find_by_id(number)
        .find_also_related(county::Entity)
        .one(conn)
        .await?
        .map(Municipality::from)
        .ok_or_else(|| not_found(number))?;
    let mut found = vec![found];
    mark_offers(conn, &mut found).await?;
    Ok(found.remove(0))
}

/// Sets `has_digihjelp` from the municipalities' locations, in one query for the lot.
async fn mark_offers(
    conn: &impl ConnectionTrait,
    municipalities: &mut [Municipality],
) -> Result<(), ApiError> {
    let numbers: Vec<String> = municipalities.iter().map(|m| m.number.clone()).collect();
    let offering: std::collections::HashSet<String> = location::Entity::find()
        .select_only()
        .column(location::Column::MunicipalityNumber)
        .distinct()
        .filter(location::Column::MunicipalityNumber.in_subquery(offering_municipalities()))
        .filter(location::Column::MunicipalityNumber.is_in(numbers))
        .into_tuple::<String>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    for m in municipalities {
        m.has_digihjelp = offering.contains(&m.number);
    }
    Ok(())
}

fn not_found(number: &str) -> ApiError {
    ApiError::NotFound(format!("there is no municipality {number}"))
}

/// A new municipality whose every field has been checked.
struct ValidNewMunicipality {
    number: MunicipalityNumber,
    name: String,
    county_number: CountyNumber,
    organization_number: Option<OrganizationNumber>,
    coordinates: Option<Coordinates>,
    website: Option<WebUrl>,
    digihjelp_email: Option<Email>,
    digihjelp_phone: Option<PhoneNumber>,
}

fn validate_new(body: &NewMunicipality) -> Result<ValidNewMunicipality, ApiError> {
    let mut fields = Fields::default();
    let number = fields.check("number", MunicipalityNumber::parse(&body.number));
    let name = fields.check("name", parse_name(&body.name));
    let county_number = fields.check("county_number", CountyNumber::parse(&body.county_number));
    if let (Some(number), Some(county)) = (&number, &county_number)
        && !number.as_str().starts_with(county.as_str())
    {
        fields.add("number", "must begin with the county number");
    }
    let organization_number = fields.check_optional(
        "organization_number",
        body.organization_number
            .as_deref()
            .map(OrganizationNumber::parse),
    );
    let coordinates = match (body.latitude, body.longitude) {
        (None, None) => Some(None),
        (Some(lat), Some(lon)) => fields
            .check("latitude", Coordinates::parse(lat, lon))
            .map(Some),
        _ => {
            fields.add("longitude", "latitude and longitude come together");
            None
        }
    };
    let website = fields.check_optional("website", body.website.as_deref().map(WebUrl::parse));
    let digihjelp_email = fields.check_optional(
        "digihjelp_email",
        body.digihjelp_email.as_deref().map(Email::parse),
    );
    let digihjelp_phone = fields.check_optional(
        "digihjelp_phone",
        body.digihjelp_phone.as_deref().map(PhoneNumber::parse),
    );
    fields.finish()?;
    Ok(ValidNewMunicipality {
        number: number.expect("checked"),
        name: name.expect("checked"),
        county_number: county_number.expect("checked"),
        organization_number: organization_number.expect("checked"),
        coordinates: coordinates.expect("checked"),
        website: website.expect("checked"),
        digihjelp_email: digihjelp_email.expect("checked"),
        digihjelp_phone: digihjelp_phone.expect("checked"),
    })
}

fn parse_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    match name.chars().count() {
        0 => Err("must not be empty".into()),
        1..=100 => Ok(name.to_string()),
        _ => Err("must be at most 100 characters".into()),
    }
}

async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    new: ValidNewMunicipality,
) -> Result<Municipality, ApiError> {
    let number = new.number.into_inner();
    if municipality::Entity::find_by_id(&number)
        .count(conn)
        .await?
        > 0
    {
        return Err(ApiError::Conflict(format!(
            "municipality {number} already exists"
        )));
    }
    require_county(conn, new.county_number.as_str(), "county_number").await?;
    if let Some(org) = &new.organization_number {
        ensure_organization_number_is_free(conn, org.as_str(), None).await?;
    }
    let now = Utc::now();
    municipality::ActiveModel {
        number: Set(number.clone()),
        name_folded: Set(new.name.to_lowercase()),
        name: Set(new.name.clone()),
        county_number: Set(new.county_number.into_inner()),
        organization_number: Set(new.organization_number.map(OrganizationNumber::into_inner)),
        latitude: Set(new.coordinates.map(|c| c.latitude)),
        longitude: Set(new.coordinates.map(|c| c.longitude)),
        website: Set(new.website.map(WebUrl::into_inner)),
        digihjelp_email: Set(new.digihjelp_email.map(Email::into_inner)),
        digihjelp_phone: Set(new.digihjelp_phone.map(PhoneNumber::into_inner)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &number,
        format!("created {}", new.name),
    )
    .await?;
    find(conn, &number).await
}

async fn ensure_organization_number_is_free(
    conn: &impl ConnectionTrait,
    organization_number: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    let holder = municipality::Entity::find()
        .filter(municipality::Column::OrganizationNumber.eq(organization_number))
        .one(conn)
        .await?;
    match holder {
        Some(holder) if Some(holder.number.as_str()) != except => Err(ApiError::Conflict(format!(
            "organization_number {organization_number} belongs to municipality {}",
            holder.number
        ))),
        _ => Ok(()),
    }
}

/// Applies a checked set of changes, refusing a stale `If-Match`.
async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    number: &str,
    if_match: Option<&str>,
    changes: MunicipalityChanges,
) -> Result<Municipality, ApiError> {
    if changes.is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let mut fields = Fields::default();
    let website = fields.check_patch("website", changes.website, WebUrl::parse);
    let email = fields.check_patch("digihjelp_email", changes.digihjelp_email, Email::parse);
    let phone = fields.check_patch(
        "digihjelp_phone",
        changes.digihjelp_phone,
        PhoneNumber::parse,
    );
    let organization_number = fields.check_patch(
        "organization_number",
        changes.organization_number,
        OrganizationNumber::parse,
    );
    let name = fields.check_required_patch("name", changes.name, parse_name);
    let county_number =
        fields.check_required_patch("county_number", changes.county_number, CountyNumber::parse);
    fields.finish()?;

    MunicipalityNumber::parse(number).map_err(|_| not_found(number))?;
    let current = municipality::Entity::find_by_id(number)
        .one(conn)
        .await?
        .ok_or_else(|| not_found(number))?;
    check_if_match(if_match, current.version)?;
    if let Some(county) = &county_number {
        require_county(conn, county.as_str(), "county_number").await?;
        if !number.starts_with(county.as_str()) {
            return Err(ApiError::invalid(
                "county_number",
                "must be the first two digits of the municipality number",
            ));
        }
    }
    if let Some(Some(org)) = &organization_number {
        ensure_organization_number_is_free(conn, org.as_str(), Some(number)).await?;
    }

    let mut changed = Vec::new();
    let mut row = municipality::ActiveModel {
        number: Set(number.to_string()),
        ..Default::default()
    };
    if let Some(v) = website {
        row.website = Set(v.map(WebUrl::into_inner));
        changed.push("website");
    }
    if let Some(v) = email {
        row.digihjelp_email = Set(v.map(Email::into_inner));
        changed.push("digihjelp_email");
    }
    if let Some(v) = phone {
        row.digihjelp_phone = Set(v.map(PhoneNumber::into_inner));
        changed.push("digihjelp_phone");
    }
    if let Some(v) = organization_number {
        row.organization_number = Set(v.map(OrganizationNumber::into_inner));
        changed.push("organization_number");
    }
    if let Some(v) = name {
        row.name_folded = Set(v.to_lowercase());
        row.name = Set(v);
        changed.push("name");
    }
    let moved_to = county_number.map(CountyNumber::into_inner);
    if let Some(v) = &moved_to {
        row.county_number = Set(v.clone());
        changed.push("county_number");
    }
    row.version = Set(current.version + 1);
    row.updated_at = Set(Utc::now());

    // The version in the WHERE clause makes the check and the write one atomic step.
    let result = municipality::Entity::update_many()
        .set(row)
        .filter(municipality::Column::Number.eq(number))
        .filter(municipality::Column::Version.eq(current.version))
        .exec(conn)
        .await?;
    if result.rows_affected != 1 {
        return Err(ApiError::PreconditionFailed {
            current_version: current.version + 1,
        });
    }
    if let Some(county) = &moved_to {
        crate::locations::store::set_county(conn, number, county).await?;
    }
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        number,
        format!("changed {}", changed.join(", ")),
    )
    .await?;
    find(conn, number).await
}
