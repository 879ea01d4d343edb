#!/usr/bin/env bash
# Chatflow binding-test toolchains: Kotlin/JVM and Swift-on-Linux.
#
#   scripts/toolchains.sh kotlin                JDK check, Debian JNA + JUnit4, kotlinc (npm)
#   scripts/toolchains.sh swift                 Debian trixie chroot with `swiftlang`
#   scripts/toolchains.sh browser               Debian's Chromium for the inbox's browser tests
#   scripts/toolchains.sh all                   kotlin + swift
#   scripts/toolchains.sh env                   export lines:  eval "$(scripts/toolchains.sh env)"
#   scripts/toolchains.sh swift-run DIR -- CMD  run CMD (bash -e) in the chroot, DIR at /src/proj
#   scripts/toolchains.sh reset                 unmount and delete the whole cache
#
# Everything downloaded lives in ${CHATFLOW_TOOLCHAINS:-/var/cache/chatflow-toolchains},
# outside the repo, so a second run only checks and is done in a few seconds.
# Needs root (apt-get, debootstrap, chroot, mount). Sources: Debian mirror + npm registry only.
# See scripts/README.md.
set -euo pipefail

KOTLIN_VERSION=2.4.20
DEBIAN_SUITE=trixie
DEBIAN_MIRROR=http://deb.debian.org/debian
DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security

CACHE=$(realpath -m "${CHATFLOW_TOOLCHAINS:-/var/cache/chatflow-toolchains}")
LOG_DIR=$CACHE/logs
KOTLIN_HOME=$CACHE/kotlin-$KOTLIN_VERSION
KOTLIN_LIB=$KOTLIN_HOME/lib
JNA_JAR=/usr/share/java/jna.jar
JUNIT_JAR=/usr/share/java/junit4.jar
HAMCREST_JAR=/usr/share/java/hamcrest.jar
SWIFT_CHROOT=$CACHE/swift-$DEBIAN_SUITE             # only ever created by a final rename
SWIFT_STAGING=$CACHE/swift-$DEBIAN_SUITE.partial    # work in progress, may be resumed or wiped
DEBOOTSTRAP_OK=.chatflow-debootstrap-ok             # marker: debootstrap finished
SWIFT_READY=.chatflow-swift-ready                   # marker: swiftlang installed + cleaned
# Written into the ready marker; bump it when the chroot recipe changes so existing
# caches are upgraded in place (the chroot goes back to staging and apt-get install reruns).
SWIFT_STAMP="suite=$DEBIAN_SUITE packages=swiftlang,libc6-dev recipe=2"
# Installed into a ready chroot when missing, checked one by one on every run: adding one never rebuilds the chroot
# nor changes the stamp that other checkouts sharing this cache compare. git: SwiftPM clones URL dependencies with
# it (the test of the Swift package added by URL).
SWIFT_EXTRA_PACKAGES=(git)
CHROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ----------------------------------------------------------------------------- helpers
say()  { printf '[toolchains] %s\n' "$*" >&2; }
die()  { say "error: $*"; exit 1; }
now()  { date +%s%N; }
elapsed() { local ns=$(( $(now) - $1 )); printf '%d.%d' $(( ns / 1000000000 )) $(( ns / 100000000 % 10 )); }

# step NAME CMD...: run CMD, print "NAME: Xs" to stderr.
step() {
  local name=$1 t; shift
  t=$(now)
  "$@"
  say "$name: $(elapsed "$t")s"
}

# quiet LOGNAME CMD...: run CMD with output into $LOG_DIR/LOGNAME.log; show its tail on failure.
quiet() {
  local log=$LOG_DIR/$1.log rc=0; shift
  mkdir -p "$LOG_DIR"
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "command failed (exit $rc): $*"
    say "last lines of $log:"
    tail -n 30 "$log" >&2 || true
    return "$rc"
  fi
}

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, debootstrap, chroot, mount)"; }

