//! Reading and writing municipalities, and which of them have a Digihjelp offer.

use std::collections::HashSet;

use chrono::Utc;
use poem_openapi::types::MaybeUndefined;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use entity::{county, municipality};

use super::model::{Municipality, MunicipalityChanges};
use super::rules::{self, ChangeSet, Stored, ValidNewMunicipality};
use crate::audit;
use crate::auth::Caller;
use crate::common::text::{Needle, fold};
use crate::common::values::{
    CountyNumber, Email, MunicipalityNumber, OrganizationNumber, PhoneNumber, WebUrl,
};
use crate::counties;
use crate::http::error::ApiError;
use crate::http::pagination::{Page, PageRequest};
use crate::http::preconditions::update_versioned;
use crate::locations::store::offering_municipalities;

const RESOURCE: audit::ResourceType = audit::ResourceType::Municipality;

pub fn not_found(number: &str) -> ApiError {
    ApiError::NotFound(format!("there is no municipality {number}"))
}

/// Parses a municipality number from a path; anything else cannot name a municipality, so
/// there is no need to ask the database.
pub fn parse_number(number: &str) -> Result<MunicipalityNumber, ApiError> {
    MunicipalityNumber::parse(number).map_err(|_| not_found(number))
}

/// The county a list is filtered by: 422 when it is not a county number or no county has it.
pub async fn known_county(
    conn: &impl ConnectionTrait,
    county: Option<String>,
) -> Result<Option<CountyNumber>, ApiError> {
    let Some(county) = county else {
        return Ok(None);
    };
    let county = CountyNumber::parse(&county).map_err(|m| ApiError::invalid("county", m))?;
    if !counties::store::exists(conn, county.as_str()).await? {
        return Err(ApiError::invalid(
            "county",
            format!("there is no county {}", county.as_str()),
        ));
    }
    Ok(Some(county))
}

/// What a list is narrowed to.
pub struct Filters {
    pub county: Option<CountyNumber>,
    /// Part of the name, in any case.
    pub name: Option<String>,
    pub has_digihjelp: Option<bool>,
}

/// A page of municipalities, ordered by number.
pub async fn list(
    conn: &impl ConnectionTrait,
    filters: Filters,
    page: &PageRequest<String>,
) -> Result<Page<Municipality>, ApiError> {
    let mut query = municipality::Entity::find()
        .find_also_related(county::Entity)
        .order_by_asc(municipality::Column::Number);
    if let Some(county) = filters.county {
        query = query.filter(municipality::Column::CountyNumber.eq(county.into_inner()));
    }
    if let Some(name) = filters.name {
        query = query.filter(Needle::of(&name).condition(
            (municipality::Entity, municipality::Column::NameAscii),
            (municipality::Entity, municipality::Column::NameFolded),
        ));
    }
    query = match filters.has_digihjelp {
        Some(true) => {
            query.filter(municipality::Column::Number.in_subquery(offering_municipalities()))
        }
        Some(false) => {
            query.filter(municipality::Column::Number.not_in_subquery(offering_municipalities()))
        }
        None => query,
    };
    if let Some(after) = page.after.clone() {
        query = query.filter(municipality::Column::Number.gt(after));
    }
    let rows = query.limit(page.fetch()).all(conn).await?;
    let mut page = page.page(rows, |(m, _)| m.number.clone());
    mark_offers(conn, &mut page.items).await?;
    Ok(page)
}

/// The municipality with `number`, as read on the wire; 404 for a malformed or unknown one.
pub async fn find(conn: &impl ConnectionTrait, number: &str) -> Result<Municipality, ApiError> {
    let number = parse_number(number)?;
    let found = municipality::Entity::find_by_id(number.as_str())
        .find_also_related(county::Entity)
        .one(conn)
        .await?
        .map(Municipality::from)
        .ok_or_else(|| not_found(number.as_str()))?;
    let mut found = [found];
    mark_offers(conn, &mut found).await?;
    let [found] = found;
    Ok(found)
}

/// The stored municipality with `number`; 404 for a malformed or unknown one.
pub async fn find_model(
    conn: &impl ConnectionTrait,
    number: &str,
) -> Result<municipality::Model, ApiError> {
    let number = parse_number(number)?;
    municipality::Entity::find_by_id(number.as_str())
        .one(conn)
        .await?
        .ok_or_else(|| not_found(number.as_str()))
}

/// Which of the given municipalities (all when `among` is `None`) have an offer: a location
/// that is active or temporarily closed.
pub async fn with_offer(
    conn: &impl ConnectionTrait,
    among: Option<Vec<String>>,
) -> Result<HashSet<String>, ApiError> {
    let mut query = municipality::Entity::find()
        .select_only()
        .column(municipality::Column::Number)
        .filter(municipality::Column::Number.in_subquery(offering_municipalities()));
    if let Some(numbers) = among {
        query = query.filter(municipality::Column::Number.is_in(numbers));
    }
    let offering: Vec<String> = query.into_tuple().all(conn).await?;
    Ok(offering.into_iter().collect())
}

