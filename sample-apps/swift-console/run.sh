#!/usr/bin/env bash
# Builds and runs chatflow-console, the Swift terminal chat, with Swift 6 from the project's Debian chroot.
#
#   sample-apps/swift-console/run.sh [--config FILE] [--data-dir DIR] [--tag TAG] [--lang L] [--verbose]
#
# Arguments go to the app unchanged, except that the paths of --config and --data-dir (and of CHATFLOW_CONFIG and
# CHATFLOW_DATA_DIR) are rewritten to how the chroot sees them: it sees only this repository, at /src/proj.
# - a config outside the repository is copied to build/swift-console/config.json (an SDK config holds no secret);
# - a data directory must be inside the repository (it is the visitor's session: it is not copied);
# - without one, the app's default data directory lives in build/swift-console/data/.
# The server must listen on an address the chroot can reach: the chroot shares the host's network, so
# 127.0.0.1 works.
#
# Steps: scripts/bindings.sh generate (host: the Rust library and the generated Swift, cached), then in the chroot
# `swift build` and the app. Build output goes to stderr; stdout is the app's.
# Environment: CARGO_TARGET_DIR (as scripts/bindings.sh), SWIFT_CONSOLE_SKIP_BUILD=1 runs the last build as is
# (the smoke test builds once, then runs the app several times). Needs root (chroot), as scripts/toolchains.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REL=${HERE#"$ROOT"/}                      # sample-apps/swift-console
STAGE=$ROOT/build/swift-console           # git-ignored; visible in the chroot as /src/proj/build/swift-console

die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 2; }

# in_chroot PATH: the path as the chroot sees it, or nothing when it is outside the repository.
in_chroot() {
  local abs
  abs=$(realpath -m -- "$1")
  case $abs in
    "$ROOT") printf '/src/proj' ;;
    "$ROOT"/*) printf '/src/proj/%s' "${abs#"$ROOT"/}" ;;
  esac
}

map_config() {
  local mapped
  mapped=$(in_chroot "$1")
  if [[ -z $mapped ]]; then
    [[ -r $1 ]] || die "config file $1: cannot be read"
    mkdir -p "$STAGE"
    cp -- "$1" "$STAGE/config.json"
    mapped=/src/proj/build/swift-console/config.json
  fi
  printf '%s' "$mapped"
}

map_data_dir() {
  local mapped
  mapped=$(in_chroot "$1")
  [[ -n $mapped ]] || die "data directory $1 is outside the repository ($ROOT): the Swift chroot cannot see it; \
pick one under build/ (or leave it out: build/swift-console/data/ is used)"
  printf '%s' "$mapped"
}

args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --config|-c) [[ $# -ge 2 ]] || die "$1 needs a value"; args+=("$1" "$(map_config "$2")"); shift 2 ;;
    --config=*) args+=("--config=$(map_config "${1#*=}")"); shift ;;
    --data-dir) [[ $# -ge 2 ]] || die "$1 needs a value"; args+=("$1" "$(map_data_dir "$2")"); shift 2 ;;
    --data-dir=*) args+=("--data-dir=$(map_data_dir "${1#*=}")"); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

# The chroot starts from a clean environment: pass what the app reads, with chroot paths.
envs=(XDG_DATA_HOME=/src/proj/build/swift-console/data)
[[ -n ${CHATFLOW_CONFIG:-} ]] && envs+=("CHATFLOW_CONFIG=$(map_config "$CHATFLOW_CONFIG")")
[[ -n ${CHATFLOW_DATA_DIR:-} ]] && envs+=("CHATFLOW_DATA_DIR=$(map_data_dir "$CHATFLOW_DATA_DIR")")
# A relative --config is relative to where run.sh was started: run the app from there when the chroot sees it.
workdir=$(in_chroot "$PWD")
workdir=${workdir:-/src/proj}

argv=""
[[ ${#args[@]} -gt 0 ]] && argv=$(printf '%q ' "${args[@]}")

cd "$ROOT"
if [[ ${SWIFT_CONSOLE_SKIP_BUILD:-0} != 1 ]]; then
  scripts/bindings.sh generate >&2
  # --allow-shlib-undefined: Debian's Observation library (scripts/bindings.sh swift says why).
  build="swift build --package-path $REL -Xlinker --allow-shlib-undefined >&2"
else
  build=":"
fi
exec scripts/toolchains.sh swift-run "$ROOT" -- "
  $build
  cd $(printf '%q' "$workdir")
  exec env $(printf '%q ' "${envs[@]}") /src/proj/$REL/.build/debug/chatflow-console $argv"
