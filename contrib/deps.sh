#!/bin/sh
# Install what building, running and testing sluice needs (Debian 12).
set -eu
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root (apt-get)" >&2
	exit 1
fi
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential meson ninja-build pkg-config \
	libseccomp-dev libcap-dev libev-dev libmsgpack-dev libcjson-dev \
	libc-ares-dev libpcre2-dev libcrypt-dev check \
	python3 python3-socks curl ncat proxychains4 whois iproute2 procps \
	node-socks clang libclang-rt-14-dev \
	g++ libhiredis-dev libtomlplusplus-dev redis-server redis-tools \
	openssl libssl-dev liblua5.4-dev tcpdump socat nftables iptables \
	python3-prometheus-client man-db groff-base util-linux \
	ca-certificates
# sluiced's own users: workers run as _sluice, the resolver as
# _sluice-resolver, so a compromised worker shares no uid with the resolver.
for u in _sluice _sluice-resolver _sluice-registry _sluice-tunnel; do
	getent passwd "$u" >/dev/null ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin "$u"
done
