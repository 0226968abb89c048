//! What a change entry says about the resource an audited write changed: its feed type, its
//! parent, its version after the write, and who may read the entry. Read from the resource
//! in the writing transaction, so no write can name the wrong version; a resource the write
//! removed is described by its last entry.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use entity::{
    change, grant_application, grant_scheme, kontaktpunkt_calendar, kontaktpunkt_service_levels,
    location, meeting_place, meeting_place_registration, municipality, opening_exception, ticket,
    topic, topic_resource,
};

use super::model::{Audience, ChangeAction, FeedType};
use crate::audit::{Action, ResourceType};

/// Everything an entry stores besides its sequence and time.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub resource_type: FeedType,
    pub resource_id: String,
    pub parent_id: Option<String>,
    pub action: ChangeAction,
    pub version: Option<i32>,
    pub audience: Audience,
    pub municipality: Option<String>,
    pub ticket_id: Option<Uuid>,
}

impl Subject {
    fn new(resource_type: FeedType, id: &str, action: ChangeAction, audience: Audience) -> Self {
        Self {
            resource_type,
            resource_id: id.to_string(),
            parent_id: None,
            action,
            version: None,
            audience,
            municipality: None,
            ticket_id: None,
        }
    }
}

/// The feed's word for an audited action.
fn change_action(action: Action) -> ChangeAction {
    match action {
        Action::Create => ChangeAction::Created,
        Action::Delete => ChangeAction::Deleted,
        _ => ChangeAction::Updated,
    }
}

/// The feed type of an audited write, and who may read its entries when the resource
/// itself does not say more.
fn feed_type(resource: ResourceType, action: Action) -> Option<(FeedType, Audience)> {
    Some(match (resource, action) {
        (ResourceType::Location, Action::ReplaceOpeningHours) => {
            (FeedType::OpeningHours, Audience::Public)
        }
        (ResourceType::Location, Action::ReplaceTopics) => {
            (FeedType::LocationTopics, Audience::Public)
        }
        (ResourceType::Location, _) => (FeedType::Location, Audience::Public),
        (ResourceType::Municipality, _) => (FeedType::Municipality, Audience::Public),
        (ResourceType::OpeningException, _) => (FeedType::OpeningException, Audience::Public),
        (ResourceType::Topic, _) => (FeedType::Topic, Audience::Public),
        (ResourceType::TopicResource, _) => (FeedType::TopicResource, Audience::Public),
        (ResourceType::MeetingPlace, _) => (FeedType::MeetingPlace, Audience::Public),
        (ResourceType::Ticket, _) => (FeedType::Ticket, Audience::Ticket),
        (ResourceType::MeetingPlaceRegistration, _) => {
            (FeedType::MeetingPlaceRegistration, Audience::Owner)
        }
        (ResourceType::GrantScheme, _) => (FeedType::GrantScheme, Audience::Public),
        (ResourceType::GrantApplication, _) => (FeedType::GrantApplication, Audience::Owner),
        (ResourceType::ServiceCalendar, _) => (FeedType::KontaktpunktCalendar, Audience::Staff),
        (ResourceType::ServiceLevels, _) => (FeedType::KontaktpunktServiceLevels, Audience::Staff),
        (ResourceType::Webhook, _) => return None,
    })
}

/// The entry of an audited write, or `None` for writes the feed shows otherwise (a ticket's
/// messages are entries of their own, see [`super::store::record_message`]).
pub async fn describe(
    conn: &impl ConnectionTrait,
    resource: ResourceType,
    action: Action,
    id: &str,
) -> Result<Option<Subject>, DbErr> {
    if matches!(action, Action::Reply | Action::Note) {
        return Ok(None);
    }
    let Some((kind, audience)) = feed_type(resource, action) else {
        return Ok(None);
    };
    let mut subject = Subject::new(kind, id, change_action(action), audience);
    let found = read_resource(conn, &mut subject).await?;
    if !found {
        // Removed by the write: the last entry of the resource knows its parent and owner.
        let last = change::Entity::find()
            .filter(change::Column::ResourceType.eq(kind.as_str()))
            .filter(change::Column::ResourceId.eq(id))
            .order_by_desc(change::Column::Sequence)
            .one(conn)
            .await?;
        match last {
            Some(last) => {
                subject.parent_id = last.parent_id;
                subject.audience = Audience::from_stored(&last.audience);
                subject.municipality = last.municipality_number;
                subject.ticket_id = last.ticket_id;
            }
            // Written before the feed began: whose it was is unknown, so only those who
            // read every resource of its kind see it.
            None if subject.audience != Audience::Public => subject.audience = Audience::Staff,
            None => {}
        }
        subject.version = None;
    }
    Ok(Some(subject))
}

