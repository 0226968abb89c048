#!/usr/bin/env bash
# Loads a release build of the API with wrk and prints, per endpoint and database, requests
# per second, p50 and p99 latency, the ratio to GET /health/live measured in the same run,
# the ratio to a FastAPI + SQLAlchemy peer (bench/peer_fastapi.py, on the same database kind,
# loaded in the same run) where it serves the same read, the items on each page, and the
# server's peak memory; then seeds 50,000 locations to show how search latency grows with the
# data. Writes bench/RESULTS.md.
#
#   bash bench/run.sh            # SQLite and PostgreSQL (needs PostgreSQL on 127.0.0.1:5432)
#   DURATION=10 SCALE=0 bash bench/run.sh
#   DURATION=3 REPEAT=1 SCALE=0 PEER=0 bash bench/run.sh   # a quick look while working
#
# The peer runs in its own virtual environment, made once under target/bench-peer (needs
# python3 with venv and pip, and network access the first time).
# The load generator shares the machine's cores with the server, as in the targets.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}      # seconds per load run
REPEAT=${REPEAT:-3}           # load runs per endpoint; the table shows their medians
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
LOCATIONS=${LOCATIONS:-2000}
SCALE=${SCALE:-50000}         # 0 skips the growth run
PORT=${PORT:-18990}
PEER=${PEER:-1}               # 0 skips the FastAPI peer
PEER_PORT=${PEER_PORT:-18991}
# A weekday noon in Oslo: inside the weekly hours bench/seed.py gives every location.
OPEN_AT=${OPEN_AT:-2026-12-08T11:00:00Z}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
SECRET=bench-secret-that-is-at-least-32-characters
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
RESULTS=bench/RESULTS.md
trap 'kill $SERVER_PID $PEER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVER_PID=
PEER_PID=
PEER_VENV=target/bench-peer

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
echo "building the release binary..." >&2
cargo build --release -q -p digihjelpen
BIN=target/release/digihjelpen
if [[ $PEER == 1 && ! -x $PEER_VENV/bin/uvicorn ]]; then
  echo "installing the FastAPI peer in $PEER_VENV..." >&2
  python3 -m venv "$PEER_VENV"
  "$PEER_VENV/bin/pip" install -q fastapi uvicorn 'sqlalchemy[asyncio]' aiosqlite asyncpg
fi

start_server() { # $1 = DATABASE_URL
  # No per-client rate: the seeding and wrk are one client sending far more than a person.
  DATABASE_URL=$1 DIGIHJELPEN_LISTEN=127.0.0.1:$PORT DIGIHJELPEN_JWT_SECRET=$SECRET RUST_LOG=warn \
    DIGIHJELPEN_EDGE_RATE_PER_MINUTE=off "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf "$BASE/health/ready" >/dev/null && return 0
    sleep 0.1
  done
  cat "$WORK/server.log" >&2
  exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}

start_peer() { # $1 = SQLAlchemy database URL, $2 = uvicorn workers
  (cd bench && PEER_DB=$1 exec "../$PEER_VENV/bin/uvicorn" peer_fastapi:app --workers "$2" \
    --port "$PEER_PORT" --log-level warning >"$WORK/peer.log" 2>&1) &
  PEER_PID=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$PEER_PORT/locations?limit=1" >/dev/null && return 0
    sleep 0.1
  done
  cat "$WORK/peer.log" >&2
  exit 1
}

stop_peer() {
  kill "$PEER_PID" 2>/dev/null || true
  wait "$PEER_PID" 2>/dev/null || true
  PEER_PID=
}

fresh_postgres() { # $1 = database name; prints its URL
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
  psql "$PG_ADMIN" -qc "CREATE DATABASE $1" >/dev/null
  echo "postgres://postgres@127.0.0.1:5432/$1?sslmode=disable"
}

token() {
  DIGIHJELPEN_JWT_SECRET=$SECRET "$BIN" token --role ks --sub bench
}

# wrk's Lua script: requests spread over the seeded ids.
by_id_script() { # $1 = ids file, $2 = path suffix after the id, $3 = path before it
  {
    echo "ids = {}"
    while read -r id; do echo "ids[#ids+1] = \"$id\""; done <"$1"
    echo "request = function() return wrk.format(nil, \"${3:-/api/v1/locations/}\" .. ids[math.random(#ids)] .. \"$2\") end"
  } >"$WORK/by_id.lua"
  echo "$WORK/by_id.lua"
}

