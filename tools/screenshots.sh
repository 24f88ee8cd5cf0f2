#!/usr/bin/env bash
# Makes docs/screenshots/*.png again: the browser test of the command view
# (tests/integration/test_web.c) run with GR_SCREENSHOTS, which captures
# each page with the DevTools protocol (Page.captureScreenshot) while a
# district, a township and a village run with a day's mix of reports.
#
# usage: tools/screenshots.sh [BUILD_DIR]     (default: build)
set -euo pipefail
if [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  exit 0
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
command -v chromium > /dev/null || { echo "screenshots.sh: no chromium (tools/install-deps.sh)" >&2; exit 1; }
ninja -C "$build" tests/integration/test_web node/gridrelayd tools/gridctl > /dev/null
out="$root/docs/screenshots"
mkdir -p "$out"
GR_SCREENSHOTS="$out" GRIDRELAYD="$build/node/gridrelayd" GRIDCTL="$build/tools/gridctl" \
  "$build/tests/integration/test_web"
ls -l "$out"/*.png
