#!/usr/bin/env bash
# Chatflow bindings: build the FFI library, generate the Kotlin and Swift bindings, run the binding test suites.
#
#   scripts/bindings.sh build          cargo build (dev): libchatflow_ffi.so, the uniffi-bindgen bins, chatflow-server
#   scripts/bindings.sh generate       build + Kotlin/Swift sources into build/bindings/
#   scripts/bindings.sh check-swift    generate + compare the Swift package's committed generated files with it
#   scripts/bindings.sh update-swift   generate + rewrite those committed files (after a change to the FFI)
#   scripts/bindings.sh kotlin         generate + kotlinc (generated + facade + JUnit tests) + run JUnit on the JVM
#   scripts/bindings.sh swift          check-swift + `swift build` + `swift test` of the Swift package (Package.swift
#                                      at the root, sources in ios/) in the Swift chroot
#   scripts/bindings.sh size           stripped release .so size (Android pipeline's host build) + contributors by crate
#   scripts/bindings.sh bench-kotlin   cost of a 100-message history page from Kotlin (release library)
#
# Toolchains come from scripts/toolchains.sh (run `scripts/toolchains.sh all` once, as root; test.sh does it).
# Tests load a *dev* build of the library (dependencies are optimized in dev; the release profile's LTO build takes
# minutes on 2 cores) and start the real chatflow-server on 127.0.0.1 with a random port and a temp database.
# Generated Kotlin is build output (build/). The generated Swift, C header and module map are committed in
# ios/Sources/{ChatflowBindings,ChatflowFFI}/, because an app adds the Swift package by URL: check-swift fails when
# they differ from what the current library generates, and update-swift rewrites them.
#
# Environment: CARGO_TARGET_DIR (default: target/), CHATFLOW_TEST_FILTER (JUnit classes or Swift test filter),
# BENCH_ITERATIONS (bench-kotlin, default 2000). `kotlin` can test what the Android pipeline produced instead of the
# dev build: CHATFLOW_KOTLIN_CLASSES (a jar of generated bindings + facade, e.g. build/android/aar/classes.jar) and
# CHATFLOW_KOTLIN_NATIVE (the directory JNA loads libchatflow_ffi.so from, e.g. build/android/jniLibs/linux-x86-64);
# with CHATFLOW_KOTLIN_MINIFY=1 the tests run from the pipeline's ProGuard output (`android/build.sh minify`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")
OUT=$ROOT/build/bindings
HOST=$OUT/host                   # the library + server the JVM and Swift tests load (inside the repo: the chroot sees it)
KOTLIN_OUT=$ROOT/build/kotlin
SEED=$ROOT/server/seeds/test.json

say()  { printf '[bindings] %s\n' "$*" >&2; }
die()  { say "error: $*"; exit 1; }
step() { printf '\n==> %s  [%s]\n' "$*" "$(date +%T)"; }

# ----------------------------------------------------------------------------- build + generate
# link_into DIR FILE...: hard links (copies across file systems) into DIR.
link_into() {
  local dir=$1 f; shift
  mkdir -p "$dir"
  for f in "$@"; do ln -f "$f" "$dir/" 2>/dev/null || cp "$f" "$dir/"; done
}

cmd_build() {
  step "cargo build (dev): chatflow-ffi, uniffi-bindgen, chatflow-server"
  cargo build --locked -p chatflow-ffi -p uniffi-bindgen -p chatflow-server
  # One place the JVM, SwiftPM and the chroot (which only sees the repo) all load from.
  link_into "$HOST" "$TARGET_DIR/debug/libchatflow_ffi.so" "$TARGET_DIR/debug/chatflow-server"
}

cmd_generate() {
  cmd_build
  step "uniffi-bindgen: Kotlin + Swift (library mode) into build/bindings/"
  local lib=$HOST/libchatflow_ffi.so
  rm -rf "$OUT/kotlin" "$OUT/swift"
  # Library mode reads `cargo metadata`, so these must run inside the workspace (they do: cwd is the repo root).
  "$TARGET_DIR/debug/uniffi-bindgen" generate --no-format --library "$lib" --language kotlin --out-dir "$OUT/kotlin"
  "$TARGET_DIR/debug/uniffi-bindgen-swift" --swift-sources "$lib" "$OUT/swift/ChatflowBindings"
  "$TARGET_DIR/debug/uniffi-bindgen-swift" --headers --modulemap --module-name ChatflowFFI \
    --modulemap-filename module.modulemap "$lib" "$OUT/swift/ChatflowFFI"
  find "$OUT/kotlin" "$OUT/swift" -type f -printf '  %p (%s bytes)\n' | sed "s|$ROOT/||"
}

