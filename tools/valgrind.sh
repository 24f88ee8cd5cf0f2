#!/usr/bin/env bash
# Runs valgrind's memcheck over every unit test and one integration test
# (test_roles by default: real gridrelayd processes under memcheck too, and
# the test program itself), in build-valgrind (gcc, debug, no sanitizers:
# valgrind and ASan do not mix). An error (invalid read or write, use of
# uninitialised memory, a definitely lost block) fails the run.
#
#   tools/valgrind.sh                  # unit tests + integration test roles
#   tools/valgrind.sh --integration NAME   # another integration test
#   tools/valgrind.sh --help
#
# The daemon runs under memcheck through a wrapper script given to the
# harness as GR_DAEMON_WRAPPER; each gridrelayd process writes its report to
# build-valgrind/valgrind/gridrelayd.PID.log. Summary on the last line:
# "valgrind: N processes clean, N with errors". A timing assertion of a
# unit test (test_link heartbeats) can fail under memcheck's slowdown on a
# loaded machine; rerun that test alone before believing it.
set -uo pipefail
cd "$(dirname "$0")/.."

integration=roles
while [ $# -gt 0 ]; do
  case "$1" in
    --integration) integration=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "valgrind.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed (apt-get install valgrind)" >&2; exit 4; }
dir=build-valgrind
if [ -f "$dir/build.ninja" ]; then
  meson setup --reconfigure "$dir" -Dbuildtype=debug >/dev/null
else
  meson setup "$dir" -Dbuildtype=debug >/dev/null
fi || exit 4
ninja -C "$dir" >"$dir/build.log" 2>&1 || { cat "$dir/build.log" >&2; exit 4; }

logs="$PWD/$dir/valgrind"
rm -rf "$logs"
mkdir -p "$logs"
memcheck=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
          --errors-for-leak-kinds=definite --show-leak-kinds=definite
          --num-callers=30)
wrapper="$logs/gridrelayd-memcheck"
cat >"$wrapper" <<WRAP
#!/bin/sh
exec ${memcheck[*]} --log-file=$logs/gridrelayd.%p.log "$PWD/$dir/node/gridrelayd" "\$@"
WRAP
chmod +x "$wrapper"

# Under memcheck everything is 20-50 times slower: meson's timeouts grow.
start=$(date +%s)
meson test -C "$dir" --suite unit --num-processes 1 --timeout-multiplier 10 \
  --wrapper "${memcheck[*]} --log-file=$logs/unit.%p.log" --print-errorlogs
unit_rc=$?
GR_DAEMON_WRAPPER="$wrapper" meson test -C "$dir" "$integration" --num-processes 1 \
  --timeout-multiplier 10 --wrapper "${memcheck[*]} --log-file=$logs/test.%p.log" \
  --print-errorlogs
int_rc=$?
end=$(date +%s)

# A gridrelayd with errors exits 99, which the test may not notice (it
# stops nodes and checks only their stores): read every report.
# A log without a summary is a forked child that went on to exec another
# program (sh, gridctl, the wrapper): memcheck stopped following it there.
dirty=0
n=0
for f in "$logs"/*.log; do
  grep -q "ERROR SUMMARY" "$f" || { rm -f "$f"; continue; }
  n=$((n + 1))
  if ! grep -q "ERROR SUMMARY: 0 errors" "$f"; then
    echo "valgrind: errors in $f:" >&2
    grep -A30 "^==[0-9]*== \(Invalid\|Conditional\|Use of\|Syscall\|.*definitely lost\)" "$f" | head -60 >&2
    dirty=$((dirty + 1))
  fi
done
echo "valgrind: $((n - dirty)) processes clean, $dirty with errors ($(ls "$logs"/gridrelayd.*.log 2>/dev/null | wc -l) gridrelayd); $((end - start)) s"
[ "$unit_rc" -eq 0 ] && [ "$int_rc" -eq 0 ] && [ "$dirty" -eq 0 ]
