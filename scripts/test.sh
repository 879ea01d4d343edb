#!/usr/bin/env bash
# The project's one test command (README "Test"): lint, build, and every test suite.
# Installs what it needs on a fresh machine and caches toolchains outside the repo (see scripts/README.md).
#
#   bash scripts/test.sh              # everything
#   STAGES="rust" bash scripts/test.sh  # a subset: lint rust postgres conformance web fuzz kotlin swift
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAGES=${STAGES:-"lint rust postgres conformance web fuzz kotlin swift"}
step() { printf '\n==> %s  [%s]\n' "$*" "$(date +%T)"; }
SECONDS=0
# A fresh clone builds everything once: incremental caches would only double the build directory's size on disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
# want STAGE: whether to run it; also closes the previous stage's timer, so each stage's time is printed at the end.
TIMES=()
current="" since=0
stage_timer() {
  [ -n "$current" ] && TIMES+=("$(printf '%-7s %5d s' "$current" $((SECONDS - since)))")
  current=$1 since=$SECONDS
}
want() {
  [[ " $STAGES " == *" $1 "* ]] || return 1
  stage_timer "$1"
}

# cargo-nextest runs each test in its own process (the end-to-end tests start servers); install it if missing.
ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    step "installing cargo-nextest from crates.io"
    cargo install --locked cargo-nextest
  fi
}

if want lint; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
  step "cargo clippy (all targets, warnings are errors)"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

if want rust; then
  ensure_nextest
  # One build of every test target: it also builds the crates' binaries (the end-to-end tests start the real server
  # and CLI) with the same feature set, so nothing is compiled twice.
  step "build every crate and test"
  cargo nextest run --workspace --locked --no-run
  export CHATFLOW_SERVER_BIN="$ROOT/target/debug/chatflow-server"
  # The sample apps' smoke tests write their SDK config with the CLI: reuse this build instead of a second one.
  export CHATFLOW_CLI_BIN="$ROOT/target/debug/chatflow"
  # The S3 blob store's tests run against moto (an S3 service on loopback) from build/venv-moto; required here, so a
  # missing moto fails them instead of skipping them.
  step "S3 test service: moto in build/venv-moto (scripts/moto.sh, installed if missing)"
  moto_since=$SECONDS
  scripts/moto.sh
  echo "moto ready in $((SECONDS - moto_since)) s"
  export CHATFLOW_REQUIRE_S3=1
  step "Rust tests: unit, integration, end-to-end"
  cargo nextest run --workspace --locked --no-fail-fast
  step "Rust doc tests"
  cargo test --workspace --locked --doc
fi

# The server on PostgreSQL: a private cluster (scripts/pg.sh: initdb in a temporary directory, a free port, run as an
# unprivileged user; Debian's postgresql installed if missing), the domain rules' tests and the server's whole end-to-end
# suite against it (each test on a database of its own), the PostgreSQL-only tests (concurrent senders, search parity
# with SQLite, two nodes on one database, the SDK failing over between them), then the cluster is removed. The flood test measures latency on a quiet machine: it runs in the rust stage only.
if want postgres; then
  ensure_nextest
  step "PostgreSQL: a private cluster (scripts/pg.sh)"
  PG_DIR=$(mktemp -d /tmp/chatflow-pg.XXXXXX)
  trap 'scripts/pg.sh stop "$PG_DIR"' EXIT
  CHATFLOW_TEST_POSTGRES=$(scripts/pg.sh start "$PG_DIR")
  export CHATFLOW_TEST_POSTGRES CHATFLOW_REQUIRE_POSTGRES=1
  scripts/moto.sh
  export CHATFLOW_REQUIRE_S3=1
  step "the server's domain rules and its end-to-end suite on PostgreSQL"
  # --workspace: the same feature set as the rust stage's build, so nothing is compiled again.
  cargo nextest run --workspace --locked --no-fail-fast -E '(package(chatflow-server) & (
    (binary(api) & not test(/limits_flood/)) | (kind(lib) & test(/^domain::tests::|^store::postgres::/))))
    | (package(chatflow-core) & binary(cluster_failover))'
  scripts/pg.sh stop "$PG_DIR"
  trap - EXIT
  unset CHATFLOW_TEST_POSTGRES CHATFLOW_REQUIRE_POSTGRES
fi

