#!/usr/bin/python3
"""Cuts the firmware's text off a COM2 packet capture.

With pcap_serial = on Skiff writes a classic pcap stream (ns time stamps) to COM2, but
the UEFI firmware prints its boot messages on every serial port first, so the file QEMU
writes (-serial file:cap.pcap) starts with text. This copies from the pcap file header
on (magic a1b23c4d, version 2.4) to the output, and keeps copying as the input grows
when reading a pipe:

    scripts/serial_pcap.py cap.pcap clean.pcap
    tail -c +1 -f cap.pcap | scripts/serial_pcap.py - - | wireshark -k -i -
"""
import sys

HEADER = bytes.fromhex("4d3cb2a1" "0200" "0400")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: serial_pcap.py IN|- OUT|-")
    src = sys.stdin.buffer if sys.argv[1] == "-" else open(sys.argv[1], "rb")
    dst = sys.stdout.buffer if sys.argv[2] == "-" else open(sys.argv[2], "wb")
    buf = b""
    while True:
        chunk = src.read1(65536) if hasattr(src, "read1") else src.read(65536)
        if not chunk:
            sys.exit("serial_pcap.py: no pcap header found" if buf is not None else 0)
        if buf is None:
            dst.write(chunk)
            dst.flush()
            continue
        buf += chunk
        at = buf.find(HEADER)
        if at >= 0:
            dst.write(buf[at:])
            dst.flush()
            buf = None
        else:
            buf = buf[-(len(HEADER) - 1):]


if __name__ == "__main__":
    main()
