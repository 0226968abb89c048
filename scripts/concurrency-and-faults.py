#!/usr/bin/env python3
"""Concurrency and fault checks against a real server on a private PostgreSQL instance.

Usage: python3 scripts/concurrency-and-faults.py <path to the digihjelpen binary>

Runs as root (CI does) and starts its own PostgreSQL cluster in a temporary directory on a
free port, so the database can be stopped without touching any other cluster on the machine.
It then checks, printing the figures:

1. 20 concurrent PATCHes of one municipality with the same fresh If-Match: exactly one 200,
   the rest 412; then 10 stale and 10 fresh writers: again exactly one winner, and the stored
   row is the winner's (no lost update).
2. 20 concurrent POSTs of a ticket with one Idempotency-Key: one ticket stored, every 201
   names it.
3. The database stopped under load: requests fail with problem+json 503 (never 500),
   /health/ready turns 503, and after the database is started again the same server process
   answers 200 without a restart.

Only 127.0.0.1 is contacted; every loop is bounded in count and time.
"""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

SECRET = "concurrency-run-secret-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, token=None, body=None, headers=None, timeout=15):
    """Returns (status, headers, parsed JSON or None); never raises on HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw, status, hdrs = resp.read(), resp.status, resp.headers
    except urllib.error.HTTPError as err:
        raw, status, hdrs = err.read(), err.code, err.headers
    except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
        return 0, {}, {"error": str(err)}
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, hdrs, parsed


def together(n, work):
    """Runs work(i) in n threads released at the same instant; returns the results in order."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAILED: {message}")