# API conformance (scripts/conformance.sh): schemathesis with every check against the server's /openapi.json, as an
# anonymous caller, a visitor, an agent and an admin; 0 failures. Reuses the rust stage's server build when there is one.
if want conformance; then
  step "API conformance: schemathesis, every check, four kinds of caller"
  scripts/conformance.sh
fi

# The agent web inbox (server/web): formatting, the strict type check of its typed JavaScript, its unit tests, then
# the browser tests in Debian's Chromium against the real server, the visitor being the real SDK (the CLI sample
# app). Node and npm are needed here only; the server embeds the files at build time.
if want web; then
  step "browser: Debian chromium (installed if missing)"
  scripts/toolchains.sh browser
  if [ -z "${CHATFLOW_SERVER_BIN:-}" ] || [ -z "${CHATFLOW_CLI_BIN:-}" ]; then
    step "build chatflow-server and the chatflow CLI"
    cargo build --locked -p chatflow-server -p chatflow-cli
    export CHATFLOW_SERVER_BIN="$ROOT/target/debug/chatflow-server" CHATFLOW_CLI_BIN="$ROOT/target/debug/chatflow"
  fi
  step "web inbox: prettier, tsc (strict), unit tests, browser tests (server/web/check.sh --browser)"
  server/web/check.sh --browser
fi

# Fuzz smoke: every fuzz target for a few seconds from its seed corpus (fuzz/README.md); longer runs: scripts/fuzz.sh.
if want fuzz; then
  step "fuzz smoke: every decoder of outside bytes, ${FUZZ_SECONDS:-10} s per target (build time printed apart)"
  scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
fi

# Binding suites (scripts/bindings.sh): the Kotlin facade + generated code on the JVM, the Swift package on Linux
# (Swift 6.0.3 in a Debian chroot), both against the real server. toolchains.sh installs what is missing (cached).
if want kotlin; then
  step "Kotlin toolchain (kotlinc from npm, JNA + JUnit from Debian; cached)"
  scripts/toolchains.sh kotlin
  # The Android pipeline (android/build.sh) for the host target: release build with symbols, bindings from it, the
  # stripped copy, the AAR tree, verify (16 KB pages, stripped, consumer rules). The JVM tests then run on its
  # classes.jar minified by ProGuard under the AAR's consumer rules, loading its stripped library.
  step "Android pipeline, host target (android/build.sh host)"
  android/build.sh host
  step "Library size gate: the stripped host library within its limit (scripts/size-gate.sh)"
  scripts/size-gate.sh
  step "Kotlin binding tests (JVM) on the pipeline's classes.jar (ProGuard-minified) and stripped library"
  CHATFLOW_KOTLIN_MINIFY=1 CHATFLOW_KOTLIN_CLASSES="$ROOT/build/android/aar/classes.jar" \
    CHATFLOW_KOTLIN_NATIVE=$(echo "$ROOT"/build/android/aar/jni/*) scripts/bindings.sh kotlin
  step "Android guide snippets: every kotlin block compiles against the facade (scripts/guide-snippets.sh)"
  CHATFLOW_KOTLIN_CLASSES="$ROOT/build/android/aar/classes.jar" scripts/guide-snippets.sh kotlin
  step "Kotlin sample app: kotlin-console smoke test (real server, scripted like a person)"
  CHATFLOW_KOTLIN_CLASSES="$ROOT/build/android/aar/classes.jar" sample-apps/kotlin-console/smoke-test.sh
fi

if want swift; then
  step "Swift toolchain (Debian trixie chroot with swiftlang; cached)"
  scripts/toolchains.sh swift
  step "Swift binding tests (SwiftPM on Linux; first: the committed generated Swift matches the library)"
  scripts/bindings.sh swift
  step "Swift package: privacy manifest (valid, covers the library's required-reason imports); release script"
  tests/swift-package/privacy-test.sh
  tests/swift-package/release-test.sh
  step "Swift package added by URL: a consumer resolves a file:// tag, builds and runs against the real server"
  tests/swift-package/consumer-test.sh
  step "iOS guide snippets: every swift block compiles against the facade (scripts/guide-snippets.sh)"
  scripts/guide-snippets.sh swift
  step "Swift sample app: chatflow-console smoke test (real server, scripted like a person)"
  sample-apps/swift-console/smoke-test.sh
fi

stage_timer ""
step "all requested stages passed ($STAGES) in ${SECONDS}s"
printf '  %s\n' "${TIMES[@]}"
