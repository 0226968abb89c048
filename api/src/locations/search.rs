//! Location search as plain values and query building: the filters checked, distance, the
//! candidates for "open at", and keyset paging in a stable order. `store::search` runs it.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Oslo;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Select};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::{location, location_language, location_topic, opening_exception, opening_rule};

use super::model::{HostType, LocationStatus, ServiceMode};
use crate::common::text::Needle;
use crate::common::validation::Fields;
use crate::common::values::{Coordinates, CountyNumber, LanguageCode, MunicipalityNumber};
use crate::http::error::ApiError;
use crate::topics::model::parse_slug;

/// Kilometres per degree of latitude (and of longitude at the equator).
const KM_PER_DEGREE: f64 = 111.195;
pub const DEFAULT_RADIUS_KM: f64 = 25.0;
pub const MAX_RADIUS_KM: f64 = 500.0;

/// The query parameters as they arrive.
pub struct RawFilters {
    pub municipality: Option<String>,
    pub county: Option<String>,
    pub language: Option<String>,
    pub service_mode: Option<ServiceMode>,
    pub host_type: Option<HostType>,
    pub statuses: Vec<LocationStatus>,
    pub topics: Vec<String>,
    pub q: Option<String>,
    pub open_at: Option<DateTime<Utc>>,
    pub open_now: Option<bool>,
    pub near: Option<String>,
    pub radius_km: Option<f64>,
    pub updated_since: Option<DateTime<Utc>>,
}

/// A point and a radius to search around.
#[derive(Debug, Clone, Copy)]
pub struct Near {
    pub point: Coordinates,
    pub radius_km: f64,
}

impl Near {
    /// Kilometres per degree of longitude at the point's latitude.
    fn km_per_degree_longitude(&self) -> f64 {
        KM_PER_DEGREE * self.point.latitude.to_radians().cos()
    }

    /// The distance in kilometres, by the equirectangular projection around the point:
    /// within 0.5% of the great-circle distance for the radii a search allows in Norway's
    /// latitudes up to 100 km, and computable by plain SQL arithmetic on every database.
    pub fn distance_km(&self, latitude: f64, longitude: f64) -> f64 {
        self.squared_km(latitude, longitude).sqrt()
    }

    fn squared_km(&self, latitude: f64, longitude: f64) -> f64 {
        let dy = (latitude - self.point.latitude) * KM_PER_DEGREE;
        let dx = (longitude - self.point.longitude) * self.km_per_degree_longitude();
        dy * dy + dx * dx
    }

    /// The same squared distance as an SQL expression over the location's columns, with the
    /// same operations in the same order, so that both sides compute the same value.
    fn squared_km_expr(&self) -> Expr {
        let dy = Expr::col((location::Entity, location::Column::Latitude))
            .sub(self.point.latitude)
            .mul(KM_PER_DEGREE);
        let dx = Expr::col((location::Entity, location::Column::Longitude))
            .sub(self.point.longitude)
            .mul(self.km_per_degree_longitude());
        dy.clone().mul(dy).add(dx.clone().mul(dx))
    }
}

/// Checked filters.
pub struct Filters {
    municipality: Option<MunicipalityNumber>,
    county: Option<CountyNumber>,
    language: Option<LanguageCode>,
    service_mode: Option<ServiceMode>,
    host_type: Option<HostType>,
    statuses: Vec<LocationStatus>,
    /// Topic slugs the location must all offer.
    topics: Vec<String>,
    q: Option<String>,
    pub(super) open_at: Option<DateTime<Utc>>,
    pub(super) near: Option<Near>,
    updated_since: Option<DateTime<Utc>>,
}

