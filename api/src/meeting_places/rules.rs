//! The rules of a meeting place: its fields checked alone and together, the status it may
//! move to, what an update changes and whether it is allowed, and when municipalities may
//! register. Pure functions over plain values; the writes are in `store`.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, SubsecRound, Utc};

use super::model::{
    MeetingFormat, MeetingPlaceChanges, MeetingPlaceFields, MeetingPlaceStatus, NewMeetingPlace,
    Organiser,
};
use crate::common::text::{Text, bounded};
use crate::common::validation::Fields;
use crate::common::values::{CountyNumber, WebUrl};
use crate::http::error::ApiError;

/// Whether a meeting place may go from one status to another: `planned → open → closed →
/// completed`, and `cancelled` from any but `completed`. Staying in the same status is no
/// change and always allowed.
pub fn transition(from: MeetingPlaceStatus, to: MeetingPlaceStatus) -> Result<(), String> {
    use MeetingPlaceStatus::*;
    let allowed = from == to
        || matches!(
            (from, to),
            (Planned, Open)
                | (Open, Closed)
                | (Closed, Completed)
                | (Planned | Open | Closed, Cancelled)
        );
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "cannot change from {} to {}",
            from.as_str(),
            to.as_str()
        ))
    }
}

/// What a municipality wants to do to its registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationChange {
    /// Register, or bring more participants.
    Grow,
    /// Bring fewer participants, change the contact, or cancel.
    Other,
}

