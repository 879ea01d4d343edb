#!/usr/bin/env bash
# API conformance: schemathesis runs every check against the server's own /openapi.json, once per kind of caller
# (anonymous, visitor, agent, admin). Any failure fails the script.
#
#   bash scripts/conformance.sh            # uses CHATFLOW_SERVER_BIN or target/debug/chatflow-server (built if missing)
#   ST_MAX_EXAMPLES=50 bash scripts/conformance.sh
#
# Reproducible: a fixed seed and deterministic generation, so a failure shows again on the next run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ST_VERSION=4.32.5
ST_SEED=${ST_SEED:-20261206}
ST_MAX_EXAMPLES=${ST_MAX_EXAMPLES:-20}

if ! command -v st >/dev/null 2>&1 || [[ "$(st --version 2>/dev/null)" != *"$ST_VERSION"* ]]; then
  echo "installing schemathesis $ST_VERSION with pip"
  python3 -m pip install --quiet "schemathesis==$ST_VERSION" ||
    python3 -m pip install --quiet --break-system-packages "schemathesis==$ST_VERSION"
fi

BIN=${CHATFLOW_SERVER_BIN:-$ROOT/target/debug/chatflow-server}
if [ ! -x "$BIN" ]; then
  cargo build --locked -p chatflow-server
  BIN=$ROOT/target/debug/chatflow-server
fi

WORK=$(mktemp -d)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

mkfifo "$WORK/out"
# Rate limits raised far above schemathesis's pace: it sends thousands of requests a minute, all from 127.0.0.1 and
# with one visitor token and one agent token, which the defaults (server/README.md, "Abuse limits") would refuse with 429 — documented in
# /openapi.json, but a refused valid request fails the check that valid data is accepted. The limits act in their own
# tests (server/tests/cases/limits*.rs); here every operation must reach its handler.
RAISED=1000000/1m
"$BIN" --db "$WORK/chatflow.db" --bind 127.0.0.1:0 --seed server/seeds/test.json \
  --limit-visitor-creates-per-address "$RAISED" --limit-visitor-creates-per-app "$RAISED" \
  --limit-identifies-per-address "$RAISED" --limit-sends-per-visitor "$RAISED" --limit-typing-per-visitor "$RAISED" \
  --limit-reads-per-visitor "$RAISED" --limit-kb-searches-per-visitor "$RAISED" \
  --limit-uploads-per-visitor "$RAISED" --limit-sends-per-app "$RAISED" --limit-agent-writes-per-agent "$RAISED" \
  >"$WORK/out" 2>"$WORK/server.log" &
SERVER_PID=$!
exec 3<"$WORK/out"
read -r -t 30 URL <&3 || { echo "the server did not start:"; cat "$WORK/server.log"; exit 1; }
# Keep draining the server's stdout so it never blocks on a full pipe.
cat <&3 >/dev/null &
URL=${URL##* }  # "listening on http://127.0.0.1:PORT"
URL=${URL%/}
echo "server at $URL"

new_visitor() {
  python3 - "$URL" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/v1/apps/app_acme/visitors", data=b"{}", method="POST",
                             headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["visitor_token"])
PY
}
VISITOR_TOKEN=$(new_visitor)

# GET /v1/realtime and GET /v1/agent/feed are WebSocket upgrades: schemathesis sends plain HTTP requests, which these
# routes refuse with 400 by design, so it cannot exercise the sockets. They have their own tests
# (server/tests/cases/realtime.rs, agent_feed.rs); every other operation is tested.
# Upload chunks are raw bytes in a media type schemathesis cannot generate by itself: the hooks file gives it one.
export SCHEMATHESIS_HOOKS="$ROOT/scripts/conformance_hooks.py"
run_st() {
  local who=$1
  shift
  echo "==> schemathesis as $who"
  # From the temp directory: schemathesis keeps a cache (.schemathesis/) in its working directory.
  # One worker per run: with two, hypothesis (6.170) sometimes fails inside its own lambda descriptions ("AST
  # constructor recursion depth mismatch"), a runtime error that is not the server's.
  (cd "$WORK" && st --config-file "$ROOT/scripts/conformance.toml" run "$URL/openapi.json" --checks all "$@" \
    --exclude-path /v1/realtime --exclude-path /v1/agent/feed \
    --phases examples,coverage,fuzzing --max-examples "$ST_MAX_EXAMPLES" -w 1 \
    --seed "$ST_SEED" --generation-deterministic --request-timeout 10 \
    --no-color)
}

# Two runs at a time (one Python process uses about one core); each group's output is printed when it ends.
group_public() {
  run_st anonymous || echo anonymous >>"$WORK/failed"
  # DELETE /v1/visitor ends the visitor's session: it runs alone, with a second visitor, so that the other
  # operations keep a valid token.
  run_st visitor -H "Authorization: Bearer $VISITOR_TOKEN" --exclude-operation-id delete_visitor ||
    echo visitor >>"$WORK/failed"
  run_st "visitor (deletion)" -H "Authorization: Bearer $DELETED_VISITOR_TOKEN" --include-operation-id delete_visitor ||
    echo "visitor (deletion)" >>"$WORK/failed"
}
group_staff() {
  run_st agent -H "Authorization: Bearer cfg_acme_alice_test_token" || echo agent >>"$WORK/failed"
  run_st admin -H "Authorization: Bearer cfa_acme_admin_test_token" || echo admin >>"$WORK/failed"
}
DELETED_VISITOR_TOKEN=$(new_visitor)
touch "$WORK/failed"
group_public >"$WORK/public.log" 2>&1 &
public_pid=$!
group_staff >"$WORK/staff.log" 2>&1 &
staff_pid=$!
wait "$public_pid" "$staff_pid" || true
cat "$WORK/public.log" "$WORK/staff.log"
mapfile -t failed <"$WORK/failed"

if [ ${#failed[@]} -gt 0 ]; then
  echo "conformance failures for: ${failed[*]}"
  exit 1
fi
echo "conformance: no failures for any caller"
