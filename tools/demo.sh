#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs a
# grid of real processes on loopback that a newcomer can watch:
#
#   qinghe-district                      (district, its command centre operator)
#   ├── dongshan-town                    (township; departments: police, safety)
#   │   ├── taoyuan-village, liushu-village
#   └── xishan-town                      (township; department: fire)
#       ├── shiqiao-village, huangshi-village
#
# Seven gridrelayd nodes, three department processes (`gridctl dept watch`
# driving claim / return / complete), grid workers and operators using
# gridctl. Each has its own key and each node its own LMDB store. A
# realistic mix of reports is fed in: mostly daily "all safe" reports, a
# neighbour dispute, hazards, an urgent fire, a case nobody accepts in time
# (督办), an extra-urgent mass incident that must reach the district, and a
# suspected epidemic the district does not resolve in time. Every
# escalation, dispatch, claim, return, resolution and feedback is shown
# live; then a summary per tier, and, ten minutes later on the nodes' clock,
# the day's daily reports (one missed, one late), the district's supervision
# list and its ranking of every node below. Everything lives in a temp dir
# removed at the end; Ctrl-C stops everything cleanly. No process is left.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

tools/install-deps.sh
if [ ! -f build/build.ninja ]; then meson setup build >/dev/null; fi
ninja -C build >/dev/null

gridrelayd=$root/build/node/gridrelayd
gridctl=$root/build/tools/gridctl
demo=$(mktemp -d /tmp/gridrelay-demo-XXXXXX)
groups=()   # process groups to stop: nodes, departments, the live view

bold=$(tput bold 2>/dev/null || true); dim=$(tput dim 2>/dev/null || true)
reset=$(tput sgr0 2>/dev/null || true)
step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$reset"; }
say() { printf '%s%s%s\n' "$dim" "$*" "$reset"; }