/// Registering and adding participants need an `open` meeting place; other changes an
/// `open` or `closed` one. Nothing changes once the registration deadline has passed.
pub fn registration_window(
    status: MeetingPlaceStatus,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
    change: RegistrationChange,
) -> Result<(), String> {
    use MeetingPlaceStatus::*;
    if now >= deadline {
        return Err(format!(
            "the registration deadline ({}) has passed",
            deadline.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    match (status, change) {
        (Open, _) | (Closed, RegistrationChange::Other) => Ok(()),
        (Closed, RegistrationChange::Grow) => {
            Err("registration is closed: participants can be reduced, not added".to_string())
        }
        (status, _) => Err(format!(
            "registration is not open: the meeting place is {}",
            status.as_str()
        )),
    }
}

fn parse_counties(values: &[Text]) -> Result<Vec<String>, String> {
    if values.is_empty() {
        return Err("must name at least one county".into());
    }
    if values.len() > 15 {
        return Err("must name at most 15 counties".into());
    }
    let mut numbers = BTreeSet::new();
    for value in values {
        numbers.insert(CountyNumber::parse(value)?.into_inner());
    }
    Ok(numbers.into_iter().collect())
}

/// The organisers in the order given, each once.
fn parse_organisers(values: &[Organiser]) -> Result<Vec<Organiser>, String> {
    if values.is_empty() {
        return Err("must name at least one organiser".into());
    }
    let mut organisers = Vec::new();
    for organiser in values {
        if !organisers.contains(organiser) {
            organisers.push(*organiser);
        }
    }
    Ok(organisers)
}

fn parse_capacity(capacity: i32) -> Result<i32, String> {
    if (1..=10_000).contains(&capacity) {
        Ok(capacity)
    } else {
        Err("must be between 1 and 10000 participants".into())
    }
}

fn parse_url(value: &str) -> Result<String, String> {
    WebUrl::parse(value).map(WebUrl::into_inner)
}

/// Instants are kept to the second.
fn second(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.trunc_subsecs(0)
}

/// Whether none of `names` has been refused alone: a rule tying fields together is checked
/// only then, so that no field is named twice or for a value it was not given.
fn valid(fields: &Fields, names: &[&str]) -> bool {
    names.iter().all(|name| !fields.refused(name))
}

/// The rules that tie fields together.
fn check_together(m: &MeetingPlaceFields, fields: &mut Fields) {
    check_schedule_and_venue(m, fields);
    check_cancellation(m, fields);
}

/// The venue or link the format needs, and the order of deadline, start and end.
fn check_schedule_and_venue(m: &MeetingPlaceFields, fields: &mut Fields) {
    let needs_venue = matches!(m.format, MeetingFormat::InPerson | MeetingFormat::Hybrid);
    let needs_url = matches!(m.format, MeetingFormat::Online | MeetingFormat::Hybrid);
    if needs_venue && m.venue_address.is_none() && valid(fields, &["format", "venue_address"]) {
        fields.add(
            "venue_address",
            format!("is required for the format {}", m.format.as_str()),
        );
    }
    if needs_url && m.online_url.is_none() && valid(fields, &["format", "online_url"]) {
        fields.add(
            "online_url",
            format!("is required for the format {}", m.format.as_str()),
        );
    }
    if m.ends_at <= m.starts_at && valid(fields, &["starts_at", "ends_at"]) {
        fields.add("ends_at", "must be after starts_at");
    }
    if m.registration_deadline >= m.starts_at
        && valid(fields, &["starts_at", "registration_deadline"])
    {
        fields.add("registration_deadline", "must be before starts_at");
    }
}

/// A cancelled meeting place says why, and only a cancelled one.
fn check_cancellation(m: &MeetingPlaceFields, fields: &mut Fields) {
    if !valid(fields, &["status", "cancellation_reason"]) {
        return;
    }
    match (m.status, &m.cancellation_reason) {
        (MeetingPlaceStatus::Cancelled, None) => fields.add(
            "cancellation_reason",
            "is required when the meeting place is cancelled",
        ),
        (MeetingPlaceStatus::Cancelled, Some(_)) | (_, None) => {}
        (_, Some(_)) => fields.add(
            "cancellation_reason",
            "belongs to a cancelled meeting place only",
        ),
    }
}

/// A new meeting place, every field checked alone and then together.
pub fn validate_new(body: &NewMeetingPlace) -> Result<MeetingPlaceFields, ApiError> {
    let mut f = Fields::default();
    let title = f.check("title", bounded(&body.title, 200));
    let description = f.check("description", bounded(&body.description, 4000));
    let counties = f.check("counties", parse_counties(&body.counties));
    let organisers = f.check("organisers", parse_organisers(&body.organisers));
    let venue_address = f.check_optional(
        "venue_address",
        body.venue_address.as_deref().map(|v| bounded(v, 300)),
    );
    let online_url = f.check_optional("online_url", body.online_url.as_deref().map(parse_url));
    let capacity = f.check("capacity", parse_capacity(body.capacity));
    let status = body.status.0.unwrap_or(MeetingPlaceStatus::Planned);
    if !matches!(
        status,
        MeetingPlaceStatus::Planned | MeetingPlaceStatus::Open
    ) {
        f.add("status", "a new meeting place is planned or open");
    }
    // The fields are checked together once each of them is valid alone.
    let (
        Some(title),
        Some(description),
        Some(counties),
        Some(organisers),
        Some(venue_address),
        Some(online_url),
        Some(capacity),
    ) = (
        title,
        description,
        counties,
        organisers,
        venue_address,
        online_url,
        capacity,
    )
    else {
        return Err(f.finish().expect_err("a field was refused"));
    };
    let new = MeetingPlaceFields {
        title,
        description,
        counties,
        organisers,
        format: body.format,
        venue_address,
        online_url,
        starts_at: second(body.starts_at),
        ends_at: second(body.ends_at),
        capacity,
        registration_deadline: second(body.registration_deadline),
        status,
        cancellation_reason: None,
    };
    check_together(&new, &mut f);
    f.finish()?;
    Ok(new)
}

fn named_fields(body: &MeetingPlaceChanges) -> Vec<&'static str> {
    [
        ("title", body.title.is_undefined()),
        ("description", body.description.is_undefined()),
        ("counties", body.counties.is_undefined()),
        ("organisers", body.organisers.is_undefined()),
        ("format", body.format.is_undefined()),
        ("venue_address", body.venue_address.is_undefined()),
        ("online_url", body.online_url.is_undefined()),
        ("starts_at", body.starts_at.is_undefined()),
        ("ends_at", body.ends_at.is_undefined()),
        ("capacity", body.capacity.is_undefined()),
        (
            "registration_deadline",
            body.registration_deadline.is_undefined(),
        ),
        ("status", body.status.is_undefined()),
        (
            "cancellation_reason",
            body.cancellation_reason.is_undefined(),
        ),
    ]
    .into_iter()
    .filter(|(_, absent)| !absent)
    .map(|(name, _)| name)
    .collect()
}

/// Counties a change names, checked alone and then against the counties there are.
fn changed_counties(
    f: &mut Fields,
    counties: Vec<Text>,
    known_counties: &HashSet<String>,
) -> Option<Vec<String>> {
    let counties = f.check("counties", parse_counties(&counties))?;
    match counties.iter().find(|n| !known_counties.contains(*n)) {
        Some(unknown) => {
            f.add("counties", format!("there is no county {unknown}"));
            None
        }
        None => Some(counties),
    }
}

/// A checked update: the meeting place as it will be stored, and what changed.
#[derive(Debug)]
pub struct Update {
    pub fields: MeetingPlaceFields,
    changed: Vec<&'static str>,
    previous_status: MeetingPlaceStatus,
}

impl Update {
    pub fn changes_counties(&self) -> bool {
        self.changed.contains(&"counties")
    }

    /// The audit summary: the fields named, and the status change if there is one.
    pub fn summary(&self) -> String {
        let changed = self.changed.join(", ");
        if self.fields.status == self.previous_status {
            format!("changed {changed}")
        } else {
            format!(
                "changed {changed} (status {} → {})",
                self.previous_status.as_str(),
                self.fields.status.as_str()
            )
        }
    }
}

/// What an update changes, every field checked at once: each on its own, its counties
/// against the counties there are (`known_counties`, those of the named ones that exist),
/// and all of them together with the stored fields they leave as they are (an end before
/// the stored start, a venue the stored format needs), so one 422 names them all. Whether
/// the stored meeting place may take it is [`may_change`]'s; room for the registrations
/// already made is checked by the write itself.
pub fn changes(
    current: MeetingPlaceFields,
    body: MeetingPlaceChanges,
    known_counties: &HashSet<String>,
) -> Result<Update, ApiError> {
    let changed = named_fields(&body);
    if changed.is_empty() {
        return Err(ApiError::invalid("body", "names no field to change"));
    }
    let previous_status = current.status;
    let mut f = Fields::default();
    let mut next = current;
    set_named_fields(&mut next, body, known_counties, &mut f);
    check_schedule_and_venue(&next, &mut f);
    // The reason is checked against a status the stored one may move to; any other status
    // is refused by `may_change`, and a reason would be named for the wrong cause.
    if transition(previous_status, next.status).is_ok() {
        check_cancellation(&next, &mut f);
    }
    f.finish()?;
    Ok(Update {
        fields: next,
        changed,
        previous_status,
    })
}

/// Each field a change names, checked on its own and set on `next` when valid; an invalid
/// one is noted in `f` and leaves `next` as it was.
fn set_named_fields(
    next: &mut MeetingPlaceFields,
    body: MeetingPlaceChanges,
    known_counties: &HashSet<String>,
    f: &mut Fields,
) {
    if let Some(v) = f.check_required_patch("title", body.title, |v| bounded(v, 200)) {
        next.title = v;
    }
    if let Some(v) = f.check_required_patch("description", body.description, |v| bounded(v, 4000)) {
        next.description = v;
    }
    if let Some(v) = f
        .required("counties", body.counties)
        .and_then(|v| changed_counties(f, v, known_counties))
    {
        next.counties = v;
    }
    if let Some(v) = f
        .required("organisers", body.organisers)
        .and_then(|v| f.check("organisers", parse_organisers(&v)))
    {
        next.organisers = v;
    }
    next.format = f.required("format", body.format).unwrap_or(next.format);
    if let Some(v) = f.check_patch("venue_address", body.venue_address, |v| bounded(v, 300)) {
        next.venue_address = v;
    }
    if let Some(v) = f.check_patch("online_url", body.online_url, parse_url) {
        next.online_url = v;
    }
    next.starts_at = f
        .required("starts_at", body.starts_at)
        .map_or(next.starts_at, second);
    next.ends_at = f
        .required("ends_at", body.ends_at)
        .map_or(next.ends_at, second);
    if let Some(v) = f
        .required("capacity", body.capacity)
        .and_then(|v| f.check("capacity", parse_capacity(v)))
    {
        next.capacity = v;
    }
    next.registration_deadline = f
        .required("registration_deadline", body.registration_deadline)
        .map_or(next.registration_deadline, second);
    next.status = f.required("status", body.status).unwrap_or(next.status);
    if let Some(v) = f.check_patch("cancellation_reason", body.cancellation_reason, |v| {
        bounded(v, 500)
    }) {
        next.cancellation_reason = v;
    }
}

/// Whether the stored meeting place takes a checked update: a cancelled or completed one no
/// longer changes, and a new status follows [`transition`]. The answer is a 422 on `status`.
pub fn may_change(update: &Update) -> Result<(), ApiError> {
    let from = update.previous_status;
    if matches!(
        from,
        MeetingPlaceStatus::Cancelled | MeetingPlaceStatus::Completed
    ) {
        return Err(ApiError::invalid(
            "status",
            format!(
                "the meeting place is {}: it can no longer be changed",
                from.as_str()
            ),
        ));
    }
    transition(from, update.fields.status).map_err(|message| ApiError::invalid("status", message))
}

#[cfg(test)]
mod tests {
    use super::MeetingPlaceStatus::*;
    use super::*;
    use crate::common::optional::NotNull;
    use poem_openapi::types::{Example, MaybeUndefined};

    const ALL: [MeetingPlaceStatus; 5] = [Planned, Open, Closed, Cancelled, Completed];

    fn invalid_fields(result: Result<impl std::fmt::Debug, ApiError>) -> Vec<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    fn texts(values: &[&str]) -> Vec<Text> {
        values.iter().map(|s| Text((*s).into())).collect()
    }

    fn stored(status: MeetingPlaceStatus) -> MeetingPlaceFields {
        let mut m = validate_new(&NewMeetingPlace::example()).expect("a valid example");
        m.status = status;
        if status == Cancelled {
            m.cancellation_reason = Some("Storm".into());
        }
        m
    }

    /// A body that names no field.
    fn nothing() -> MeetingPlaceChanges {
        MeetingPlaceChanges {
            status: MaybeUndefined::Undefined,
            cancellation_reason: MaybeUndefined::Undefined,
            ..MeetingPlaceChanges::example()
        }
    }

    /// The counties of Norway a change may name.
    fn counties() -> HashSet<String> {
        [
            "03", "11", "15", "18", "31", "32", "33", "34", "39", "40", "42", "46", "50", "55",
            "56",
        ]
        .map(String::from)
        .into()
    }

    /// A change checked as the operation checks it: its fields, then the stored state.
    fn plan(current: MeetingPlaceFields, body: MeetingPlaceChanges) -> Result<Update, ApiError> {
        let update = changes(current, body, &counties())?;
        may_change(&update)?;
        Ok(update)
    }

    #[test]
    fn the_transition_table() {
        let allowed = [
            (Planned, Open),
            (Open, Closed),
            (Closed, Completed),
            (Planned, Cancelled),
            (Open, Cancelled),
            (Closed, Cancelled),
        ];
        for from in ALL {
            for to in ALL {
                let expected = from == to || allowed.contains(&(from, to));
                assert_eq!(transition(from, to).is_ok(), expected, "{from:?} → {to:?}");
            }
        }
        assert_eq!(
            transition(Completed, Cancelled).unwrap_err(),
            "cannot change from completed to cancelled"
        );
    }

    #[test]
    fn registration_is_open_only_while_open_and_before_the_deadline() {
        let deadline = Utc::now();
        let before = deadline - chrono::Duration::seconds(1);
        let grow = RegistrationChange::Grow;
        let other = RegistrationChange::Other;
        assert!(registration_window(Open, deadline, before, grow).is_ok());
        assert!(registration_window(Open, deadline, before, other).is_ok());
        assert!(registration_window(Closed, deadline, before, other).is_ok());
        assert!(registration_window(Closed, deadline, before, grow).is_err());
        for status in [Planned, Cancelled, Completed] {
            assert!(registration_window(status, deadline, before, grow).is_err());
            assert!(registration_window(status, deadline, before, other).is_err());
        }
        let late = registration_window(Open, deadline, deadline, other).unwrap_err();
        assert!(late.contains("deadline"), "{late}");
    }

    #[test]
    fn counties_are_checked_sorted_and_deduplicated() {
        assert_eq!(
            parse_counties(&texts(&["31", "03", "31"])).unwrap(),
            ["03", "31"]
        );
        assert!(parse_counties(&texts(&[])).is_err());
        assert!(parse_counties(&texts(&["3"])).is_err());
        assert!(parse_counties(&texts(&["03"; 16])).is_err());
    }

    #[test]
    fn organisers_keep_their_order_and_appear_once() {
        use Organiser::*;
        assert_eq!(parse_organisers(&[HkDir, Ks, HkDir]).unwrap(), [HkDir, Ks]);
        assert!(parse_organisers(&[]).is_err());
    }

    #[test]
    fn a_new_meeting_place_is_planned_unless_it_says_open_and_is_kept_to_the_second() {
        let mut body = NewMeetingPlace::example();
        body.status = NotNull(None);
        body.starts_at += chrono::Duration::milliseconds(700);
        let new = validate_new(&body).unwrap();
        assert_eq!(new.status, Planned);
        assert_eq!(new.starts_at, NewMeetingPlace::example().starts_at);
        body.status = NotNull(Some(Open));
        assert_eq!(validate_new(&body).unwrap().status, Open);
        body.status = NotNull(Some(Closed));
        assert_eq!(invalid_fields(validate_new(&body)), ["status"]);
    }

    #[test]
    fn a_new_meeting_place_names_every_invalid_field_before_checking_them_together() {
        let mut body = NewMeetingPlace::example();
        body.title = Text(" ".into());
        body.counties = texts(&["3"]);
        body.capacity = 0;
        body.ends_at = body.starts_at;
        assert_eq!(
            invalid_fields(validate_new(&body)),
            ["title", "counties", "capacity"]
        );
        let mut body = NewMeetingPlace::example();
        body.venue_address = None;
        body.online_url = None;
        body.ends_at = body.starts_at;
        body.registration_deadline = body.starts_at;
        assert_eq!(
            invalid_fields(validate_new(&body)),
            [
                "venue_address",
                "online_url",
                "ends_at",
                "registration_deadline"
            ]
        );
        let mut body = NewMeetingPlace::example();
        body.status = NotNull(Some(Completed));
        body.ends_at = body.starts_at;
        assert_eq!(invalid_fields(validate_new(&body)), ["status", "ends_at"]);
    }

    #[test]
    fn each_format_needs_its_venue_or_link() {
        for (format, venue, url, refused) in [
            (MeetingFormat::InPerson, true, false, vec![]),
            (MeetingFormat::InPerson, false, true, vec!["venue_address"]),
            (MeetingFormat::Online, false, true, vec![]),
            (MeetingFormat::Online, true, false, vec!["online_url"]),
            (MeetingFormat::Hybrid, true, true, vec![]),
        ] {
            let mut body = NewMeetingPlace::example();
            body.format = format;
            if !venue {
                body.venue_address = None;
            }
            if !url {
                body.online_url = None;
            }
            let result = validate_new(&body);
            if refused.is_empty() {
                assert!(result.is_ok(), "{format:?}");
            } else {
                assert_eq!(invalid_fields(result), refused, "{format:?}");
            }
        }
    }

    #[test]
    fn an_update_that_names_no_field_is_refused() {
        assert_eq!(invalid_fields(plan(stored(Open), nothing())), ["body"]);
    }

    #[test]
    fn null_is_refused_where_a_field_cannot_be_cleared_and_clears_it_elsewhere() {
        let body = MeetingPlaceChanges {
            title: MaybeUndefined::Null,
            capacity: MaybeUndefined::Null,
            status: MaybeUndefined::Null,
            venue_address: MaybeUndefined::Null,
            ..nothing()
        };
        // The stored format is hybrid, so clearing the venue is refused in the same answer.
        assert_eq!(
            invalid_fields(plan(stored(Open), body)),
            ["title", "capacity", "status", "venue_address"]
        );
        let online = MeetingPlaceChanges {
            format: MaybeUndefined::Value(MeetingFormat::Online),
            venue_address: MaybeUndefined::Null,
            ..nothing()
        };
        let update = plan(stored(Open), online).unwrap();
        assert_eq!(update.fields.venue_address, None);
        assert_eq!(update.fields.format, MeetingFormat::Online);
    }

    #[test]
    fn a_change_names_a_bad_field_and_one_that_does_not_fit_the_stored_fields_at_once() {
        let current = stored(Open);
        let body = MeetingPlaceChanges {
            title: MaybeUndefined::Value(Text("x".repeat(201))),
            ends_at: MaybeUndefined::Value(current.starts_at - chrono::Duration::hours(1)),
            ..nothing()
        };
        assert_eq!(invalid_fields(plan(current, body)), ["title", "ends_at"]);
    }

    #[test]
    fn a_venue_the_stored_format_needs_and_an_unknown_county_are_named_with_the_rest() {
        let body = MeetingPlaceChanges {
            counties: MaybeUndefined::Value(texts(&["03", "99"])),
            venue_address: MaybeUndefined::Null,
            capacity: MaybeUndefined::Value(0),
            ..nothing()
        };
        let refused = changes(stored(Open), body, &counties()).unwrap_err();
        let ApiError::Validation(errors) = &refused else {
            panic!("expected a 422, got {refused:?}");
        };
        assert_eq!(errors[0].message, "there is no county 99");
        assert_eq!(
            invalid_fields(Err::<(), _>(refused)),
            ["counties", "capacity", "venue_address"]
        );
    }

    #[test]
    fn a_field_refused_alone_is_not_named_again_by_a_rule_that_ties_it_to_others() {
        let mut current = stored(Open);
        current.format = MeetingFormat::Online;
        current.venue_address = None;
        let body = MeetingPlaceChanges {
            format: MaybeUndefined::Value(MeetingFormat::InPerson),
            venue_address: MaybeUndefined::Value(Text("x".repeat(301))),
            starts_at: MaybeUndefined::Null,
            ..nothing()
        };
        assert_eq!(
            invalid_fields(plan(current, body)),
            ["venue_address", "starts_at"]
        );
    }

    #[test]
    fn field_errors_come_before_the_stored_status_is_asked() {
        let body = MeetingPlaceChanges {
            title: MaybeUndefined::Value(Text(" ".into())),
            status: MaybeUndefined::Value(Planned),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(changes(stored(Completed), body, &counties())),
            ["title"]
        );
    }

    #[test]
    fn a_status_the_stored_one_cannot_move_to_is_refused_for_itself_not_for_the_reason() {
        let body = MeetingPlaceChanges {
            status: MaybeUndefined::Value(Planned),
            ..nothing()
        };
        let update = changes(stored(Cancelled), body, &counties()).unwrap();
        assert_eq!(invalid_fields(may_change(&update)), ["status"]);
    }

    #[test]
    fn a_cancelled_or_completed_meeting_place_no_longer_changes() {
        for status in [Cancelled, Completed] {
            let body = MeetingPlaceChanges {
                title: MaybeUndefined::Value(Text("Nytt navn".into())),
                ..nothing()
            };
            assert_eq!(invalid_fields(plan(stored(status), body)), ["status"]);
        }
    }

    #[test]
    fn a_refused_transition_names_the_status_only() {
        let body = MeetingPlaceChanges {
            status: MaybeUndefined::Value(Planned),
            ..nothing()
        };
        assert_eq!(invalid_fields(plan(stored(Closed), body)), ["status"]);
    }

    #[test]
    fn a_cancellation_needs_a_reason_and_only_a_cancellation_has_one() {
        let cancel = MeetingPlaceChanges {
            status: MaybeUndefined::Value(Cancelled),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(plan(stored(Open), cancel)),
            ["cancellation_reason"]
        );
        let stray = MeetingPlaceChanges {
            cancellation_reason: MaybeUndefined::Value(Text("why".into())),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(plan(stored(Open), stray)),
            ["cancellation_reason"]
        );
        let update = plan(stored(Open), MeetingPlaceChanges::example()).unwrap();
        assert_eq!(update.fields.status, Cancelled);
        assert!(update.fields.cancellation_reason.is_some());
    }

    #[test]
    fn changes_are_checked_together_with_the_stored_fields() {
        let current = stored(Open);
        let body = MeetingPlaceChanges {
            ends_at: MaybeUndefined::Value(current.starts_at - chrono::Duration::hours(1)),
            ..nothing()
        };
        assert_eq!(invalid_fields(plan(current.clone(), body)), ["ends_at"]);
        let body = MeetingPlaceChanges {
            registration_deadline: MaybeUndefined::Value(current.starts_at),
            ..nothing()
        };
        assert_eq!(
            invalid_fields(plan(current, body)),
            ["registration_deadline"]
        );
    }

    #[test]
    fn the_summary_names_the_changed_fields_and_a_status_change() {
        let body = MeetingPlaceChanges {
            title: MaybeUndefined::Value(Text("Nytt navn".into())),
            counties: MaybeUndefined::Value(texts(&["46"])),
            ..nothing()
        };
        let update = plan(stored(Open), body).unwrap();
        assert!(update.changes_counties());
        assert_eq!(update.fields.counties, ["46"]);
        assert_eq!(update.summary(), "changed title, counties");
        let update = plan(stored(Open), MeetingPlaceChanges::example()).unwrap();
        assert!(!update.changes_counties());
        assert_eq!(
            update.summary(),
            "changed status, cancellation_reason (status open → cancelled)"
        );
    }
}
