#!/usr/bin/env bash
# The Android library's native pipeline: every native step of the AAR goes through this script, called by Gradle's
# tasks (android/build.gradle.kts) on a machine with the NDK, and by the test command for the host target.
#
#   android/build.sh native TARGET...   cargo build of chatflow-ffi, profile release-unstripped (the mobile profile + symbols),
#                                        per target: arm64-v8a armeabi-v7a x86_64 x86 (cargo-ndk), or host
#   android/build.sh bindings           uniffi-bindgen (Kotlin) from the first target's unstripped library
#   android/build.sh strip              strips each unstripped library into jniLibs/<abi>/ (the files that ship)
#   android/build.sh stage              the AAR tree AGP would package, from the host run: AndroidManifest.xml,
#                                        classes.jar (kotlinc: generated + facade), libs/ (the TLS verifier's Kotlin
#                                        classes), jni/<abi>/, proguard.txt
#   android/build.sh verify [DIR|AAR]   checks a staged tree (default aar/) or a built .aar: layout, every library
#                                        stripped, 16 KB pages, the same build the bindings came from, consumer rules
#   android/build.sh host               native host + bindings + strip + stage + verify (what the test command runs)
#   android/build.sh verifier-jar DEST  the Kotlin half of the TLS platform verifier (rustls-platform-verifier calls it
#                                        through JNI), taken from the crate Cargo.lock pins, as a jar at DEST
#   android/build.sh minify APP_JAR     ProGuard (shrink + obfuscate) of classes.jar with proguard.txt, APP_JAR as the
#                                        app whose *Test classes are its entry points -> minified.jar (see below)
#
# uniffi-bindgen reads the bindings' metadata from the symbol table, so it must see the unstripped build; the copy
# that ships is stripped afterwards (same build id). Outputs go to $CHATFLOW_ANDROID_OUT (default build/android/):
# unstripped/<abi>/, kotlin/ (+ kotlin.source: the library it was generated from), jniLibs/<abi>/, aar/, targets.
# The host target's ABI directory is JNA's name for this platform (linux-x86-64, linux-aarch64).
#
# Environment: CARGO_TARGET_DIR; ANDROID_NDK_HOME (or ANDROID_NDK_ROOT) for the Android ABIs; STRIP (strip tool;
# default: the NDK's llvm-strip for Android ABIs, `strip` for host); CHATFLOW_ANDROID_PLATFORM (default 24, minSdk).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET_DIR=$(realpath -m "${CARGO_TARGET_DIR:-$ROOT/target}")
OUT=$(realpath -m "${CHATFLOW_ANDROID_OUT:-$ROOT/build/android}")
PROFILE=release-unstripped
PLATFORM=${CHATFLOW_ANDROID_PLATFORM:-24}
LIB=libchatflow_ffi.so
PAGE=16384   # Android 15+ devices may use 16 KB pages; Google Play requires it for apps targeting them

say()  { printf '[android] %s\n' "$*" >&2; }
die()  { say "error: $*"; exit 1; }
step() { printf '\n==> %s  [%s]\n' "$*" "$(date +%T)"; }
# timed NAME CMD...: runs CMD and prints how long it took.
timed() {
  local name=$1 start=$SECONDS; shift
  "$@"
  say "$name: $((SECONDS - start)) s"
}

# ----------------------------------------------------------------------------- targets
host_abi() {
  case $(uname -m) in
    x86_64) echo linux-x86-64 ;;
    aarch64) echo linux-aarch64 ;;
    *) die "no JNA platform name for $(uname -m)" ;;
  esac
}

android_triple() {
  case $1 in
    arm64-v8a) echo aarch64-linux-android ;;
    armeabi-v7a) echo armv7-linux-androideabi ;;
    x86_64) echo x86_64-linux-android ;;
    x86) echo i686-linux-android ;;
    *) return 1 ;;
  esac
}

# The ELF machine (readelf -h) each ABI directory must hold.
abi_machine() {
  case $1 in
    arm64-v8a | linux-aarch64) echo AArch64 ;;
    armeabi-v7a) echo ARM ;;
    x86_64 | linux-x86-64) echo 'Advanced Micro Devices X86-64' ;;
    x86) echo 'Intel 80386' ;;
    *) return 1 ;;
  esac
}

targets() {
  [ -s "$OUT/targets" ] || die "nothing built yet: run 'android/build.sh native TARGET...' first"
  cat "$OUT/targets"
}