/// Fills in what the stored resource says; `false` when it is not stored (any more).
async fn read_resource(conn: &impl ConnectionTrait, s: &mut Subject) -> Result<bool, DbErr> {
    // An id that does not parse names nothing stored; the nil id finds nothing either.
    let uuid = Uuid::parse_str(&s.resource_id).unwrap_or_default();
    match s.resource_type {
        FeedType::Municipality => {
            let Some(m) = municipality::Entity::find_by_id(s.resource_id.clone())
                .one(conn)
                .await?
            else {
                return Ok(false);
            };
            s.version = Some(m.version);
        }
        FeedType::Location | FeedType::OpeningHours | FeedType::LocationTopics => {
            let Some(l) = location::Entity::find_by_id(uuid).one(conn).await? else {
                return Ok(false);
            };
            s.version = Some(l.version);
            s.municipality = Some(l.municipality_number);
            if s.resource_type != FeedType::Location {
                s.parent_id = Some(l.id.to_string());
            }
        }
        FeedType::OpeningException => {
            let Some(e) = opening_exception::Entity::find_by_id(uuid)
                .one(conn)
                .await?
            else {
                return Ok(false);
            };
            s.parent_id = Some(e.location_id.to_string());
        }
        FeedType::Topic => {
            let Some(t) = topic::Entity::find_by_id(s.resource_id.clone())
                .one(conn)
                .await?
            else {
                return Ok(false);
            };
            s.version = Some(t.version);
        }
        FeedType::TopicResource => {
            let Some(r) = topic_resource::Entity::find_by_id(uuid).one(conn).await? else {
                return Ok(false);
            };
            s.version = Some(r.version);
            s.parent_id = Some(r.topic_slug);
        }
        FeedType::MeetingPlace => {
            let Some(m) = meeting_place::Entity::find_by_id(uuid).one(conn).await? else {
                return Ok(false);
            };
            s.version = Some(m.version);
        }
        FeedType::MeetingPlaceRegistration => {
            let query = meeting_place_registration::Entity::find_by_id(uuid);
            let Some(r) = query.one(conn).await? else {
                return Ok(false);
            };
            s.version = Some(r.version);
            s.parent_id = Some(r.meeting_place_id.to_string());
            s.municipality = Some(r.municipality_number);
        }
        FeedType::Ticket => {
            let Some(t) = ticket::Entity::find_by_id(uuid).one(conn).await? else {
                return Ok(false);
            };
            s.version = Some(t.version);
            s.municipality = Some(t.municipality_number);
            s.ticket_id = Some(t.id);
        }
        FeedType::GrantScheme => {
            let Some(g) = grant_scheme::Entity::find_by_id(uuid).one(conn).await? else {
                return Ok(false);
            };
            s.version = Some(g.version);
            // Drafts are listed for KS and the ministry only.
            if g.status == "draft" {
                s.audience = Audience::Staff;
            }
        }
        FeedType::GrantApplication => {
            let Some(a) = grant_application::Entity::find_by_id(uuid)
                .one(conn)
                .await?
            else {
                return Ok(false);
            };
            s.version = Some(a.version);
            s.parent_id = Some(a.scheme_id.to_string());
            s.municipality = Some(a.municipality_number);
        }
        FeedType::KontaktpunktCalendar => {
            let Some(c) = kontaktpunkt_calendar::Entity::find().one(conn).await? else {
                return Ok(false);
            };
            s.version = Some(c.version);
        }
        FeedType::KontaktpunktServiceLevels => {
            let Some(c) = kontaktpunkt_service_levels::Entity::find()
                .one(conn)
                .await?
            else {
                return Ok(false);
            };
            s.version = Some(c.version);
        }
        FeedType::TicketMessage => return Ok(false),
    }
    Ok(true)
}