impl Filters {
    pub fn parse(raw: RawFilters) -> Result<Self, ApiError> {
        let mut f = Fields::default();
        let municipality = f.check_optional(
            "municipality",
            raw.municipality.as_deref().map(MunicipalityNumber::parse),
        );
        let county = f.check_optional("county", raw.county.as_deref().map(CountyNumber::parse));
        let language =
            f.check_optional("language", raw.language.as_deref().map(LanguageCode::parse));
        let topics: Vec<String> = raw
            .topics
            .iter()
            .filter_map(|slug| f.check("topic", parse_slug(slug)))
            .collect();
        let open_at = match (raw.open_at, raw.open_now) {
            (Some(_), Some(true)) => {
                f.add("open_now", "give either open_at or open_now, not both");
                None
            }
            (Some(at), _) => Some(at),
            (None, Some(true)) => Some(Utc::now()),
            (None, _) => None,
        };
        let near = match raw.near.as_deref() {
            None => {
                if raw.radius_km.is_some() {
                    f.add("radius_km", "needs near");
                }
                None
            }
            Some(text) => parse_near(&mut f, text, raw.radius_km),
        };
        f.finish()?;
        let mut statuses = raw.statuses;
        if statuses.is_empty() {
            statuses = vec![LocationStatus::Active, LocationStatus::TemporarilyClosed];
        }
        Ok(Self {
            municipality: municipality.flatten(),
            county: county.flatten(),
            language: language.flatten(),
            service_mode: raw.service_mode,
            host_type: raw.host_type,
            statuses,
            topics,
            q: raw.q.map(|q| q.to_lowercase()),
            open_at,
            near,
            updated_since: raw.updated_since,
        })
    }
}

fn parse_near(f: &mut Fields, text: &str, radius_km: Option<f64>) -> Option<Near> {
    let point = text.split_once(',').and_then(|(lat, lon)| {
        Some((
            lat.trim().parse::<f64>().ok()?,
            lon.trim().parse::<f64>().ok()?,
        ))
    });
    let Some((latitude, longitude)) = point else {
        f.add(
            "near",
            "must be latitude,longitude in decimal degrees, e.g. 59.91,10.75",
        );
        return None;
    };
    let point = f.check("near", Coordinates::parse(latitude, longitude))?;
    let radius_km = radius_km.unwrap_or(DEFAULT_RADIUS_KM);
    if !(radius_km > 0.0 && radius_km <= MAX_RADIUS_KM) {
        f.add(
            "radius_km",
            format!("must be above 0 and at most {MAX_RADIUS_KM}"),
        );
        return None;
    }
    Some(Near { point, radius_km })
}

/// Where a page ends: by name, or by distance when searching near a point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Cursor {
    Name(String, Uuid),
    /// The squared distance as the bits of an `f64`, so it survives the trip exactly.
    Distance(u64, Uuid),
}

pub(super) fn cursor_of(row: &location::Model, filters: &Filters) -> Cursor {
    match filters.near {
        Some(near) => Cursor::Distance(
            near.squared_km(row.latitude, row.longitude).to_bits(),
            row.id,
        ),
        None => Cursor::Name(row.name.clone(), row.id),
    }
}

/// How many rows to read at a time for a page of `wanted`: "open at" is decided by the full
/// calendar (holidays, exceptions) after the database has narrowed the candidates to those
/// with hours that day, so it reads more and reads on for the rows it drops.
pub(super) fn batch_size(filters: &Filters, wanted: usize) -> usize {
    if filters.open_at.is_some() {
        wanted.max(50) * 2
    } else {
        wanted
    }
}

/// The rows matching every filter but the full "open at" check, after `after`, in the page
/// order.
pub(super) fn base_query(
    filters: &Filters,
    after: Option<&Cursor>,
) -> Result<Select<location::Entity>, ApiError> {
    let query = filtered(filters);
    match filters.near {
        Some(near) => by_distance(query, near, after),
        None => by_name(query, after),
    }
}

