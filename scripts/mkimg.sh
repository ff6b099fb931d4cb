#!/bin/sh
# Builds a GPT disk image with one EFI system partition (FAT32) holding the contents of
# ESP_DIR. The same image boots in QEMU/OVMF and, written with dd, from a USB stick.
# Usage: scripts/mkimg.sh ESP_DIR IMAGE
set -eu
esp=$1
img=$2
size_mib=64
tmp="$img.tmp"
rm -f "$tmp"
truncate -s ${size_mib}M "$tmp"
# Partition 1: 1 MiB to the end (sfdisk leaves room for the backup GPT), type ESP.
printf 'label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="SKIFF"\n' |
	/sbin/sfdisk --quiet "$tmp"
start=2048
sectors=$(/sbin/sfdisk --dump "$tmp" | awk -F'size=' '/start=/{split($2,a,","); print a[1]+0}')
# The file is larger than the partition (backup GPT after it): mkfs.fat notes the
# mismatch, which is expected here.
mkfs.fat -F 32 -n SKIFF --offset $start "$tmp" $((sectors / 2)) 2>&1 >/dev/null |
	grep -v "block count mismatch" >&2 || true
# Copy the tree: directories first, then files (mtools addresses the partition by offset).
part="$tmp@@$((start * 512))"
(cd "$esp" && find . -mindepth 1 -type d | sort) | while read -r d; do
	mmd -i "$part" "::${d#.}"
done
(cd "$esp" && find . -type f | sort) | while read -r f; do
	mcopy -i "$part" "$esp/${f#./}" "::${f#.}"
done
mv "$tmp" "$img"