cleanup() {
  local g
  for g in "${groups[@]}"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  for g in "${groups[@]}"; do
    for _ in $(seq 50); do kill -0 -- "-$g" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$g" 2>/dev/null || true
  done
  rm -rf "$demo"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: stopping every process"; exit 130' INT TERM

# Runs "$@" in a process group of its own and remembers it for cleanup.
spawn() { setsid "$@" & groups+=("$!"); }

# ---- the grid ----

district=qinghe-district
towns=(dongshan-town xishan-town)
villages=(taoyuan-village liushu-village shiqiao-village huangshi-village)
declare -A parent=([dongshan-town]=$district [xishan-town]=$district
  [taoyuan-village]=dongshan-town [liushu-village]=dongshan-town
  [shiqiao-village]=xishan-town [huangshi-village]=xishan-town)
declare -A worker=([taoyuan-village]=zhang [liushu-village]=li
  [shiqiao-village]=wang [huangshi-village]=zhao)
# A second grid worker at two villages: qian never sends today's daily
# report, sun sends it late.
declare -A worker2=([huangshi-village]=qian [taoyuan-village]=sun)
declare -A tier=([$district]=district [dongshan-town]=township [xishan-town]=township)
for v in "${villages[@]}"; do tier[$v]=village; done
declare -A dept_node=([police]=dongshan-town [safety]=dongshan-town [fire]=xishan-town)

# Every node reads its clock through this file (gridrelayd --clock): the
# demo moves the grid ten minutes on at the end, past the daily reports' due
# time and the district's resolve deadline, instead of waiting for them.
echo 0 >"$demo/clock"
# The daily reports (日报告) fall due four minutes from now (UTC).
due=$(date -u -d '+4 min' +%H:%M)

key() { "$gridctl" keygen "$demo/keys/$1.sec" >/dev/null; }
pub() { echo "@$demo/keys/$1.sec.pub"; }

step "1. Keys: every node, grid worker, operator and department has its own"
mkdir -p "$demo/keys"
for n in $district "${towns[@]}" "${villages[@]}"; do key "$n"; key "op-$n"; done
for w in "${worker[@]}" "${worker2[@]}"; do key "$w"; done
for d in "${!dept_node[@]}"; do key "$d"; done
say "  $(ls "$demo/keys"/*.sec | wc -l) key pairs in $demo/keys (secret 0600, public .pub)"

# Writes a node's config; parents must be running (their endpoints are read).
write_config() {
  local n=$1 dir=$demo/$1
  mkdir -p "$dir"
  {
    printf '[node]\nid = %s\ntier = %s\nstore = store\nlisten = tcp://127.0.0.1:*\n' "$n" "${tier[$n]}"
    printf 'endpoint_file = endpoint\nsecret_key = %s/keys/%s.sec\ncatalogue = %s/examples/catalogue.ini\n' \
      "$demo" "$n" "$root"
    if [ "${tier[$n]}" != village ]; then printf 'status_listen = tcp://127.0.0.1:*\n'; fi
    if [ "${tier[$n]}" = township ]; then printf 'task_listen = tcp://127.0.0.1:*\n'; fi
    # Roles: the duty officer acts on cases, the grid worker reports.
    printf '\n[operators]\noperator = %s\n' "$(pub "op-$n")"
    if [ "${tier[$n]}" = village ]; then
      printf '\n[reporters]\nworker-%s = %s\n' "${worker[$n]}" "$(pub "${worker[$n]}")"
      if [ -n "${worker2[$n]:-}" ]; then
        printf 'worker-%s = %s\n' "${worker2[$n]}" "$(pub "${worker2[$n]}")"
      fi
    fi
    if [ -n "${parent[$n]:-}" ]; then
      local p=${parent[$n]}
      printf '\n[parent]\nid = %s\nendpoint = %s\nstatus_endpoint = %s\nkey = %s\n' "$p" \
        "$(head -1 "$demo/$p/endpoint")" "$(sed -n 's/^status //p' "$demo/$p/endpoint")" "$(pub "$p")"
    fi
    if [ "${tier[$n]}" = village ]; then
      # 越级直报: direct categories go straight to the district.
      printf '\n[skip]\nid = %s\nendpoint = %s\nkey = %s\n' "$district" \
        "$(head -1 "$demo/$district/endpoint")" "$(pub "$district")"
      printf '\n[deadlines]\naccept.routine = 6s\n'
      printf '\n[daily]\ndue = %s\ntimezone = UTC\n' "$due"
    fi
    # The command centre resolves within 5 minutes of accepting a case.
    if [ "$n" = "$district" ]; then printf '\n[deadlines]\nresolve.routine = 5min\n'; fi
    # The district's HTTP face (metrics, Open311 intake, a web login for
    # the leader's screen), on a free port written to its endpoint file.
    if [ "$n" = "$district" ]; then
      printf '\n[http]\nlisten = 127.0.0.1:*\n\n[http_users]\nleader = %s\n' "$leader_hash"
    fi
    case $n in
      dongshan-town)
        printf '\n[departments]\npolice = %s, 派出所 police station\nsafety = %s, 安监站 safety supervision\n' \
          "$(pub police)" "$(pub safety)"
        printf '\n[dispatch]\nPS.FIRE-HAZARD = safety\nPS.ROAD-HAZARD = safety, police\nPS.CRIME = police\n'
        printf 'SS.DISPUTE = police\n\n[deadlines]\nclaim.urgent = 10s\n' ;;
      xishan-town)
        printf '\n[departments]\nfire = %s, 消防救援站 fire and rescue station\n' "$(pub fire)"
        printf '\n[dispatch]\nPS.FIRE = fire\nPS.FIRE-HAZARD = fire\n\n[deadlines]\nclaim.urgent = 10s\n' ;;
    esac
    if [ "${tier[$n]}" != village ]; then
      printf '\n[children]\n'
      local c
      for c in "${!parent[@]}"; do
        if [ "${parent[$c]}" = "$n" ]; then printf '%s = %s\n' "$c" "$(pub "$c")"; fi
      done
      # The district also admits the villages' skip-level reports.
      if [ "$n" = "$district" ]; then
        for c in "${villages[@]}"; do printf '%s = %s\n' "$c" "$(pub "$c")"; done
      fi
    fi
  } >"$dir/node.ini"
}