# Serialise concurrent runs on one lock file per purpose (fd 9).
take_lock() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.$1.lock"
  flock -w 3600 9 || die "timed out waiting for $CACHE/.$1.lock"
}

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

APT_UPDATED=0
# apt_ensure PKG...: install the missing ones; `apt-get update` only if something is missing.
apt_ensure() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then
    quiet apt-update apt-get update
    APT_UPDATED=1
  fi
  quiet apt-install env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# Mount points under DIR (deepest first), from the kernel's own table.
mounts_under() {
  local dir=$1
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

# Unmount everything under DIR; fail if anything stays mounted (never rm -rf over a bind mount!).
unmount_under() {
  local dir=$1 m
  while read -r m; do
    [ -n "$m" ] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(mounts_under "$dir")
  [ -z "$(mounts_under "$dir")" ] || die "still mounted under $dir: $(mounts_under "$dir" | tr '\n' ' ')"
}

# PIDs of processes whose root directory is DIR (i.e. running inside that chroot).
chroot_pids() {
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    [ "$r" = "$1" ] && printf '%s ' "${p#/proc/}"
  done
  return 0
}

# An interrupted run can leave processes behind in the chroot (apt starts dpkg in its own
# session, so killing apt's process group does not stop it). Wait for them to finish;
# never unmount or delete under them.
wait_chroot_idle() {
  local dir=$1 waited=0 pids
  while pids=$(chroot_pids "$dir"); [ -n "$pids" ]; do
    [ "$waited" -eq 0 ] && say "waiting for processes still running in $dir: $pids"
    [ "$waited" -ge "${CHATFLOW_IDLE_TIMEOUT:-600}" ] && die "still running in $dir after ${waited}s: $pids"
    sleep 2; waited=$((waited + 2))
  done
}

# Safe recursive delete: unmount first, never cross into another file system.
wipe() {
  [ -e "$1" ] || return 0
  wait_chroot_idle "$1"
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}

# ----------------------------------------------------------------------------- kotlin
kotlin_ready() {
  [ -x "$KOTLIN_HOME/bin/kotlinc" ] && [ -f "$KOTLIN_LIB/kotlin-stdlib.jar" ] && [ -f "$KOTLIN_HOME/.chatflow-ok" ]
}

ensure_jdk() {
  if ! command -v java >/dev/null || ! command -v javac >/dev/null; then
    apt_ensure default-jdk-headless
  fi
  command -v javac >/dev/null || die "javac still missing after installing default-jdk-headless"
}

fetch_kotlinc() {
  local tmp
  tmp=$(mktemp -d "$CACHE/.kotlin-download.XXXXXX")
  # npm verifies the tarball against the registry's integrity hash. A private npm cache
  # inside $tmp keeps ~/.npm from holding a second 90 MB copy.
  quiet npm-pack env npm_config_cache="$tmp/npm-cache" npm_config_update_notifier=false \
    npm pack --silent --pack-destination "$tmp" "kotlin-compiler@$KOTLIN_VERSION"
  quiet kotlin-untar tar -xzf "$tmp/kotlin-compiler-$KOTLIN_VERSION.tgz" -C "$tmp"
  chmod +x "$tmp"/package/bin/*
  [ -f "$tmp/package/lib/kotlin-stdlib.jar" ] || die "npm kotlin-compiler@$KOTLIN_VERSION: unexpected layout"
  touch "$tmp/package/.chatflow-ok"
  wipe "$KOTLIN_HOME"
  mv "$tmp/package" "$KOTLIN_HOME"     # atomic: KOTLIN_HOME is either complete or absent
  rm -rf "$tmp"
}

cmd_kotlin() {
  need_root
  take_lock install
  local t0
  t0=$(now)
  step "kotlin: JDK" ensure_jdk
  # proguard-cli: the minify check of the Android pipeline (android/build.sh minify).
  step "kotlin: Debian libjna-java junit4 proguard-cli" apt_ensure libjna-java junit4 proguard-cli
  local j
  for j in "$JNA_JAR" "$JUNIT_JAR" "$HAMCREST_JAR"; do [ -f "$j" ] || die "missing $j"; done
  if kotlin_ready; then
    say "kotlin: kotlinc $KOTLIN_VERSION already in $KOTLIN_HOME"
  else
    # Leftovers of an interrupted download are useless: drop them.
    rm -rf "$CACHE"/.kotlin-download.*
    step "kotlin: npm pack kotlin-compiler@$KOTLIN_VERSION" fetch_kotlinc
  fi
  local jdk kver
  jdk=$(javac -version 2>&1 | awk '{print $2}')
  kver=$(sed -n 's/^\([0-9][0-9.]*\).*/\1/p' "$KOTLIN_HOME/build.txt" 2>/dev/null | head -n1)
  printf 'kotlin: ready in %ss - kotlinc %s (%s), JDK %s, JNA %s, JUnit %s\n' \
    "$(elapsed "$t0")" "${kver:-$KOTLIN_VERSION}" "$KOTLIN_HOME" "$jdk" \
    "$(dpkg-query -W -f='${Version}' libjna-java)" "$(dpkg-query -W -f='${Version}' junit4)"
}

# ----------------------------------------------------------------------------- browser
# The web inbox's browser tests drive Debian's Chromium with playwright-core (npm); no browser is ever downloaded.
cmd_browser() {
  need_root
  take_lock install
  step "browser: Debian chromium" apt_ensure chromium
  [ -x /usr/bin/chromium ] || die "missing /usr/bin/chromium"
  printf 'browser: ready - %s\n' "$(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
}

# ----------------------------------------------------------------------------- swift
swift_ready() {
  [ -x "$SWIFT_CHROOT/usr/bin/swiftc" ] && [ -f "$SWIFT_CHROOT/$SWIFT_READY" ] &&
    [ "$(cat "$SWIFT_CHROOT/$SWIFT_READY")" = "$SWIFT_STAMP" ]
}

# Mount the pseudo file systems a chroot needs (idempotent). Each new mount is made
# private so nothing propagates back to the host's /dev or /sys.
mount_pseudo() {
  local root=$1
  mountpoint -q "$root/proc"    || mount -t proc  proc "$root/proc"
  mountpoint -q "$root/sys"     || { mount --bind /sys "$root/sys" && mount --make-private "$root/sys"; }
  mountpoint -q "$root/dev"     || { mount --bind /dev "$root/dev" && mount --make-private "$root/dev"; }
  mountpoint -q "$root/dev/pts" || { mount --bind /dev/pts "$root/dev/pts" && mount --make-private "$root/dev/pts"; }
  cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}

in_chroot() {   # in_chroot ROOT SCRIPT
  chroot "$1" /usr/bin/env -i HOME=/root LANG=C.UTF-8 PATH="$CHROOT_PATH" TERM="${TERM:-dumb}" \
    DEBIAN_FRONTEND=noninteractive /bin/bash -ec "$2"
}

do_debootstrap() {
  quiet debootstrap debootstrap --variant=minbase "$DEBIAN_SUITE" "$SWIFT_STAGING" "$DEBIAN_MIRROR"
  touch "$SWIFT_STAGING/$DEBOOTSTRAP_OK"
}

do_install_swiftlang() {
  cat >"$SWIFT_STAGING/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb $DEBIAN_SECURITY_MIRROR $DEBIAN_SUITE-security main
EOF
  rm -f "$SWIFT_STAGING"/etc/apt/sources.list.d/*.sources "$SWIFT_STAGING"/etc/apt/sources.list.d/*.list
  # No service may start inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$SWIFT_STAGING/usr/sbin/policy-rc.d"
  chmod +x "$SWIFT_STAGING/usr/sbin/policy-rc.d"
  mount_pseudo "$SWIFT_STAGING"
  # `dpkg --configure -a` finishes whatever an interrupted earlier install left behind.
  # libc6-dev is named on purpose: swiftlang pulls gcc-14, which only *recommends* it, and
  # without it swiftc warns "libc not found" and cannot import Glibc. Recommends stay on
  # (as in the verified recipe), but apt skips them for packages that are already installed.
  quiet swiftlang in_chroot "$SWIFT_STAGING" '
    dpkg --configure -a
    apt-get update
    apt-get install -y swiftlang libc6-dev
    apt-get clean
    rm -rf /var/lib/apt/lists/*
    swiftc --version'
  unmount_under "$SWIFT_STAGING"
  [ -x "$SWIFT_STAGING/usr/bin/swiftc" ] || die "swiftlang installed but no /usr/bin/swiftc"
  [ -f "$SWIFT_STAGING/usr/include/stdio.h" ] || die "libc6-dev missing in the chroot"
  printf '%s\n' "$SWIFT_STAMP" >"$SWIFT_STAGING/$SWIFT_READY"
}

# Extra packages missing from the ready chroot, installed while holding the swift-run lock (on fd 8: fd 9 holds the
# install lock), since installing mounts and unmounts the chroot's pseudo file systems as a swift-run does.
swift_extras() {
  local missing=() p
  for p in "${SWIFT_EXTRA_PACKAGES[@]}"; do
    dpkg-query --admindir="$SWIFT_CHROOT/var/lib/dpkg" -W -f='${Status}' "$p" 2>/dev/null |
      grep -q '^install ok installed$' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  exec 8>"$CACHE/.swift-run.lock"
  flock -w 3600 8 || die "timed out waiting for $CACHE/.swift-run.lock"
  wait_chroot_idle "$SWIFT_CHROOT"
  trap 'unmount_under "$SWIFT_CHROOT" || true' EXIT
  unmount_under "$SWIFT_CHROOT"
  mount_pseudo "$SWIFT_CHROOT"
  say "swift: installing into the chroot: ${missing[*]}"
  quiet swift-extras in_chroot "$SWIFT_CHROOT" "
    apt-get update
    apt-get install -y --no-install-recommends ${missing[*]}
    apt-get clean
    rm -rf /var/lib/apt/lists/*"
  unmount_under "$SWIFT_CHROOT"
  trap - EXIT
  exec 8>&-
}

cmd_swift() {
  need_root
  take_lock install
  local t0
  t0=$(now)
  if swift_ready; then
    say "swift: chroot already complete in $SWIFT_CHROOT"
  else
    trap 'unmount_under "$SWIFT_STAGING" || true' EXIT
    step "swift: host debootstrap" apt_ensure debootstrap
    wait_chroot_idle "$SWIFT_STAGING"
    wait_chroot_idle "$SWIFT_CHROOT"
    if [ -e "$SWIFT_CHROOT" ]; then
      unmount_under "$SWIFT_CHROOT"
      if [ -f "$SWIFT_CHROOT/$DEBOOTSTRAP_OK" ]; then
        # Built by an older recipe: upgrade it in place rather than starting over.
        say "swift: $SWIFT_CHROOT is from an older recipe, updating it"
        wipe "$SWIFT_STAGING"
        rm -f "$SWIFT_CHROOT/$SWIFT_READY"
        mv "$SWIFT_CHROOT" "$SWIFT_STAGING"
      else
        say "swift: $SWIFT_CHROOT is not a chroot made by this script, removing it"
        wipe "$SWIFT_CHROOT"
      fi
    fi
    if [ -f "$SWIFT_STAGING/$DEBOOTSTRAP_OK" ]; then
      say "swift: resuming from a finished debootstrap in $SWIFT_STAGING"
    else
      if [ -e "$SWIFT_STAGING" ]; then say "swift: discarding a half-done debootstrap in $SWIFT_STAGING"; fi
      wipe "$SWIFT_STAGING"
      step "swift: debootstrap --variant=minbase $DEBIAN_SUITE" do_debootstrap
    fi
    step "swift: apt-get install swiftlang (in chroot)" do_install_swiftlang
    mv "$SWIFT_STAGING" "$SWIFT_CHROOT"
    trap - EXIT
  fi
  step "swift: extra packages (${SWIFT_EXTRA_PACKAGES[*]})" swift_extras
  local ver
  ver=$(dpkg-query --admindir="$SWIFT_CHROOT/var/lib/dpkg" -W -f='${Version}' swiftlang)
  printf 'swift: ready in %ss - swiftlang %s in Debian %s chroot %s\n' \
    "$(elapsed "$t0")" "$ver" "$DEBIAN_SUITE" "$SWIFT_CHROOT"
}

# ----------------------------------------------------------------------------- swift-run
# swift-run DIR -- CMD...   One argument after `--` is a bash script; several are quoted
# as one command line. Exit code is CMD's.
cmd_swift_run() {
  [ $# -ge 1 ] || die "usage: $0 swift-run DIR -- CMD..."
  local dir
  dir=$(realpath -e "$1") || die "no such directory: $1"
  [ -d "$dir" ] || die "not a directory: $1"
  shift
  [ "${1:-}" = "--" ] && shift
  [ $# -ge 1 ] || die "usage: $0 swift-run DIR -- CMD..."
  local script
  if [ $# -eq 1 ]; then script=$1; else script=$(printf '%q ' "$@"); fi

  need_root
  swift_ready || die "no Swift chroot in $SWIFT_CHROOT: run '$0 swift' first"
  # One run at a time owns the mounts; this also clears what a killed run left mounted
  # (e.g. a stale /src/proj pointing at another directory).
  take_lock swift-run
  wait_chroot_idle "$SWIFT_CHROOT"
  trap 'unmount_under "$SWIFT_CHROOT"' EXIT
  unmount_under "$SWIFT_CHROOT"
  mount_pseudo "$SWIFT_CHROOT"
  mkdir -p "$SWIFT_CHROOT/src/proj"
  mount --bind "$dir" "$SWIFT_CHROOT/src/proj"
  mount --make-private "$SWIFT_CHROOT/src/proj"

  local rc=0 envs=(HOME=/root LANG=C.UTF-8 PATH="$CHROOT_PATH" TERM="${TERM:-dumb}")
  [ -n "${CI:-}" ] && envs+=(CI="$CI")
  # shellcheck disable=SC2016  # $1 is expanded by the inner bash, on purpose
  chroot "$SWIFT_CHROOT" /usr/bin/env -i "${envs[@]}" \
    /bin/bash -c 'cd /src/proj && exec /bin/bash -ec "$1"' swift-run "$script" || rc=$?
  return "$rc"    # the EXIT trap unmounts
}

# ----------------------------------------------------------------------------- env / reset
cmd_env() {
  local v
  for v in KOTLIN_HOME KOTLIN_LIB JNA_JAR JUNIT_JAR HAMCREST_JAR SWIFT_CHROOT; do
    printf 'export %s=%q\n' "$v" "${!v}"
  done
}

cmd_reset() {
  need_root
  take_lock install
  wait_chroot_idle "$SWIFT_STAGING"
  wait_chroot_idle "$SWIFT_CHROOT"
  unmount_under "$CACHE"
  # Keep the lock file we hold; delete everything else.
  find "$CACHE" -mindepth 1 -maxdepth 1 ! -name .install.lock -exec rm -rf --one-file-system {} +
  say "reset: emptied $CACHE"
}

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
    kotlin)    cmd_kotlin ;;
    swift)     cmd_swift ;;
    browser)   cmd_browser ;;
    all)       cmd_kotlin; cmd_swift ;;
    env)       cmd_env ;;
    swift-run) cmd_swift_run "$@" ;;
    reset)     cmd_reset ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