fn filtered(filters: &Filters) -> Select<location::Entity> {
    use location::Column;
    let mut query = location::Entity::find();
    if let Some(status) = status_condition(&filters.statuses) {
        query = query.filter(status);
    }
    if let Some(number) = &filters.municipality {
        query = query.filter(Column::MunicipalityNumber.eq(number.as_str()));
    }
    if let Some(county) = &filters.county {
        query = query.filter(Column::CountyNumber.eq(county.as_str()));
    }
    if let Some(language) = &filters.language {
        query = query.filter(has_row::<location_language::Entity>(
            location_language::Column::LocationId,
            location_language::Column::Code,
            language.as_str(),
        ));
    }
    for slug in &filters.topics {
        query = query.filter(has_row::<location_topic::Entity>(
            location_topic::Column::LocationId,
            location_topic::Column::TopicSlug,
            slug,
        ));
    }
    match filters.service_mode {
        Some(ServiceMode::DropIn) => query = query.filter(Column::OffersDropIn.eq(true)),
        Some(ServiceMode::Appointment) => query = query.filter(Column::OffersAppointment.eq(true)),
        None => {}
    }
    if let Some(host_type) = filters.host_type {
        query = query.filter(Column::HostType.eq(host_type.as_str()));
    }
    if let Some(q) = &filters.q {
        query = query.filter(Needle::of(q).condition(
            (location::Entity, Column::SearchAscii),
            (location::Entity, Column::SearchText),
        ));
    }
    if let Some(since) = filters.updated_since {
        query = query.filter(Column::UpdatedAt.gte(since));
    }
    if let Some(at) = filters.open_at {
        query = query.filter(has_hours_on(at));
    }
    query
}

/// Within the radius, nearest first, then by id.
fn by_distance(
    query: Select<location::Entity>,
    near: Near,
    after: Option<&Cursor>,
) -> Result<Select<location::Entity>, ApiError> {
    use location::Column;
    // The bounding box lets the database use the position index.
    let dlat = near.radius_km / KM_PER_DEGREE;
    let dlon = near.radius_km / near.km_per_degree_longitude();
    let mut query = query
        .filter(Column::Latitude.between(near.point.latitude - dlat, near.point.latitude + dlat))
        .filter(Column::Longitude.between(near.point.longitude - dlon, near.point.longitude + dlon))
        .filter(near.squared_km_expr().lte(near.radius_km * near.radius_km));
    if let Some(after) = after {
        let Cursor::Distance(bits, id) = after else {
            return Err(cursor_mismatch());
        };
        let distance = f64::from_bits(*bits);
        query = query.filter(
            Cond::any().add(near.squared_km_expr().gt(distance)).add(
                near.squared_km_expr()
                    .eq(distance)
                    .and(Expr::col(Column::Id).gt(*id)),
            ),
        );
    }
    Ok(query
        .order_by_asc(near.squared_km_expr())
        .order_by_asc(Column::Id))
}

/// By name, then by id.
fn by_name(
    query: Select<location::Entity>,
    after: Option<&Cursor>,
) -> Result<Select<location::Entity>, ApiError> {
    use location::Column;
    let mut query = query;
    if let Some(after) = after {
        let Cursor::Name(name, id) = after else {
            return Err(cursor_mismatch());
        };
        query = query.filter(
            Cond::any()
                .add(Column::Name.gt(name.as_str()))
                .add(Column::Name.eq(name.as_str()).and(Column::Id.gt(*id))),
        );
    }
    Ok(query.order_by_asc(Column::Name).order_by_asc(Column::Id))
}

/// A row of `E` for this location whose `column` is `value`.
fn has_row<E: EntityTrait>(location_column: E::Column, column: E::Column, value: &str) -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(E::default())
            .and_where(of_this_location((E::default(), location_column)))
            .and_where(Expr::col(column).eq(value))
            .to_owned(),
    )
}

/// The status filter, written so that the database can walk an index in name order: the
/// statuses not wanted are excluded when they are fewer (the default excludes only
/// `inactive`), which needs no index of its own and which a query planner without
/// statistics still judges to keep most rows. `None` when every status is wanted.
fn status_condition(wanted: &[LocationStatus]) -> Option<Expr> {
    let all = [
        LocationStatus::Active,
        LocationStatus::TemporarilyClosed,
        LocationStatus::Inactive,
    ];
    let (kept, dropped): (Vec<&LocationStatus>, Vec<&LocationStatus>) =
        all.iter().partition(|s| wanted.contains(s));
    let column = Expr::col((location::Entity, location::Column::Status));
    match (kept.as_slice(), dropped.as_slice()) {
        (_, []) => None,
        ([one], _) => Some(column.eq(one.as_str())),
        (_, [one]) => Some(column.ne(one.as_str())),
        _ => Some(column.is_in(kept.iter().map(|s| s.as_str()))),
    }
}