start_node() {
  local n=$1
  write_config "$n"
  "$gridrelayd" --check-config --config "$demo/$n/node.ini" >/dev/null
  spawn "$gridrelayd" --config "$demo/$n/node.ini" --clock "$demo/clock" 2>"$demo/$n/node.log"
  for _ in $(seq 100); do [ -s "$demo/$n/endpoint" ] && return 0; sleep 0.1; done
  echo "$n did not start; its log:" >&2; cat "$demo/$n/node.log" >&2; exit 1
}

leader_hash=$(echo 'demo-leader' | "$gridctl" http-password --role viewer)
step "2. Start seven gridrelayd nodes (parents first: children dial out to them)"
for n in $district "${towns[@]}" "${villages[@]}"; do
  start_node "$n"
  printf '  %-17s %-9s %s\n' "$n" "${tier[$n]}" "$(head -1 "$demo/$n/endpoint")"
done
say "  config of a township: $demo/dongshan-town/node.ini"
http_url=$(sed -n 's/^http //p' "$demo/$district/endpoint")
say "  the district's HTTP face, while the demo runs: $http_url"
say "    curl $http_url/metrics    curl $http_url/open311/v2/services.json"
say "    command view: open $http_url/ in a browser, user leader, password demo-leader (viewer)"
sed -n '/^\[departments\]/,$p' "$demo/dongshan-town/node.ini" | sed 's/^/    /'

# gridctl as a given key against a given node.
ctl() {
  local who=$1 n=$2; shift 2
  "$gridctl" "$@" --node "$(head -1 "$demo/$n/endpoint")" --key "$demo/keys/$who.sec" \
    --node-key "$(pub "$n")"
}

# ---- the live view: every node's case changes, one line each ----

live_view() {
  # mawk (Debian's awk) reads a pipe in blocks unless told otherwise.
  local interactive=()
  if awk -W version 2>&1 | grep -q mawk; then interactive=(-W interactive); fi
  tail -q -n +1 -F "${@/%//node.log}" 2>/dev/null | awk "${interactive[@]}" -v bold="$bold" -v reset="$reset" '
    / case=/ && / (new case|accept|escalate|dispatch|claim|return|resolve|feedback|assign|urge|deadline):/ {
      if ($0 ~ /-village case=.* accept:/) next   # the village committees accept a lot
      node = ""; kase = ""; msg = $0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^node=/) node = substr($i, 6)
        if ($i ~ /^case=/) { kase = substr($i, 6); msg = $0; sub(/.* case=[^ ]+ /, "", msg) }
      }
      t = substr($1, 12, 12)
      printf "%s  %-17s %s  %s%s%s\n", t, node, substr(kase, length(kase) - 5), bold, msg, reset
      fflush()
    }'
}

# ---- the departments: real client processes on gridctl dept watch ----

say_dept() { printf '%s  %-17s %s  %s\n' "$(date -u +%H:%M:%S.%3N)" "[dept $1]" "${2: -6}" "$3"; }

# How each department works its tasks: claim, then complete or return.
department() {
  local d=$1 n=${dept_node[$1]}
  ctl "$d" "$n" dept watch | while read -r _ change id _ cat _; do
    [ "$change" = added ] || continue
    (
      sleep 1
      if [ "$d" = safety ] && [ "$cat" = PS.ROAD-HAZARD ]; then
        ctl "$d" "$n" dept return "$id" "debris on a public road, not a workplace: police" >/dev/null
        say_dept "$d" "$id" "returned (退回): not a workplace hazard, for police"
        exit 0
      fi
      ctl "$d" "$n" dept claim "$id" --note "team on the way" >/dev/null
      say_dept "$d" "$id" "claimed (签收)"
      sleep 2
      case $d in
        police) result="road cleared by patrol car 3; parties mediated at the station" ;;
        safety) result="fire exit unblocked; stallholders warned, recheck Friday" ;;
        fire) result="fire out in 12 minutes; no injuries; cause: burning straw" ;;
      esac
      ctl "$d" "$n" dept complete "$id" "$result" >/dev/null
      say_dept "$d" "$id" "completed (办结): $result"
    ) &
  done
}
export -f department ctl pub say_dept
export demo gridctl
declare -p dept_node >"$demo/dept_node.sh"

