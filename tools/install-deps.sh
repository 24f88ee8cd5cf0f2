#!/usr/bin/env bash
# Installs what gridrelay needs to build, test and run, from Debian 12's
# own packages. Does nothing when everything is already there, so the other
# scripts call it every time.
#
#   tools/install-deps.sh          what the normal build (gcc) and tests need
#   tools/install-deps.sh --fuzz   that, and clang + libFuzzer for the fuzz
#                                  build (tools/fuzz.sh calls it so)
set -euo pipefail

packages=(
  gcc libc6-dev pkg-config meson ninja-build
  protobuf-c-compiler libprotobuf-c-dev
  libzmq3-dev liblmdb-dev libsodium-dev libinih-dev libjson-c-dev
  libcmocka-dev libsystemd-dev
  libmicrohttpd-dev libgnutls28-dev libxml2-dev libxml2-utils curl openssl groff-base
  chromium fonts-wqy-zenhei
  tzdata
  valgrind
)
if [ "${1:-}" = "--fuzz" ]; then
  packages+=(clang libfuzzer-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