ndk_strip() {
  local ndk=${ANDROID_NDK_HOME:-${ANDROID_NDK_ROOT:-}} tool
  [ -n "$ndk" ] || die "set ANDROID_NDK_HOME to the NDK (its llvm-strip strips the Android libraries), or STRIP"
  for tool in "$ndk"/toolchains/llvm/prebuilt/*/bin/llvm-strip; do
    [ -x "$tool" ] && { echo "$tool"; return; }
  done
  die "no llvm-strip under $ndk/toolchains/llvm/prebuilt/"
}

# ----------------------------------------------------------------------------- native
cmd_native() {
  [ $# -gt 0 ] || die "native: name the targets (arm64-v8a armeabi-v7a x86_64 x86 host)"
  rm -rf "$OUT/unstripped" "$OUT/targets"
  mkdir -p "$OUT/unstripped"
  local target abi built
  # The C code (SQLite, ring's C) is built without unwind tables (docs/decisions.md #13): no Rust frame ever runs
  # under a C frame (no SQLite callback is registered; ring's C calls nothing back), so a panic never unwinds
  # through it. cargo-ndk keeps the CFLAGS it finds (it puts its --target in front), so every ABI gets them.
  local cflags="${CFLAGS:+$CFLAGS }-fno-asynchronous-unwind-tables -fno-unwind-tables"
  for target in "$@"; do
    if [ "$target" = host ]; then
      abi=$(host_abi)
      step "cargo build --profile $PROFILE -p chatflow-ffi (host: $abi)"
      timed "cargo build ($abi)" env CFLAGS="$cflags" cargo build --locked --profile "$PROFILE" -p chatflow-ffi
      built=$TARGET_DIR/$PROFILE/$LIB
    elif triple=$(android_triple "$target"); then
      abi=$target
      step "cargo ndk --platform $PLATFORM -t $abi build --profile $PROFILE -p chatflow-ffi"
      timed "cargo ndk ($abi)" env CFLAGS="$cflags" cargo ndk --platform "$PLATFORM" -t "$abi" \
        build --locked --profile "$PROFILE" -p chatflow-ffi
      built=$TARGET_DIR/$triple/$PROFILE/$LIB
    else
      die "unknown target '$target' (arm64-v8a armeabi-v7a x86_64 x86 host)"
    fi
    mkdir -p "$OUT/unstripped/$abi"
    cp -p "$built" "$OUT/unstripped/$abi/$LIB"
    echo "$abi" >>"$OUT/targets"
  done
}

# ----------------------------------------------------------------------------- bindings
build_id() { readelf -n "$1" | awk '/Build ID:/ { print $3 }'; }

cmd_bindings() {
  local abi lib
  abi=$(targets | head -n1)
  lib=$OUT/unstripped/$abi/$LIB
  step "uniffi-bindgen: Kotlin from the unstripped $abi library"
  # The same package set as scripts/bindings.sh builds (cargo unifies features per invocation): one shared build.
  cargo build --locked -p chatflow-ffi -p uniffi-bindgen -p chatflow-server
  rm -rf "$OUT/kotlin"
  # Library mode reads `cargo metadata` (bindings/ffi/uniffi.toml), so it runs from the workspace root.
  timed "uniffi-bindgen" "$TARGET_DIR/debug/uniffi-bindgen" generate --no-format --library "$lib" \
    --language kotlin --out-dir "$OUT/kotlin"
  # What verify compares the shipped libraries with.
  printf 'abi=%s\nbuild_id=%s\n' "$abi" "$(build_id "$lib")" >"$OUT/kotlin.source"
  find "$OUT/kotlin" -name '*.kt' -printf '  %p (%s bytes)\n' | sed "s|$ROOT/||"
}

# ----------------------------------------------------------------------------- strip
cmd_strip() {
  local abi tool src dst
  rm -rf "$OUT/jniLibs"
  for abi in $(targets); do
    if [ -n "${STRIP:-}" ]; then tool=$STRIP
    elif android_triple "$abi" >/dev/null; then tool=$(ndk_strip)
    else tool=strip
    fi
    src=$OUT/unstripped/$abi/$LIB
    dst=$OUT/jniLibs/$abi/$LIB
    mkdir -p "$(dirname "$dst")"
    "$tool" --strip-all -o "$dst" "$src"
    say "strip ($abi, $(basename "$tool")): $(stat -c %s "$src") -> $(stat -c %s "$dst") bytes" \
      "(gzip -9: $(gzip -9c "$dst" | wc -c))"
  done
}

# ----------------------------------------------------------------------------- stage
cmd_stage() {
  eval "$(scripts/toolchains.sh env)"
  [ -x "$KOTLIN_HOME/bin/kotlinc" ] || die "no kotlinc in $KOTLIN_HOME: run 'scripts/toolchains.sh kotlin' first"
  [ -d "$OUT/kotlin" ] || die "no generated bindings: run 'android/build.sh bindings' first"
  local aar=$OUT/aar abi
  rm -rf "$aar"
  mkdir -p "$aar/jni"
  step "stage the AAR tree: $aar"
  cat >"$aar/AndroidManifest.xml" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="io.chatflow">
    <uses-sdk android:minSdkVersion="$PLATFORM" />
</manifest>
EOF
  # What AGP compiles: the generated bindings and the facade (src/androidMain needs the Android SDK). Java 11
  # bytecode, which Debian's ProGuard 6.2 (minify) reads; AGP's own build targets 17, D8 takes either.
  timed "kotlinc classes.jar" "$KOTLIN_HOME/bin/kotlinc" -jvm-target 11 \
    -cp "$JNA_JAR:$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar" \
    "$OUT/kotlin" android/src/main/kotlin -d "$aar/classes.jar"
  for abi in $(targets); do
    mkdir -p "$aar/jni/$abi"
    cp -p "$OUT/jniLibs/$abi/$LIB" "$aar/jni/$abi/$LIB"
  done
  cmd_verifier_jar "$aar/libs/rustls-platform-verifier.jar"
  cp android/consumer-rules.pro "$aar/proguard.txt"
}

# The TLS platform verifier (docs/decisions.md #3) checks certificates with Android's TrustManager through a small
# Kotlin component, org.rustls.platformverifier. It ships inside the rustls-platform-verifier-android crate that
# Cargo.lock pins (a local Maven repository holding its AAR), so its version always matches the Rust half; a library
# must bundle its classes. VERIFIER_CLASS is what the Rust half loads by name.
VERIFIER_CLASS=org/rustls/platformverifier/CertificateVerifier.class
cmd_verifier_jar() {
  local dest=${1:?verifier-jar: name the destination jar} dir aar tmp
  dir=$(cargo metadata --locked --format-version 1 --filter-platform aarch64-linux-android --manifest-path bindings/ffi/Cargo.toml |
    python3 -c 'import json, os, sys
pkgs = [p for p in json.load(sys.stdin)["packages"] if p["name"] == "rustls-platform-verifier-android"]
print(os.path.dirname(pkgs[0]["manifest_path"]) if pkgs else "")')
  [ -n "$dir" ] || die "verifier-jar: rustls-platform-verifier-android is not in the Android dependency graph"
  aar=$(find "$dir/maven" -name 'rustls-platform-verifier-*.aar' 2>/dev/null | sort | tail -n 1)
  [ -n "$aar" ] || die "verifier-jar: no AAR in $dir/maven (this version of the crate ships none: pin one that does, Cargo.toml)"
  tmp=$(mktemp -d)
  unzip -q -o "$aar" classes.jar -d "$tmp"
  # grep reads the whole list (no -q): with pipefail, an early exit would fail unzip with SIGPIPE now and then.
  unzip -Z1 "$tmp/classes.jar" | grep -x "$VERIFIER_CLASS" >/dev/null || die "verifier-jar: $aar has no $VERIFIER_CLASS"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/classes.jar" "$dest"
  rm -rf "$tmp"
  say "verifier-jar: $(basename "$aar") -> $dest"
}

# ----------------------------------------------------------------------------- verify
source "$ROOT/android/verify.sh"

# ----------------------------------------------------------------------------- minify
# What R8 does to the AAR's code in an app that minifies, approximated with Debian's ProGuard (R8 needs Google's
# Maven): shrink and obfuscate classes.jar under its own proguard.txt, with APP_JAR (the JVM tests) as the app. The
# test command then runs the JVM tests from minified.jar: a class or name JNA needs that the rules let go fails them.
# ProGuard 6.2 reads class files up to Java 13, so the JDK's modules are handed to it as a library with their
# class-file version lowered (library classes only give ProGuard the class hierarchy); the program jars are Java 11.
cmd_minify() {
  local app aar=$OUT/aar lib=$OUT/proguard
  app=$(realpath -m "${1:-}")
  [ -n "${1:-}" ] && [ -f "$app" ] || die "minify: name the app jar (e.g. build/kotlin/chatflow-tests.jar)"
  [ -f "$aar/classes.jar" ] || die "minify: no $aar/classes.jar: run 'android/build.sh stage' first"
  command -v proguard >/dev/null || die "minify: no proguard: scripts/toolchains.sh kotlin installs it"
  eval "$(scripts/toolchains.sh env)"
  step "minify: ProGuard with proguard.txt, app $(basename "$app")"
  mkdir -p "$lib"
  # java.base + java.net.http (the tests' server client): the JDK modules the code and the app use.
  local jmods
  jmods=$(dirname "$(dirname "$(realpath "$(command -v javac)")")")/jmods
  [ -f "$jmods/java.base.jmod" ] || die "minify: no $jmods/java.base.jmod (a full JDK is needed)"
  if [ ! -f "$lib/jdk.jar" ] || [ "$jmods/java.base.jmod" -nt "$lib/jdk.jar" ]; then
    python3 - "$lib/jdk.jar.tmp" "$jmods/java.base.jmod" "$jmods/java.net.http.jmod" <<'PY'
import io, sys, zipfile
out, jmods = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(out, "w") as zout:
    for jmod in jmods:
        data = open(jmod, "rb").read()
        data = data[4:] if data[:2] == b"JM" else data          # a jmod is a zip behind a 4-byte header
        with zipfile.ZipFile(io.BytesIO(data)) as zin:
            for name in zin.namelist():
                if name.startswith("classes/") and name.endswith(".class") and not name.endswith("module-info.class"):
                    b = bytearray(zin.read(name))
                    b[6:8] = min(int.from_bytes(b[6:8], "big"), 55).to_bytes(2, "big")   # major version: Java 11
                    zout.writestr(name[len("classes/"):], bytes(b))
PY
    mv "$lib/jdk.jar.tmp" "$lib/jdk.jar"
  fi
  local mr='(!META-INF/versions/**,!module-info.class)' j
  {
    printf -- '-injars %s\n-injars %s\n-outjars %s\n' "$aar/classes.jar" "$app" "$OUT/minified.jar"
    printf -- '-libraryjars %s\n' "$lib/jdk.jar" "$JNA_JAR" "$JUNIT_JAR" "$HAMCREST_JAR"
    for j in kotlin-stdlib kotlinx-coroutines-core-jvm kotlin-test kotlin-test-junit annotations-13.0; do
      printf -- '-libraryjars %s%s\n' "$KOTLIN_LIB/$j.jar" "$mr"
    done
    printf -- '-include %s\n' "$aar/proguard.txt"
    # The app: JUnit finds the test classes and their @Test methods by name and annotation.
    printf -- '-keep class io.chatflow.**Test { public *; }\n-keepattributes *Annotation*\n'
    # Shrinking and renaming are what break reflection; ProGuard 6.2's optimizer predates Kotlin 2.
    printf -- '-dontoptimize\n-dontnote\n-printusage %s\n' "$OUT/minified-removed.txt"
  } >"$lib/minify.pro"
  rm -f "$OUT/minified.jar"
  # ProGuard's script exits 0 even when it stops on warnings: the output jar tells.
  timed "proguard" proguard @"$lib/minify.pro" >"$lib/proguard.log" 2>&1 || true
  [ -f "$OUT/minified.jar" ] ||
    { tail -n 30 "$lib/proguard.log" >&2; die "minify: ProGuard failed (full log: $lib/proguard.log)"; }
  say "minify: $(unzip -Z1 "$aar/classes.jar" '*.class' | wc -l) classes in classes.jar," \
    "$(unzip -Z1 "$OUT/minified.jar" '*.class' | wc -l) in minified.jar (with the app's)," \
    "$(grep -c '^[a-z][^:]*$' "$OUT/minified-removed.txt" || true) classes removed"
}

cmd_host() {
  local start=$SECONDS
  cmd_native host
  cmd_bindings
  step "strip into jniLibs/"
  cmd_strip
  cmd_stage
  cmd_verify "$OUT/aar"
  say "host pipeline: $((SECONDS - start)) s"
}

usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }

case ${1:-} in
  native) shift; cmd_native "$@" ;;
  bindings) cmd_bindings ;;
  strip) cmd_strip ;;
  stage) cmd_stage ;;
  verify) shift; cmd_verify "${1:-$OUT/aar}" ;;
  host) cmd_host ;;
  minify) shift; cmd_minify "$@" ;;
  verifier-jar) shift; cmd_verifier_jar "$@" ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
