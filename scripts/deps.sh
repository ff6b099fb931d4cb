#!/bin/sh
# Installs the Debian packages Skiff needs to build, run and test, if any is missing.
# As root it runs apt-get; otherwise it prints the exact commands and fails.
# QEMU: the project runs QEMU 10 from bookworm-backports everywhere (Debian 12's 7.2 has no
# igb model). The backports source is added (Debian's archive key) when it is missing.
set -eu
pkgs="gcc make binutils gnu-efi nasm ovmf mtools dosfstools fdisk \
python3 python3-pytest python3-scapy iproute2 iptables iputils-ping curl wget dnsmasq-base tshark tcpdump hping3 wrk apache2-utils chromium \
clang libclang-rt-14-dev valgrind console-setup-linux libvirt-clients"
BPO_LIST=/etc/apt/sources.list.d/skiff-backports.sources
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# QEMU >= 8 (igb); Debian 12 ships 7.2, so take it from bookworm-backports.
qemu_ok=0
qv=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || true)
case "$qv" in 1:[89].*|1:[1-9][0-9].*) qemu_ok=1 ;; esac
[ -z "$missing" ] && [ "$qemu_ok" = 1 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	[ -n "$missing" ] && echo "deps: missing packages:$missing"
	[ "$qemu_ok" = 1 ] || echo "deps: QEMU >= 8 is needed (have: ${qv:-none}); add bookworm-backports (main) to apt's sources, then:"
	echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing && sudo apt-get install -y -t bookworm-backports qemu-system-x86"
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ "$qemu_ok" = 0 ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo "deps: adding bookworm-backports to apt's sources ($BPO_LIST)"
	cat > "$BPO_LIST" <<SRC
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
apt-get update -qq
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	apt-get install -y -qq --no-install-recommends $missing
fi
if [ "$qemu_ok" = 0 ]; then
	echo "deps: installing QEMU from bookworm-backports"
	apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-system-x86
fi
