//! The resource a delivery is about, as anyone may read it: the body of its public `GET`.
//! Private resources (tickets, registrations, applications, the kontaktpunkt's settings)
//! and exceptions travel as ids only; the subscriber reads them with its own token.

use poem_openapi::types::ToJSON;
use sea_orm::{ConnectionTrait, DbErr};
use serde_json::Value;
use uuid::Uuid;

use crate::changes::model::{ChangeAction, ChangeEntry, FeedType};
use crate::http::error::ApiError;
use crate::{grants, locations, meeting_places, municipalities, topics};

/// The public body of the resource `entry` names, as stored now; `None` for private kinds,
/// deletions, and resources gone (or no longer public) since.
pub async fn public_body(
    conn: &impl ConnectionTrait,
    entry: &ChangeEntry,
) -> Result<Option<Value>, DbErr> {
    if entry.action == ChangeAction::Deleted {
        return Ok(None);
    }
    let id = &entry.resource_id;
    let uuid = || Uuid::parse_str(id).unwrap_or_default();
    let read = async {
        Ok::<_, ApiError>(match entry.resource_type {
            FeedType::Municipality => municipalities::store::find(conn, id).await?.to_json(),
            FeedType::Location => locations::store::find(conn, uuid()).await?.to_json(),
            FeedType::OpeningHours => {
                let location = locations::store::find_model(conn, uuid()).await?;
                locations::hours::store::weekly_hours(conn, &location)
                    .await?
                    .to_json()
            }
            FeedType::LocationTopics => {
                let location = locations::store::find_model(conn, uuid()).await?;
                locations::topics::store::offered_by(conn, &location)
                    .await?
                    .to_json()
            }
            FeedType::Topic => topics::store::find(conn, id).await?.to_json(),
            FeedType::TopicResource => {
                let slug = entry.parent_id.as_deref().unwrap_or_default();
                topics::resources::store::find(conn, slug, uuid())
                    .await?
                    .to_json()
            }
            FeedType::MeetingPlace => meeting_places::store::find(conn, uuid()).await?.to_json(),
            FeedType::GrantScheme => grants::store::find(conn, uuid(), false).await?.to_json(),
            FeedType::OpeningException
            | FeedType::MeetingPlaceRegistration
            | FeedType::Ticket
            | FeedType::TicketMessage
            | FeedType::GrantApplication
            | FeedType::KontaktpunktCalendar
            | FeedType::KontaktpunktServiceLevels => None,
        })
    };
    match read.await {
        Ok(body) => Ok(body),
        Err(ApiError::NotFound(_)) => Ok(None),
        Err(ApiError::Unavailable) => Err(DbErr::Custom("the database is not reachable".into())),
        Err(err) => Err(DbErr::Custom(err.to_string())),
    }
}
