#!/bin/sh
# Boots a Skiff image in QEMU (q35, OVMF, TCG: no KVM assumed). Used by `make run`
# and by the system tests, so both boot the same machine.
#   --nic e1000|e1000e|igb|virtio|all|none   NIC model(s); all = one of each (lspci test)
#   --net user|tap|dgram|stream|none      user: hostfwd 127.0.0.1:$HTTP_PORT -> guest :80
#                                         dgram: Ethernet frames as UDP datagrams between
#                                         127.0.0.1:$DGRAM_LOCAL (QEMU, default 10000) and
#                                         127.0.0.1:$DGRAM_REMOTE (a relay, default 10001)
#   --net-fd N                            --net stream: Ethernet frames (4-byte big-endian
#                                         length, then the frame) on the connected stream
#                                         socket QEMU inherits as fd N; a full socket stops
#                                         QEMU taking frames from the NIC (backpressure)
#   --tap IFNAME                          tap device for --net tap (scripts/tap.sh makes it);
#                                         $SKIFF_TAP_OPTS is appended to its -netdev (e.g.
#                                         vnet_hdr=off: QEMU's e1000e/igb then checksum and
#                                         segment offloaded frames themselves, as on a wire)
#   --serial stdio|unix:PATH              console: terminal, or a socket tests connect to
#   --img PATH                            disk image (default build/skiff.img)
#   --no-reboot                           exit QEMU instead of rebooting
#   --machine q35|pc                      pc (i440fx) has no PCIe ECAM: legacy config path
#   --vga none|std                        std: a Bochs/std VGA card, so OVMF offers a GOP
#                                         framebuffer (still -display none: read it with
#                                         QMP screendump)
#   -- ARGS                               passed to QEMU as they are
# SKIFF_VIRTIO_OPTS (environment): more virtio-net-pci properties for --nic virtio, e.g.
#   csum=off,guest_csum=off,host_tso4=off,guest_tso4=off (the system tests with offloads off)
set -eu
net_fd="" nic=e1000 net=user serial=stdio img=build/skiff.img tap=skiff-tap0 extra="" noreboot="" machine=q35 vga=none
while [ $# -gt 0 ]; do
	case $1 in
	--nic) nic=$2; shift 2 ;;
	--net) net=$2; shift 2 ;;
	--tap) tap=$2; shift 2 ;;
	--net-fd) net_fd=$2; shift 2 ;;
	--serial) serial=$2; shift 2 ;;
	--img) img=$2; shift 2 ;;
	--no-reboot) noreboot=-no-reboot; shift ;;
	--machine) machine=$2; shift 2 ;;
	--vga) vga=$2; shift 2 ;;
	--) shift; extra="$*"; break ;;
	*) echo "qemu.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
case $vga in none|std) ;; *) echo "qemu.sh: --vga must be none or std" >&2; exit 2 ;; esac
port=${HTTP_PORT:-8080}
ovmf=/usr/share/ovmf/OVMF.fd
[ -r "$ovmf" ] || { echo "qemu.sh: $ovmf missing (run make deps)" >&2; exit 1; }
[ -r "$img" ] || { echo "qemu.sh: $img missing (run make)" >&2; exit 1; }

case $net in
user) netdev="-netdev user,id=n0,hostfwd=tcp:127.0.0.1:$port-:80" ;;
tap) netdev="-netdev tap,id=n0,ifname=$tap,script=no,downscript=no${SKIFF_TAP_OPTS:+,$SKIFF_TAP_OPTS}" ;;
dgram) netdev="-netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=${DGRAM_LOCAL:-10000},remote.type=inet,remote.host=127.0.0.1,remote.port=${DGRAM_REMOTE:-10001}" ;;
stream) netdev="-netdev stream,id=n0,server=off,addr.type=fd,addr.str=$net_fd" ;;
none) netdev="" ;;
*) echo "qemu.sh: --net must be user, tap, dgram, stream or none" >&2; exit 2 ;;
esac

# romfile= keeps OVMF from loading the NICs' iPXE option ROMs: faster boot, no PXE.
dev() {
	case $1 in
	e1000) echo "-device e1000,netdev=$2,romfile=" ;;
	e1000e) echo "-device e1000e,netdev=$2,romfile=" ;;
	igb) echo "-device igb,netdev=$2,romfile=" ;;
	virtio) echo "-device virtio-net-pci,netdev=$2,romfile=,disable-legacy=on${SKIFF_VIRTIO_OPTS:+,$SKIFF_VIRTIO_OPTS}" ;;
	*) echo "qemu.sh: unknown NIC $1" >&2; exit 2 ;;
	esac
}
nics=""
case $nic in
none) netdev="" ;;
all)
	# The first NIC gets the real network; the others are present for PCI tests only.
	[ -n "$netdev" ] || netdev="-netdev user,id=n0,restrict=on"
	nics="$(dev e1000 n0) -netdev user,id=n1,restrict=on $(dev e1000e n1) -netdev user,id=n2,restrict=on $(dev virtio n2)" ;;
*) [ -z "$netdev" ] || nics=$(dev "$nic" n0) ;;
esac

case $serial in
stdio) console="-serial mon:stdio" ;;
unix:*) console="-chardev socket,id=ser0,path=${serial#unix:},server=on,wait=off -serial chardev:ser0" ;;
*) echo "qemu.sh: --serial must be stdio or unix:PATH" >&2; exit 2 ;;
esac

# shellcheck disable=SC2086
exec qemu-system-x86_64 -machine "$machine" -accel tcg -cpu max -m 512M -smp 1 \
	-bios "$ovmf" -display none -monitor none -vga "$vga" $noreboot \
	-drive if=none,id=disk0,format=raw,file="$img",snapshot=on \
	-device ide-hd,drive=disk0,bus=ide.0,bootindex=0 \
	$console $netdev $nics $extra
