#!/bin/sh
# Install dependencies, build sluiced and run it in the foreground on the
# default configuration (SOCKS5, SOCKS4 and HTTP proxy on 127.0.0.1:1080,
# one direct link).
set -eu
cd "$(dirname "$0")/.."
sh contrib/deps.sh
[ -d build ] || meson setup build --buildtype=release
meson compile -C build sluiced
exec ./build/sluiced -c contrib/sluice.json
