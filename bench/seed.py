#!/usr/bin/env python3
"""Seeds a running Digihjelpen API with a realistic set of locations through the API itself.

Every municipality gets at least one location near its centre; the rest are spread over the
municipalities. Each location gets weekly hours (weekday mornings, some evenings and
Saturdays, some by appointment) and about one in five a dated exception.

usage: seed.py BASE_URL KS_TOKEN COUNT IDS_FILE
Writes the created ids, one per line, to IDS_FILE. Uses only the standard library.
"""
import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

base, token, count, ids_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
url = urllib.parse.urlparse(base)
local = threading.local()
rng = random.Random(42)


def call(method, path, body=None, headers=None):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    head.update(headers or {})
    for attempt in range(3):
        try:
            local.conn.request(method, path, json.dumps(body) if body is not None else None, head)
            response = local.conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        except (http.client.HTTPException, ConnectionError):
            local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            if attempt == 2:
                raise


def municipalities():
    found, cursor = [], None
    while True:
        path = "/api/v1/municipalities?limit=200" + (f"&cursor={cursor}" if cursor else "")
        status, page = call("GET", path)
        assert status == 200, page
        found += [m for m in page["items"] if m["latitude"] is not None]
        cursor = page["next_cursor"]
        if not cursor:
            return found


WORDS = ["Bibliotek", "Servicetorg", "Innbyggertorg", "Frivilligsentral", "Kulturhus", "Digihjelp"]
HOSTS = ["library", "service_office", "municipal_department", "volunteer_centre", "other"]
LANGS = ["en", "ar", "so", "ti", "ur", "pl", "uk", "se", "fa"]


def location_body(m, i):
    return {
        "municipality_number": m["number"],
        "name": f"{m['name']} {rng.choice(WORDS)} {i}",
        "host_type": rng.choice(HOSTS),
        "address": {"street": f"Storgata {rng.randint(1, 200)}", "postal_code": f"{rng.randint(1, 9999):04d}", "postal_place": m["name"][:100]},
        "latitude": min(80.9, max(57.6, m["latitude"] + rng.uniform(-0.05, 0.05))),
        "longitude": min(34.9, max(-9.4, m["longitude"] + rng.uniform(-0.1, 0.1))),
        "service_modes": rng.choice([["drop_in"], ["appointment"], ["drop_in", "appointment"]]),
        "languages": ["nb"] + rng.sample(LANGS, rng.randint(0, 3)),
        "accessibility": rng.sample(["step_free_access", "hearing_loop", "accessible_toilet"], rng.randint(0, 2)),
        "description": "Hjelp med mobil, nettbrett, PC, BankID og offentlige tjenester.",
    }


def hours_body():
    rules = []
    for day in ["monday", "tuesday", "wednesday", "thursday", "friday"]:
        rules.append({"weekday": day, "opens": "10:00", "closes": "15:00", "service_mode": "drop_in"})
        if rng.random() < 0.3:
            rules.append({"weekday": day, "opens": "17:00", "closes": "19:00", "service_mode": "appointment"})
    if rng.random() < 0.3:
        rules.append({"weekday": "saturday", "opens": "11:00", "closes": "14:00", "service_mode": "drop_in"})
    return {"opens_on_holidays": rng.random() < 0.1, "rules": rules}


def seed_one(job):
    m, i = job
    status, created = call("POST", "/api/v1/locations", location_body(m, i))
    assert status == 201, created
    lid = created["id"]
    status, body = call("PUT", f"/api/v1/locations/{lid}/opening-hours", hours_body(), {"If-Match": '"1"'})
    assert status == 200, body
    if i % 5 == 0:
        date = f"2026-12-{rng.randint(1, 23):02d}"
        status, body = call("POST", f"/api/v1/locations/{lid}/exceptions", {"date": date, "closed": True, "note": "Kurs for ansatte"})
        assert status in (201, 409), body
    return lid


def main():
    ms = municipalities()
    jobs = [(m, i) for i, m in enumerate(ms)]
    jobs += [(rng.choice(ms), i) for i in range(len(jobs), count)]
    started = time.time()
    ids = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for n, lid in enumerate(pool.map(seed_one, jobs[:count]), 1):
            ids.append(lid)
            if n % 1000 == 0 or n == count:
                print(f"  seeded {n}/{count} locations ({n / (time.time() - started):.0f}/s)", file=sys.stderr, flush=True)
    with open(ids_file, "w") as f:
        f.write("\n".join(ids) + "\n")


main()