# The Swift package's committed generated files, each with the file uniffi-bindgen-swift just wrote.
SWIFT_GENERATED=(ChatflowBindings/ChatflowBindings.swift ChatflowFFI/ChatflowFFI.h ChatflowFFI/module.modulemap)

cmd_check_swift() {
  cmd_generate
  step "committed generated Swift (ios/Sources) vs. uniffi-bindgen-swift's output for this library"
  local f stale=()
  for f in "${SWIFT_GENERATED[@]}"; do
    cmp -s "$OUT/swift/$f" "ios/Sources/$f" || stale+=("ios/Sources/$f")
  done
  if [ "${#stale[@]}" -gt 0 ]; then
    for f in "${SWIFT_GENERATED[@]}"; do diff -u "ios/Sources/$f" "$OUT/swift/$f" | head -n 20 || true; done
    die "out of date (the FFI changed): ${stale[*]}. Run 'scripts/bindings.sh update-swift' and commit the result."
  fi
  say "ios/Sources: generated files match the library"
}

cmd_update_swift() {
  cmd_generate
  local f
  for f in "${SWIFT_GENERATED[@]}"; do
    if cmp -s "$OUT/swift/$f" "ios/Sources/$f"; then continue; fi
    mkdir -p "ios/Sources/$(dirname "$f")"
    cp "$OUT/swift/$f" "ios/Sources/$f"
    say "updated ios/Sources/$f"
  done
}

# ----------------------------------------------------------------------------- kotlin
kotlin_env() {
  eval "$(scripts/toolchains.sh env)"
  [ -x "$KOTLIN_HOME/bin/kotlinc" ] || die "no kotlinc in $KOTLIN_HOME: run 'scripts/toolchains.sh kotlin' first"
  KOTLINC=$KOTLIN_HOME/bin/kotlinc
  COROUTINES_JAR=$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar
  MAIN_CP=$JNA_JAR:$COROUTINES_JAR
  MAIN_JAR=${CHATFLOW_KOTLIN_CLASSES:-$KOTLIN_OUT/chatflow.jar}
  LIB_CP=$MAIN_CP:$KOTLIN_LIB/kotlin-test.jar:$KOTLIN_LIB/kotlin-test-junit.jar:$JUNIT_JAR
  TEST_CP=$MAIN_JAR:$LIB_CP
  RUN_CP=$KOTLIN_OUT/chatflow-tests.jar:$TEST_CP:$KOTLIN_LIB/kotlin-stdlib.jar:$HAMCREST_JAR
}

# up_to_date JAR SRC...: true when JAR exists and no file under SRC is newer.
up_to_date() {
  local jar=$1; shift
  [ -f "$jar" ] && [ -z "$(find "$@" -type f -newer "$jar" -print -quit)" ]
}

kotlin_compile() {
  kotlin_env
  mkdir -p "$KOTLIN_OUT"
  # The facade's JVM build: src/main/kotlin only (src/androidMain/kotlin needs the Android SDK).
  if [ -n "${CHATFLOW_KOTLIN_CLASSES:-}" ]; then
    [ -f "$MAIN_JAR" ] || die "CHATFLOW_KOTLIN_CLASSES: no jar at $MAIN_JAR"
    say "kotlin: bindings + facade from $MAIN_JAR"
  elif up_to_date "$KOTLIN_OUT/chatflow.jar" "$OUT/kotlin" android/src/main/kotlin; then
    say "kotlin: chatflow.jar up to date"
  else
    step "kotlinc: generated bindings + facade -> build/kotlin/chatflow.jar"
    "$KOTLINC" -jvm-target 17 -cp "$MAIN_CP" "$OUT/kotlin" android/src/main/kotlin -d "$KOTLIN_OUT/chatflow.jar"
  fi
  if up_to_date "$KOTLIN_OUT/chatflow-tests.jar" android/src/test/kotlin "$MAIN_JAR"; then
    say "kotlin: chatflow-tests.jar up to date"
  else
    step "kotlinc: JVM tests -> build/kotlin/chatflow-tests.jar"
    # Java 11 bytecode: Debian's ProGuard 6.2 (CHATFLOW_KOTLIN_MINIFY) reads class files up to Java 13.
    "$KOTLINC" -jvm-target 11 -cp "$TEST_CP" android/src/test/kotlin -d "$KOTLIN_OUT/chatflow-tests.jar"
  fi
}

