#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan into
# build-fuzz and runs each for a while.
#
#   tools/fuzz.sh [--seconds N] [--runs N] [TARGET...]
#
#   --seconds N  how long each target runs at most (default 10); the
#                README's "Fuzzing" section gives the long run's figures
#   --runs N     stop a target after N executions if that comes first
#                (e.g. --runs 10000000 --seconds 3600 for the long run)
#   TARGET       envelope, requests, notice, config, catalogue, keyfile
#                (default: all of them, one after the other)
#
# Each target starts from the seed corpus the build generates
# (build-fuzz/tests/fuzz/seeds/TARGET) and keeps what it finds in
# build-fuzz/fuzz-corpus/TARGET, so later runs go on from there. Per target
# one line: "fuzz: TARGET: ok: E executions in S s (R/s), cov C of T, ft F,
# corpus N", or "fuzz: TARGET: FAILED: ..." naming the reproducer that
# libFuzzer left in build-fuzz/fuzz-artifacts/TARGET/ (run the target on
# that file to see it again, with GR_FUZZ_VERBOSE=1 for what the node made
# of it). The last line is "fuzz: N passed, N failed"; the exit status is
# non-zero when a target crashed, leaked, hit undefined behaviour or
# timed out. cov is libFuzzer's count of the instrumented code's edges the
# corpus reaches, of T in the target's binary (all of gridrelay's code it
# links is instrumented, not the system libraries), ft its finer count of
# features (edges with hit counts), corpus the inputs kept.
# Before fuzzing, each target runs over the inputs that once found a
# defect (generated into build-fuzz/tests/fuzz/seeds/regress/TARGET) and
# fails if one fails again. Installs clang and libFuzzer first if they
# are missing.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=10
runs=-1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --seconds=*) seconds=${1#--seconds=}; shift ;;
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) runs=${1#--runs=}; shift ;;
    -h|--help) sed -n '2,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz: --seconds wants a whole number" >&2; exit 2 ;; esac
case "$runs" in -1) ;; ''|*[!0-9]*) echo "fuzz: --runs wants a whole number" >&2; exit 2 ;; esac
all=(envelope requests notice config catalogue keyfile)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

tools/install-deps.sh --fuzz || { echo "fuzz: 0 passed, 1 failed"; exit 1; }

dir=build-fuzz
if [ -f "$dir/build.ninja" ]; then
  meson setup --reconfigure "$dir" -Dfuzz=true -Dtests=disabled >/dev/null
else
  CC=clang meson setup "$dir" -Dfuzz=true -Dtests=disabled >/dev/null
fi || { echo "fuzz: meson setup of $dir failed" >&2; echo "fuzz: 0 passed, 1 failed"; exit 1; }
if ! ninja -C "$dir" >"$dir/fuzz-build.log" 2>&1; then
  cat "$dir/fuzz-build.log" >&2
  echo "fuzz: build failed" >&2
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
seeds=$dir/tests/fuzz/seeds
passed=0
failed=0
for t in "${targets[@]}"; do
  exe=$dir/tests/fuzz/fuzz_$t
  if [ ! -x "$exe" ]; then
    echo "fuzz: $t: FAILED: no such target (targets: ${all[*]})"
    failed=$((failed + 1))
    continue
  fi
  corpus=$dir/fuzz-corpus/$t
  artifacts=$dir/fuzz-artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  dict=()
  case $t in
    envelope|requests|notice) dict=(-dict="$seeds/proto.dict") ;;
    config|catalogue) dict=(-dict="$seeds/ini.dict") ;;
  esac
  log=$dir/fuzz-$t.log
  # First the inputs that once found a defect (gen_seeds writes them).
  if [ -d "$seeds/regress/$t" ] &&
     ! "$exe" -runs=0 -artifact_prefix="$artifacts/" "$seeds/regress/$t" >"$log" 2>&1; then
    echo "fuzz: $t: FAILED: a regression input fails again (log $log)"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/fuzz:   /'
    failed=$((failed + 1))
    continue
  fi
  start=$(date +%s)
  "$exe" -max_total_time="$seconds" -runs="$runs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 "${dict[@]}" -artifact_prefix="$artifacts/" "$corpus" "$seeds/$t" \
    >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  edges=$(sed -n 's/.*(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -1)
  if [ $rc -eq 0 ] && [ -n "$execs" ]; then
    echo "fuzz: $t: ok: ${execs} executions in ${took} s (${rate:-?}/s), cov ${cov:-?} of ${edges:-?}, ft ${ft:-?}, corpus ${corp:-?}"
    passed=$((passed + 1))
  else
    repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz: $t: FAILED after ${execs:-?} executions (exit $rc): reproducer ${repro:-none}; log $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 | sed 's/^/fuzz:   /'
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
