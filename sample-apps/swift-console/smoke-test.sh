#!/usr/bin/env bash
# Smoke test of chatflow-console (the Swift terminal chat) against the real server, typed as a person would.
#
#   sample-apps/swift-console/smoke-test.sh
#
# 1. Builds: scripts/bindings.sh generate (host), then `swift build` of the sample in the Swift chroot.
# 2. Starts chatflow-server on the host (build/bindings/host/chatflow-server, or CHATFLOW_SERVER_BIN) on
#    127.0.0.1:0 with a temp database and server/seeds/demo.json. The app runs in the chroot, which shares the
#    host's network, so it reaches the server on 127.0.0.1; the temp directory (config, data dirs) is under
#    build/ because the chroot only sees the repository.
# 3. Writes the SDK config with `chatflow demo-config` (the CLI sample: target/debug/chatflow, or CHATFLOW_CLI_BIN;
#    `cargo build -p chatflow-cli` when missing) and answers as an agent with `chatflow agent-reply`.
# 4. Runs the app through run.sh with its stdin and stdout on FIFOs: each line is typed only after the output it
#    answers was seen. Chats: billing (consent, a message sent, agent typing + reply + "read", /pause, a message
#    written offline, /resume → sent once, /quit), the helper bot (it greets and asks first, /search finds an
#    article, a quick reply picked by number), a declined consent (nothing can be sent; end of input ends the app), and two fatal errors
#    (unknown tag, missing config) with their exit codes.
#
# Waits are bounded (SMOKE_TIMEOUT seconds per expected line, default 90); nothing asserts a duration. On failure
# the transcript and the server log are printed (SMOKE_TRANSCRIPT=1: the transcript on success too). The server, the app and the temp directory are always cleaned up.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/server.sh
source "$ROOT/scripts/lib/server.sh"
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")
SEED=$ROOT/server/seeds/demo.json
TIMEOUT=${SMOKE_TIMEOUT:-90}
SECONDS=0

say() { printf '[swift-console smoke] %s\n' "$*" >&2; }

# ----------------------------------------------------------------------------- build
say "building: scripts/bindings.sh generate, then swift build in the chroot"
scripts/bindings.sh generate >/dev/null
scripts/toolchains.sh swift-run "$ROOT" -- "swift build --package-path sample-apps/swift-console -Xlinker --allow-shlib-undefined"
SERVER_BIN=$ROOT/build/bindings/host/chatflow-server     # fresh from `bindings.sh generate`
if [[ -n ${CHATFLOW_SERVER_BIN:-} ]]; then
  if [[ -x $CHATFLOW_SERVER_BIN ]]; then SERVER_BIN=$CHATFLOW_SERVER_BIN
  else say "CHATFLOW_SERVER_BIN=$CHATFLOW_SERVER_BIN is not an executable: using $SERVER_BIN"; fi
fi
CLI_BIN=${CHATFLOW_CLI_BIN:-$TARGET_DIR/debug/chatflow}
if [[ ! -x $CLI_BIN ]]; then
  say "no chatflow CLI at $CLI_BIN: cargo build -p chatflow-cli"
  cargo build --locked -p chatflow-cli
fi
[[ -x $SERVER_BIN ]] || { say "error: no server binary at $SERVER_BIN"; exit 1; }

# ----------------------------------------------------------------------------- temp dir, cleanup
mkdir -p build
TMP=$(mktemp -d "$ROOT/build/swift-console-smoke.XXXXXX")
TRANSCRIPT=$TMP/transcript
SERVER_PID='' APP_PID='' MARK=0
: >"$TRANSCRIPT"

stop_app() {
  { exec 3>&- 4<&-; } 2>/dev/null || true
  [[ -n $APP_PID ]] || return 0
  # End of input makes the app leave; a hung app is stopped with its whole process group (it runs under setsid).
  for _ in $(seq 1 50); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
  kill -TERM -- "-$APP_PID" 2>/dev/null || true
  wait "$APP_PID" 2>/dev/null || true
  APP_PID=
}

