#!/usr/bin/env bash
# The library size gate (test command, kotlin stage): the stripped host libchatflow_ffi.so that android/build.sh host
# ships into the AAR tree must not exceed LIMIT_BYTES. What takes the room: scripts/bindings.sh size.
#
#   scripts/size-gate.sh [LIBRARY]     default: build/android/jniLibs/<first ABI built>/libchatflow_ffi.so
set -euo pipefail

# 5.95 MiB. This limit only ever goes down: lower it when the library shrinks for good, never raise it to let a change
# in (find the room elsewhere first; docs/decisions.md #13).
LIMIT_BYTES=6239027

cd "$(dirname "$0")/.."
out=${CHATFLOW_ANDROID_OUT:-build/android}
so=${1:-$out/jniLibs/$(head -n1 "$out/targets" 2>/dev/null)/libchatflow_ffi.so}
[ -f "$so" ] || { echo "size gate: no library at $so (run android/build.sh host first)" >&2; exit 2; }
sections=$(readelf -SW "$so")
if grep -q ' \.symtab ' <<<"$sections"; then
  echo "size gate: $so is not stripped; the gate weighs what ships (android/build.sh strip)" >&2
  exit 2
fi
bytes=$(stat -c %s "$so")
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
if [ "$bytes" -gt "$LIMIT_BYTES" ]; then
  echo "size gate: FAIL: $so is $bytes bytes ($(mib "$bytes")), over the limit of $LIMIT_BYTES bytes ($(mib "$LIMIT_BYTES")) by $((bytes - LIMIT_BYTES)) bytes." >&2
  echo "  What grew: scripts/bindings.sh size (bytes by crate). Trim it (features, dependencies); the limit is not raised." >&2
  exit 1
fi
echo "size gate: OK: $so is $bytes bytes ($(mib "$bytes")), $((LIMIT_BYTES - bytes)) bytes under the limit ($(mib "$LIMIT_BYTES"))"
