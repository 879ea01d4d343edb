#!/usr/bin/env bash
# The demo (README quick start): starts the reference server with the demo seed on a free loopback port and runs the
# `chatflow` sample app (sample-apps/cli) against it.
#
#   bash scripts/demo.sh                 # stdin is a terminal: interactive chat; otherwise: the scripted tour
#   bash scripts/demo.sh tour            # force the scripted tour
#   bash scripts/demo.sh chat --tag billing   # force the chat; arguments after the mode go to `chatflow <mode>`
#
# Seed: server/seeds/demo.json when it exists, else server/seeds/test.json (override with CHATFLOW_DEMO_SEED=FILE).
# Needs only cargo and a POSIX shell toolbox: binaries are found from cargo's own JSON output, the SDK config is
# written by `chatflow demo-config`, and the agent's replies go through `chatflow agent-reply` (no curl, no jq).
# Everything lives in a temp directory removed at exit (CHATFLOW_DEMO_KEEP=1 keeps it); the server is stopped at
# exit, on Ctrl-C and on errors. CHATFLOW_SERVER_BIN + CHATFLOW_CLI_BIN (both) use prebuilt binaries instead of building.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/lib/server.sh
source "$ROOT/scripts/lib/server.sh"

MODE=auto
case "${1:-}" in
  tour|chat) MODE=$1; shift ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
esac
if [[ $MODE == auto ]]; then
  if [[ -t 0 && -t 1 ]]; then MODE=chat; else MODE=tour; fi
fi

SEED=${CHATFLOW_DEMO_SEED:-}
if [[ -z $SEED ]]; then
  if [[ -f server/seeds/demo.json ]]; then SEED=server/seeds/demo.json; else SEED=server/seeds/test.json; fi
fi
[[ -f $SEED ]] || { echo "demo: seed file $SEED not found" >&2; exit 1; }
SEED=$(cd "$(dirname "$SEED")" && pwd)/$(basename "$SEED")

TMP=$(mktemp -d "${TMPDIR:-/tmp}/chatflow-demo.XXXXXX")
SERVER_PID=
cleanup() {
  local code=$?
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ $code -ne 0 && -f $TMP/server.log ]]; then
    echo "demo: failed (exit $code); server log: $TMP/server.log" >&2
    CHATFLOW_DEMO_KEEP=1
  fi
  if [[ ${CHATFLOW_DEMO_KEEP:-0} == 1 ]]; then
    echo "demo: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
[[ -t 2 ]] || say() { printf '==> %s\n' "$*" >&2; }

if [[ -n ${CHATFLOW_SERVER_BIN:-} && -n ${CHATFLOW_CLI_BIN:-} ]]; then
  # Prebuilt binaries (tests, CI): no build.
  SERVER_BIN=$CHATFLOW_SERVER_BIN
  CLI_BIN=$CHATFLOW_CLI_BIN
else
  say "building chatflow-server and chatflow (cargo build; the first build takes a few minutes)"
  # Compiler diagnostics are rendered on stderr; stdout carries cargo's JSON, which names the executables. Two
  # builds, not one: building both packages at once would unify their dependencies' features and rebuild those
  # dependencies whenever the tests (which build each package alone) run next.
  cargo build -p chatflow-server --message-format=json-render-diagnostics >"$TMP/build.json"
  cargo build -p chatflow-cli --message-format=json-render-diagnostics >>"$TMP/build.json"
  executable() {
    grep -o "\"executable\":\"[^\"]*/$1\"" "$TMP/build.json" | tail -n1 | sed 's/^"executable":"//; s/"$//'
  }
  SERVER_BIN=$(executable chatflow-server)
  CLI_BIN=$(executable chatflow)
fi
[[ -x $SERVER_BIN && -x $CLI_BIN ]] || { echo "demo: no chatflow-server / chatflow executable ($SERVER_BIN, $CLI_BIN)" >&2; exit 1; }

say "starting the reference server (seed ${SEED#"$ROOT"/})"
start_server "$SERVER_BIN" "$TMP/server.db" "$SEED" "$TMP" || { echo "demo: the server did not start:" >&2; cat "$TMP/server.log" >&2; exit 1; }

"$CLI_BIN" demo-config --server-url "$URL" --seed "$SEED" --out "$TMP/chatflow.json"
export CHATFLOW_CONFIG=$TMP/chatflow.json
export CHATFLOW_DATA_DIR=$TMP/data
say "server on $URL · SDK config $CHATFLOW_CONFIG · SDK data $CHATFLOW_DATA_DIR"

# The web inbox and the first seeded agent that can sign in (an `email` and a `password` in the seed; the demo seed
# gives Camille of Trailmate both). Plain text tools: the seed keeps an agent's fields on their own lines.
seed_field() { grep -o "\"$1\": *\"[^\"]*\"" "$SEED" | head -n1 | sed 's/^[^:]*: *"//; s/"$//'; }
AGENT_EMAIL=$(seed_field email || true)
AGENT_PASSWORD=$(seed_field password || true)
if [[ -n $AGENT_EMAIL && -n $AGENT_PASSWORD ]]; then
  say "web inbox: $URL/inbox/ · sign in as $AGENT_EMAIL / $AGENT_PASSWORD"
else
  say "web inbox: $URL/inbox/ (this seed has no agent with an email and a password: create one with POST /v1/admin/agents)"
fi

if [[ $MODE == chat ]]; then
  cat >&2 <<EOF
    To answer as the support team, open $URL/inbox/ in a browser and sign in as $AGENT_EMAIL, or run in another terminal:
      CHATFLOW_CONFIG=$CHATFLOW_CONFIG CHATFLOW_DATA_DIR=$TMP/agent $CLI_BIN agent-reply --seed $SEED --typing-ms 1500 "Hello from the team!"
    In the chat: /help lists commands (/pause and /resume simulate going offline), /quit leaves.
    Other chatflows: bash scripts/demo.sh chat --tag TAG (\`chatflow explain\` lists the tags).

EOF
  "$CLI_BIN" chat "$@"
else
  "$CLI_BIN" tour --seed "$SEED" "$@"
fi
