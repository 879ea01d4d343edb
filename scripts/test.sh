#!/usr/bin/env bash
# The project's one test command (README "Test"): lint, build, and every test suite.
# Installs what it needs on a fresh machine and caches toolchains outside the repo (see scripts/README.md).
#
#   bash scripts/test.sh              # everything
#   STAGES="rust" bash scripts/test.sh  # a subset: lint rust fuzz kotlin swift
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STAGES=${STAGES:-"lint rust fuzz kotlin swift"}
want() { [[ " $STAGES " == *" $1 "* ]]; }
step() { printf '\n==> %s  [%s]\n' "$*" "$(date +%T)"; }
SECONDS=0

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
  step "Rust tests: unit, integration, end-to-end"
  cargo nextest run --workspace --locked --no-fail-fast
  step "Rust doc tests"
  cargo test --workspace --locked --doc
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
  step "Kotlin binding tests (JVM)"
  scripts/bindings.sh kotlin
  step "Kotlin sample app: kotlin-console smoke test (real server, scripted like a person)"
  sample-apps/kotlin-console/smoke-test.sh
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
  step "Swift sample app: chatflow-console smoke test (real server, scripted like a person)"
  sample-apps/swift-console/smoke-test.sh
fi

step "all requested stages passed ($STAGES) in ${SECONDS}s"