# Environment of the JVM and Swift test harnesses: they start the server themselves (random port, temp database).
test_env() {   # test_env ROOT_AS_SEEN_BY_THE_TESTS
  printf 'CHATFLOW_SERVER_BIN=%s/build/bindings/host/chatflow-server CHATFLOW_SEED=%s/server/seeds/test.json CHATFLOW_FIXTURES=%s/tests/bindings/fixtures' "$1" "$1" "$1"
}

cmd_kotlin() {
  cmd_generate
  kotlin_compile
  [ -f "$SEED" ] || die "missing $SEED (the server's test seed)"
  local classes
  if [ -n "${CHATFLOW_TEST_FILTER:-}" ]; then
    classes=$CHATFLOW_TEST_FILTER
  else
    # Every *Test.kt under src/test/kotlin is one JUnit class named after its path.
    classes=$(cd android/src/test/kotlin && find . -name '*Test.kt' | sed 's|^\./||; s|\.kt$||; s|/|.|g' | sort | tr '\n' ' ')
  fi
  local native=${CHATFLOW_KOTLIN_NATIVE:-$HOST} run_cp=$RUN_CP code=${CHATFLOW_KOTLIN_CLASSES:-build/kotlin/chatflow.jar}
  [ -f "$native/libchatflow_ffi.so" ] || die "no libchatflow_ffi.so in $native"
  if [ "${CHATFLOW_KOTLIN_MINIFY:-}" = 1 ]; then
    [ -n "${CHATFLOW_KOTLIN_CLASSES:-}" ] || die "CHATFLOW_KOTLIN_MINIFY needs the pipeline's CHATFLOW_KOTLIN_CLASSES"
    android/build.sh minify "$KOTLIN_OUT/chatflow-tests.jar"
    code=${CHATFLOW_ANDROID_OUT:-$ROOT/build/android}/minified.jar
    run_cp=$code:$LIB_CP:$KOTLIN_LIB/kotlin-stdlib.jar:$HAMCREST_JAR
  fi
  step "JUnit on the JVM (code: ${code#"$ROOT"/}, library: ${native#"$ROOT"/}/libchatflow_ffi.so): $classes"
  # shellcheck disable=SC2046,SC2086
  env $(test_env "$ROOT") java -Djna.library.path="$native" -cp "$run_cp" org.junit.runner.JUnitCore $classes
}

cmd_bench_kotlin() {
  cmd_generate
  kotlin_compile
  # The shipped library (profile `mobile`); BENCH_PROFILE=release compares with the server's profile (opt-level s).
  local profile=${BENCH_PROFILE:-mobile}
  step "library for the benchmark: cargo build --profile $profile -p chatflow-ffi"
  cargo build --locked --profile "$profile" -p chatflow-ffi
  link_into "$OUT/host-release" "$TARGET_DIR/$profile/libchatflow_ffi.so"
  step "bench: 100-message history page from Kotlin (release library, warm, median)"
  # shellcheck disable=SC2046
  env $(test_env "$ROOT") BENCH_ITERATIONS="${BENCH_ITERATIONS:-2000}" \
    java -Djna.library.path="$OUT/host-release" -cp "$RUN_CP" io.chatflow.bench.HistoryPageBenchKt
}

