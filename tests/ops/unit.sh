#!/bin/sh
# systemd-analyze verify on the template unit, instantiated (exit 77 =
# skipped where systemd-analyze is missing). The unit names /usr/sbin/
# gridrelayd; a copy pointing at the built binary is verified, so the
# check does not depend on an installed package.
# Usage: unit.sh UNIT_FILE GRIDRELAYD
set -eu
unit=$1 daemon=$2
command -v systemd-analyze >/dev/null 2>&1 || exit 77
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s#/usr/sbin/gridrelayd#$daemon#g" "$unit" > "$dir/gridrelayd@.service"
ln -s gridrelayd@.service "$dir/gridrelayd@test.service"
out=$(systemd-analyze verify --man=no "$dir/gridrelayd@test.service" 2>&1) || {
  echo "$out" >&2; exit 1; }
# Warnings count as failures, except the ones a container without a
# running systemd prints about itself.
bad=$(printf '%s\n' "$out" | grep -v -e '^$' -e 'Failed to connect' -e 'System has not been booted' \
      -e 'Running in chroot' -e 'Cannot determine' || true)
if [ -n "$bad" ]; then echo "$bad" >&2; exit 1; fi
grep -q '^Type=notify' "$unit"
grep -q '^ProtectSystem=strict' "$unit"
grep -q '^StateDirectory=gridrelay/%i' "$unit"
