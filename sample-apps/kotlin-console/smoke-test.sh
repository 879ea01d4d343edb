#!/usr/bin/env bash
# Smoke test of the Kotlin console chat, run by the project's test command.
#
# Starts the real chatflow-server on 127.0.0.1:0 with a temp database and server/seeds/demo.json, writes the SDK
# config with `chatflow demo-config`, then types into the app through a FIFO as a person would, waiting for each
# answer before the next line:
#   1. errors: a missing config file (exit 3), an unknown tag (exit 7)
#   2. tag `billing` (explicit consent, live chat): consent y → a message queued then sent → the agent's reply
#      (posted with `chatflow agent-reply`, typing first) and "seen" → /search says there is no knowledge base →
#      /pause, a message queued offline, /resume → sent → /history → /quit exits 0
#   3. tag `helper` (bot, knowledge base): a message → the bot's question → quick reply 1 picked by number → the
#      bot's answer → /search finds the article → /quit exits 0
# Waits are bounded polls (SMOKE_TIMEOUT seconds each, default 60); nothing asserts a duration. On failure the
# transcripts and the server log are printed. The server is stopped and the temp directory removed in every case.
#
# Environment: CARGO_TARGET_DIR, CHATFLOW_SERVER_BIN (default build/bindings/host/chatflow-server),
# CHATFLOW_CLI_BIN (default: cargo build -p chatflow-cli), SMOKE_TIMEOUT, SMOKE_KEEP=1 keeps the temp directory.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/server.sh
source "$ROOT/scripts/lib/server.sh"
SEED=$ROOT/server/seeds/demo.json
TIMEOUT=${SMOKE_TIMEOUT:-60}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kotlin-console-smoke.XXXXXX")
SERVER_PID=
APP_PID=
OUT=
SECONDS=0

say() { printf '[smoke] %s\n' "$*" >&2; }

cleanup() {
  local code=$?
  { exec 3>&-; } 2>/dev/null || true
  if [[ -n $APP_PID ]] && kill -0 "$APP_PID" 2>/dev/null; then kill "$APP_PID" 2>/dev/null || true; fi
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $code -ne 0 ]]; then
    local f
    for f in "$TMP"/*.out "$TMP"/*.err "$TMP/server.log"; do
      [[ -s $f ]] || continue
      printf '\n----- %s -----\n' "${f#"$TMP"/}" >&2
      cat "$f" >&2
    done
    say "FAILED (exit $code) after ${SECONDS}s"
  fi
  if [[ ${SMOKE_KEEP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { say "FAIL: $*"; exit 1; }

# ------------------------------------------------------------------------------------------------ build + server
say "building the app (sample-apps/kotlin-console/run.sh --build-only)"
"$HERE/run.sh" --build-only
SERVER_BIN=${CHATFLOW_SERVER_BIN:-$ROOT/build/bindings/host/chatflow-server}
CLI_BIN=${CHATFLOW_CLI_BIN:-}
if [[ -z $CLI_BIN ]]; then
  say "building the chatflow CLI (config + agent replies): cargo build -p chatflow-cli"
  cargo build --locked -p chatflow-cli --message-format=json-render-diagnostics >"$TMP/cli-build.json"
  CLI_BIN=$(grep -o '"executable":"[^"]*/chatflow"' "$TMP/cli-build.json" | tail -n1 | sed 's/^"executable":"//; s/"$//')
fi
[[ -x $SERVER_BIN ]] || fail "no server executable at $SERVER_BIN"
[[ -x $CLI_BIN ]] || fail "no chatflow CLI executable ($CLI_BIN)"
BUILT=$SECONDS

start_server "$SERVER_BIN" "$TMP/server.db" "$SEED" "$TMP" || fail "the server did not start"
"$CLI_BIN" demo-config --server-url "$URL" --seed "$SEED" --out "$TMP/chatflow.json" >/dev/null
export CHATFLOW_CONFIG=$TMP/chatflow.json CHATFLOW_DATA_DIR=$TMP/visitor
say "server on $URL"

