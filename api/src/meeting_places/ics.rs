//! The meeting-place feed as iCalendar (RFC 5545), and the small writer behind it.
//!
//! Written here rather than taken from the `icalendar` crate: its 0.17 line folding lets a
//! continuation line reach 76 octets, and it passes a carriage return in a text value through
//! unescaped. This writer does exactly what the feed needs: CRLF line endings, TEXT escaping
//! (section 3.3.11) and folding at 75 octets on character boundaries (section 3.1).

use chrono::{DateTime, Utc};

use entity::meeting_place;

use super::model::MeetingPlaceStatus;
use crate::http::error::ApiError;

/// Octets a content line may hold, excluding its CRLF.
const MAX_OCTETS: usize = 75;

/// A VCALENDAR under construction.
pub struct Calendar {
    out: String,
}

/// One VEVENT.
pub struct Event<'a> {
    pub uid: String,
    /// When the event's information was last revised.
    pub stamp: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: &'a str,
    pub description: &'a str,
    pub location: Option<&'a str>,
    /// An absolute URL; not escaped, as it is a URI and not TEXT.
    pub url: Option<&'a str>,
    /// `TENTATIVE`, `CONFIRMED` or `CANCELLED`.
    pub status: &'static str,
    pub sequence: i32,
}

impl Calendar {
    pub fn new(product_id: &str, name: &str) -> Self {
        let mut calendar = Self { out: String::new() };
        calendar.line("BEGIN:VCALENDAR");
        calendar.line("VERSION:2.0");
        calendar.line(&format!("PRODID:{}", escape_text(product_id)));
        calendar.line("CALSCALE:GREGORIAN");
        calendar.line("METHOD:PUBLISH");
        calendar.line(&format!("X-WR-CALNAME:{}", escape_text(name)));
        calendar
    }

    pub fn event(&mut self, event: &Event) {
        self.line("BEGIN:VEVENT");
        self.line(&format!("UID:{}", escape_text(&event.uid)));
        self.line(&format!("DTSTAMP:{}", utc(event.stamp)));
        self.line(&format!("LAST-MODIFIED:{}", utc(event.stamp)));
        self.line(&format!("SEQUENCE:{}", event.sequence.max(0)));
        self.line(&format!("DTSTART:{}", utc(event.starts_at)));
        self.line(&format!("DTEND:{}", utc(event.ends_at)));
        self.line(&format!("SUMMARY:{}", escape_text(event.summary)));
        self.line(&format!("DESCRIPTION:{}", escape_text(event.description)));
        if let Some(location) = event.location {
            self.line(&format!("LOCATION:{}", escape_text(location)));
        }
        if let Some(url) = event.url {
            self.line(&format!("URL:{}", strip_controls(url)));
        }
        self.line(&format!("STATUS:{}", event.status));
        self.line("END:VEVENT");
    }

    pub fn finish(mut self) -> String {
        self.line("END:VCALENDAR");
        self.out
    }

    fn line(&mut self, content: &str) {
        self.out.push_str(&fold(content));
        self.out.push_str("\r\n");
    }
}

