#!/usr/bin/env bash
# Loads a release build of the API with wrk and prints, per endpoint and database, requests
# per second, p50 and p99 latency, the ratio to GET /health/live measured in the same run,
# and the server's peak memory; then seeds 50,000 locations to show how search latency grows
# with the data. Writes bench/RESULTS.md.
#
#   bash bench/run.sh            # SQLite and PostgreSQL (needs PostgreSQL on 127.0.0.1:5432)
#   DURATION=10 SCALE=0 bash bench/run.sh
#
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
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
SECRET=bench-secret-that-is-at-least-32-characters
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
RESULTS=bench/RESULTS.md
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVER_PID=

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
echo "building the release binary..." >&2
cargo build --release -q -p digihjelpen
BIN=target/release/digihjelpen

start_server() { # $1 = DATABASE_URL
  DATABASE_URL=$1 DIGIHJELPEN_LISTEN=127.0.0.1:$PORT DIGIHJELPEN_JWT_SECRET=$SECRET RUST_LOG=warn \
    "$BIN" serve >"$WORK/server.log" 2>&1 &
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

fresh_postgres() { # $1 = database name; prints its URL
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
  psql "$PG_ADMIN" -qc "CREATE DATABASE $1" >/dev/null
  echo "postgres://postgres@127.0.0.1:5432/$1?sslmode=disable"
}

token() {
  DIGIHJELPEN_JWT_SECRET=$SECRET "$BIN" token --role ks --sub bench
}

# wrk's Lua script: requests spread over the seeded ids.
by_id_script() { # $1 = ids file, $2 = path suffix after the id
  {
    echo "ids = {}"
    while read -r id; do echo "ids[#ids+1] = \"$id\""; done <"$1"
    echo "request = function() return wrk.format(nil, \"/api/v1/locations/\" .. ids[math.random(#ids)] .. \"$2\") end"
  } >"$WORK/by_id.lua"
  echo "$WORK/by_id.lua"
}

# Prints "rps p50_ms p99_ms" for one load run.
load() { # $1 = path or "script:FILE"
  local out
  if [[ $1 == script:* ]]; then
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "${1#script:}" "$BASE")
  else
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$BASE$1")
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
load_median() { # $1 as for load
  local runs=() run
  for _ in $(seq 1 "$REPEAT"); do
    run=$(load "$1") || exit 1
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

run_database() { # $1 = label, $2 = DATABASE_URL
  local label=$1 url=$2
  start_server "$url"
  echo "seeding $LOCATIONS locations on $label..." >&2
  python3 bench/seed.py "$BASE" "$(token)" "$LOCATIONS" "$WORK/ids"
  local script schedule_script
  script=$(by_id_script "$WORK/ids" "")
  cp "$script" "$WORK/get.lua"
  schedule_script=$(by_id_script "$WORK/ids" "/schedule?from=2026-12-01&to=2026-12-31")
  cp "$schedule_script" "$WORK/schedule.lua"

  local floor
  floor=$(load_median /health/live)
  local floor_rps=${floor%% *}
  printf '| %s | `GET /health/live` (floor) | %s | %s | %s | 1.00 |\n' "$label" $floor >>"$WORK/table"
  for endpoint in \
    "GET /locations/{id}|script:$WORK/get.lua" \
    "GET /locations?county=46&limit=50|/api/v1/locations?county=46&limit=50" \
    "GET /locations?near=59.91,10.75&radius_km=10&open_now=true|/api/v1/locations?near=59.91,10.75&radius_km=10&open_now=true" \
    "GET /locations/{id}/schedule (31 days)|script:$WORK/schedule.lua"; do
    local name=${endpoint%%|*} target=${endpoint#*|} figures
    echo "loading $name on $label..." >&2
    figures=$(load_median "$target")
    read -r rps p50 p99 <<<"$figures"
    printf '| %s | `%s` | %s | %s | %s | %.2f |\n' "$label" "$name" "$rps" "$p50" "$p99" \
      "$(echo "$rps / $floor_rps" | bc -l)" >>"$WORK/table"
  done
  echo "| $label | peak server memory | $(peak_memory_mb) MB | | | |" >>"$WORK/table"
  stop_server
}

# Search latency as the data grows: the same queries on $LOCATIONS and on $SCALE locations.
growth() { # $1 = label, $2 = DATABASE_URL, $3 = count
  start_server "$2"
  echo "seeding $3 locations on $1..." >&2
  python3 bench/seed.py "$BASE" "$(token)" "$3" "$WORK/ids-growth"
  for query in "/api/v1/locations?county=46&limit=50" "/api/v1/locations?near=59.91,10.75&radius_km=10&open_now=true" "/api/v1/locations?q=bibliotek&limit=50"; do
    read -r rps p50 p99 <<<"$(DURATION=5 load "$query")"
    printf '| %s | %s | `%s` | %s | %s | %s |\n' "$1" "$3" "${query#/api/v1}" "$rps" "$p50" "$p99" >>"$WORK/growth"
  done
  stop_server
}

: >"$WORK/table"
: >"$WORK/growth"
run_database SQLite "sqlite://$WORK/bench.db?mode=rwc"
run_database PostgreSQL "$(fresh_postgres dh_bench)"
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
  echo "Reproduce with \`bash bench/run.sh\` (release build; PostgreSQL on 127.0.0.1:5432)."
  echo
  echo "| database | endpoint | req/s | p50 ms | p99 ms | ratio to floor |"
  echo "|---|---|---|---|---|---|"
  cat "$WORK/table"
  if [[ -s $WORK/growth ]]; then
    echo
    echo "## Search latency as the data grows ($LOCATIONS and $SCALE locations, 5 s each)"
    echo
    echo "| database | locations | query | req/s | p50 ms | p99 ms |"
    echo "|---|---|---|---|---|---|"
    cat "$WORK/growth"
  fi
} >"$RESULTS"
cat "$RESULTS"
