#!/usr/bin/env bash
# deps.sh -- installs the Debian packages jugglite needs, and only those
# that are missing (a no-op when everything is present).
#   scripts/deps.sh run    what building and running the server needs
#   scripts/deps.sh bench  plus what bench/compare compares against: Redis
#                          and nginx with the Nchan module
#   scripts/deps.sh deb    plus what building the .deb needs (dpkg-dev:
#                          dpkg-shlibdeps, dpkg-buildflags; file, for CPack)
#   scripts/deps.sh test   plus what the test suite starts for real:
#                          redis-server, redis-cli, node + npm, chromium,
#                          nginx, curl, clang (libFuzzer), valgrind,
#                          prometheus (promtool checks /metrics), and for
#                          the package test lintian, man-db and systemd
#                          (systemd-analyze verify; nothing is started),
#                          openssl (the CLI: test certificates), testssl.sh
#                          (the TLS listener's audit), libnss3-tools
#                          (certutil: Chromium trusts the test CA),
#                          nghttp2-client (nghttp, h2load)
set -euo pipefail

profile=${1:-run}
build_pkgs=(gcc make cmake pkg-config libev-dev libhttp-parser-dev libjansson-dev
            libjwt-dev libssl-dev libcurl4-openssl-dev libnghttp2-dev)
deb_pkgs=(dpkg-dev file)
bench_pkgs=(redis-server redis-tools nginx-light libnginx-mod-nchan)
test_pkgs=(libcmocka-dev redis-server redis-tools chromium curl nginx-light prometheus
           clang libclang-rt-14-dev valgrind procps iproute2 python3 lintian man-db systemd
           openssl testssl.sh libnss3-tools nghttp2-client)

pkgs=("${build_pkgs[@]}")
if [ "$profile" = deb ] || [ "$profile" = test ]; then
    pkgs+=("${deb_pkgs[@]}")
fi
if [ "$profile" = bench ]; then
    pkgs+=("${bench_pkgs[@]}")
fi
if [ "$profile" = test ]; then
    pkgs+=("${test_pkgs[@]}")
    # node may come from elsewhere (e.g. a nodesource build); only install
    # Debian's when there is none.
    command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
    command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "deps: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
