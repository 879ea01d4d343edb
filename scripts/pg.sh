#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests and benchmarks: initdb in a directory of its own, a free port on
# 127.0.0.1, no system service. PostgreSQL refuses to run as root, so as root the cluster runs as an unprivileged
# user (`chatflow-pg`, created if missing). Debian's `postgresql` is installed when its binaries are missing.
#
#   scripts/pg.sh start DIR   # creates and starts a cluster in DIR; prints its URL (postgres://…) on stdout
#   scripts/pg.sh stop DIR    # stops it and removes DIR
#   scripts/pg.sh url DIR     # the URL of a running cluster
set -euo pipefail

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$found" ] && echo "$found"
}

ensure_binaries() {
  if [ -z "$(find_bin initdb)" ]; then
    echo "installing Debian's postgresql (initdb is missing)" >&2
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Runs a command as the cluster's owner: the current user, or `chatflow-pg` when that is root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u chatflow-pg -- "$@"
  else
    "$@"
  fi
}

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: scripts/pg.sh start|stop|url DIR" >&2; exit 2; }

case "$cmd" in
  start)
    ensure_binaries
    if [ "$(id -u)" = 0 ] && ! id chatflow-pg >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin chatflow-pg
    fi
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" = 0 ] && chown chatflow-pg "$dir"
    # Only the owner's password-less local connections: the cluster listens on loopback and lives as long as a run.
    as_owner "$(find_bin initdb)" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    # Tests create a database each and open a small pool per server: room for many at once.
    as_owner "$(find_bin pg_ctl)" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=on" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port" >"$dir/url"
    cat "$dir/url"
    ;;
  stop)
    if [ -d "$dir/data" ]; then
      as_owner "$(find_bin pg_ctl)" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  url)
    cat "$dir/url"
    ;;
  *)
    echo "unknown command $cmd (start, stop, url)" >&2
    exit 2
    ;;
esac
