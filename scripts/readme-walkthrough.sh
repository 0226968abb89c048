#!/usr/bin/env bash
# Runs the README's curl walk-through as printed against a fresh server and fails unless every
# request is answered as the README says: all 2xx, except the one stale If-Match it shows (412).
#
#   bash scripts/readme-walkthrough.sh target/debug/digihjelpen
#
# Needs curl, jq and python3. The README's `cargo run --release -q -- ...` lines run the given
# binary instead, so the check needs no second build.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=$(realpath "${1:?usage: readme-walkthrough.sh path/to/digihjelpen}")
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export DATABASE_URL="sqlite://$WORK/walkthrough.db?mode=rwc"
export DIGIHJELPEN_LISTEN=127.0.0.1:$PORT
export DIGIHJELPEN_JWT_SECRET=walkthrough-secret-of-at-least-32-characters
export RUST_LOG=warn
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break
  sleep 0.1
done

# The shell blocks of the walk-through section, pointed at this server's port.
awk '/^## A walk-through with curl/ { on = 1; next } /^## / { on = 0 }
     on && /^```sh/ { code = 1; next } on && /^```/ { code = 0; next } on && code' README.md |
  sed "s/127\.0\.0\.1:8080/127.0.0.1:$PORT/g" >"$WORK/walkthrough.sh"

cat >"$WORK/run.sh" <<EOF
set -euo pipefail
cargo() { shift 4; "$BIN" "\$@"; }   # cargo run --release -q -- ARGS
curl() { command curl -w '%{stderr}%{http_code} %{method} %{url_effective}\n' "\$@"; }
source "$WORK/walkthrough.sh"
EOF
bash "$WORK/run.sh" >"$WORK/out.log" 2>"$WORK/codes.log" || {
  cat "$WORK/out.log" "$WORK/codes.log" >&2
  echo "the walk-through stopped with an error" >&2
  exit 1
}

requests=$(grep -cE '^[0-9]{3} ' "$WORK/codes.log")
oslo_patches=$(awk -v url="http://127.0.0.1:$PORT/api/v1/municipalities/0301" \
  '$2 == "PATCH" && $3 == url { printf "%s%s", sep, $1; sep = " " }' "$WORK/codes.log")
others=$(grep -E '^[0-9]{3} ' "$WORK/codes.log" | grep -v " PATCH http://127.0.0.1:$PORT/api/v1/municipalities/0301$" |
  grep -vE '^2[0-9]{2} ' || true)
if [[ $oslo_patches != "200 412" || -n $others ]]; then
  cat "$WORK/codes.log" >&2
  echo "expected Oslo's PATCH to succeed and its stale repeat to get 412, and every other request to succeed" >&2
  exit 1
fi
echo "README walk-through: $requests requests answered as printed (the stale If-Match got its 412)"
