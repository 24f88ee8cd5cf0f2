#!/bin/sh
# meson install --destdir into a temp dir puts every file where Debian
# expects it (relative to the build's prefix): gridrelayd in sbin, gridctl
# in bin, the template unit in lib/systemd/system, the example configs in
# share/doc/gridrelay/examples, the man pages in share/man. Usage: install.sh BUILD_DIR PREFIX
set -eu
build=$1 prefix=$2
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
root="$dest$prefix"
status=0
for f in sbin/gridrelayd bin/gridctl lib/systemd/system/gridrelayd@.service \
         share/doc/gridrelay/examples/village.ini share/doc/gridrelay/examples/township.ini \
         share/doc/gridrelay/examples/catalogue.ini share/man/man8/gridrelayd.8 \
         share/man/man1/gridctl.1 share/man/man5/gridrelay.ini.5; do
  if [ ! -f "$root/$f" ]; then
    echo "missing after install: $prefix/$f" >&2
    status=1
  fi
done
[ -x "$root/sbin/gridrelayd" ] && "$root/sbin/gridrelayd" --help >/dev/null || status=1
exit $status