# ------------------------------------------------------------------------------------------------ the driver
# start NAME ARGS...: the app reads a FIFO we keep open on fd 3; its output (and our typed lines, as "> …") go to
# $TMP/NAME.out, appended, so the transcript reads in order.
start() {
  local name=$1; shift
  OUT=$TMP/$name.out
  mkfifo "$TMP/$name.in"
  "$HERE/run.sh" "$@" <"$TMP/$name.in" >>"$OUT" 2>"$TMP/$name.err" &
  APP_PID=$!
  exec 3>"$TMP/$name.in"
  MARK=0
}

# enter LINE: marks the transcript, then types LINE and presses enter (later waits look at what came after it).
enter() {
  MARK=$(wc -l <"$OUT")
  printf '> %s\n' "$1" >>"$OUT"
  printf '%s\n' "$1" >&3
}

# expect TEXT: waits until TEXT (fixed string) is printed after the last typed line.
expect() {
  local deadline=$((SECONDS + TIMEOUT))
  until tail -n "+$((MARK + 1))" "$OUT" | grep -v '^> ' | grep -qF -- "$1"; do
    kill -0 "$APP_PID" 2>/dev/null || fail "the app exited while we waited for [$1]"
    ((SECONDS < deadline)) || fail "no [$1] within ${TIMEOUT}s"
    sleep 0.1
  done
}

# expect_anywhere TEXT: like expect, over the whole transcript: for events that race the typed lines (the connection
# may come online before or after the visitor's first message).
expect_anywhere() {
  local mark=$MARK
  MARK=0
  expect "$1"
  MARK=$mark
}

# quit: /quit, then the app must exit 0.
quit() {
  enter /quit
  exec 3>&-
  local code=0
  wait "$APP_PID" || code=$?
  APP_PID=
  [[ $code -eq 0 ]] || fail "/quit: exit code $code, expected 0"
}

# errors NAME EXPECTED_CODE TEXT ARGS...: the app must fail with that code and TEXT on stderr.
errors() {
  local name=$1 want=$2 text=$3 code=0; shift 3
  "$HERE/run.sh" "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err" || code=$?
  [[ $code -eq $want ]] || fail "$name: exit code $code, expected $want"
  grep -qF -- "$text" "$TMP/$name.err" || fail "$name: no [$text] on stderr"
}

# ------------------------------------------------------------------------------------------------ 1. errors
errors missing-config 3 "config file $TMP/missing.json: not found" --config "$TMP/missing.json"
errors unknown-tag 7 "no enabled chatflow carries the tag \`no-such-tag\`" --tag no-such-tag
say "ok: errors (missing config → 3, unknown tag → 7)"

# ------------------------------------------------------------------------------------------------ 2. live chat
start billing --tag billing
expect 'chatflow 6 “Billing”'
expect "Questions about Premium, payments or refunds?"
expect "I agree? [y/n]"
enter y
expect "consent recorded"
enter "Hi, I was charged twice for Premium"
expect "you: Hi, I was charged twice for Premium"
expect "  … queued"
expect "✓ sent #"
expect_anywhere "● online"   # typing is not stored: it only reaches a connected app
say "ok: consent accepted, message queued then sent"

REPLY="Sorry about that! I am refunding the second charge now."
CHATFLOW_DATA_DIR=$TMP/agent "$CLI_BIN" agent-reply --seed "$SEED" --typing-ms 500 "$REPLY" >"$TMP/agent-reply.out"
expect "Camille: $REPLY"
expect "Camille is typing…"
expect "✓✓ seen by the team"
say "ok: the agent's reply (typing, seen)"

enter "/search refund"
expect "this chatflow has no knowledge base"

enter /pause
expect "○ offline"
enter "Written while offline"
expect "queued: will be sent when back online"
enter /resume
expect "✓ sent #"
expect "● back online"
enter /history
expect "Written while offline"
quit
say "ok: offline message sent after /resume; /quit exits 0"

# ------------------------------------------------------------------------------------------------ 3. bot + KB
start helper --tag helper
expect 'chatflow 5 “Trailmate helper” (bot, en)'
enter "Hello"
expect "✓ sent #"
expect "[1] Offline maps"
enter 1
expect "you: Offline maps"
expect "Offline maps come with Premium"
say "ok: the bot's quick reply picked by number"
enter "/search offline maps"
expect "Download offline maps"
quit
say "ok: knowledge-base search; /quit exits 0"

say "passed in ${SECONDS}s (build ${BUILT}s, chat $((SECONDS - BUILT))s)"
