#!/usr/bin/env bash
# Prepares a release of the Swift package: the XCFramework zip apps download, and a Package.swift that names it.
#
#   scripts/release-swift.sh VERSION              on macOS (Xcode 16+, rustup): builds the XCFramework, zips it,
#                                                 checks the privacy manifest against the iOS library's imports and
#                                                 the generated Swift, writes url + checksum into Package.swift
#   scripts/release-swift.sh VERSION --zip FILE   any OS: writes url + checksum of FILE (a zip built on a Mac) only
#
# VERSION is the tag apps resolve (`from: "0.1.0"`): x.y.z, equal to the workspace version in Cargo.toml (what
# `Chatflow.sdkVersion` reports). The zip's URL is $CHATFLOW_RELEASE_BASE_URL/VERSION/ChatflowFFI.xcframework.zip
# (default base: https://github.com/chatflow/chatflow/releases/download, i.e. a file attached to the GitHub release
# VERSION); its checksum is the zip's SHA-256, which is what `swift package compute-checksum` prints.
# MANIFEST=path rewrites another copy of Package.swift (tests/swift-package/release-test.sh uses a temp copy).
# The script commits, tags and uploads nothing: it prints those steps at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MANIFEST=${MANIFEST:-$ROOT/Package.swift}
BASE_URL=${CHATFLOW_RELEASE_BASE_URL:-https://github.com/chatflow/chatflow/releases/download}
ZIP_NAME=ChatflowFFI.xcframework.zip

say() { printf '[release-swift] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

VERSION=${1:-}
[ -n "$VERSION" ] && [ "$VERSION" != -h ] && [ "$VERSION" != --help ] || { usage >&2; exit 2; }
shift
ZIP=
while [ $# -gt 0 ]; do
  case $1 in
    --zip) [ $# -ge 2 ] || die "--zip needs a file"; ZIP=$2; shift 2 ;;
    *) die "unknown argument '$1' (usage: scripts/release-swift.sh VERSION [--zip FILE])" ;;
  esac
done

# ----------------------------------------------------------------------------- checks before anything is written
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
  die "VERSION must be x.y.z (the tag SwiftPM resolves, no 'v' prefix), got '$VERSION'"
crate_version=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ "$crate_version" = "$VERSION" ] ||
  die "Cargo.toml's workspace version is '$crate_version', not '$VERSION': set it to $VERSION first (Chatflow.sdkVersion reports it)"
[ -f "$MANIFEST" ] || die "no manifest at $MANIFEST"
for key in xcframeworkURL xcframeworkChecksum; do
  [ "$(grep -c "^let $key = \"" "$MANIFEST")" = 1 ] ||
    die "$MANIFEST must hold exactly one line 'let $key = \"...\"' (the lines this script rewrites)"
done

# ----------------------------------------------------------------------------- the zip
if [ -z "$ZIP" ]; then
  [ "$(uname -s)" = Darwin ] || die "building the XCFramework needs macOS with Xcode 16+ (xcodebuild, lipo); \
this is $(uname -s). Run 'scripts/release-swift.sh $VERSION' on a Mac, or pass --zip FILE with the zip built there."
  say "building the XCFramework (release) and its zip: ios/scripts/build-xcframework.sh"
  ZIP=1 ios/scripts/build-xcframework.sh
  ZIP=$ROOT/ios/build/$ZIP_NAME
  # The privacy manifest must declare every required-reason API the device library imports.
  nm -u "${CARGO_TARGET_DIR:-$ROOT/target}/aarch64-apple-ios/release/libchatflow_ffi.a" >"$ROOT/ios/build/ios-arm64.undefined-symbols"
  python3 ios/scripts/check-privacy-manifest.py ios/Sources/Chatflow/PrivacyInfo.xcprivacy \
    --symbols "$ROOT/ios/build/ios-arm64.undefined-symbols" ||
    die "ios/Sources/Chatflow/PrivacyInfo.xcprivacy misses a required-reason API the iOS library calls (see above)"
  # build-xcframework.sh regenerated the Swift from the iOS library: it must be what the tag commits.
  if ! git diff --quiet -- ios/Sources/ChatflowBindings; then
    say "ios/Sources/ChatflowBindings/ChatflowBindings.swift changed when generated from the iOS library: commit it with the manifest"
  fi
fi
[ -f "$ZIP" ] || die "no zip at $ZIP"
# SwiftPM unpacks the archive and expects the XCFramework at its top level.
python3 - "$ZIP" <<'EOF' || die "$ZIP is not a zip with ChatflowFFI.xcframework/Info.plist at its top level"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    sys.exit(0 if "ChatflowFFI.xcframework/Info.plist" in z.namelist() else 1)
EOF
if command -v sha256sum >/dev/null; then
  checksum=$(sha256sum "$ZIP" | cut -d' ' -f1)
else
  checksum=$(shasum -a 256 "$ZIP" | cut -d' ' -f1)      # macOS
fi
url=$BASE_URL/$VERSION/$ZIP_NAME

# ----------------------------------------------------------------------------- the manifest
tmp=$(mktemp "$MANIFEST.XXXXXX")
sed -e "s|^let xcframeworkURL = \".*\"|let xcframeworkURL = \"$url\"|" \
    -e "s|^let xcframeworkChecksum = \".*\"|let xcframeworkChecksum = \"$checksum\"|" "$MANIFEST" >"$tmp"
grep -qxF "let xcframeworkURL = \"$url\"" "$tmp" && grep -qxF "let xcframeworkChecksum = \"$checksum\"" "$tmp" ||
  { rm -f "$tmp"; die "could not rewrite the url/checksum lines of $MANIFEST"; }
cat "$tmp" >"$MANIFEST"      # keeps the file's mode
rm -f "$tmp"
say "$MANIFEST: ChatflowFFI = $url (checksum $checksum)"

cat >&2 <<EOF
[release-swift] next steps:
  git commit -am "Swift package $VERSION"     # Package.swift (+ the generated Swift if it changed)
  git tag $VERSION && git push origin $VERSION
  upload $ZIP as $ZIP_NAME to the release $VERSION, so that $url serves it
EOF
