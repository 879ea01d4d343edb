#!/usr/bin/env bash
# The privacy manifest (ios/Sources/Chatflow/PrivacyInfo.xcprivacy) with ios/scripts/check-privacy-manifest.py:
# - it is a valid manifest and declares the required-reason APIs the host library imports (needs
#   build/bindings/host/libchatflow_ffi.so: scripts/bindings.sh build);
# - the checker is not a rubber stamp: an import of mach_absolute_time (SystemBootTime, not declared), a manifest
#   without NSPrivacyTracking, and a reason that is not a code are each reported.
#
#   tests/swift-package/privacy-test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
MANIFEST=ios/Sources/Chatflow/PrivacyInfo.xcprivacy
CHECK=ios/scripts/check-privacy-manifest.py
LIB=build/bindings/host/libchatflow_ffi.so
say() { printf '[privacy-test] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
[ -f "$LIB" ] || die "no $LIB: run scripts/bindings.sh build first"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
nm -D --undefined-only "$LIB" >"$TMP/symbols"
python3 "$CHECK" "$MANIFEST" --symbols "$TMP/symbols" || die "the manifest does not pass"

# expect_problem TEXT ARGS...: the checker must fail and print TEXT.
expect_problem() {
  local text=$1 out; shift
  if out=$(python3 "$CHECK" "$@" 2>&1); then die "the checker accepted $*; expected: $text"; fi
  [[ $out == *"$text"* ]] || die "expected '$text' from the checker, got: $out"
}
printf '                 U _mach_absolute_time\n                 U _stat$INODE64\n' >"$TMP/apple-symbols"
expect_problem "calls mach_absolute_time but NSPrivacyAccessedAPICategorySystemBootTime is not declared" \
  "$MANIFEST" --symbols "$TMP/apple-symbols"
python3 - "$MANIFEST" "$TMP" <<'PY'
import plistlib, sys
m = plistlib.load(open(sys.argv[1], "rb"))
no_tracking = dict(m); del no_tracking["NSPrivacyTracking"]
plistlib.dump(no_tracking, open(sys.argv[2] + "/no-tracking.xcprivacy", "wb"))
bad_reason = dict(m); bad_reason["NSPrivacyAccessedAPITypes"] = [
    {"NSPrivacyAccessedAPIType": "NSPrivacyAccessedAPICategoryFileTimestamp", "NSPrivacyAccessedAPITypeReasons": ["app files"]}]
plistlib.dump(bad_reason, open(sys.argv[2] + "/bad-reason.xcprivacy", "wb"))
PY
expect_problem "missing NSPrivacyTracking" "$TMP/no-tracking.xcprivacy"
expect_problem "is not a code like C617.1" "$TMP/bad-reason.xcprivacy"
say "passed: manifest valid, host library's required-reason imports declared, checker refuses bad input"
