#!/usr/bin/env bash
# Installs dependencies, builds gridrelay twice (normal, and with ASan +
# UBSan) and runs every test in both builds: cmocka unit tests and the
# integration tests that start real gridrelayd processes on loopback. Then
# every libFuzzer target (tests/fuzz, built with clang by tools/fuzz.sh)
# runs for GR_FUZZ_SECONDS (default 15) seconds, each counted as one test,
# and, with GR_VALGRIND=1, valgrind's memcheck over the unit tests and
# test_roles (one test).
# The last line is "N passed, N failed"; the exit status is non-zero when
# anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# Builds into $1 with meson options $2.. and runs the tests there.
run_suite() {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi || { echo "run-tests: meson setup of $dir failed" >&2; failed=$((failed + 1)); return; }
  if ! ninja -C "$dir" >"$dir/build.log" 2>&1; then
    cat "$dir/build.log" >&2
    echo "run-tests: build in $dir failed" >&2
    failed=$((failed + 1))
    return
  fi
  rm -f "$dir/meson-logs/testlog.json"
  meson test -C "$dir" --print-errorlogs --num-processes 2 || true
  local log="$dir/meson-logs/testlog.json"
  if [ ! -f "$log" ]; then
    failed=$((failed + 1))
    return
  fi
  local ok bad
  ok=$(grep -c '"result": "OK"' "$log" || true)
  bad=$(grep -vc '"result": "\(OK\|SKIP\)"' "$log" || true)
  passed=$((passed + ok))
  failed=$((failed + bad))
  echo "run-tests: $dir: $ok passed, $bad failed"
}

# Each fuzz target is one test: its regression inputs, then a bounded run
# from the generated seed corpus (tools/fuzz.sh prints one line each).
run_fuzz() {
  local out ok bad
  out=$(tools/fuzz.sh --seconds "${GR_FUZZ_SECONDS:-15}" 2>&1)
  grep '^fuzz:' <<<"$out"
  ok=$(grep -c '^fuzz: [a-z]*: ok:' <<<"$out" || true)
  bad=$(grep -c '^fuzz: [a-z]*: FAILED' <<<"$out" || true)
  if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
    echo "$out" | tail -20 >&2
    bad=1  # it did not even build
  fi
  passed=$((passed + ok))
  failed=$((failed + bad))
  echo "run-tests: build-fuzz: $ok passed, $bad failed"
}

# valgrind memcheck over the unit tests and one integration test
# (tools/valgrind.sh: a third build, then about 75 s on an idle 2-core
# machine), one test. Only with GR_VALGRIND=1: it does not fit the CI
# budget beside the other two builds, and memcheck's 20-50x slowdown has
# failed test_link's heartbeat timing once.
run_valgrind() {
  mkdir -p build-valgrind
  if tools/valgrind.sh >build-valgrind/run.out 2>&1; then
    passed=$((passed + 1))
  else
    tail -40 build-valgrind/run.out >&2
    failed=$((failed + 1))
  fi
  tail -1 build-valgrind/run.out
}

# Only the sanitized build reads these.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

run_suite build
run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
run_fuzz
[ "${GR_VALGRIND:-0}" = 1 ] && run_valgrind

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
