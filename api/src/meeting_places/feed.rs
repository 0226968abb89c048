//! The iCalendar feed of meeting places, outside `/api/v1` so that calendar programs can
//! subscribe to a plain URL: `/meeting-places.ics?county=03`.

use chrono::Utc;
use poem_openapi::param::Query;
use poem_openapi::payload::PlainText;
use poem_openapi::{ApiResponse, OpenApi};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use entity::meeting_place;

use super::ics::{Calendar, Event};
use super::places::serving_county;
use super::status::MeetingPlaceStatus;
use crate::http::error::{ApiError, E400, E422, Failure};
use crate::state::AppState;
use crate::tags::ApiTags;

/// The most events the feed holds.
const FEED_LIMIT: u64 = 1000;

#[derive(ApiResponse)]
pub enum CalendarResponse {
    /// An iCalendar (RFC 5545) feed with one event per meeting place.
    #[oai(status = 200, content_type = "text/calendar; charset=utf-8")]
    Ok(PlainText<String>),
}

pub struct MeetingPlaceFeedApi;

#[OpenApi(tag = "ApiTags::MeetingPlaces")]
impl MeetingPlaceFeedApi {
    /// Calendar feed of meeting places
    ///
    /// An iCalendar (RFC 5545) feed of the meeting places that have not ended, for calendar
    /// subscriptions; cancelled ones carry `STATUS:CANCELLED`. Each has a stable `UID`.
    #[oai(
        path = "/meeting-places.ics",
        method = "get",
        operation_id = "meeting_places_calendar"
    )]
    async fn calendar(
        &self,
        state: poem::web::Data<&AppState>,
        /// Only meeting places serving this county, e.g. `03`.
        county: Query<Option<crate::http::params::KnownCountyParam>>,
    ) -> Result<CalendarResponse, Failure<{ E400 | E422 }>> {
        let feed = calendar(
            state.db.conn(),
            crate::http::params::value(county.0).as_deref(),
        )
        .await?;
        Ok(CalendarResponse::Ok(PlainText(feed)))
    }
}

/// The iCalendar feed of the meeting places that have not ended, optionally of one county.
async fn calendar(conn: &impl ConnectionTrait, county: Option<&str>) -> Result<String, ApiError> {
    let mut query = meeting_place::Entity::find()
        .filter(meeting_place::Column::EndsAt.gt(Utc::now()))
        .order_by_asc(meeting_place::Column::StartsAt)
        .order_by_asc(meeting_place::Column::Id)
        .limit(FEED_LIMIT);
    if let Some(county) = county {
        query = query.filter(serving_county(conn, county).await?);
    }
    let rows = query.all(conn).await?;
    let mut calendar = Calendar::new(
        "-//Digihjelpen//Regional meeting places//EN",
        "Digihjelpen: regionale møteplasser",
    );
    for m in &rows {
        let status = match MeetingPlaceStatus::from_db(&m.status) {
            MeetingPlaceStatus::Cancelled => "CANCELLED",
            MeetingPlaceStatus::Planned => "TENTATIVE",
            _ => "CONFIRMED",
        };
        let description = match &m.cancellation_reason {
            Some(reason) => format!("Avlyst: {reason}\n\n{}", m.description),
            None => m.description.clone(),
        };
        calendar.event(&Event {
            uid: format!("{}@digihjelpen", m.id),
            stamp: m.updated_at,
            starts_at: m.starts_at,
            ends_at: m.ends_at,
            summary: &m.title,
            description: &description,
            location: m.venue_address.as_deref(),
            url: m.online_url.as_deref(),
            status,
            sequence: m.version,
        });
    }
    Ok(calendar.finish())
}
