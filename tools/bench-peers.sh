#!/usr/bin/env bash
# Measures the stock broker chains that gridbench's figures are compared
# with (mosquitto bridges, RabbitMQ shovels): installs them from Debian 12's
# own packages when missing, keeps their system services out of the way,
# builds gridpeerbench and runs it with the arguments given, e.g.
#
#   tools/bench-peers.sh --messages 20000 --runs 3 --json peers.json
#
# (tools/bench-peers.sh --help for every option). gridpeerbench starts its
# own brokers in temp dirs on free loopback ports; it never uses the
# system services, so these are stopped only to keep their CPU and memory
# out of the figures.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

packages=(mosquitto libmosquitto-dev rabbitmq-server librabbitmq-dev)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench-peers: missing packages: ${missing[*]}" >&2
    echo "bench-peers: run as root (or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "bench-peers: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start their services on install; only the ones installed
  # just now are disabled: a broker someone already ran is theirs.
  if [ -d /run/systemd/system ]; then
    for service in mosquitto rabbitmq-server; do
      for p in "${missing[@]}"; do
        if [ "$p" = "$service" ]; then
          systemctl disable --now "$service" >/dev/null 2>&1 ||
            echo "bench-peers: could not stop the $service service" >&2
        fi
      done
    done
  fi
fi

# A system broker that was running before stays running: say that it
# competes for the CPU, since the figures are only as good as the machine
# is quiet.
for service in mosquitto rabbitmq-server; do
  if [ -d /run/systemd/system ] && systemctl is-active --quiet "$service"; then
    echo "bench-peers: note: the $service service is running (not used, but it takes CPU;" \
         "'systemctl disable --now $service' stops it)" >&2
  fi
done

# --reconfigure: meson looks again for the client libraries it may not
# have found the last time. Only gridpeerbench is built, so a file being
# edited elsewhere in the tree cannot stop the benchmark.
if [ -f build/build.ninja ]; then
  meson setup --reconfigure build >/dev/null
else
  meson setup build >/dev/null
fi
if ! ninja -C build tools/gridpeerbench >build/peerbench-build.log 2>&1; then
  cat build/peerbench-build.log >&2
  echo "bench-peers: gridpeerbench did not build (is pkg-config finding libmosquitto" \
       "and librabbitmq?)" >&2
  exit 1
fi

start=$SECONDS
status=0
build/tools/gridpeerbench "$@" || status=$?
echo "bench-peers: $((SECONDS - start)) s" >&2
exit "$status"
