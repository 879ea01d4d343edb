#!/usr/bin/env bash
# The parts of scripts/release-swift.sh that run without a Mac, on a temp copy of Package.swift and a stand-in zip
# (a zip with ChatflowFFI.xcframework/Info.plist at its top level, as SwiftPM expects):
# - the url and checksum lines are rewritten, nothing else in the manifest changes, and the checksum equals what
#   `swift package compute-checksum` prints for the same zip (in the Swift chroot);
# - the stamped manifest still compiles (`swift package dump-package` in the chroot);
# - refusals, each with its message: a version that is not x.y.z, a version other than Cargo.toml's, a zip without
#   the XCFramework, and building the XCFramework on Linux (needs macOS).
#
#   tests/swift-package/release-test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
say() { printf '[swift-release-test] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' Cargo.toml)
mkdir -p build
TMP=$(mktemp -d "$ROOT/build/swift-release-test.XXXXXX")
REL=${TMP#"$ROOT"/}
trap 'rm -rf "$TMP"' EXIT

cp Package.swift "$TMP/Package.swift"
python3 - "$TMP/good.zip" "$TMP/bad.zip" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("ChatflowFFI.xcframework/Info.plist", "<plist version=\"1.0\"><dict/></plist>\n")
    z.writestr("ChatflowFFI.xcframework/ios-arm64/libchatflow_ffi.a", b"stand-in")
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.writestr("Other.xcframework/Info.plist", "<plist version=\"1.0\"><dict/></plist>\n")
EOF

# expect_refusal TEXT ARGS...: release-swift.sh must fail and say TEXT, leaving the manifest as it was.
expect_refusal() {
  local text=$1 out; shift
  if out=$(MANIFEST=$TMP/Package.swift scripts/release-swift.sh "$@" 2>&1); then
    die "release-swift.sh $* succeeded; expected a refusal saying: $text"
  fi
  [[ $out == *"$text"* ]] || die "release-swift.sh $*: expected a message containing '$text', got: $out"
  cmp -s Package.swift "$TMP/Package.swift" || die "release-swift.sh $* changed the manifest although it failed"
}
expect_refusal "VERSION must be x.y.z" "v$VERSION" --zip "$TMP/good.zip"
expect_refusal "not '99.0.0'" 99.0.0 --zip "$TMP/good.zip"
expect_refusal "ChatflowFFI.xcframework/Info.plist at its top level" "$VERSION" --zip "$TMP/bad.zip"
if [ "$(uname -s)" != Darwin ]; then
  expect_refusal "needs macOS" "$VERSION"
fi
say "refusals: ok"

MANIFEST=$TMP/Package.swift CHATFLOW_RELEASE_BASE_URL=https://example.test/releases \
  scripts/release-swift.sh "$VERSION" --zip "$TMP/good.zip" 2>"$TMP/release.log" ||
  { cat "$TMP/release.log" >&2; die "release-swift.sh $VERSION --zip failed"; }
sha=$(sha256sum "$TMP/good.zip" | cut -d' ' -f1)
grep -qxF "let xcframeworkURL = \"https://example.test/releases/$VERSION/ChatflowFFI.xcframework.zip\"" "$TMP/Package.swift" ||
  die "the url line was not rewritten: $(grep '^let xcframeworkURL' "$TMP/Package.swift")"
grep -qxF "let xcframeworkChecksum = \"$sha\"" "$TMP/Package.swift" ||
  die "the checksum line was not rewritten: $(grep '^let xcframeworkChecksum' "$TMP/Package.swift")"
changed=$(diff Package.swift "$TMP/Package.swift" | grep -c '^>' || true)
[ "$changed" = 2 ] || die "expected exactly the 2 url/checksum lines to change, $changed did: $(diff Package.swift "$TMP/Package.swift")"
say "manifest rewritten: url + checksum $sha"

# SwiftPM's own checksum of the same zip, and the stamped manifest compiled by SwiftPM (package dir = the temp dir).
out=$(scripts/toolchains.sh swift-run "$ROOT" -- "
  cd $REL
  swift package compute-checksum good.zip
  swift package dump-package >/dev/null && echo manifest-ok")
swiftpm_sha=$(printf '%s\n' "$out" | grep -E '^[0-9a-f]{64}$' | head -n 1)
[ "$swiftpm_sha" = "$sha" ] || die "swift package compute-checksum says '$swiftpm_sha', the script wrote $sha"
[[ $out == *manifest-ok* ]] || die "the stamped manifest does not load: $out"
say "passed: checksum equals SwiftPM's, stamped manifest loads"
