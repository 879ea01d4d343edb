#!/usr/bin/env bash
# Builds what is missing or out of date, then runs the Kotlin console chat with the arguments given.
#
#   sample-apps/kotlin-console/run.sh --config chatflow.json --tag support    # run (arguments: --help)
#   sample-apps/kotlin-console/run.sh --demo [--tag billing]                  # against a fresh demo server
#   sample-apps/kotlin-console/run.sh --build-only                            # build, do not run
#
# --demo starts chatflow-server on a free loopback port with a temp database and server/seeds/demo.json, writes the
# SDK config with `chatflow demo-config` (cargo build -p chatflow-cli), prints how to answer as the team from a
# second terminal, runs the app, and stops the server and removes the temp directory when the chat ends.
#
# Build steps, each skipped when its output is newer than its inputs:
#   1. scripts/bindings.sh build      the Rust library + server (cargo: a no-op when nothing changed)
#   2. scripts/bindings.sh generate   the Kotlin bindings, when the library is newer than them
#   3. kotlinc                        bindings + facade -> build/kotlin/chatflow.jar (as scripts/bindings.sh does)
#   4. kotlinc                        this app -> build/kotlin-console/kotlin-console.jar
# Needs the Kotlin toolchain (scripts/toolchains.sh kotlin). Honours CARGO_TARGET_DIR like scripts/bindings.sh, and
# CHATFLOW_KOTLIN_CLASSES: a prebuilt bindings + facade jar used instead of step 3 (the test command passes the
# Android pipeline's classes.jar).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)   # no cd: relative paths in the arguments stay the caller's
HOST=$ROOT/build/bindings/host
GENERATED=$ROOT/build/bindings/kotlin
FACADE=${CHATFLOW_KOTLIN_CLASSES:-$ROOT/build/kotlin/chatflow.jar}
OUT=$ROOT/build/kotlin-console
APP=$OUT/kotlin-console.jar

say() { printf '[kotlin-console] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

eval "$("$ROOT/scripts/toolchains.sh" env)"
[[ -x $KOTLIN_HOME/bin/kotlinc ]] || die "no kotlinc in $KOTLIN_HOME: run 'scripts/toolchains.sh kotlin' first"
KOTLINC=$KOTLIN_HOME/bin/kotlinc
COROUTINES_JAR=$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar

# stale OUTPUT INPUT...: true when OUTPUT is missing or any file under the inputs is newer.
stale() {
  local output=$1; shift
  [[ ! -e $output ]] || [[ -n $(find "$@" -type f -newer "$output" -print -quit) ]]
}

# compile JAR SOURCES... (classpath in $CP): into a temp file first, so a failed build leaves no jar that looks fresh.
compile() {
  local jar=$1; shift
  mkdir -p "$(dirname "$jar")"
  "$KOTLINC" -jvm-target 17 -cp "$CP" "$@" -d "$jar.partial.jar"
  mv "$jar.partial.jar" "$jar"
}

build() {
  # Cargo's output only when it had work to do or failed (stdout stays the app's).
  [[ -e $HOST/libchatflow_ffi.so ]] || say "cargo build: the Rust library and server (the first build takes minutes)"
  local log
  log=$(mktemp)
  if ! "$ROOT/scripts/bindings.sh" build >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; die "scripts/bindings.sh build failed"
  fi
  grep -q 'Compiling' "$log" && cat "$log" >&2
  rm -f "$log"
  if stale "$GENERATED/io/chatflow/chatflow_ffi.kt" "$HOST/libchatflow_ffi.so"; then
    "$ROOT/scripts/bindings.sh" generate >&2
  fi
  if [[ -z ${CHATFLOW_KOTLIN_CLASSES:-} ]] && stale "$FACADE" "$GENERATED" "$ROOT/android/src/main/kotlin"; then
    say "kotlinc: generated bindings + facade -> build/kotlin/chatflow.jar (about 40 s)"
    # The facade's JVM build: src/main/kotlin only (src/androidMain needs the Android SDK).
    CP=$JNA_JAR:$COROUTINES_JAR compile "$FACADE" "$GENERATED" "$ROOT/android/src/main/kotlin"
  fi
  if stale "$APP" "$FACADE" "$HERE/src/main/kotlin"; then
    say "kotlinc: the console app -> build/kotlin-console/kotlin-console.jar"
    CP=$FACADE:$JNA_JAR:$COROUTINES_JAR compile "$APP" "$HERE/src/main/kotlin"
  fi
}

java_app() {
  java -Djna.library.path="$HOST" \
    -cp "$APP:$FACADE:$JNA_JAR:$COROUTINES_JAR:$KOTLIN_LIB/kotlin-stdlib.jar" \
    io.chatflow.sample.console.MainKt "$@"
}

demo() {
  local seed=$ROOT/server/seeds/demo.json tmp url="" line cli
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/kotlin-console-demo.XXXXXX")
  SERVER_PID=
  # shellcheck disable=SC2064  # expand now: the paths are fixed
  trap "[[ -n \$SERVER_PID ]] && kill \$SERVER_PID 2>/dev/null; wait 2>/dev/null; rm -rf '$tmp'" EXIT
  cli=${CHATFLOW_CLI_BIN:-}
  if [[ -z $cli ]]; then
    say "cargo build -p chatflow-cli (writes the demo config, answers as the team)"
    (cd "$ROOT" && cargo build --locked -p chatflow-cli --message-format=json-render-diagnostics) >"$tmp/cli-build.json"
    cli=$(grep -o '"executable":"[^"]*/chatflow"' "$tmp/cli-build.json" | tail -n1 | sed 's/^"executable":"//; s/"$//')
  fi
  "$HOST/chatflow-server" --db "$tmp/server.db" --bind 127.0.0.1:0 --seed "$seed" >"$tmp/server.out" 2>"$tmp/server.log" &
  SERVER_PID=$!
  for _ in $(seq 1 600); do
    line=$(head -n1 "$tmp/server.out" 2>/dev/null || true)
    if [[ $line == "listening on "* ]]; then url=${line#listening on }; break; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$tmp/server.log" >&2; die "the server exited"; }
    sleep 0.1
  done
  [[ -n $url ]] || die "the server did not print its address"
  "$cli" demo-config --server-url "$url" --seed "$seed" --out "$tmp/chatflow.json" >/dev/null
  say "demo server on $url (seed server/seeds/demo.json). To answer as the team, in another terminal:"
  say "  CHATFLOW_CONFIG=$tmp/chatflow.json CHATFLOW_DATA_DIR=$tmp/agent $cli agent-reply --seed $seed --typing-ms 1500 \"Hello from the team!\""
  java_app --config "$tmp/chatflow.json" --data-dir "$tmp/visitor" "$@"
}

case ${1:-} in
  --build-only) build ;;
  --demo) shift; build; demo "$@" ;;
  *) build; java_app "$@" ;;
esac
