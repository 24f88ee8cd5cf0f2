#!/usr/bin/env bash
# A narrated tour of ONE gridrelay village node on loopback: signed reports,
# a refused category, queries, a kill -9 mid-burst with nothing lost, the
# counters, a clean SIGTERM. (tools/demo.sh is the multi-tier demo.)
# Everything lives in a temp dir removed at the end; Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tools/install-deps.sh
if [ ! -f build/build.ninja ]; then meson setup build >/dev/null; fi
ninja -C build >/dev/null

bin=$root/build
demo=$(mktemp -d /tmp/gridrelay-demo-XXXXXX)
node_pid=

cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid"; wait "$node_pid" 2>/dev/null || true
  fi
  rm -rf "$demo"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: stopping the node"; exit 130' INT TERM

bold=$(tput bold 2>/dev/null || true); dim=$(tput dim 2>/dev/null || true)
reset=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$reset"; }
say() { printf '%s%s%s\n' "$dim" "$*" "$reset"; }

# Waits up to 10 s for the node to write its bound endpoint.
wait_endpoint() {
  for _ in $(seq 100); do
    [ -s "$demo/endpoint" ] && return 0
    sleep 0.1
  done
  echo "the node did not start; its log:" >&2; cat "$demo/node.log" >&2; exit 1
}

start_node() {
  rm -f "$demo/endpoint"
  "$bin/node/gridrelayd" --config "$demo/village.ini" 2>>"$demo/node.log" &
  node_pid=$!
  wait_endpoint
}

step "1. Identities: one key pair for the node, one per grid worker"
"$bin/tools/gridctl" keygen "$demo/village.sec" >/dev/null
for w in zhang li; do
  printf '  worker %-6s public key %s\n' "$w" "$("$bin/tools/gridctl" keygen "$demo/$w.sec")"
done

step "2. The village node's configuration"
cat >"$demo/village.ini" <<INI
[node]
id = qingshan-village
tier = village
store = store
listen = tcp://127.0.0.1:*
endpoint_file = endpoint
secret_key = village.sec
catalogue = $root/examples/catalogue.ini

[reporters]
worker-zhang = @zhang.sec.pub
worker-li = @li.sec.pub

[operators]
; zhang is also the village's duty officer: he lists every case and reads
; the counters (li, a grid worker only, sees just her own reports)
worker-zhang = @zhang.sec.pub
INI
sed 's/^/  /' "$demo/village.ini"
"$bin/node/gridrelayd" --check-config --config "$demo/village.ini" | sed 's/^/  /'

step "3. Start gridrelayd"
start_node
endpoint=$(cat "$demo/endpoint")
say "  listening on $endpoint (log: one line per event)"
sed 's/^/  log| /' "$demo/node.log"

ctl() { local who=$1; shift; "$bin/tools/gridctl" "$@" --node "$endpoint" --key "$demo/$who.sec" \
          --node-key "@$demo/village.sec.pub"; }

step "4. Grid workers report (every report is signed, stored durably, then acknowledged)"
for w in zhang li; do
  id=$(ctl "$w" report --category DAILY.SAFE --title "daily report: all safe (平安无事)" --reporter "$w" --grid "G-0${#w}")
  printf '  %-5s daily zero report         -> %s\n' "$w" "$id"
done
id=$(ctl zhang report --category SS.DISPUTE --title "boundary wall dispute between two households" \
      --description "Families Wang and Zhao argue over a collapsed wall" --grid G-05 --reporter zhang)
printf '  zhang neighbour dispute          -> %s\n' "$id"
id=$(ctl li report --category PS.FIRE-HAZARD --title "cracked gas pipe at the grain store" --grid G-03 --reporter li)
printf '  li    safety hazard              -> %s\n' "$id"
fire=$(ctl zhang report --category PS.FIRE --severity urgent --title "smoke from a barn behind the school" \
      --grid G-05 --address "No. 3 East Lane" --lat 30.67 --lon 104.06 --reporter zhang \
      --attach "$(printf 'a%.0s' $(seq 64)),https://media.example/barn.jpg,image/jpeg")
printf '  zhang fire (urgent)              -> %s\n' "$fire"
mass=$(ctl li report --category SS.MASS --severity extra-urgent \
      --title "about 60 residents block the timber lorries on the county road" --grid G-03 --reporter li)
printf '  li    mass incident (extra-urgent) -> %s\n' "$mass"

step "5. A report with an unknown category is refused, and nothing is stored"
ctl zhang report --category NO.SUCH --title "typo in the category" 2>&1 | sed 's/^/  /' || true

step "6. What the node holds"
ctl zhang list | sed 's/^/  /'

step "7. One case with its timeline (hash-chained, each entry traceable to a signed envelope)"
ctl zhang show "$fire" | sed 's/^/  /'

step "8. Durability: 300 reports in flight, then kill -9 the node, restart it"
: >"$demo/acked"
( for i in $(seq 300); do
    ctl li report --category DAILY.SAFE --title "burst $i" --id "burst-$i" --attempts 20 --timeout 500 >/dev/null \
      && echo "burst-$i" >>"$demo/acked"
  done ) &
burst=$!
while [ "$(wc -l <"$demo/acked" 2>/dev/null || echo 0)" -lt 40 ]; do sleep 0.1; done
kill -9 "$node_pid"; wait "$node_pid" 2>/dev/null || true
say "  killed the node after $(wc -l <"$demo/acked") acknowledged burst reports; restarting on the same store"
sed -i "s|^listen = .*|listen = $endpoint|" "$demo/village.ini"
start_node
wait "$burst"
acked=$(wc -l <"$demo/acked")
stored=$(ctl zhang list --all --json --limit 1000 | grep -o '"id":"burst-[0-9]*"' | sort -u | wc -l)
printf '  acknowledged %s, stored %s distinct, lost %s\n' "$acked" "$stored" "$((acked - stored))"

step "9. Counters"
ctl zhang stats | sed 's/^/  /'

step "10. SIGTERM: the node finishes its batch, commits and exits 0"
kill -TERM "$node_pid"; wait "$node_pid"; rc=$?; node_pid=
tail -n 2 "$demo/node.log" | sed 's/^/  log| /'
say "  exit status $rc. Next: docs/PROTOCOL.md, examples/, and 'bash tools/run-tests.sh'."
