# shellcheck shell=bash
# Starting the reference server from a script (sourced by scripts/demo.sh and the sample apps' smoke tests).
#
#   start_server BIN DB SEED DIR   starts BIN on 127.0.0.1:0 with a fresh DB and SEED, stdout in DIR/server.out and
#                                  stderr in DIR/server.log; sets SERVER_PID and URL (http://127.0.0.1:PORT), or
#                                  returns 1 with the reason on stderr. The caller stops it (kill SERVER_PID).

# shellcheck disable=SC2034  # SERVER_PID and URL are for the caller
start_server() {
  local bin=$1 db=$2 seed=$3 dir=$4 line
  "$bin" --db "$db" --bind 127.0.0.1:0 --seed "$seed" >"$dir/server.out" 2>"$dir/server.log" &
  SERVER_PID=$!
  URL=
  # The server prints `listening on URL` as its first line once the socket is bound (60 s: a cold debug build).
  for _ in $(seq 1 600); do
    line=$(head -n1 "$dir/server.out" 2>/dev/null || true)
    if [[ $line == "listening on "* ]]; then
      URL=${line#listening on }
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "the server exited at start; its log: $dir/server.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "the server did not print its address within 60 s; its log: $dir/server.log" >&2
  return 1
}
