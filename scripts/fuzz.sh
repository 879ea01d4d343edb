#!/usr/bin/env bash
# Coverage-guided fuzzing of every decoder of outside bytes (fuzz/README.md).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    # default: 60 s, every target
#
# Builds the requested targets once (cargo fuzz, nightly; installs cargo-fuzz if missing), runs each for the given
# time from its committed seed corpus (fuzz/corpus/<target>, read only; new inputs go to fuzz/target/corpus/<target>),
# and prints executions, speed and the result per target. Exits non-zero when a target crashes; the crashing input
# stays in fuzz/artifacts/<target>/ (git-ignored). FUZZ_SANITIZER=address builds with AddressSanitizer (default none:
# the decoders are safe Rust, and the sanitizer halves the speed).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECS=${1:-60}
shift || true
ALL=(realtime_client_frame realtime_server_frame rest_bodies kb_query kb_snippet sdk_config push_payload
  identity_token seed_file chatflow_input upload_bytes)
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL[@]}")
SANITIZER=${FUZZ_SANITIZER:-none}
TRIPLE=x86_64-unknown-linux-gnu

# The heavy crates are optional features of the fuzz crate: build only those the requested targets need.
features=()
for t in "${TARGETS[@]}"; do
  case $t in
    sdk_config | push_payload) features+=(sdk) ;;
    identity_token | seed_file | chatflow_input | upload_bytes) features+=(server) ;;
    realtime_client_frame | realtime_server_frame | rest_bodies | kb_query | kb_snippet) ;;
    *) echo "unknown fuzz target: $t (targets: ${ALL[*]})" >&2; exit 2 ;;
  esac
done
feature_list=$(printf '%s\n' "${features[@]}" | sort -u | paste -sd, -)

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked
fi

start=$SECONDS
build_args=(-s "$SANITIZER")
[[ -z $feature_list ]] || build_args+=(--features "$feature_list")
for t in "${TARGETS[@]}"; do
  cargo +nightly fuzz build "${build_args[@]}" "$t"
done
echo "fuzz build: $((SECONDS - start)) s (features: ${feature_list:-none}, sanitizer: $SANITIZER)"

failed=0
summary=()
for t in "${TARGETS[@]}"; do
  work=target/corpus/$t
  mkdir -p "$work" "artifacts/$t"
  log=target/logs/$t.log
  mkdir -p target/logs
  set +e
  "target/$TRIPLE/release/$t" "$work" "corpus/$t" -max_total_time="$SECS" -print_final_stats=1 -timeout=10 \
    -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  if [[ $rc -eq 0 ]]; then
    result=ok
  else
    failed=1
    result="CRASH (exit $rc): $(ls -t "artifacts/$t" | head -1) — see $PWD/$log"
  fi
  summary+=("$(printf '%-22s %12s execs %8s exec/s %6s cov  %s' "$t" "${runs:-?}" "${speed:-?}" "${cov:-?}" "$result")")
  echo "${summary[-1]}"
  [[ $rc -eq 0 ]] || tail -30 "$log" >&2
done

echo
echo "fuzz summary (${SECS} s per target):"
printf '  %s\n' "${summary[@]}"
exit $failed