class Postgres:
    """A throw-away cluster owned by the postgres user, in a temporary directory."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[4]))
        check(bins, "PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = bins[-1]
        self.dir = tempfile.mkdtemp(prefix="digihjelpen-pg-")
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.as_postgres([f"{self.bin}/initdb", "-D", f"{self.dir}/data", "-A", "trust", "-U", "postgres"])

    def as_postgres(self, argv):
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", " ".join(argv)], check=True,
                       stdout=subprocess.DEVNULL)

    def pg_ctl(self, action):
        opts = f"'-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1'"
        self.as_postgres([f"{self.bin}/pg_ctl", "-D", f"{self.dir}/data", "-o", opts, "-w",
                          "-l", f"{self.dir}/log", "-m", "fast", action])

    def create_database(self, name):
        self.as_postgres([f"{self.bin}/createdb", "-h", "127.0.0.1", "-p", str(self.port), name])

    def remove(self):
        try:
            self.pg_ctl("stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    binary = os.path.realpath(sys.argv[1])
    pg = Postgres()
    server = None
    try:
        pg.pg_ctl("start")
        pg.create_database("digihjelpen")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, DATABASE_URL=f"postgres://postgres@127.0.0.1:{pg.port}/digihjelpen",
                   DIGIHJELPEN_LISTEN=f"127.0.0.1:{port}", DIGIHJELPEN_JWT_SECRET=SECRET,
                   DIGIHJELPEN_LOG_FORMAT="json", RUST_LOG="warn")
        log = open(os.path.join(tempfile.gettempdir(), f"digihjelpen-faults-{port}.log"), "w")
        server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while request("GET", f"{base}/health/ready")[0] != 200:
            check(time.monotonic() < deadline and server.poll() is None, "the server did not start")
            time.sleep(0.2)

        def token(*args):
            return subprocess.run([binary, "token", "--ttl", "1h", *args], env=env, check=True,
                                  capture_output=True, text=True).stdout.strip()

        oslo = token("--role", "municipality", "--municipality", "0301", "--sub", "oslo")
        ks = token("--role", "ks", "--sub", "ks")
        url = f"{base}/api/v1/municipalities/0301"

        # 1. One winner per version.
        _, _, before = request("GET", url)
        version = before["version"]

        def patch(if_match, phone):
            return request("PATCH", url, oslo, {"digihjelp_phone": phone},
                           {"If-Match": f'"{if_match}"'})[0]

        first = together(20, lambda i: (patch(version, f"2180{i:04d}"), f"2180{i:04d}"))
        counts = Counter(status for status, _ in first)
        print(f"20 PATCHes with If-Match \"{version}\": {dict(counts)}")
        check(counts == Counter({200: 1, 412: 19}), "expected exactly one 200 and 19 412")
        second = together(20, lambda i: (patch(version if i % 2 else version + 1, f"2280{i:04d}"),
                                         f"2280{i:04d}"))
        counts = Counter(status for status, _ in second)
        winners = [phone for status, phone in second if status == 200]
        print(f"10 stale (\"{version}\") and 10 fresh (\"{version + 1}\") PATCHes: {dict(counts)}")
        check(counts == Counter({200: 1, 412: 19}), "expected exactly one 200 and 19 412")
        check(int(winners[0][-4:]) % 2 == 0, "a stale If-Match won")
        _, _, after = request("GET", url)
        check(after["version"] == version + 2, f"version {after['version']}, not {version + 2}")
        check(after["digihjelp_phone"].replace(" ", "").endswith(winners[0]),
              f"stored {after['digihjelp_phone']}, the winner sent {winners[0]}")
        print(f"stored: version {after['version']}, phone {after['digihjelp_phone']} (the winner's)")

        # 2. One ticket per Idempotency-Key.
        body = {"subject": "Samtidig innsending", "body": "Sendt tjue ganger på en gang.",
                "category": "grants"}
        created = together(20, lambda i: request("POST", f"{base}/api/v1/tickets", oslo, body,
                                                 {"Idempotency-Key": "concurrent-key-1"}))
        counts = Counter(status for status, _, _ in created)
        ids = {reply["id"] for status, _, reply in created if status == 201}
        _, _, listed = request("GET", f"{base}/api/v1/tickets?limit=200", ks)
        stored = [t for t in listed["items"] if t["subject"] == body["subject"]]
        print(f"20 POSTs with one Idempotency-Key: {dict(counts)}; {len(stored)} ticket stored")
        check(len(stored) == 1, f"{len(stored)} tickets stored")
        check(ids == {stored[0]["id"]}, f"the 201s name {ids}, stored {stored[0]['id']}")
        check(set(counts) <= {201, 409}, f"unexpected statuses {dict(counts)}")

        # 3. The database stopped under load, and started again.
        statuses = Counter()
        problems_ok = [True]
        stop = threading.Event()
        lock = threading.Lock()

        def load():
            end = time.monotonic() + 90
            while not stop.is_set() and time.monotonic() < end:
                status, headers, reply = request("GET", f"{base}/api/v1/municipalities?limit=20",
                                                 timeout=20)
                with lock:
                    statuses[status] += 1
                    if status == 503 and not (
                        headers.get("Content-Type", "").startswith("application/problem+json")
                        and reply and reply.get("status") == 503):
                        problems_ok[0] = False
                time.sleep(0.01)

        workers = [threading.Thread(target=load) for _ in range(4)]
        for w in workers:
            w.start()
        time.sleep(1)
        stopped_at = time.monotonic()
        pg.pg_ctl("stop")
        first_503 = None
        ready_503 = None
        while time.monotonic() - stopped_at < 30 and (first_503 is None or ready_503 is None):
            with lock:
                if first_503 is None and statuses[503]:
                    first_503 = time.monotonic() - stopped_at
            if ready_503 is None:
                status, headers, reply = request("GET", f"{base}/health/ready")
                if status == 503:
                    check(headers.get("Content-Type", "").startswith("application/problem+json"),
                          "/health/ready 503 is not problem+json")
                    ready_503 = time.monotonic() - stopped_at
            time.sleep(0.05)
        check(first_503 is not None, "no request failed with 503 within 30 s of the stop")
        check(ready_503 is not None, "/health/ready did not turn 503 within 30 s")
        print(f"database stopped: first 503 after {first_503:.2f} s, "
              f"/health/ready 503 after {ready_503:.2f} s")
        time.sleep(2)
        started_at = time.monotonic()
        pg.pg_ctl("start")
        recovered = None
        while time.monotonic() - started_at < 60:
            if (request("GET", f"{base}/health/ready")[0] == 200
                    and request("GET", f"{base}/api/v1/municipalities/0301")[0] == 200):
                recovered = time.monotonic() - started_at
                break
            time.sleep(0.1)
        time.sleep(1)
        stop.set()
        for w in workers:
            w.join(30)
        check(recovered is not None, "the server did not recover within 60 s")
        check(server.poll() is None, "the server process exited")
        print(f"database started again: answering 200 after {recovered:.2f} s, same process "
              f"(pid {server.pid})")
        print(f"requests under load: {dict(statuses)}")
        check(statuses[500] == 0, "a request failed with 500 instead of 503")
        check(set(statuses) <= {200, 503}, f"unexpected statuses {dict(statuses)}")
        check(problems_ok[0], "a 503 was not a problem+json body")
        print("concurrency and faults: all checks passed")
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        pg.remove()


if __name__ == "__main__":
    main()
