#!/usr/bin/env python3
"""Checks the meeting-place calendar feed with a real iCalendar parser.

Usage:
    python3 -m venv .venv && .venv/bin/pip install icalendar
    .venv/bin/python scripts/check_ics.py http://127.0.0.1:8080/meeting-places.ics
    .venv/bin/python scripts/check_ics.py feed.ics          # a saved feed

Fails (exit status 1) unless the feed parses with Python's `icalendar` package, every
physical line ends with CRLF and holds at most 75 octets, and every VEVENT has a UID,
DTSTAMP, DTSTART and DTEND in UTC, SUMMARY, DESCRIPTION, LOCATION or URL, and STATUS.
"""

import sys
import urllib.request
from datetime import timezone

import icalendar


def fetch(source: str) -> tuple[bytes, str]:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source) as response:
            return response.read(), response.headers.get("Content-Type", "")
    with open(source, "rb") as feed:
        return feed.read(), "text/calendar; charset=utf-8"


def check(raw: bytes, content_type: str) -> list[str]:
    problems = []
    if not content_type.startswith("text/calendar"):
        problems.append(f"Content-Type is {content_type!r}, not text/calendar")
    if not raw.endswith(b"\r\n"):
        problems.append("the feed does not end with CRLF")
    for number, line in enumerate(raw.split(b"\r\n")[:-1], start=1):
        if b"\n" in line or b"\r" in line:
            problems.append(f"line {number}: a bare line break")
        if len(line) > 75:
            problems.append(f"line {number}: {len(line)} octets")

    calendar = icalendar.Calendar.from_ical(raw)
    events = list(calendar.walk("VEVENT"))
    uids = set()
    for event in events:
        uid = str(event.get("UID", ""))
        name = uid or "an event without UID"
        if not uid:
            problems.append("an event without UID")
        if uid in uids:
            problems.append(f"{uid}: UID used twice")
        uids.add(uid)
        for prop in ("DTSTAMP", "DTSTART", "DTEND"):
            value = event.get(prop)
            if value is None:
                problems.append(f"{name}: no {prop}")
            elif value.dt.utcoffset() != timezone.utc.utcoffset(None):
                problems.append(f"{name}: {prop} is not in UTC")
        for prop in ("SUMMARY", "DESCRIPTION", "STATUS"):
            if prop not in event:
                problems.append(f"{name}: no {prop}")
        if "LOCATION" not in event and "URL" not in event:
            problems.append(f"{name}: neither LOCATION nor URL")
        if event.get("STATUS") not in ("TENTATIVE", "CONFIRMED", "CANCELLED"):
            problems.append(f"{name}: STATUS {event.get('STATUS')!r}")
        if event["DTEND"].dt <= event["DTSTART"].dt:
            problems.append(f"{name}: ends before it starts")
    cancelled = sum(1 for e in events if e.get("STATUS") == "CANCELLED")
    print(f"parsed {len(events)} events ({cancelled} cancelled) with icalendar {icalendar.__version__}")
    for event in events:
        print(f"  {event['STATUS']:<9} {event['DTSTART'].dt.isoformat()}  {event['SUMMARY']}")
    return problems


def main() -> int:
    source = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080/meeting-places.ics"
    raw, content_type = fetch(source)
    problems = check(raw, content_type)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