/// The feed of `places`: one event each, with a stable `UID`; a cancelled one carries
/// `STATUS:CANCELLED` and its reason, a planned one `TENTATIVE`.
pub fn meeting_places_feed(places: &[meeting_place::Model]) -> Result<String, ApiError> {
    let mut calendar = Calendar::new(
        "-//Digihjelpen//Regional meeting places//EN",
        "Digihjelpen: regionale møteplasser",
    );
    for m in places {
        let status = match MeetingPlaceStatus::from_stored(&m.status)? {
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

/// An instant in the UTC form of DATE-TIME, e.g. `20261201T090000Z`.
pub fn utc(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escapes a TEXT value: backslash, semicolon and comma are backslash-escaped, every line
/// break (CRLF, CR or LF) becomes `\n`, and other control characters (not allowed in TEXT)
/// are dropped.
pub fn escape_text(value: &str) -> String {
    let normalised = value.replace("\r\n", "\n").replace('\r', "\n");
    let mut escaped = String::with_capacity(normalised.len());
    for c in normalised.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\t' => escaped.push('\t'),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

fn strip_controls(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).collect()
}

/// Folds a content line so that no physical line passes 75 octets: the first holds up to
/// 75, each continuation a space and up to 74. Never splits a UTF-8 character.
pub fn fold(line: &str) -> String {
    let mut folded = String::with_capacity(line.len() + line.len() / 64 * 3);
    let mut room = MAX_OCTETS;
    let mut used = 0;
    for c in line.chars() {
        let size = c.len_utf8();
        if used + size > room {
            folded.push_str("\r\n ");
            room = MAX_OCTETS - 1;
            used = 0;
        }
        folded.push(c);
        used += size;
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn text_escaping_covers_backslash_separators_and_every_line_break() {
        assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(
            escape_text("one\r\ntwo\nthree\rfour"),
            r"one\ntwo\nthree\nfour"
        );
        assert_eq!(escape_text("bell\u{7}tab\t"), "belltab\t");
        assert_eq!(escape_text("Ås: «møte»"), "Ås: «møte»");
    }

    #[test]
    fn folding_keeps_every_physical_line_within_75_octets() {
        for length in [74, 75, 76, 149, 150, 151, 300] {
            let line = format!("SUMMARY:{}", "x".repeat(length - 8));
            let folded = fold(&line);
            for physical in folded.split("\r\n") {
                assert!(physical.len() <= 75, "{length}: {} octets", physical.len());
            }
            assert_eq!(unfold(&folded), line);
        }
        assert_eq!(fold("SHORT:x"), "SHORT:x");
        assert!(!fold(&"x".repeat(75)).contains("\r\n"));
    }

    #[test]
    fn folding_never_splits_a_multibyte_character() {
        let line = format!("SUMMARY:{}", "ø".repeat(100));
        let folded = fold(&line);
        for physical in folded.split("\r\n") {
            assert!(physical.len() <= 75);
            assert!(std::str::from_utf8(physical.as_bytes()).is_ok());
        }
        assert_eq!(unfold(&folded), line);
    }

    #[test]
    fn a_calendar_has_crlf_lines_and_the_required_event_properties() {
        let instant = DateTime::parse_from_rfc3339("2026-12-01T09:00:00+01:00")
            .unwrap()
            .to_utc();
        let mut calendar = Calendar::new("-//Digihjelpen//Meeting places//EN", "Møteplasser");
        calendar.event(&Event {
            uid: "a@digihjelpen".into(),
            stamp: instant,
            starts_at: instant,
            ends_at: instant + chrono::Duration::hours(2),
            summary: "Møteplass; Oslo, Viken",
            description: "Linje 1\nLinje 2",
            location: Some("Deichman Bjørvika, Anne-Cath. Vestlys plass 1"),
            url: None,
            status: "CANCELLED",
            sequence: 2,
        });
        let text = calendar.finish();
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        assert!(text.contains("\r\nDTSTART:20261201T080000Z\r\n"));
        assert!(text.contains("\r\nDTEND:20261201T100000Z\r\n"));
        assert!(text.contains("\r\nSUMMARY:Møteplass\\; Oslo\\, Viken\r\n"));
        assert!(text.contains("\r\nDESCRIPTION:Linje 1\\nLinje 2\r\n"));
        assert!(text.contains("\r\nSTATUS:CANCELLED\r\n"));
        assert!(text.contains("\r\nSEQUENCE:2\r\n"));
    }

    fn stored(
        status: MeetingPlaceStatus,
        cancellation_reason: Option<&str>,
    ) -> meeting_place::Model {
        let mut m = super::super::model::stored_example(status);
        m.description = "Erfaringsdeling".into();
        m.cancellation_reason = cancellation_reason.map(Into::into);
        m
    }

    #[test]
    fn each_meeting_place_is_an_event_whose_status_follows_its_own() {
        let feed = meeting_places_feed(&[
            stored(MeetingPlaceStatus::Planned, None),
            stored(MeetingPlaceStatus::Open, None),
            stored(MeetingPlaceStatus::Cancelled, Some("Storm")),
        ])
        .unwrap();
        let statuses: Vec<_> = feed
            .split("\r\n")
            .filter_map(|line| line.strip_prefix("STATUS:"))
            .collect();
        assert_eq!(statuses, ["TENTATIVE", "CONFIRMED", "CANCELLED"]);
        assert!(feed.contains("\r\nDESCRIPTION:Avlyst: Storm\\n\\nErfaringsdeling\r\n"));
        assert!(feed.contains("\r\nUID:019a8f5e-7c00-7000-8000-000000000001@digihjelpen\r\n"));
        assert!(feed.contains("\r\nURL:https://ks.no/digihjelpen/motested\r\n"));
    }

    #[test]
    fn an_unknown_stored_status_is_an_error_not_a_default() {
        let mut postponed = stored(MeetingPlaceStatus::Open, None);
        postponed.status = "postponed".into();
        assert!(meeting_places_feed(&[postponed]).is_err());
    }
}