# Prints "rps p50_ms p99_ms" for one load run.
load() { # $1 = path or "script:FILE", $2 = base URL (default the API's)
  local out base=${2:-$BASE}
  if [[ $1 == script:* ]]; then
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "${1#script:}" "$base")
  else
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$base$1")
  fi
  if grep -q "Non-2xx" <<<"$out"; then
    echo "non-2xx responses for $1:" >&2
    echo "$out" >&2
    exit 1
  fi
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.2f %.2f\n", rps, p50, p99 }' <<<"$out"
}

# Prints the median of each column of "rps p50_ms p99_ms" over $REPEAT load runs.
load_median() { # $1, $2 as for load
  local runs=() run
  for _ in $(seq 1 "$REPEAT"); do
    run=$(load "$1" "${2:-}") || exit 1
    runs+=("$run")
  done
  printf '%s\n' "${runs[@]}" | python3 -c '
import statistics, sys
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
rps, p50, p99 = (statistics.median(column) for column in zip(*rows))
print(f"{rps:.0f} {p50:.2f} {p99:.2f}")'
}

peak_memory_mb() {
  awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVER_PID/status"
}

# The items on the page a path answers (the first id for a by-id script), or "1" for one
# resource.
items() { # $1 = path, or "script:FILE" with $2 = a path the script asks
  local path=$1
  [[ $path == script:* ]] && path=$2
  curl -sf "$BASE$path" | python3 -c '
import json, sys
body = json.load(sys.stdin)
print(len(body["items"]) if isinstance(body, dict) and "items" in body else
      len(body["days"]) if isinstance(body, dict) and "days" in body else 1)'
}

# The peer's figures for the reads it serves, as "rps" per key, in $WORK/peer-KEY.
run_peer() { # $1 = SQLAlchemy database URL
  rm -f "$WORK"/peer-*
  [[ $PEER == 1 ]] || return 0
  # One worker creates and seeds its table; then the two workers of the measured setup.
  start_peer "$1" 1
  stop_peer
  start_peer "$1" 2
  local peer_base=http://127.0.0.1:$PEER_PORT script
  seq 1 200 | python3 -c 'import sys, uuid; [print(uuid.UUID(int=int(n))) for n in sys.stdin]' >"$WORK/peer-ids"
  script=$(by_id_script "$WORK/peer-ids" "" /locations/)
  cp "$script" "$WORK/peer-get.lua"
  echo "loading the peer..." >&2
  load_median /health/live "$peer_base" >"$WORK/peer-floor"
  load_median "script:$WORK/peer-get.lua" "$peer_base" >"$WORK/peer-get"
  load_median "/locations?limit=50" "$peer_base" >"$WORK/peer-list"
  stop_peer
}

peer_ratio() { # $1 = key, $2 = our rps
  [[ -s $WORK/peer-$1 ]] || { echo "—"; return; }
  local peer
  read -r peer _ <"$WORK/peer-$1"
  printf '%.1f× (%s req/s)' "$(echo "$2 / $peer" | bc -l)" "$peer"
}

run_database() { # $1 = label, $2 = DATABASE_URL, $3 = the peer's database URL
  local label=$1 url=$2
  run_peer "$3"
  start_server "$url"
  echo "seeding $LOCATIONS locations on $label..." >&2
  python3 bench/seed.py "$BASE" "$(token)" "$LOCATIONS" "$WORK/ids"
  local script schedule_script first
  first=$(head -1 "$WORK/ids")
  script=$(by_id_script "$WORK/ids" "")
  cp "$script" "$WORK/get.lua"
  schedule_script=$(by_id_script "$WORK/ids" "/schedule?from=2026-12-01&to=2026-12-31")
  cp "$schedule_script" "$WORK/schedule.lua"

  local floor
  floor=$(load_median /health/live)
  local floor_rps=${floor%% *}
  printf '| %s | `GET /health/live` (floor) | | %s | %s | %s | 1.00 | %s |\n' "$label" $floor \
    "$(peer_ratio floor "$floor_rps")" >>"$WORK/table"
  for endpoint in \
    "GET /locations/{id}|script:$WORK/get.lua|/api/v1/locations/$first|get" \
    "GET /locations?limit=50|/api/v1/locations?limit=50||list" \
    "GET /locations?county=46&limit=50|/api/v1/locations?county=46&limit=50||" \
    "GET /locations?near=59.91,10.75&radius_km=10&open_at=$OPEN_AT|/api/v1/locations?near=59.91,10.75&radius_km=10&open_at=$OPEN_AT||" \
    "GET /locations/{id}/schedule (31 days)|script:$WORK/schedule.lua|/api/v1/locations/$first/schedule?from=2026-12-01&to=2026-12-31|"; do
    local name target sample peer_key figures count
    IFS='|' read -r name target sample peer_key <<<"$endpoint"
    count=$(items "$target" "$sample")
    echo "loading $name on $label ($count items)..." >&2
    figures=$(load_median "$target")
    read -r rps p50 p99 <<<"$figures"
    printf '| %s | `%s` | %s | %s | %s | %s | %.2f | %s |\n' "$label" "$name" "$count" "$rps" "$p50" "$p99" \
      "$(echo "$rps / $floor_rps" | bc -l)" "$(if [[ -n $peer_key ]]; then peer_ratio "$peer_key" "$rps"; else echo "—"; fi)" >>"$WORK/table"
  done
  echo "| $label | peak server memory | | $(peak_memory_mb) MB | | | | |" >>"$WORK/table"
  stop_server
}

