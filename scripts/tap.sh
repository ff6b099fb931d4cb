#!/bin/sh
# Host side of `make run NET=tap`: a bridge with an address, a tap for QEMU on it, and
# (unless static) dnsmasq serving DHCP on the bridge. Needs root. Everything it makes
# is named skiff-* and removed again by `down`.
#   scripts/tap.sh up [--static]   bridge skiff-br0 10.77.0.1/24, tap skiff-tap0,
#                                  DHCP pool 10.77.0.50-99 (or none with --static:
#                                  then set `ip = 10.77.0.2/24` in skiff.conf)
#   scripts/tap.sh down            stop dnsmasq, delete tap and bridge
set -eu
BR=skiff-br0
TAP=skiff-tap0
ADDR=10.77.0.1/24
STATE=${SKIFF_TAP_STATE:-build/tap}

need_root() {
	[ "$(id -u)" -eq 0 ] || { echo "tap.sh: needs root (sudo make run NET=tap)" >&2; exit 1; }
}

up() {
	need_root
	mkdir -p "$STATE"
	ip link show "$BR" >/dev/null 2>&1 || ip link add "$BR" type bridge
	ip addr replace "$ADDR" dev "$BR"
	ip link set "$BR" up
	ip link show "$TAP" >/dev/null 2>&1 || ip tuntap add "$TAP" mode tap
	ip link set "$TAP" master "$BR"
	ip link set "$TAP" up
	if [ "${1:-}" != "--static" ]; then
		dnsmasq --interface="$BR" --bind-interfaces --except-interface=lo --port=0 \
			--dhcp-range=10.77.0.50,10.77.0.99,255.255.255.0,1h \
			--dhcp-option=option:router,10.77.0.1 \
			--dhcp-leasefile="$STATE/leases" --pid-file="$STATE/dnsmasq.pid" \
			--log-facility="$STATE/dnsmasq.log" --log-dhcp
		echo "tap.sh: $BR $ADDR, $TAP, DHCP 10.77.0.50-99 (leases in $STATE/leases)"
	else
		echo "tap.sh: $BR $ADDR, $TAP, no DHCP (use ip = 10.77.0.2/24 in skiff.conf)"
	fi
}

down() {
	need_root
	if [ -f "$STATE/dnsmasq.pid" ]; then
		kill "$(cat "$STATE/dnsmasq.pid")" 2>/dev/null || true
		rm -f "$STATE/dnsmasq.pid"
	fi
	ip link del "$TAP" 2>/dev/null || true
	ip link del "$BR" 2>/dev/null || true
	echo "tap.sh: removed $TAP and $BR"
}

case ${1:-} in
up) shift; up "$@" ;;
down) down ;;
*) echo "usage: scripts/tap.sh up [--static] | down" >&2; exit 2 ;;
esac
