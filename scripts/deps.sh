#!/bin/sh
# Installs the Debian packages Skiff needs to build, run and test, if any is missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
# QEMU: Debian 12's qemu-system-x86 (7.2) is used; it has e1000, e1000e and virtio-net
# but no igb model (see README).
set -eu
pkgs="gcc make binutils gnu-efi nasm qemu-system-x86 ovmf mtools dosfstools fdisk \
python3 python3-pytest python3-scapy iproute2 iptables iputils-ping curl wget dnsmasq-base tshark wrk \
clang libclang-rt-14-dev"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing
else
	echo "deps: missing packages:$missing"
	echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing"
	exit 1
fi
