#!/bin/sh
# `make run`: boot the image in QEMU with the console on this terminal (Ctrl-A X quits).
# NET=user: QEMU user networking, http://localhost:8080/ forwards to the guest's port 80.
# NET=tap:  scripts/tap.sh sets up a host bridge + tap + DHCP first and tears it down
#           when QEMU exits (needs root). STATIC=1 skips DHCP.
set -eu
nic=${NIC:-virtio}
net=${NET:-user}
if [ "$net" = tap ]; then
	if [ "${STATIC:-0}" = 1 ]; then scripts/tap.sh up --static; else scripts/tap.sh up; fi
	trap 'scripts/tap.sh down' EXIT INT TERM
	scripts/qemu.sh --nic "$nic" --net tap --tap skiff-tap0 --serial stdio
else
	echo "run: serial console below; Ctrl-A X quits QEMU. HTTP: http://localhost:${HTTP_PORT:-8080}/"
	exec scripts/qemu.sh --nic "$nic" --net "$net" --serial stdio
fi
