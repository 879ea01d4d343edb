#!/usr/bin/env bash
# The Swift package as an app gets it: by URL, at a version tag, resolved and built by SwiftPM, then run.
#
#   tests/swift-package/consumer-test.sh
#
# 1. scripts/bindings.sh build: the host library (build/bindings/host/libchatflow_ffi.so) and the server.
# 2. Snapshots this checkout's files (tracked and untracked, not ignored: what `git add -A` would commit) into a new
#    git repository, commits them, tags the commit with the workspace version (e.g. 0.1.0) and clones it bare as
#    chatflow.git. Uncommitted work is tested too, and the checkout's own history is never touched.
# 3. Writes a throw-away consumer package (tests/swift-package/consumer/ + a Package.swift naming
#    `.package(url: "file:///.../chatflow.git", from: "<version>")`), then in the Swift chroot: `swift build`
#    (SwiftPM clones the tag, no shared dependency cache) with the Linux linker flags an app passes itself
#    (-L and rpath of the host library: a versioned dependency cannot carry them), and runs it against the real
#    server started on 127.0.0.1 with server/seeds/test.json: sdkVersion, a config error naming its field, a client
#    opened with a config, chatflows refreshed and resolved; it also uses an unqualified `Environment` from a second
#    module (a SwiftUI stand-in), which fails to compile if Chatflow exports that name too.
# 4. Checks that SwiftPM pinned the tag and shipped PrivacyInfo.xcprivacy as the Chatflow target's resource.
#
# Everything lives in a temp directory under build/ (the chroot sees only the repository) and is removed at the end;
# CONSUMER_KEEP=1 keeps it. Fails on any resolution, build or run error.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib/server.sh
source "$ROOT/scripts/lib/server.sh"
SEED=$ROOT/server/seeds/test.json

say() { printf '[swift-consumer] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

VERSION=$(sed -n '/^\[workspace.package\]/,/^\[/ s/^version = "\(.*\)"/\1/p' Cargo.toml)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no x.y.z workspace version in Cargo.toml (found '$VERSION')"

say "building the host library and the server: scripts/bindings.sh build"
scripts/bindings.sh build >/dev/null

mkdir -p build
TMP=$(mktemp -d "$ROOT/build/swift-consumer.XXXXXX")
REL=${TMP#"$ROOT"/}                    # the same directory as the chroot sees it: /src/proj/$REL
SERVER_PID=''
cleanup() {
  local code=$?
  if [[ -n $SERVER_PID ]]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [[ $code -ne 0 && -f $TMP/server.log ]]; then say "server log:"; tail -n 20 "$TMP/server.log" >&2 || true; fi
  if [[ ${CONSUMER_KEEP:-0} == 1 ]]; then say "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$code"
}
trap cleanup EXIT

# ----------------------------------------------------------------------------- the package's repository, tagged
say "snapshot of this checkout -> $REL/chatflow.git, tag $VERSION"
mkdir "$TMP/src"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$TMP/src"
git -C "$TMP/src" init -q
git -C "$TMP/src" add -A
git -C "$TMP/src" -c user.name=consumer-test -c user.email=consumer-test@localhost commit -q -m "snapshot for the consumer test"
git -C "$TMP/src" tag "$VERSION"
git clone -q --bare "$TMP/src" "$TMP/chatflow.git"
rm -rf "$TMP/src"

# ----------------------------------------------------------------------------- the consumer package
cp -R "$HERE/consumer" "$TMP/consumer"
cat >"$TMP/consumer/Package.swift" <<EOF
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ChatflowConsumer",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "file:///src/proj/$REL/chatflow.git", from: "$VERSION"),
    ],
    targets: [
        .target(name: "FakeSwiftUI", path: "Sources/FakeSwiftUI"),
        .executableTarget(
            name: "ChatflowConsumer",
            dependencies: [.product(name: "Chatflow", package: "chatflow"), "FakeSwiftUI"],
            path: "Sources/ChatflowConsumer"
        ),
    ],
    swiftLanguageModes: [.v6]
)
EOF

# ----------------------------------------------------------------------------- server, build, run
start_server "$ROOT/build/bindings/host/chatflow-server" "$TMP/server.db" "$SEED" "$TMP" || die "the server did not start"
say "server on $URL"
APP_ID=$(sed -n 's/^app_id=//p' tests/bindings/fixtures/scenario.properties)
LIB=/src/proj/build/bindings/host
mkdir -p "$TMP/storage"

# --allow-shlib-undefined: Debian's libswiftObservation.so refers to a runtime symbol only the static runtime defines
# (see scripts/bindings.sh swift); an app built on Linux against this package passes it too (ios/README.md).
say "swift build of the consumer in the chroot (resolves $VERSION from file:///src/proj/$REL/chatflow.git), then run"
scripts/toolchains.sh swift-run "$ROOT" -- "
  cd $REL/consumer
  swift build --disable-dependency-cache -Xlinker -L$LIB -Xlinker -rpath -Xlinker $LIB -Xlinker --allow-shlib-undefined
  .build/debug/ChatflowConsumer '$URL' '$APP_ID' '$VERSION' /src/proj/$REL/storage"

# ----------------------------------------------------------------------------- what SwiftPM resolved and shipped
grep -q "\"version\" : \"$VERSION\"" "$TMP/consumer/Package.resolved" ||
  die "Package.resolved does not pin chatflow at $VERSION: $(cat "$TMP/consumer/Package.resolved")"
manifest=$(find "$TMP/consumer/.build" -path '*/debug/Chatflow_Chatflow.resources/PrivacyInfo.xcprivacy' | head -n 1)
[[ -n $manifest ]] || die "PrivacyInfo.xcprivacy is not in the Chatflow target's resource bundle"
python3 -c 'import plistlib, sys; plistlib.load(open(sys.argv[1], "rb"))' "$manifest" ||
  die "the shipped PrivacyInfo.xcprivacy is not a valid property list"
say "passed: chatflow $VERSION resolved by URL, built, run; privacy manifest shipped as a resource"
