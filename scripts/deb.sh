#!/usr/bin/env bash
# deb.sh -- builds the jugglite .deb and prints its path:
#   scripts/deb.sh [BUILD_DIR]      (default build/deb)
# A build of the server alone (no tests), with Debian's own hardening flags
# (dpkg-buildflags, hardening=+all), installed under /usr and packed by
# CPack (packaging/install.cmake). The configure and compile output goes to
# BUILD_DIR/build.log, printed only if the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build/deb}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
log=$dir/build.log

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
export CFLAGS LDFLAGS
jobs=$(nproc 2>/dev/null || echo 2)
# CMAKE_BUILD_TYPE=None: the flags above, nothing added (as debhelper does).
{ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_INSTALL_PREFIX=/usr -DJL_TESTS=OFF \
        -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON &&
  cmake --build "$dir" -j"$jobs" --target jugglite manpage &&
  (cd "$dir" && cpack -G DEB); } >"$log" 2>&1 ||
  { cat "$log" >&2; echo "deb.sh: the build failed; its output is above and in $log" >&2; exit 1; }
ls "$dir"/jugglite_*.deb