step "3. Three departments connect: police and safety at dongshan-town, fire at xishan-town"
for d in police safety fire; do
  spawn bash -c "source '$demo/dept_node.sh'; department $d"
  say "  $d: gridctl dept watch at ${dept_node[$d]} (claims, returns, completes by itself)"
done

step "4. The grid at work (live: one line per case change at any node)"
say "  time (UTC)    node              case    what happened"
spawn bash -c "$(declare -f live_view); bold='$bold'; reset='$reset'; live_view $(printf "'$demo/%s' " $district "${towns[@]}" "${villages[@]}")"

stat_sum() {  # counter -> sum over every node
  local n total=0 v
  for n in $district "${towns[@]}" "${villages[@]}"; do
    v=$(ctl "op-$n" "$n" stats 2>/dev/null | awk -v k="$1" '$1 == k {print $2}')
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
progress() {
  say "  -- progress: $(stat_sum events_stored) cases held, $(stat_sum cases_escalate) escalated," \
      "$(stat_sum cases_dispatch) dispatched, $(stat_sum cases_resolve) resolved," \
      "$(stat_sum cases_feedback) results fed back to their village --"
}

report() {  # village category severity title -> prints the event id
  local v=$1 cat=$2 sev=$3 title=$4
  ctl "${worker[$v]}" "$v" report --category "$cat" --severity "$sev" --title "$title" \
    --reporter "${worker[$v]}" --grid "G-0$((RANDOM % 9 + 1))"
}

# A village committee operator handles what stays in the village.
village_resolves() {  # village id delay result
  ( sleep "$3"; ctl "op-$1" "$1" accept "$2" >/dev/null; ctl "op-$1" "$1" resolve "$2" --result "$4" >/dev/null ) &
}

daily_round() {  # villages whose grid worker sends the day's zero report
  local v
  for v in "$@"; do
    # A zero report is recorded, not a case: nothing to accept or resolve.
    report "$v" DAILY.SAFE routine "daily round: all safe (平安无事)" >/dev/null
  done
}

# Any report a grid worker makes that day counts; qian (huangshi-village)
# makes none today, sun (taoyuan-village) sends the zero report late (step 7).
daily_round liushu-village shiqiao-village
sleep 2
dispute=$(report taoyuan-village SS.DISPUTE routine "two households argue over a collapsed boundary wall")
village_resolves taoyuan-village "$dispute" 3 "mediated by the village committee; wall to be rebuilt jointly"
sleep 2
hazard=$(report liushu-village PS.FIRE-HAZARD urgent "fire exit blocked by stalls at the market")
sleep 2
fire=$(report huangshi-village PS.FIRE urgent "smoke from a haystack behind the primary school")
sleep 2
road=$(report taoyuan-village PS.ROAD-HAZARD urgent "landslide debris across the county road")
sleep 2
progress
mass=$(report shiqiao-village SS.MASS extra-urgent "about 60 villagers block the quarry gate over dust")
sleep 1
late=$(report liushu-village SV.REQUEST routine "elderly resident needs help with a medical claim")
fever=$(report taoyuan-village PS.EPIDEMIC routine "three pupils with high fever at the primary school")
daily_round liushu-village

# The district command centre takes the mass incident (越级直报 put it there).
( for _ in $(seq 100); do
    ctl "op-$district" "$district" show "$mass" >/dev/null 2>&1 && break; sleep 0.2
  done
  sleep 2; ctl "op-$district" "$district" accept "$mass" --note "command centre on duty" >/dev/null
  sleep 3; ctl "op-$district" "$district" resolve "$mass" \
    --result "district team on site; dust barrier and dialogue agreed; crowd dispersed" >/dev/null ) &

# The district takes the suspected epidemic on, and is still at it when
# its 5-minute resolve deadline passes (step 8: the supervision list).
( for _ in $(seq 100); do
    ctl "op-$district" "$district" show "$fever" >/dev/null 2>&1 && break; sleep 0.2
  done
  ctl "op-$district" "$district" accept "$fever" --note "epidemic team sampling at the school" >/dev/null ) &

# Nobody in liushu-village accepts the request in time: after 6 s it goes up
# with 督办, and the township's operator (no department takes SV.*) handles it.
( for _ in $(seq 150); do
    ctl op-dongshan-town dongshan-town show "$late" >/dev/null 2>&1 && break; sleep 0.2
  done
  sleep 2; ctl op-dongshan-town dongshan-town accept "$late" >/dev/null
  ctl op-dongshan-town dongshan-town resolve "$late" \
    --result "civil affairs clerk visited; claim filed" >/dev/null ) &

# ---- wait until every case has settled (bounded), with a progress line ----

status_at() { ctl "$1" "$2" show "$3" --json 2>/dev/null | grep -o '"status":"[a-z_]*"' | head -1 | cut -d'"' -f4; }
settled() {
  [ "$(status_at op-liushu-village liushu-village "$hazard")" = fed_back ] &&
  [ "$(status_at op-huangshi-village huangshi-village "$fire")" = fed_back ] &&
  [ "$(status_at op-taoyuan-village taoyuan-village "$road")" = fed_back ] &&
  [ "$(status_at op-shiqiao-village shiqiao-village "$mass")" = fed_back ] &&
  [ "$(status_at op-liushu-village liushu-village "$late")" = fed_back ]
}
for i in $(seq 60); do
  settled && break
  if [ $((i % 3)) = 0 ]; then progress; fi
  sleep 1
done
sleep 1
progress

step "5. One case end to end: the fire, as the village that reported it sees it"
ctl op-huangshi-village huangshi-village show "$fire" | sed 's/^/  /'

step "6. Summary per tier"
printf '  %-9s %-17s %6s %10s %11s %9s %9s %8s\n' tier node cases escalated dispatched resolved "fed back" overdue
for n in $district "${towns[@]}" "${villages[@]}"; do
  ctl "op-$n" "$n" stats 2>/dev/null | awk -v t="${tier[$n]}" -v n="$n" '
    {v[$1] = $2}
    END {printf "  %-9s %-17s %6d %10d %11d %9d %9d %8d\n", t, n, v["events_stored"],
         v["cases_escalate"], v["cases_dispatch"], v["cases_resolve"], v["cases_feedback"], v["cases_deadline"]}'
done
settled && say "  every case resolved and its result fed back to the village that reported it" \
        || say "  (some cases had not settled within the demo's time)"

step "7. Ten minutes later: the daily reports (日报告) fell due at $due UTC"
echo 600000 >"$demo/clock.tmp" && mv "$demo/clock.tmp" "$demo/clock"
say "  (every node's clock moved 10 minutes on: gridrelayd --clock)"
daily_closed() {  # the district has every village's summary of today, closed
  [ "$(ctl "op-$district" "$district" daily --json 2>/dev/null | grep -o '"closed":true' | wc -l)" -ge 4 ]
}
for _ in $(seq 100); do daily_closed && break; sleep 0.2; done
say "  sun, a grid worker of taoyuan-village, sends today's zero report now, after the due time: late"
ctl sun taoyuan-village report --category DAILY.SAFE --title "daily round: all safe (平安无事)" \
  --reporter sun >/dev/null
for _ in $(seq 50); do
  ctl "op-$district" "$district" daily 2>/dev/null | grep -q late && break; sleep 0.2
done
ctl "op-$district" "$district" daily | sed 's/^/  /'

step "8. The supervision list at the district (督办: gridctl supervise), here and below"
for _ in $(seq 50); do
  ctl "op-$district" "$district" supervise 2>/dev/null | grep -q "$fever" && break; sleep 0.2
done
ctl "op-$district" "$district" supervise | sed 's/^/  /'

step "9. This month's ranking at the district (考核: gridctl rank), every node below it"
ctl "op-$district" "$district" rank | sed 's/^/  /'
say "  the district's metrics ($http_url/metrics), a few of them:"
curl -s "$http_url/metrics" | grep -E '^gridrelay_(events_stored_total|cases_escalate_total|link_up)' | sed 's/^/    /' || true
say "  next: README.md, docs/PROTOCOL.md, examples/township.ini; bash tools/demo-node.sh for one node"
say "  in detail (kill -9 and nothing lost); bash tools/run-tests.sh runs every test."
