#!/usr/bin/env bash
# The whole benchmark in one command: gridrelay's figures (gridbench) and
# the same two-hop chain on stock brokers beside them (gridpeerbench:
# mosquitto bridges, RabbitMQ shovels, NATS leaf nodes with JetStream
# sources), in one table and one JSON file.
#
#   bash tools/bench.sh                      # defaults: a few minutes on 2 cores
#   bash tools/bench.sh --runs 1 --no-scale  # any gridbench option is passed on
#
# Installs the build dependencies and the brokers from Debian 12's own
# packages when missing, keeps the brokers' system services out of the
# way, builds gridrelayd, gridbench and gridpeerbench, and runs
# `gridbench --peers` with the arguments given (gridbench --help for
# every option; it writes bench.json unless told --json FILE).
# gridpeerbench starts its own brokers in temp dirs on free loopback
# ports; it never uses the system services, so these are stopped only to
# keep their CPU and memory out of the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

packages=(mosquitto libmosquitto-dev rabbitmq-server librabbitmq-dev nats-server libnats-dev)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: missing packages: ${missing[*]}" >&2
    echo "bench: run as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "bench: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start their services on install; only the ones installed
  # just now are disabled: a broker someone already ran is theirs.
  if [ -d /run/systemd/system ]; then
    for service in mosquitto rabbitmq-server nats-server; do
      for p in "${missing[@]}"; do
        if [ "$p" = "$service" ]; then
          systemctl disable --now "$service" >/dev/null 2>&1 ||
            echo "bench: could not stop the $service service" >&2
        fi
      done
    done
  fi
fi

# A system broker that was running before stays running: say that it
# competes for the CPU, since the figures are only as good as the machine
# is quiet.
for service in mosquitto rabbitmq-server nats-server; do
  if [ -d /run/systemd/system ] && systemctl is-active --quiet "$service"; then
    echo "bench: note: the $service service is running (not used, but it takes CPU;" \
         "'systemctl disable --now $service' stops it)" >&2
  fi
done

# --reconfigure: meson looks again for the client libraries it may not
# have found the last time. Only what the benchmark runs is built, so a
# file being edited elsewhere in the tree (a test, gridctl) cannot stop it.
if [ -f build/build.ninja ]; then
  meson setup --reconfigure build >/dev/null
else
  meson setup build >/dev/null
fi
if ! ninja -C build node/gridrelayd tools/gridbench tools/gridpeerbench \
     >build/bench-build.log 2>&1; then
  cat build/bench-build.log >&2
  echo "bench: the build failed (for gridpeerbench: is pkg-config finding libmosquitto," \
       "librabbitmq and libnats?)" >&2
  exit 1
fi

# Other work on the machine moves every figure: the load goes with them.
echo "bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run" >&2
start=$SECONDS
status=0
build/tools/gridbench --peers "$@" || status=$?
echo "bench: $((SECONDS - start)) s; load average $(cut -d' ' -f1-3 /proc/loadavg) after" >&2
exit "$status"
