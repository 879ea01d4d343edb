#!/usr/bin/env bash
# Builds what is missing or out of date, then runs the Kotlin console chat with the arguments given.
#
#   sample-apps/kotlin-console/run.sh --config chatflow.json --tag support    # run (arguments: --help)
#   sample-apps/kotlin-console/run.sh --build-only                            # build, do not run
#
# Build steps, each skipped when its output is newer than its inputs:
#   1. scripts/bindings.sh build      the Rust library + server (cargo: a no-op when nothing changed)
#   2. scripts/bindings.sh generate   the Kotlin bindings, when the library is newer than them
#   3. kotlinc                        bindings + facade -> build/kotlin/chatflow.jar (as scripts/bindings.sh does)
#   4. kotlinc                        this app -> build/kotlin-console/kotlin-console.jar
# Needs the Kotlin toolchain (scripts/toolchains.sh kotlin). Honours CARGO_TARGET_DIR like scripts/bindings.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)   # no cd: relative paths in the arguments stay the caller's
HOST=$ROOT/build/bindings/host
GENERATED=$ROOT/build/bindings/kotlin
FACADE=$ROOT/build/kotlin/chatflow.jar
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
  if stale "$FACADE" "$GENERATED" "$ROOT/android/src/main/kotlin"; then
    say "kotlinc: generated bindings + facade -> build/kotlin/chatflow.jar (about 40 s)"
    # The facade's JVM build: src/main/kotlin only (src/androidMain needs the Android SDK).
    CP=$JNA_JAR:$COROUTINES_JAR compile "$FACADE" "$GENERATED" "$ROOT/android/src/main/kotlin"
  fi
  if stale "$APP" "$FACADE" "$HERE/src/main/kotlin"; then
    say "kotlinc: the console app -> build/kotlin-console/kotlin-console.jar"
    CP=$FACADE:$JNA_JAR:$COROUTINES_JAR compile "$APP" "$HERE/src/main/kotlin"
  fi
}

if [[ ${1:-} == --build-only ]]; then
  build
  exit 0
fi
build
exec java -Djna.library.path="$HOST" \
  -cp "$APP:$FACADE:$JNA_JAR:$COROUTINES_JAR:$KOTLIN_LIB/kotlin-stdlib.jar" \
  io.chatflow.sample.console.MainKt "$@"