cleanup() {
  local code=$?
  stop_app
  if [[ -n $SERVER_PID ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ $code -ne 0 ]]; then
    say "FAILED (exit $code). Transcript ('>' typed, '<' printed by the app):"
    cat "$TRANSCRIPT" >&2
    say "server log:"
    cat "$TMP/server.log" >&2 2>/dev/null || true
  elif [[ ${SMOKE_TRANSCRIPT:-0} == 1 ]]; then
    cat "$TRANSCRIPT" >&2
  fi
  rm -rf "$TMP"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { printf '!! %s\n' "$*" >>"$TRANSCRIPT"; say "error: $*"; exit 1; }

# ----------------------------------------------------------------------------- server + config
start_server "$SERVER_BIN" "$TMP/server.db" "$SEED" "$TMP" || fail "the server did not start"
"$CLI_BIN" demo-config --server-url "$URL" --seed "$SEED" --out "$TMP/chatflow.json" >/dev/null
say "server on $URL"

# The team's side: an agent reply (the agent reads, types, then answers) in the app's latest open conversation.
agent_reply() {
  CHATFLOW_CONFIG=$TMP/chatflow.json CHATFLOW_DATA_DIR=$TMP/agent \
    "$CLI_BIN" agent-reply --seed "$SEED" --typing-ms 300 "$@" >>"$TRANSCRIPT" 2>&1 || fail "agent-reply failed"
}

# ----------------------------------------------------------------------------- driving the app
# start_app ARGS...: the app on FIFOs; fd 3 types into it, fd 4 reads what it prints (stdout and stderr).
start_app() {
  printf '\n== chatflow-console %s\n' "$*" >>"$TRANSCRIPT"
  rm -f "$TMP/in" "$TMP/out"
  mkfifo "$TMP/in" "$TMP/out"
  SWIFT_CONSOLE_SKIP_BUILD=1 setsid -w "$HERE/run.sh" --config "$TMP/chatflow.json" "$@" <"$TMP/in" >"$TMP/out" 2>&1 &
  APP_PID=$!
  exec 3>"$TMP/in" 4<"$TMP/out"
}

# expect TEXT: reads the app's lines until one contains TEXT (earlier lines are kept in the transcript).
expect() {
  local deadline=$((SECONDS + TIMEOUT)) line left
  while true; do
    left=$((deadline - SECONDS))
    [[ $left -gt 0 ]] || fail "no line containing \"$1\" within ${TIMEOUT}s"
    if IFS= read -r -t "$left" -u 4 line; then
      printf '< %s\n' "$line" >>"$TRANSCRIPT"
      [[ $line == *"$1"* ]] && return 0
    else
      [[ $? -gt 128 ]] && continue   # timed out: the loop reports it
      fail "the app ended before printing a line containing \"$1\""
    fi
  done
}

# Events race each other (the connection coming back vs. a delivery, a read marker vs. typing): `mark` starts a
# window, and `saw TEXT` accepts a line printed in it already, else waits for one.
mark() { MARK=$(wc -l <"$TRANSCRIPT"); }
saw() {
  tail -n "+$((MARK + 1))" "$TRANSCRIPT" | grep '^< ' | grep -qF -- "$1" || expect "$1"
}

type_line() { printf '> %s\n' "$1" >>"$TRANSCRIPT"; printf '%s\n' "$1" >&3; }

# finish CODE: the app must exit with CODE once its input is closed (after /quit, or as the end of input).
finish() {
  local line code=0
  exec 3>&-
  while true; do
    if IFS= read -r -t "$TIMEOUT" -u 4 line; then
      printf '< %s\n' "$line" >>"$TRANSCRIPT"
    else
      [[ $? -gt 128 ]] && fail "the app did not exit within ${TIMEOUT}s of the end of its input"
      break
    fi
  done
  exec 4<&-
  wait "$APP_PID" || code=$?
  APP_PID=
  printf '== exit %s\n' "$code" >>"$TRANSCRIPT"
  [[ $code -eq $1 ]] || fail "the app exited with $code, expected $1"
}

# ----------------------------------------------------------------------------- 1. billing: consent, agent, offline
say "chat 1: billing — consent, a message sent, the agent's reply, offline and back"
start_app --tag billing --data-dir "$TMP/visitor"
expect "chatflow: Billing"
expect "I agree? [y/n]"
type_line "y"
expect "consent recorded"
type_line "my invoice shows the wrong plan"
expect "… queued"
expect "✓ sent #"
mark
agent_reply "Sorry about that, I am fixing your invoice now."
expect ": Sorry about that, I am fixing your invoice now."
saw "✓✓ read #"
saw "is typing…"
type_line "/pause"
expect "○ offline"
type_line "written while offline"
expect "queued: sent when back online"
mark
type_line "/resume"
expect "✓ sent #"
saw "● online"
type_line "/history"
expect "you: written while offline  [sent]"
type_line "/quit"
expect "bye"
finish 0

# ----------------------------------------------------------------------------- 2. the bot: search, quick replies
say "chat 2: the helper bot — it greets first; /search finds an article; a quick reply picked by number"
start_app --tag helper --data-dir "$TMP/visitor"
expect "chatflow: Trailmate helper"
expect "What do you need help with?"
expect "4) Something else"
type_line "/search offline maps"
expect "articles on this device"
expect "Download offline maps"
mark
type_line "1"
expect "Offline maps come with Premium"
saw "you: Offline maps"
saw "✓ sent #"
type_line "/quit"
expect "bye"
finish 0

# ----------------------------------------------------------------------------- 3. declined consent, end of input
say "chat 3: consent declined — nothing can be sent; the end of input ends the app"
start_app --tag billing --data-dir "$TMP/visitor2"
expect "I agree? [y/n]"
type_line "n"
expect "Declined: no message can be sent"
type_line "can I still write?"
expect "no message can be sent (/consent to change)"
finish 0

# ----------------------------------------------------------------------------- 4. fatal errors
say "fatal errors: unknown tag (exit 7), missing config (exit 3)"
start_app --tag no-such-tag --data-dir "$TMP/visitor"
expect "error: no enabled chatflow carries the tag \`no-such-tag\`; tags that exist:"
finish 7
start_app --config "$TMP/missing.json"
expect "error: config file"
finish 3

say "passed in ${SECONDS}s"