# ----------------------------------------------------------------------------- swift
cmd_swift() {
  cmd_check_swift
  [ -f "$SEED" ] || die "missing $SEED (the server's test seed)"
  local filter=""
  [ -n "${CHATFLOW_TEST_FILTER:-}" ] && filter="--filter $CHATFLOW_TEST_FILTER"
  step "Swift (chroot): swift build + swift test of the Swift package (Linux configuration, Swift 6 language mode)"
  # The chroot sees the repo at /src/proj; swift-run starts from a clean environment, so pass ours in the script.
  # Debian's libswiftObservation.so refers to a runtime symbol (swift::threading::fatal, reached only on a fatal
  # threading error) that only the static runtime defines: let the link leave it to the loader (bound lazily, never
  # called), so the @Observable models link here. A static runtime instead loses XCTest on Linux.
  scripts/toolchains.sh swift-run "$ROOT" -- "
    export $(test_env /src/proj)
    swift build --build-tests -Xlinker --allow-shlib-undefined
    swift test --skip-build --disable-swift-testing $filter"
}

# ----------------------------------------------------------------------------- size
# Groups symbol sizes of an unstripped build by crate (Rust paths: generic code counts for the crate that defines the
# function, e.g. `core::ptr::drop_in_place<...>` for core), by C library (ring's symbols and tables, else SQLite:
# the only other C code), and UniFFI's exported C-named scaffolding.
size_breakdown() {
  nm --print-size --size-sort --radix=d --demangle=rust "$1" 2>/dev/null | awk '
    NF >= 4 {
      size = $2 + 0; name = $4
      for (i = 5; i <= NF; i++) name = name " " $i
      sub(/^(_<|<)+/, "", name); sub(/^&(mut )?/, "", name); sub(/^dyn /, "", name)
      if (match(name, /^[A-Za-z_][A-Za-z0-9_]*::/)) crate = substr(name, 1, RLENGTH - 2)
      else if (name ~ /^(uniffi_|ffi_chatflow)/) crate = "chatflow_ffi (UniFFI scaffolding)"
      else if (name ~ /^(__rust|rust_)/) crate = "std"
      else if (name ~ /^(ring_core|ecp_|p256_|p384_|x25519|ChaCha|aes_|gcm_|bn_|fiat_|sha256_|sha512_|poly1305|LIMBS|OPENSSL|CRYPTO|GFp)/) crate = "ring (C/asm, tables)"
      else crate = "sqlite3 (C, bundled) and other C"
      sum[crate] += size; total += size
    }
    END {
      for (c in sum) printf "%10d  %5.1f%%  %s\n", sum[c], 100 * sum[c] / total, c
      printf "%10d  100.0%%  (all sized symbols)\n", total
    }' | sort -rn | head -n 26
}

cmd_size() {
  # The Android pipeline's host build (the test command's too): release with symbols, then the stripped copy.
  step "android/build.sh native host + strip (release-unstripped profile: opt-level z, LTO; then strip --strip-all)"
  android/build.sh native host
  android/build.sh strip
  local out=${CHATFLOW_ANDROID_OUT:-$ROOT/build/android} abi so bytes
  abi=$(head -n1 "$out/targets")
  so=$out/jniLibs/$abi/libchatflow_ffi.so
  bytes=$(stat -c %s "$so")
  printf 'stripped release libchatflow_ffi.so (%s): %d bytes = %s MiB, gzip -9 %d bytes\n' \
    "$abi" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')" "$(gzip -9c "$so" | wc -c)"
  scripts/size-gate.sh "$so" || true
  printf '  sections: %s\n' "$(size -A "$so" | awk '$1 ~ /^\.(text|rodata|data\.rel\.ro|eh_frame|eh_frame_hdr|gcc_except_table|rela\.dyn|relr\.dyn)$/ {printf "%s=%d ", $1, $2}')"
  step "breakdown: the same build before strip, bytes by crate"
  size_breakdown "$out/unstripped/$abi/libchatflow_ffi.so"
}

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
  build)        cmd_build ;;
  generate)     cmd_generate ;;
  check-swift)  cmd_check_swift ;;
  update-swift) cmd_update_swift ;;
  kotlin)       cmd_kotlin ;;
  swift)        cmd_swift ;;
  size)         cmd_size ;;
  bench-kotlin) cmd_bench_kotlin ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
