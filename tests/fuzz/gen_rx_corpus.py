#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_rx.c into tests/fuzz/corpus/rx/: one valid frame per
protocol path the harness sets up (see fuzz_rx.c), built independently of the stack with
struct and an RFC 1071 checksum. Run it again after changing the harness's setup."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "rx")
MAC_A = bytes([2, 0, 0, 0, 0, 1])       # stack A
MAC_B = bytes([2, 0, 0, 0, 0, 3])       # stack B (DHCP, SELECTING)
MAC_C = bytes([2, 0, 0, 0, 0, 4])       # stack C (DHCP, REQUESTING)
PEER = bytes([2, 0, 0, 0, 0, 2])
BCAST = b"\xff" * 6


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def eth(dst, src, etype, payload):
    frame = dst + src + struct.pack("!H", etype) + payload
    return frame + b"\0" * max(0, 60 - len(frame))


def ipv4(src, dst, proto, payload, opts=b"", frag=0):
    ihl = 5 + len(opts) // 4
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 1, frag, 64,
                    proto, 0, ip4(src), ip4(dst)) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def icmp(typ, code, rest, data):
    m = struct.pack("!BBH", typ, code, 0) + rest + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def udp(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    ph = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 17, len(u))
    c = csum(ph + u) or 0xFFFF
    return u[:6] + struct.pack("!H", c) + u[8:]


def tcp(src, dst, sport, dport, seq, ack, flags, data=b"", opts=b""):
    off = (20 + len(opts)) // 4
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts + data
    ph = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(t))
    return t[:16] + struct.pack("!H", csum(ph + t)) + t[18:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, ip4(spa), tha, ip4(tpa))


def dhcp(msg_type, xid, chaddr, yiaddr, server):
    d = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", 2, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                    ip4(yiaddr), ip4(server), b"\0" * 4, chaddr + b"\0" * 10, b"\0" * 64,
                    b"\0" * 128, 0x63825363)
    d += bytes([53, 1, msg_type, 54, 4]) + ip4(server)
    d += bytes([51, 4]) + struct.pack("!I", 3600) + bytes([1, 4]) + ip4("255.255.255.0")
    d += bytes([3, 4]) + ip4(server) + bytes([6, 4]) + ip4("10.0.2.3") + bytes([255])
    return d


def main():
    os.makedirs(OUT, exist_ok=True)
    echo_data = bytes(range(56))
    udp_small = udp("10.0.0.2", "10.0.0.1", 4321, 9, b"x")
    seeds = {
        "arp_request_for_us": eth(BCAST, PEER, 0x0806,
                                  arp(1, PEER, "10.0.0.2", b"\0" * 6, "10.0.0.1")),
        "arp_reply": eth(MAC_A, PEER, 0x0806, arp(2, PEER, "10.0.0.2", MAC_A, "10.0.0.1")),
        "arp_gratuitous": eth(BCAST, PEER, 0x0806,
                              arp(1, PEER, "10.0.0.2", b"\0" * 6, "10.0.0.2")),
        "icmp_echo_request": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 1,
                                 icmp(8, 0, struct.pack("!HH", 0x1234, 1), echo_data))),
        "icmp_echo_reply_for_ping": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 1,
                                        icmp(0, 0, struct.pack("!HH", 0xF00D, 1), echo_data))),
        "icmp_port_unreach_quoting_udp": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 1,
            icmp(3, 3, b"\0" * 4, ipv4("10.0.0.1", "10.0.0.2", 17, udp_small)))),
        "udp_to_echo_port": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 17,
                                udp("10.0.0.2", "10.0.0.1", 4321, 7, b"hello"))),
        "udp_to_closed_port": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 17, udp_small)),
        "ip_with_options": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 1,
                               icmp(8, 0, struct.pack("!HH", 1, 1), b"abcd"), opts=b"\x01\x01\x01\x00")),
        "ip_fragment": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 17, udp_small, frag=0x2000)),
        "tcp_syn_to_listener": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 6,
                                   tcp("10.0.0.2", "10.0.0.1", 40000, 80, 1000, 0, 0x02,
                                       opts=b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + b"\0" * 8
                                       + b"\x01\x03\x03\x07"))),
        "tcp_syn_closed_port": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 6,
                                   tcp("10.0.0.2", "10.0.0.1", 40001, 81, 5000, 0, 0x02))),
        "tcp_ack_with_data": eth(MAC_A, PEER, 0x0800, ipv4("10.0.0.2", "10.0.0.1", 6,
                                 tcp("10.0.0.2", "10.0.0.1", 40000, 80, 1001, 1, 0x18, b"GET / HTTP/1.1\r\n"))),
        "dhcp_offer": eth(BCAST, PEER, 0x0800, ipv4("10.0.2.2", "255.255.255.255", 17,
                          udp("10.0.2.2", "255.255.255.255", 67, 68,
                              dhcp(2, 0x5EEDF00D, MAC_B, "10.0.2.15", "10.0.2.2")))),
        "dhcp_ack": eth(BCAST, PEER, 0x0800, ipv4("10.0.2.2", "255.255.255.255", 17,
                        udp("10.0.2.2", "255.255.255.255", 67, 68,
                            dhcp(5, 0x5EEDF00D, MAC_C, "10.0.2.15", "10.0.2.2")))),
        "dhcp_nak": eth(BCAST, PEER, 0x0800, ipv4("10.0.2.2", "255.255.255.255", 17,
                        udp("10.0.2.2", "255.255.255.255", 67, 68,
                            dhcp(6, 0x5EEDF00D, MAC_C, "0.0.0.0", "10.0.2.2")))),
    }
    for name, frame in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(frame)


if __name__ == "__main__":
    main()
