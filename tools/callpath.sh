#!/usr/bin/env bash
# Follows one report through the daemon's modules (issue 12's figure of
# "a report's path"): builds gridrelayd with function instrumentation (-pg)
# in build-callpath, starts one village node under uftrace, sends a
# warm-up report and the report that is measured, stops the node, and
# prints what tools/callpath.py reads from the trace of the second call
# of FUNCTION (default gr_requests_write: the request table's way in,
# through the handler and the case engine to the Ack):
#
#   files entered and cross-file calls; "stays" (each change of file,
#   calls and returns alike) and how many go back to a file already left;
#   the pairs of files that call each other both ways (none: one direction).
#
#   tools/callpath.sh                     # gr_requests_write, the report's handler path
#   tools/callpath.sh --function gr_turn_reply --edges
#   tools/callpath.sh --help
#
# Needs uftrace (Debian package uftrace; installed when missing and root).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

function=gr_requests_write
edges=
while [ $# -gt 0 ]; do
  case "$1" in
    --function) function=$2; shift 2 ;;
    --edges) edges=--edges; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "callpath.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

tools/install-deps.sh
if ! command -v uftrace >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "callpath.sh: uftrace is missing (apt-get install -y uftrace)" >&2; exit 4
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uftrace >/dev/null
fi

build=$root/build-callpath
if [ ! -f "$build/build.ninja" ]; then
  # No inlining and no sibling calls, so that every call is seen.
  meson setup "$build" -Dbuildtype=debugoptimized -Dtests=disabled \
    -Dc_args="-pg -fno-inline-functions -fno-inline-small-functions -fno-optimize-sibling-calls" \
    -Dc_link_args=-pg >/dev/null
fi
ninja -C "$build" node/gridrelayd tools/gridctl >/dev/null

run=$(mktemp -d /tmp/gridrelay-callpath-XXXXXX)
trap 'rm -rf "$run"' EXIT
cd "$run"
"$build/tools/gridctl" keygen village.sec >/dev/null
"$build/tools/gridctl" keygen worker.sec >/dev/null
cat >village.ini <<INI
[node]
id = v1
tier = village
store = store
listen = tcp://127.0.0.1:*
endpoint_file = endpoint
secret_key = village.sec
catalogue = $root/examples/catalogue.ini

[reporters]
worker = @worker.sec.pub
INI
uftrace record -d trace --no-libcall "$build/node/gridrelayd" --config village.ini 2>node.log &
tracer=$!
for _ in $(seq 200); do [ -s endpoint ] && break; sleep 0.1; done
[ -s endpoint ] || { echo "callpath.sh: the node did not start:" >&2; cat node.log >&2; exit 1; }
for title in "warm-up report" "the report measured"; do
  "$build/tools/gridctl" report --category SS.DISPUTE --title "$title" --grid G-01 \
    --node "$(cat endpoint)" --key worker.sec --node-key @village.sec.pub >/dev/null
done
pkill -TERM -f "$build/node/gridrelayd --config village.ini" || true
wait "$tracer" || true

# The main loop's thread is the process's first; the map's first line of
# the binary is where it was loaded (a PIE).
main_tid=$(sed -n 's/^SESS .* pid=\([0-9]*\) .*/\1/p' trace/task.txt | head -1)
base=$(grep -m1 "$build/node/gridrelayd" trace/sid-*.map | cut -d- -f1)
uftrace replay -d trace --tid "$main_tid" -f addr >replay.txt 2>/dev/null
python3 "$root/tools/callpath.py" "$build/node/gridrelayd" replay.txt "$base" "$function" 2 $edges