/// `table.location_id = locations.id`: ties a subquery to the row, so the database checks
/// it by the row's id (one index lookup) instead of building the subquery's whole result.
fn of_this_location(column: impl sea_orm::sea_query::IntoColumnRef) -> Expr {
    Expr::col(column).equals((location::Entity, location::Column::Id))
}

fn cursor_mismatch() -> ApiError {
    ApiError::BadRequest("this cursor belongs to a search with other parameters".into())
}

/// Locations with a weekly rule covering the Oslo wall-clock time of `at`, or an exception
/// with hours on that day: the only ones that can be open then.
fn has_hours_on(at: DateTime<Utc>) -> Cond {
    let local = at.with_timezone(&Oslo);
    let (date, time) = (local.date_naive(), local.time());
    let weekday = local.weekday().number_from_monday() as i16;
    let rule = Query::select()
        .expr(Expr::val(1))
        .from(opening_rule::Entity)
        .and_where(of_this_location((
            opening_rule::Entity,
            opening_rule::Column::LocationId,
        )))
        .and_where(Expr::col(opening_rule::Column::Weekday).eq(weekday))
        .and_where(Expr::col(opening_rule::Column::Opens).lte(time))
        .and_where(Expr::col(opening_rule::Column::Closes).gt(time))
        .and_where(
            Expr::col(opening_rule::Column::ValidFrom)
                .is_null()
                .or(Expr::col(opening_rule::Column::ValidFrom).lte(date)),
        )
        .and_where(
            Expr::col(opening_rule::Column::ValidTo)
                .is_null()
                .or(Expr::col(opening_rule::Column::ValidTo).gte(date)),
        )
        .to_owned();
    let exception = Query::select()
        .expr(Expr::val(1))
        .from(opening_exception::Entity)
        .and_where(of_this_location((
            opening_exception::Entity,
            opening_exception::Column::LocationId,
        )))
        .and_where(Expr::col(opening_exception::Column::Date).eq(date))
        .and_where(Expr::col(opening_exception::Column::Closed).eq(false))
        .to_owned();
    Cond::any()
        .add(Expr::exists(rule))
        .add(Expr::exists(exception))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The great-circle distance, for comparison.
    fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (b.1 - a.1).to_radians();
        let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * 6371.0 * h.sqrt().asin()
    }

    #[test]
    fn distances_are_within_half_a_percent_of_the_great_circle_up_to_100_km() {
        let oslo = (59.9139, 10.7522);
        let near = Near {
            point: Coordinates::parse(oslo.0, oslo.1).unwrap(),
            radius_km: 100.0,
        };
        // Lillestrøm, Drammen, Moss, Hønefoss.
        for place in [
            (59.9560, 11.0492),
            (59.7440, 10.2045),
            (59.4340, 10.6590),
            (60.1681, 10.2565),
        ] {
            let expected = haversine_km(oslo, place);
            let got = near.distance_km(place.0, place.1);
            assert!(
                (got - expected).abs() / expected < 0.005,
                "{place:?}: {got} vs {expected}"
            );
        }
        assert_eq!(near.distance_km(oslo.0, oslo.1), 0.0);
    }

    #[test]
    fn near_must_be_a_point_in_norway_and_the_radius_bounded() {
        let mut f = Fields::default();
        assert!(parse_near(&mut f, "59.91,10.75", None).is_some());
        for (near, radius) in [
            ("59.91", None),
            ("abc,def", None),
            ("10.75,59.91", None),
            ("59.91,10.75", Some(0.0)),
            ("59.91,10.75", Some(501.0)),
        ] {
            let mut f = Fields::default();
            assert!(
                parse_near(&mut f, near, radius).is_none(),
                "{near} {radius:?}"
            );
            assert!(f.finish().is_err());
        }
    }
}
