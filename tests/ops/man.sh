#!/bin/sh
# The man pages render without a groff warning, and gridrelay.ini(5)
# names every key of [node] and every section the config parser knows
# (read from the parser's own tables). Usage: man.sh SOURCE_ROOT
set -eu
root=$1
command -v groff >/dev/null || { echo "groff not installed: skipped"; exit 77; }
status=0
for page in "$root"/docs/man/*.[0-9]; do
  warnings=$(groff -k -man -Tutf8 -ww -z "$page" 2>&1) || status=1
  if [ -n "$warnings" ]; then
    echo "$page: $warnings" >&2
    status=1
  fi
done
ini="$root/docs/man/gridrelay.ini.5"
keys=$(sed -n '/gr_cfg_node_keys\[N_COUNT\] = {/,/};/p' "$root/node/config_sections.c" |
       grep -o '"[a-z_]*"' | tr -d '"')
sections=$(grep -o '\[S_[A-Z0-9_]*\] = { "[a-z0-9_]*"' "$root/node/config.c" |
           sed 's/.*"\(.*\)"/\1/')
[ -n "$keys" ] && [ -n "$sections" ] || { echo "could not read the parser's tables" >&2; exit 1; }
for k in $keys; do
  grep -qw -- "$k" "$ini" || { echo "gridrelay.ini.5 lacks [node] key $k" >&2; status=1; }
done
for s in $sections; do
  grep -q "\[$s\]" "$ini" || { echo "gridrelay.ini.5 lacks section [$s]" >&2; status=1; }
done
# gridctl(1) names every command of gridctl's command table.
cmds=$(grep -o '{ "[a-z-]*", gridctl_[a-z_]* }' "$root/tools/gridctl/gridctl.c" |
       sed 's/{ "\([a-z-]*\)".*/\1/')
[ -n "$cmds" ] || { echo "could not read gridctl's command table" >&2; exit 1; }
for c in $cmds; do
  grep -q "^\.BI\? $(printf '%s' "$c" | sed 's/-/\\\\-/g')\( \|$\)" "$root/docs/man/gridctl.1" ||
    { echo "gridctl.1 lacks command $c" >&2; status=1; }
done
exit $status
