#!/usr/bin/env bash
# Builds the Chatflow XCFramework and the generated Swift on macOS (Xcode 16+, rustup).
#
#   ios/scripts/build-xcframework.sh            release libraries (size-tuned, LTO, stripped)
#   PROFILE=dev ios/scripts/build-xcframework.sh   quicker debug build for local work
#   MACOS=0 ios/scripts/build-xcframework.sh    iOS slices only
#   ZIP=1 ios/scripts/build-xcframework.sh      also ChatflowFFI.xcframework.zip + its SwiftPM checksum
#                                               (scripts/release-swift.sh runs it this way for a release)
#
# Produces:
#   ios/build/ChatflowFFI.xcframework         (git-ignored) static libchatflow_ffi.a per platform + C header + module
#                                               map: ios-arm64 (devices), ios-arm64_x86_64-simulator (lipo),
#                                               macos-arm64_x86_64 (lipo, unless MACOS=0)
#   ios/Sources/ChatflowBindings/ChatflowBindings.swift   (committed) the UniFFI Swift, regenerated from the iOS
#                                               library: it must not change (git diff shows it if it does)
# after which `CHATFLOW_LOCAL_XCFRAMEWORK=1 swift build` at the repository root (or Xcode opened with that variable
# set) uses this XCFramework instead of the release zip named in Package.swift.
set -euo pipefail
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh runs on macOS (xcodebuild, lipo)" >&2; exit 1; }
cd "$(dirname "$0")/../.."
ROOT=$PWD
PROFILE=${PROFILE:-mobile}
MACOS=${MACOS:-1}
ZIP=${ZIP:-0}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
OUT=$ROOT/ios/build
WORK=$OUT/work
LIB=libchatflow_ffi.a
profile_dir() { [ "$PROFILE" = dev ] && echo debug || echo "$PROFILE"; }

IOS_TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
MAC_TARGETS=(aarch64-apple-darwin x86_64-apple-darwin)
TARGETS=("${IOS_TARGETS[@]}")
[ "$MACOS" = 1 ] && TARGETS+=("${MAC_TARGETS[@]}")

step() { printf '\n==> %s\n' "$*"; }

step "rustup targets: ${TARGETS[*]}"
rustup target add "${TARGETS[@]}"

# Minimum OS versions match Package.swift's `platforms`.
export IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0
for t in "${TARGETS[@]}"; do
  step "cargo build --profile $PROFILE --target $t -p chatflow-ffi"
  cargo build --locked --profile "$PROFILE" --target "$t" -p chatflow-ffi
done
lib_of() { echo "$TARGET_DIR/$1/$(profile_dir)/$LIB"; }

rm -rf "$WORK" "$OUT/ChatflowFFI.xcframework"
mkdir -p "$WORK/ios-sim" "$WORK/macos"
step "lipo: simulator (arm64 + x86_64)"
lipo -create "$(lib_of aarch64-apple-ios-sim)" "$(lib_of x86_64-apple-ios)" -output "$WORK/ios-sim/$LIB"
if [ "$MACOS" = 1 ]; then
  step "lipo: macOS (arm64 + x86_64)"
  lipo -create "$(lib_of aarch64-apple-darwin)" "$(lib_of x86_64-apple-darwin)" -output "$WORK/macos/$LIB"
fi

step "uniffi-bindgen-swift: Swift sources, C header, module map"
BINDGEN=(cargo run --locked -q -p uniffi-bindgen --bin uniffi-bindgen-swift --)
"${BINDGEN[@]}" --swift-sources "$(lib_of aarch64-apple-ios)" "$ROOT/ios/Sources/ChatflowBindings"
# Header + module map in a folder named after the module: several XCFrameworks in one app would otherwise each put
# a `module.modulemap` at the root of the same include directory and collide.
"${BINDGEN[@]}" --headers --modulemap --module-name ChatflowFFI --modulemap-filename module.modulemap \
  "$(lib_of aarch64-apple-ios)" "$WORK/headers/ChatflowFFI"

step "xcodebuild -create-xcframework"
ARGS=(-library "$(lib_of aarch64-apple-ios)" -headers "$WORK/headers"
      -library "$WORK/ios-sim/$LIB" -headers "$WORK/headers")
[ "$MACOS" = 1 ] && ARGS+=(-library "$WORK/macos/$LIB" -headers "$WORK/headers")
xcodebuild -create-xcframework "${ARGS[@]}" -output "$OUT/ChatflowFFI.xcframework"

if [ "$ZIP" = 1 ]; then
  step "zip + checksum (for a url/checksum binaryTarget in a release manifest)"
  (cd "$OUT" && rm -f ChatflowFFI.xcframework.zip && ditto -c -k --keepParent ChatflowFFI.xcframework ChatflowFFI.xcframework.zip)
  (cd "$ROOT" && swift package compute-checksum ios/build/ChatflowFFI.xcframework.zip)
fi

step "done"
du -sh "$OUT/ChatflowFFI.xcframework"/*/ 2>/dev/null || true
echo "Next: CHATFLOW_LOCAL_XCFRAMEWORK=1 swift build   (at the repository root)"