# Search latency as the data grows: the same queries on $LOCATIONS and on $SCALE locations.
growth() { # $1 = label, $2 = DATABASE_URL, $3 = count
  start_server "$2"
  echo "seeding $3 locations on $1..." >&2
  python3 bench/seed.py "$BASE" "$(token)" "$3" "$WORK/ids-growth"
  for query in "/api/v1/locations?county=46&limit=50" "/api/v1/locations?near=59.91,10.75&radius_km=10&open_at=$OPEN_AT" "/api/v1/locations?q=bibliotek&limit=50" "/api/v1/locations?q=tromso&limit=50"; do
    local count
    count=$(items "$query")
    read -r rps p50 p99 <<<"$(DURATION=5 load "$query")"
    printf '| %s | %s | `%s` | %s | %s | %s | %s |\n' "$1" "$3" "${query#/api/v1}" "$count" "$rps" "$p50" "$p99" >>"$WORK/growth"
  done
  stop_server
}

: >"$WORK/table"
: >"$WORK/growth"
run_database SQLite "sqlite://$WORK/bench.db?mode=rwc" "sqlite+aiosqlite:///$WORK/peer.db"
peer_pg=$(fresh_postgres dh_bench_peer)
run_database PostgreSQL "$(fresh_postgres dh_bench)" "postgresql+asyncpg://$(sed -e 's|^postgres://||' -e 's|?.*||' <<<"$peer_pg")"
if [[ $SCALE -gt 0 ]]; then
  growth SQLite "sqlite://$WORK/small.db?mode=rwc" "$LOCATIONS"
  growth SQLite "sqlite://$WORK/large.db?mode=rwc" "$SCALE"
  growth PostgreSQL "$(fresh_postgres dh_bench_small)" "$LOCATIONS"
  growth PostgreSQL "$(fresh_postgres dh_bench_large)" "$SCALE"
fi

{
  echo "# Benchmark results"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(awk '/model name/ {sub(/.*: /, ""); print; exit}' /proc/cpuinfo)),"
  echo "wrk and the server on the same machine: \`wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s\`, $LOCATIONS seeded locations;"
  echo "each figure is the median of $REPEAT runs, and each ratio divides by the floor's median from the same server."
  echo "The peer is bench/peer_fastapi.py (FastAPI + SQLAlchemy async, 2 uvicorn workers) on the same kind of database,"
  echo "loaded just before the API in the same run; \"to peer\" divides the API's req/s by the peer's for the same read."
  echo "The \`open_at\` of the near row is $OPEN_AT, inside the seeded weekly hours; \"items\" counts the page (days for a schedule)."
  echo "Reproduce with \`bash bench/run.sh\` (release build; PostgreSQL on 127.0.0.1:5432)."
  echo
  echo "| database | endpoint | items | req/s | p50 ms | p99 ms | ratio to floor | to peer |"
  echo "|---|---|---|---|---|---|---|---|"
  cat "$WORK/table"
  if [[ -s $WORK/growth ]]; then
    echo
    echo "## Search latency as the data grows ($LOCATIONS and $SCALE locations, 5 s each)"
    echo
    echo "| database | locations | query | items | req/s | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|---|---|"
    cat "$WORK/growth"
  fi
} >"$RESULTS"
cat "$RESULTS"