/// Sets `has_digihjelp` from the municipalities' locations, in one query for the lot.
async fn mark_offers(
    conn: &impl ConnectionTrait,
    municipalities: &mut [Municipality],
) -> Result<(), ApiError> {
    let numbers = municipalities.iter().map(|m| m.number.clone()).collect();
    let offering = with_offer(conn, Some(numbers)).await?;
    for m in municipalities {
        m.has_digihjelp = offering.contains(&m.number);
    }
    Ok(())
}

/// What is stored about the county and the organisation number a request names.
async fn stored(
    conn: &impl ConnectionTrait,
    county: Option<&CountyNumber>,
    organization_number: Option<&OrganizationNumber>,
) -> Result<Stored, ApiError> {
    let county_exists = match county {
        Some(county) => counties::store::exists(conn, county.as_str()).await?,
        None => true,
    };
    let organization_holder = match organization_number {
        Some(org) => municipality::Entity::find()
            .filter(municipality::Column::OrganizationNumber.eq(org.as_str()))
            .one(conn)
            .await?
            .map(|holder| holder.number),
        None => None,
    };
    Ok(Stored {
        county_exists,
        organization_holder,
    })
}

/// What is stored about the county and the organisation number a change names, each read
/// only when it is well formed (the rules name a malformed one).
pub async fn stored_for_change(
    conn: &impl ConnectionTrait,
    changes: &MunicipalityChanges,
) -> Result<Stored, ApiError> {
    let county = match &changes.county_number {
        MaybeUndefined::Value(county) => CountyNumber::parse(county).ok(),
        _ => None,
    };
    let organization_number = match &changes.organization_number {
        MaybeUndefined::Value(org) => OrganizationNumber::parse(org).ok(),
        _ => None,
    };
    stored(conn, county.as_ref(), organization_number.as_ref()).await
}

/// Creates a checked new municipality if it fits what is stored, with its audit entry.
pub async fn create(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    new: ValidNewMunicipality,
) -> Result<Municipality, ApiError> {
    let number = new.number.as_str().to_string();
    let number_taken = municipality::Entity::find_by_id(&number)
        .count(conn)
        .await?
        > 0;
    let stored = stored(
        conn,
        Some(&new.county_number),
        new.organization_number.as_ref(),
    )
    .await?;
    rules::allow_new(&new, number_taken, &stored)?;
    let summary = format!("created {}", new.name);
    insert(conn, new).await?;
    audit::record(
        conn,
        caller,
        audit::Action::Create,
        RESOURCE,
        &number,
        summary,
    )
    .await?;
    find(conn, &number).await
}

async fn insert(conn: &impl ConnectionTrait, new: ValidNewMunicipality) -> Result<(), ApiError> {
    let now = Utc::now();
    municipality::ActiveModel {
        number: Set(new.number.into_inner()),
        name_folded: Set(new.name.to_lowercase()),
        name_ascii: Set(fold(&new.name)),
        name: Set(new.name),
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
    Ok(())
}

/// Writes an allowed change over the version `current` was read at (412 when someone else
/// changed it first), with its audit entry, and moves the municipality's locations along to
/// a new county.
pub async fn update(
    conn: &impl ConnectionTrait,
    caller: &Caller,
    current: &municipality::Model,
    changes: ChangeSet,
) -> Result<Municipality, ApiError> {
    let summary = format!("changed {}", changes.fields().join(", "));
    let moved_to = changes.county_number.clone();
    write(conn, current, changes).await?;
    if let Some(county) = moved_to {
        crate::locations::store::set_county(conn, &current.number, county.as_str()).await?;
    }
    audit::record(
        conn,
        caller,
        audit::Action::Update,
        RESOURCE,
        &current.number,
        summary,
    )
    .await?;
    find(conn, &current.number).await
}

/// Writes the changed columns over the version read, raising it by one.
async fn write(
    conn: &impl ConnectionTrait,
    current: &municipality::Model,
    changes: ChangeSet,
) -> Result<(), ApiError> {
    let mut row = municipality::ActiveModel {
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(v) = changes.website {
        row.website = Set(v.map(WebUrl::into_inner));
    }
    if let Some(v) = changes.digihjelp_email {
        row.digihjelp_email = Set(v.map(Email::into_inner));
    }
    if let Some(v) = changes.digihjelp_phone {
        row.digihjelp_phone = Set(v.map(PhoneNumber::into_inner));
    }
    if let Some(v) = changes.organization_number {
        row.organization_number = Set(v.map(OrganizationNumber::into_inner));
    }
    if let Some(v) = changes.name {
        row.name_folded = Set(v.to_lowercase());
        row.name_ascii = Set(fold(&v));
        row.name = Set(v);
    }
    if let Some(v) = changes.county_number {
        row.county_number = Set(v.into_inner());
    }
    update_versioned(
        conn,
        row,
        municipality::Column::Number.eq(current.number.as_str()),
        municipality::Column::Version,
        current.version,
    )
    .await
}
