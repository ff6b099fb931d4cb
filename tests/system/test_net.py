"""The L2/L3 stack on the wire: DHCP, ARP, IPv4, ICMP and UDP through each NIC model.

One boot per model (e1000, e1000e, igb, virtio), each in a namespace of its own (netns.Netns:
bridge br0 10.99.0.1/24, tap0, dnsmasq), with IPv6 off so the host side sends nothing
by itself. The host side pings with iputils and talks scapy through a long-lived peer
(scapy_peer.py) on br0; Skiff's side is read through its shell (`ip`, `ethtool -S`,
`tc -s qdisc`, `nstat`, `nic`). Every counter check is a delta over the test's own
traffic. Traffic never leaves the namespace: routes to outside addresses are only
looked up, never used.

Two more boots: a static configuration (no DHCP in the namespace) and polling-only mode.
SKIFF_IMAGE=path boots another image than build/skiff.img.
"""
import json
import os
import random
import re
import shutil
import subprocess
import time

import pytest
from scapy.all import ICMP, IP, TCP, UDP, Dot1Q, Ether, IPOption_RR, Raw, fragment

from netns import HOST_ADDR, POOL, Netns, NsHelper
from skiff import IMAGE, ROOT, Guest, image_with_files, nstat

IMG = os.environ.get("SKIFF_IMAGE", IMAGE)
HERE = os.path.dirname(os.path.abspath(__file__))
BCAST = "10.99.0.255"
ELSEWHERE = "8.8.8.8"               # only ever looked up with `ip route get`
CLOSED_PORT = 9                     # no UDP socket on Skiff listens here
BURST = 10                          # copies of each malformed frame

# model, interrupt mode `ethtool -S` reports (QEMU's 82540EM has no MSI capability)
MODELS = [("e1000", "INTx"), ("e1000e", "MSI-X"), ("igb", "MSI-X"), ("virtio", "MSI-X")]


# ---- the guest and the namespace ---------------------------------------------------

def boot(name, model, ns, img=IMG):
    return Guest(name, nic=model, net="tap", img=img, netns=ns.name, tap=ns.tap)


class Peer(NsHelper):
    """scapy_peer.py inside the namespace, on br0."""

    def __init__(self, ns):
        super().__init__(ns.name, ["/usr/bin/python3", os.path.join(HERE, "scapy_peer.py"), ns.bridge],
                         "scapy peer")

    def send(self, frames):
        resp = self.ask(op="send", frames=[bytes(f).hex() for f in frames])
        assert resp.get("sent") == len(frames), resp

    def srp1(self, frame, timeout=2):
        """The reply scapy matches to frame, as an Ether, or None."""
        rep = self.ask(op="srp1", frame=bytes(frame).hex(), timeout=timeout)["reply"]
        return Ether(bytes.fromhex(rep)) if rep else None


class Net:
    """One booted Skiff in its namespace, with the facts every test needs."""

    def __init__(self, model, tag, conf_extra=b"", dhcp=True):
        self.model = model
        self.ns = Netns(f"sknet{os.getpid() % 100000}{tag}", dhcp=dhcp)
        self.guest = self.peer = self.img_dir = None
        try:
            self.ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1"], check=True)
            img = IMG
            if conf_extra:
                conf = open(os.path.join(ROOT, "skiff.conf"), "rb").read() + b"\n" + conf_extra
                img = image_with_files({"skiff.conf": conf}, base=IMG)
                self.img_dir = os.path.dirname(img)
            self.guest = boot(f"net-{tag}", model, self.ns, img)
            self.mac = re.search(r"link/ether (\S+)", self.guest.cmd("ip link")).group(1)
            self.host_mac = re.search(r"link/ether (\S+)",
                                      self.ns.run(["ip", "link", "show", "br0"]).stdout).group(1)
            self.peer = Peer(self.ns)
        except Exception:
            self.close()
            raise

    def wait_lease(self):
        m = self.guest.wait_for(r"dhcp: eth0: lease ([0-9.]+)/(\d+) from ([0-9.]+), router (\S+), "
                                r"dns (\S+), (\d+) s", timeout=60)
        self.lease = m
        self.addr = m.group(1)
        # Idle, the free count is the pool minus the receive ring; wait out the last
        # DHCP transmit's completion before taking it.
        prev, self.pool_baseline = None, pool_free(self.guest)
        deadline = time.time() + 3
        while self.pool_baseline != prev and time.time() < deadline:
            time.sleep(0.2)
            prev, self.pool_baseline = self.pool_baseline, pool_free(self.guest)

    def close(self):
        if self.peer:
            self.peer.close()
        if self.guest:
            self.guest.close()
        self.ns.close()
        shutil.rmtree(self.ns.dir, ignore_errors=True)     # dnsmasq's lease file and log
        if self.img_dir:
            shutil.rmtree(self.img_dir, ignore_errors=True)

    def host(self, *cmd, timeout=90):
        return self.ns.run(list(cmd), timeout=timeout)

    def eth(self, dst=None, **kw):
        return Ether(dst=dst or self.mac, src=self.host_mac, **kw)

    def ip(self, dst=None, **kw):
        return IP(src=HOST_ADDR, dst=dst or self.addr, **kw)


@pytest.fixture(scope="module", params=MODELS, ids=[m[0] for m in MODELS])
def net(request):
    model, irq_mode = request.param
    n = Net(model, model)
    n.irq_mode = irq_mode
    try:
        n.wait_lease()
        yield n
    finally:
        n.close()


# ---- reading Skiff's shell ----------------------------------------------------------


def ethtool_s(g):
    out = g.cmd("ethtool -S eth0")
    assert out.startswith("NIC statistics:"), out
    st = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+): (\d+)$", out, re.M)}
    st["irq_mode"] = re.search(r"irq_mode: (\S+)", out).group(1)
    return st


def ip_s_link(g):
    out = g.cmd("ip -s link")
    m = re.search(r"RX:  bytes packets errors dropped  missed   mcast\n\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)"
                  r"\s+(\d+)\s+(\d+)\n\s+TX:  bytes packets errors dropped carrier collsns\n"
                  r"\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", out)
    assert m, out
    names = ["rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "rx_missed", "rx_mcast",
             "tx_bytes", "tx_packets", "tx_errors", "tx_dropped", "tx_carrier", "tx_collsns"]
    return dict(zip(names, map(int, m.groups())))


def tc_s(g):
    out = g.cmd("tc -s qdisc")
    # fq_codel is the default discipline; pfifo prints the same counters
    m = re.search(r"qdisc (?:pfifo|fq_codel) 0: dev eth0 root refcnt 2 limit (\d+)p[^\n]*\n Sent (\d+) bytes (\d+) pkt "
                  r"\(dropped (\d+), overlimits (\d+) requeues (\d+)\)\n backlog (\d+)b (\d+)p", out)
    assert m, out
    names = ["limit", "bytes", "pkt", "dropped", "overlimits", "requeues", "backlog_b", "backlog_p"]
    return dict(zip(names, map(int, m.groups())))


def pool_free(g):
    m = re.search(r"pool (\d+)/(\d+) free", g.cmd("nic"))
    assert m
    return int(m.group(1))


def wait_pool(g, want, timeout=3):
    """Free packets once transmit completions are reclaimed (they lag the wire a little)."""
    deadline = time.time() + timeout
    free = pool_free(g)
    while free != want and time.time() < deadline:
        time.sleep(0.1)
        free = pool_free(g)
    return free


def delta(before, after, name):
    return after.get(name, 0) - before.get(name, 0)


def skiff_run(g, line, done, timeout=30):
    """Types an asynchronous command (ping, arping); returns its output up to done."""
    start = g.mark()
    g.send(line + "\r")
    g.wait_for(done, timeout=timeout, start=start)
    return g.output(start)


PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received")


def skiff_ping(g, args, timeout=30):
    # The summary ends with the rtt line, or without one when nothing came back.
    out = skiff_run(g, f"ping {args}", r"rtt min/avg/max/mdev = .* ms\n|transmitted, 0 received.*\n",
                    timeout)
    m = PING_SUMMARY.search(out)
    return int(m.group(1)), int(m.group(2)), out


def host_ping(n, *args, timeout=90):
    r = n.host("ping", *args, n.addr, timeout=timeout)
    m = PING_SUMMARY.search(r.stdout)
    assert m, r.stdout + r.stderr
    return int(m.group(1)), int(m.group(2)), r.stdout


def answers_ping(n):
    """Skiff answers one echo request within a second."""
    return n.host("ping", "-c", "1", "-W", "1", n.addr, timeout=10).returncode == 0


# ---- DHCP, addresses, routes --------------------------------------------------------

def ip_int(a):
    return int.from_bytes(bytes(map(int, a.split("."))), "big")


def test_dhcp_lease_from_dnsmasq(net):
    addr, plen, server, router, dns, secs = net.lease.groups()
    assert ip_int(POOL[0]) <= ip_int(addr) <= ip_int(POOL[1])
    assert (plen, server, router, secs) == ("24", HOST_ADDR, HOST_ADDR, "120")
    # dnsmasq writes "expiry mac addr hostname client-id" once the ACK is out.
    deadline = time.time() + 10
    leases = ""
    while time.time() < deadline and f" {net.mac} {addr} " not in leases:
        leases = open(net.ns.leases).read() if os.path.exists(net.ns.leases) else ""
        time.sleep(0.1)
    assert f" {net.mac} {addr} skiff " in leases, leases


def test_dhcp_shows_bound_state(net):
    out = net.guest.cmd("dhcp")
    assert re.search(r"eth0: BOUND, xid 0x[0-9a-f]{8}", out), out
    assert f"address {net.addr}/24, server {HOST_ADDR}" in out
    assert f"router {HOST_ADDR}" in out and "lease 120 s" in out


def test_ip_addr_shows_lease(net):
    out = net.guest.cmd("ip addr")
    assert re.search(r"^1: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 .*state UP", out, re.M), out
    assert f"inet {net.addr}/24 brd {BCAST} scope global dynamic eth0" in out, out
    left = int(re.search(r"valid_lft (\d+)sec preferred_lft \d+sec", out).group(1))
    assert 0 < left <= 120


def test_ip_route_connected_and_default(net):
    routes = net.guest.cmd("ip route").splitlines()
    assert f"default via {HOST_ADDR} dev eth0 proto dhcp src {net.addr}" in routes, routes
    assert f"10.99.0.0/24 dev eth0 proto kernel scope link src {net.addr}" in routes, routes
    assert len(routes) == 2, routes


@pytest.mark.parametrize("dst,expect", [
    (HOST_ADDR, "{dst} dev eth0 src {addr} uid 0"),
    ("10.99.0.200", "{dst} dev eth0 src {addr} uid 0"),
    (ELSEWHERE, "{dst} via 10.99.0.1 dev eth0 src {addr} uid 0"),
    ("own", "local {addr} dev eth0 src {addr} uid 0"),
    (BCAST, "broadcast {dst} dev eth0 src {addr} uid 0"),
], ids=["gateway", "on-link", "via-default", "local", "broadcast"])
def test_ip_route_get(net, dst, expect):
    dst = net.addr if dst == "own" else dst
    out = net.guest.cmd(f"ip route get {dst}")
    assert out.splitlines()[0] == expect.format(dst=dst, addr=net.addr), out


# ---- neighbours -----------------------------------------------------------------------

def test_host_learns_skiff_mac(net):
    net.ns.ip("neigh", "flush", "dev", "br0")
    assert net.addr not in net.host("ip", "neigh", "show", "dev", "br0").stdout
    assert answers_ping(net)
    out = net.host("ip", "neigh", "show", net.addr, "dev", "br0").stdout
    assert re.search(rf"^{re.escape(net.addr)} lladdr {net.mac} (REACHABLE|DELAY|STALE)", out), out


def test_skiff_resolves_host_reachable(net):
    g = net.guest
    g.cmd("ip neigh flush all")
    assert HOST_ADDR not in g.cmd("ip neigh")
    sent, received, out = skiff_ping(g, f"-c 1 {HOST_ADDR}")
    assert (sent, received) == (1, 1), out
    assert f"{HOST_ADDR} dev eth0 lladdr {net.host_mac} REACHABLE" in g.cmd("ip neigh")


# ---- ping from the host ------------------------------------------------------------

def test_ping_50_no_loss(net):
    sent, received, out = host_ping(net, "-c", "50", "-i", "0.02", "-W", "2")
    assert (sent, received) == (50, 50), out
    assert " 0% packet loss" in out


def test_ping_full_mtu_dont_fragment(net):
    sent, received, out = host_ping(net, "-c", "3", "-i", "0.2", "-s", "1472", "-M", "do", "-W", "2")
    assert (sent, received) == (3, 3), out
    assert len(re.findall(rf"^1480 bytes from {re.escape(net.addr)}: icmp_seq=\d", out, re.M)) == 3, out


def test_ping_beyond_mtu_reassembled(net):
    # 1473 bytes of data make a 1501-byte datagram: the host fragments it, Skiff
    # reassembles (ipv4_frag.c) and fragments its reply (RFC 791), the host reassembles.
    before = nstat(net.guest)
    sent, received, out = host_ping(net, "-c", "2", "-i", "0.2", "-s", "1473", "-W", "2")
    assert (sent, received) == (2, 2), out
    after = nstat(net.guest)
    assert delta(before, after, "IpReasmReqds") == 4
    assert delta(before, after, "IpReasmOKs") == 2
    assert delta(before, after, "IpFragOKs") == 2
    assert delta(before, after, "IpFragCreates") == 4
    assert delta(before, after, "IpReasmFails") == 0


@pytest.mark.parametrize("size", [8000, 65507])
def test_ping_large_fragmented(net, size):
    # An 8 KB ping (6 fragments each way) and the largest one IPv4 allows (45 each way).
    before = nstat(net.guest)
    sent, received, out = host_ping(net, "-c", "2", "-i", "0.3", "-s", str(size), "-W", "3")
    assert (sent, received) == (2, 2), out
    after = nstat(net.guest)
    assert delta(before, after, "IpReasmOKs") == 2
    assert delta(before, after, "IpReasmFails") == 0
    assert wait_pool(net.guest, net.pool_baseline) == net.pool_baseline


def echo_fragments(n, ident, size=3000, fragsize=1480):
    pkt = n.ip(id=ident) / ICMP(id=0x7a7a, seq=ident & 0xffff) / Raw(bytes(i % 251 for i in range(size)))
    return [n.eth() / f for f in fragment(pkt, fragsize=fragsize)]


@pytest.mark.parametrize("order", ["in-order", "reversed", "shuffled", "duplicated"])
def test_fragments_in_every_order(net, order):
    g = net.guest
    before = nstat(g)
    for k in range(5):
        frags = echo_fragments(net, 0x4000 + k)
        if order == "reversed":
            frags.reverse()
        elif order == "shuffled":
            random.Random(k).shuffle(frags)
        elif order == "duplicated":
            frags = [frags[0], frags[0], frags[1], frags[1], frags[2]]
        net.peer.send(frags)
    assert answers_ping(net)
    after = nstat(g)
    assert delta(before, after, "IpReasmOKs") == 5
    assert delta(before, after, "IcmpOutEchoReps") == 5 + 1          # + the liveness ping
    assert delta(before, after, "DropIpFragDup") == (10 if order == "duplicated" else 0)
    assert delta(before, after, "IpReasmFails") == 0


def test_overlapping_fragments_drop_the_datagram(net):
    g = net.guest
    before = nstat(g)
    frags = echo_fragments(net, 0x5000)
    evil = net.eth() / net.ip(id=0x5000, flags="MF", frag=1472 // 8, proto=1) / Raw(b"X" * 64)
    net.peer.send([frags[0], evil] + frags[1:])
    assert answers_ping(net)
    after = nstat(g)
    assert delta(before, after, "IpExtReasmOverlaps") == 1
    assert delta(before, after, "DropIpFragOverlap") == 2           # the piece and its datagram
    assert delta(before, after, "IcmpOutEchoReps") == 1             # only the liveness ping


def test_fragment_storm_then_a_clean_ping(net):
    # 600 first pieces that never complete, from the host's own address: the table
    # evicts the oldest, and a clean fragmented ping right after still gets through.
    g = net.guest
    storm = [net.eth() / net.ip(id=0x6000 + i, flags="MF", proto=17) / Raw(b"s" * 1480)
             for i in range(600)]
    for i in range(0, len(storm), 100):
        net.peer.send(storm[i:i + 100])
    before = nstat(g)
    sent, received, out = host_ping(net, "-c", "1", "-s", "3000", "-W", "3")
    assert (sent, received) == (1, 1), out
    assert delta(before, nstat(g), "IpReasmOKs") == 1
    assert wait_pool(g, net.pool_baseline) == net.pool_baseline


def test_flood_2000_answered(net):
    g = net.guest
    before = nstat(g)
    sent, received, out = host_ping(net, "-f", "-c", "2000", "-w", "60")
    assert (sent, received) == (2000, 2000), out
    after = nstat(g)
    assert delta(before, after, "IcmpInEchos") == 2000
    assert delta(before, after, "IcmpOutEchoReps") == 2000
    assert delta(before, after, "DropQdiscFull") == 0
    assert wait_pool(g, net.pool_baseline) == net.pool_baseline


def test_link_padding_is_trimmed(net):
    # 20 bytes of junk after the datagram (as a too-long link frame would carry): the
    # reply carries exactly the echo data, nothing of the junk (ipv4.c step 2).
    data = b"skiff-trim-check"
    req = net.eth() / net.ip() / ICMP(id=0x5151, seq=1) / Raw(data)
    rep = net.peer.srp1(Ether(bytes(req) + b"J" * 20))
    assert rep is not None and ICMP in rep and rep[ICMP].type == 0, rep
    assert rep[IP].len == 20 + 8 + len(data)
    # Compare by position, not by searching for "J": the IP ID or a checksum byte may
    # happen to be 0x4a. The ICMP data ends the datagram exactly, and whatever the link
    # pads after it is not the junk.
    frame = bytes(rep)
    end = 14 + rep[IP].len
    assert frame[end - len(data):end] == data
    assert b"J" not in frame[end:]


# ---- UDP and TCP to closed ports ---------------------------------------------------------

def test_udp_closed_port_port_unreachable(net):
    g = net.guest
    before = nstat(g)
    req = net.eth() / net.ip() / UDP(sport=40000, dport=CLOSED_PORT) / Raw(b"anyone there?")
    rep = net.peer.srp1(req)
    assert rep is not None, "no ICMP error came back"
    assert (rep[IP].src, rep[IP].dst) == (net.addr, HOST_ADDR)
    assert (rep[ICMP].type, rep[ICMP].code) == (3, 3), rep.summary()
    quoted = bytes(rep[ICMP].payload)
    assert quoted == bytes(req[IP]), "the error must quote the whole (short) datagram"
    after = nstat(g)
    assert delta(before, after, "UdpNoPorts") == 1
    assert delta(before, after, "IcmpOutDestUnreachs") == 1
    assert delta(before, after, "DropUdpNoPort") == 1


def tcp_in_stack(g):
    return "TcpInSegs" in g.cmd("nstat -z Tcp*")


def test_tcp_syn(net):
    """Without TCP in the stack a SYN is an unknown protocol: ICMP protocol unreachable;
    with TCP, a SYN to a closed port gets RST|ACK."""
    g = net.guest
    before = nstat(g)
    syn = net.eth() / net.ip() / TCP(sport=40001, dport=7777, flags="S", seq=1000)
    rep = net.peer.srp1(syn)
    after = nstat(g)
    assert rep is not None, "a SYN must be answered (RST or ICMP), not ignored"
    if tcp_in_stack(g):
        assert TCP in rep and rep[TCP].flags == "RA" and rep[TCP].ack == 1001, rep.summary()
        assert delta(before, after, "TcpOutRsts") == 1
    else:
        assert (rep[ICMP].type, rep[ICMP].code) == (3, 2), rep.summary()
        assert delta(before, after, "IpInUnknownProtos") == 1
        assert delta(before, after, "DropIpUnknownProto") == 1
        assert delta(before, after, "IcmpOutDestUnreachs") == 1
    assert answers_ping(net)
    assert wait_pool(g, net.pool_baseline) == net.pool_baseline


# ---- malformed and odd frames ------------------------------------------------------------

def arp_raw(n, hlen=6, plen=4, op=1):
    """An ARP request for Skiff's address with the given address lengths (bytes as sent)."""
    body = (1).to_bytes(2, "big") + (0x0800).to_bytes(2, "big") + bytes([hlen, plen]) + \
        op.to_bytes(2, "big")
    sha = bytes.fromhex(n.host_mac.replace(":", "")).ljust(hlen, b"\0")[:hlen]
    spa = bytes(map(int, HOST_ADDR.split("."))).ljust(plen, b"\0")[:plen]
    tpa = bytes(map(int, n.addr.split("."))).ljust(plen, b"\0")[:plen]
    return Ether(dst="ff:ff:ff:ff:ff:ff", src=n.host_mac, type=0x0806) / \
        Raw(body + sha + spa + bytes(hlen) + tpa)


def with_options(pkt, options):
    """pkt (IP/...) re-serialised with raw option bytes, IHL and checksums fixed up."""
    raw = bytes(pkt)
    hl = (raw[0] & 0xF) * 4
    hdr = bytearray(raw[:hl] + options + b"\0" * (-len(options) % 4))
    hdr[0] = 0x40 | (len(hdr) // 4)
    total = len(hdr) + len(raw) - hl
    hdr[2:4] = total.to_bytes(2, "big")
    hdr[10:12] = b"\0\0"
    hdr[10:12] = inet_csum(bytes(hdr)).to_bytes(2, "big")
    return Raw(bytes(hdr) + raw[hl:])


def inet_csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def bad_csum(pkt, layer):
    """pkt with layer's checksum off by one (never 0, which means "none" for UDP)."""
    good = pkt.__class__(bytes(pkt))[layer].chksum
    pkt = pkt.copy()
    pkt[layer].chksum = 1 if good in (0, 0xFFFF, 0xFFFE) else good + 1
    return pkt


def echo(n, **ip):
    return n.eth() / n.ip(**ip) / ICMP(id=0x4242, seq=7) / Raw(b"x" * 16)


def udp(n, **ip):
    return n.eth() / n.ip(**ip) / UDP(sport=40002, dport=CLOSED_PORT) / Raw(b"y" * 16)


# (id, frame builder, expected counter delta per frame, or per model {model: {...}}).
# "Drop*" counters not named must not move; of the others only those named are checked.
# IcmpOutMsgs is always checked: 0 unless named (nothing of these may be answered).
GARBAGE = [
    # A runt: a bare ARP header. QEMU's e1000/e1000e/igb pad received runts to 60 bytes
    # (zeros, so htype 0), virtio-net hands them over as they came (14 bytes). Shorter
    # than the Ethernet header cannot be made here: Linux refuses (EINVAL) a packet-socket
    # write under 14 bytes, so DropEthTruncated is left to tests/unit/test_net_stack.c.
    ("runt-arp-header-only", lambda n: Ether(dst="ff:ff:ff:ff:ff:ff", src=n.host_mac, type=0x0806),
     {"virtio": {"DropArpTruncated": 1}, "e1000": {"DropArpBadFormat": 1},
      "e1000e": {"DropArpBadFormat": 1}, "igb": {"DropArpBadFormat": 1}}),
    ("arp-hlen-8", lambda n: arp_raw(n, hlen=8), {"DropArpBadFormat": 1}),
    ("arp-plen-6", lambda n: arp_raw(n, plen=6), {"DropArpBadFormat": 1}),
    ("arp-op-9", lambda n: arp_raw(n, op=9), {"DropArpBadFormat": 1}),
    ("eth-unknown-type", lambda n: Ether(dst=n.mac, src=n.host_mac, type=0x88B6) / Raw(b"z" * 50),
     {"DropEthUnknownType": 1}),
    ("eth-vlan-tagged", lambda n: n.eth() / Dot1Q(vlan=7) / n.ip() / ICMP(), {"DropEthVlan": 1}),
    ("eth-multicast-src", lambda n: Ether(dst=n.mac, src="01:00:5e:00:00:01") / n.ip() / ICMP(),
     {"DropEthBadSrc": 1}),
    ("ipv4-ihl-4", lambda n: n.eth() / n.ip(ihl=4) / ICMP(),
     {"DropIpHdrLen": 1, "IpInHdrErrors": 1, "IpInReceives": 1}),
    ("ipv4-version-6", lambda n: n.eth() / n.ip(version=6) / ICMP(),
     {"DropIpVersion": 1, "IpInHdrErrors": 1}),
    ("ipv4-totlen-beyond-frame", lambda n: n.eth() / n.ip(len=1000) / ICMP(),
     {"DropIpTotLen": 1, "IpExtInTruncatedPkts": 1, "IpInHdrErrors": 0}),
    ("ipv4-totlen-below-header", lambda n: n.eth() / n.ip(len=12) / ICMP(),
     {"DropIpTotLen": 1, "IpInHdrErrors": 1, "IpExtInTruncatedPkts": 0}),
    ("ipv4-bad-checksum", lambda n: bad_csum(echo(n), IP),
     {"DropIpCsum": 1, "IpExtInCsumErrors": 1, "IpInHdrErrors": 1, "IcmpInMsgs": 0}),
    ("ipv4-option-len-0", lambda n: n.eth(type=0x0800) / with_options(n.ip() / ICMP(), b"\x44\x00\x00\x00"),
     {"DropIpBadOptions": 1, "IpInHdrErrors": 1}),
    ("ipv4-option-overruns", lambda n: n.eth(type=0x0800) / with_options(n.ip() / ICMP(), b"\x07\x27\x04\x00"),
     {"DropIpBadOptions": 1, "IpInHdrErrors": 1}),
    ("ipv4-option-lsrr", lambda n: n.eth(type=0x0800) / with_options(
        n.ip() / ICMP(), b"\x83\x07\x04" + bytes([10, 99, 0, 1]) + b"\x00"),
     {"DropIpSrcRoute": 1, "IpInDiscards": 1}),
    # A well-formed option (record route) is ignored and the echo answered (RFC 1122
    # §3.2.1.8): the one case here that is not dropped.
    ("ipv4-option-rr-answered", lambda n: n.eth() / n.ip(options=[IPOption_RR()]) /
     ICMP(id=1, seq=1) / Raw(b"rr"), {"IcmpInEchos": 1, "IcmpOutEchoReps": 1, "IcmpOutMsgs": 1}),
    # Fragment anomalies (ipv4_frag.h): each piece alone is refused, counted by reason.
    ("ipv4-fragment-tiny-first", lambda n: n.eth() / n.ip(flags="MF", proto=17) / Raw(b"tiny"),
     {"DropIpFragTiny": 1, "IpReasmReqds": 1, "IpReasmFails": 1, "UdpNoPorts": 0}),
    ("ipv4-fragment-unaligned", lambda n: n.eth() / n.ip(flags="MF", proto=17) / Raw(b"f" * 33),
     {"DropIpFragBadLen": 1, "IpReasmReqds": 1, "IpReasmFails": 1}),
    ("ipv4-fragment-past-65535", lambda n: n.eth() / n.ip(frag=8189, proto=17) / Raw(b"f" * 32),
     {"DropIpFragTooBig": 1, "IpReasmReqds": 1, "IpReasmFails": 1}),
    ("ipv4-martian-src", lambda n: n.eth() / IP(src="127.0.0.1", dst=n.addr) / ICMP(),
     {"DropIpMartianSrc": 1, "IpInAddrErrors": 1}),
    ("ipv4-not-for-us", lambda n: n.eth() / n.ip(dst="10.99.0.200") / ICMP(),
     {"DropIpNotForUs": 1, "IpInAddrErrors": 1}),
    ("ipv4-unicast-in-l2-broadcast", lambda n: n.eth("ff:ff:ff:ff:ff:ff") / n.ip() / ICMP(),
     {"DropIpL2BcastUnicast": 1, "IpInAddrErrors": 1}),
    ("ipv4-unknown-proto-broadcast", lambda n: n.eth("ff:ff:ff:ff:ff:ff") / n.ip(dst=BCAST, proto=253) /
     Raw(b"p" * 8), {"DropIpUnknownProto": 1, "IpInUnknownProtos": 1, "IcmpOutDestUnreachs": 0}),
    # icmp_echo_ignore_broadcasts (icmp.c): broadcast echoes are counted, never answered.
    ("icmp-echo-subnet-broadcast", lambda n: Ether(dst="ff:ff:ff:ff:ff:ff", src=n.host_mac) /
     n.ip(dst=BCAST) / ICMP(),
     {"DropIcmpBcastEcho": 1, "IcmpInEchos": 1, "IpExtInBcastPkts": 1}),
    ("icmp-echo-limited-broadcast", lambda n: Ether(dst="ff:ff:ff:ff:ff:ff", src=n.host_mac) /
     n.ip(dst="255.255.255.255") / ICMP(), {"DropIcmpBcastEcho": 1, "IcmpInEchos": 1,
                                             "IpExtInBcastPkts": 1}),
    ("icmp-bad-checksum", lambda n: bad_csum(echo(n), ICMP),
     {"DropIcmpCsum": 1, "IcmpInCsumErrors": 1, "IcmpInErrors": 1, "IcmpInEchos": 0}),
    ("icmp-truncated", lambda n: n.eth() / n.ip(proto=1) / Raw(b"\x08\x00\xf7"),
     {"DropIcmpTruncated": 1, "IcmpInErrors": 1}),
    ("icmp-timestamp-unhandled", lambda n: n.eth() / n.ip() / ICMP(type=13) / Raw(bytes(12)),
     {"DropIcmpUnhandled": 1, "IcmpInTimestamps": 1}),
    ("udp-bad-checksum", lambda n: bad_csum(udp(n), UDP),
     {"DropUdpCsum": 1, "UdpInCsumErrors": 1, "UdpInErrors": 1, "UdpNoPorts": 0}),
    ("udp-length-too-long", lambda n: n.eth() / n.ip() / UDP(dport=CLOSED_PORT, len=100) / Raw(b"u" * 8),
     {"DropUdpBadLen": 1, "UdpInErrors": 1, "UdpNoPorts": 0}),
    ("udp-length-too-short", lambda n: n.eth() / n.ip() / UDP(dport=CLOSED_PORT, len=6) / Raw(b"u" * 8),
     {"DropUdpBadLen": 1, "UdpInErrors": 1, "UdpNoPorts": 0}),
    ("udp-truncated-header", lambda n: n.eth() / n.ip(proto=17) / Raw(b"\x9c\x42\x00"),
     {"DropUdpTruncated": 1, "UdpInErrors": 1}),
    # RFC 1122 §4.1.3.1: no port unreachable for a broadcast.
    ("udp-closed-port-broadcast", lambda n: Ether(dst="ff:ff:ff:ff:ff:ff", src=n.host_mac) /
     n.ip(dst=BCAST) / UDP(sport=40003, dport=CLOSED_PORT) / Raw(b"b"),
     {"DropUdpNoPort": 1, "UdpIgnoredMulti": 1, "UdpNoPorts": 0}),
]


@pytest.mark.parametrize("case,build,expect", GARBAGE, ids=[c[0] for c in GARBAGE])
def test_malformed_frames_dropped_and_counted(net, case, build, expect):
    g = net.guest
    if net.model in expect:
        expect = expect[net.model]
    frame = build(net)
    before = nstat(g)
    net.peer.send([frame] * BURST)
    # Frames are handled in arrival order: once the echo sent after the burst is
    # answered, every frame of the burst has been through the stack.
    assert answers_ping(net), f"no echo reply within 1 s after the {case} burst"
    after = nstat(g)
    # The liveness echo itself counts once in the ICMP echo counters.
    ping_share = {"IcmpInEchos": 1, "IcmpOutEchoReps": 1, "IcmpOutMsgs": 1, "IcmpInMsgs": 1,
                  "IpInReceives": 1}
    want = {k: v * BURST + ping_share.get(k, 0) for k, v in expect.items()}
    want.setdefault("IcmpOutMsgs", ping_share["IcmpOutMsgs"])
    for name in set(before) | set(after) | set(want):
        if name.startswith("Drop") or name in want:
            assert delta(before, after, name) == want.get(name, 0), \
                f"{case}: {name} moved by {delta(before, after, name)}, expected {want.get(name, 0)}"
    assert wait_pool(g, net.pool_baseline) == net.pool_baseline, "packet pool leaked"


# QEMU models that verify received TCP/UDP checksums (RXCSUM); its 82540EM marks every
# frame IXSM ("ignore checksum indication"): it has no receive checksum engine.
HW_RX_CSUM = {"e1000e", "igb"}


def test_rx_csum_offload_bad_l4_checksum_still_dropped(net):
    """Receive checksum offload never lets a bad checksum in: a SYN to the HTTP port and a
    UDP datagram, each with a wrong checksum, are dropped and counted by the stack; the
    e1000e and igb hardware flagged them (TCPE: rx_csum_offload_errors), so the driver did
    not mark them PKT_F_CSUM_OK; good datagrams are marked (rx_csum_offload_good)."""
    if net.model not in ("e1000", "e1000e", "igb"):
        pytest.skip("Intel receive checksum offload")
    g = net.guest
    before, eth_before = nstat(g), ethtool_s(g)
    syn = bad_csum(net.eth() / net.ip() / TCP(sport=40005, dport=80, flags="S", seq=5), TCP)
    net.peer.send([syn] * BURST + [bad_csum(udp(net), UDP)] * BURST)
    assert answers_ping(net)
    good = net.eth() / net.ip() / UDP(sport=40006, dport=CLOSED_PORT) / Raw(b"g" * 16)
    net.peer.send([good] * BURST)
    assert answers_ping(net)
    after, eth_after = nstat(g), ethtool_s(g)
    if tcp_in_stack(g):
        assert delta(before, after, "TcpInCsumErrors") == BURST
        assert delta(before, after, "TcpOutSegs") == 0, "a SYN with a bad checksum was answered"
    assert delta(before, after, "UdpInCsumErrors") == BURST
    assert delta(before, after, "UdpNoPorts") == BURST        # the good ones got through
    flagged = delta(eth_before, eth_after, "rx_csum_offload_errors")
    marked = delta(eth_before, eth_after, "rx_csum_offload_good")
    if net.model in HW_RX_CSUM:
        assert flagged == 2 * BURST and marked >= BURST, (flagged, marked)
    else:
        assert flagged == 0 and marked == 0, (flagged, marked)
    print(f"{net.model}: hardware flagged {flagged} bad checksums, verified {marked} good")


def test_lone_ping_answered_within_a_tick(net):
    """A lone echo request, 300 ms after the last, is answered at once: through an
    interrupt (MSI-X, or INTx on QEMU's MSI-less 82540EM), not at the next 1 kHz tick
    that wakes a halted loop. Printed, not asserted tightly: TCG timing varies."""
    r = net.host("ping", "-c", "10", "-i", "0.3", "-W", "2", net.addr, timeout=60)
    m = re.search(r"rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)", r.stdout)
    assert m and "10 received" in r.stdout, r.stdout
    rtt_min, rtt_avg, rtt_max = map(float, m.groups())
    print(f"{net.model} ({net.irq_mode}): lone ping RTT min/avg/max {rtt_min}/{rtt_avg}/{rtt_max} ms")
    # A polled device parked on the tick would show a median near 0.5 ms; well under it
    # is the interrupt. Only a loose bound, for TCG's sake.
    assert rtt_min < 1.0


# ---- Skiff as the sender ----------------------------------------------------------------

def test_skiff_pings_host(net):
    sent, received, out = skiff_ping(net.guest, f"-c 3 {HOST_ADDR}")
    assert (sent, received) == (3, 3), out
    # The first reply may follow the prompt on its line: ping output is asynchronous.
    assert re.findall(rf"64 bytes from {HOST_ADDR}: icmp_seq=(\d) ttl=64 time=[0-9.]+ ms$", out,
                      re.M) == ["1", "2", "3"], out
    assert re.search(r"rtt min/avg/max/mdev = [0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+ ms", out), out


def test_skiff_arping_host(net):
    out = skiff_run(net.guest, f"arping -c 2 {HOST_ADDR}", r"Received \d+ response\(s\)\n")
    assert f"ARPING {HOST_ADDR} from {net.addr} eth0" in out
    replies = re.findall(rf"Unicast reply from {HOST_ADDR} \[([0-9A-F:]+)\]  (\d+)\.(\d{{3}})ms", out)
    assert [mac for mac, _, _ in replies] == [net.host_mac.upper()] * 2, out
    assert "Received 2 response(s)" in out
    # A round trip through the tap takes tens of microseconds at least under TCG: a
    # reported 0.000ms means the time was not taken when the reply arrived.
    assert all(int(ms) * 1000 + int(us) > 0 for _, ms, us in replies), out


# ---- counters ------------------------------------------------------------------------------

def test_link_nic_qdisc_and_mib_counters_move(net):
    g = net.guest
    link0, eth0, tc0, mib0 = ip_s_link(g), ethtool_s(g), tc_s(g), nstat(g)
    sent, received, out = host_ping(net, "-c", "20", "-i", "0.02", "-W", "2")
    assert (sent, received) == (20, 20), out
    link1, eth1, tc1, mib1 = ip_s_link(g), ethtool_s(g), tc_s(g), nstat(g)
    frame = 14 + 84                                         # echo of 56 data bytes
    # ip -s link: at least the 20 requests in and 20 replies out, no errors.
    assert delta(link0, link1, "rx_packets") >= 20 and delta(link0, link1, "rx_bytes") >= 20 * frame
    assert delta(link0, link1, "tx_packets") >= 20 and delta(link0, link1, "tx_bytes") >= 20 * frame
    for k in ("rx_dropped", "rx_missed", "tx_errors", "tx_dropped"):
        assert link1[k] == 0, (k, link1)
    # QEMU's 82574 and 82576 count every frame under 60 bytes as undersize (RUC) although
    # they pad and deliver it, and the host's ARP frames arrive unpadded from the tap: on
    # e1000e and igb the only receive errors allowed are those.
    assert link1["rx_errors"] == eth1.get("rx_short_length_errors", 0), (link1, eth1)
    # ethtool -S: the driver's own counters agree with ip -s link, interrupts per model.
    assert eth1["irq_mode"] == net.irq_mode
    assert delta(eth0, eth1, "rx_packets") >= 20 and delta(eth0, eth1, "tx_packets") >= 20
    assert delta(eth0, eth1, "napi_rx_frames") >= 20
    assert delta(eth0, eth1, "polls") > 0
    if net.irq_mode != "poll":
        assert delta(eth0, eth1, "irqs") > 0, "receive interrupts did not move"
    else:
        assert eth1["irqs"] == 0
    # tc: everything Skiff sent went through the qdisc, nothing dropped or left queued.
    assert delta(tc0, tc1, "pkt") >= 20 and delta(tc0, tc1, "bytes") >= 20 * frame
    assert delta(tc0, tc1, "pkt") == delta(link0, link1, "tx_packets")
    assert (tc1["dropped"], tc1["backlog_p"], tc1["limit"]) == (0, 0, 1000)
    # nstat: exactly our echoes, at IP and ICMP level.
    for name in ("IcmpInEchos", "IcmpOutEchoReps"):
        assert delta(mib0, mib1, name) == 20, name
    assert delta(mib0, mib1, "IpInReceives") >= 20 and delta(mib0, mib1, "IpOutRequests") >= 20
    assert delta(mib0, mib1, "IpExtInOctets") >= 20 * 84


def test_pool_back_to_baseline(net):
    assert wait_pool(net.guest, net.pool_baseline) == net.pool_baseline


# ---- the two extra boots -----------------------------------------------------------------

def test_static_configuration():
    n = Net("virtio", "static", conf_extra=b"ip = 10.99.0.7/24\ngateway = 10.99.0.1\n", dhcp=False)
    try:
        g = n.guest
        n.addr = "10.99.0.7"
        assert "dhcp: not running (static configuration)" in g.cmd("dhcp")
        out = g.cmd("ip addr")
        assert "inet 10.99.0.7/24 brd 10.99.0.255 scope global eth0" in out, out
        assert "valid_lft forever preferred_lft forever" in out
        routes = g.cmd("ip route").splitlines()
        assert "default via 10.99.0.1 dev eth0 proto static" in routes, routes
        assert "10.99.0.0/24 dev eth0 proto kernel scope link src 10.99.0.7" in routes, routes
        assert g.cmd("ip route get 8.8.8.8").startswith("8.8.8.8 via 10.99.0.1 dev eth0 src 10.99.0.7")
        sent, received, out = host_ping(n, "-c", "5", "-i", "0.2", "-W", "2")
        assert (sent, received) == (5, 5), out
        sent, received, out = skiff_ping(g, f"-c 3 {HOST_ADDR}")
        assert (sent, received) == (3, 3), out
        mib = nstat(g)
        assert mib.get("DhcpOutDiscovers", 0) == 0 and mib.get("DhcpOutRequests", 0) == 0
    finally:
        n.close()


@pytest.mark.parametrize("model", ["e1000e", "igb"])
def test_polling_only_mode(model):
    """Both have MSI-X; with poll = on neither may take an interrupt."""
    n = Net(model, f"poll{model}", conf_extra=b"poll = on\n")
    try:
        n.wait_lease()
        g = n.guest
        st = ethtool_s(g)
        assert (st["irq_mode"], st["irqs"]) == ("poll", 0)
        assert "eth0-rx" not in g.cmd("irq")
        sent, received, out = host_ping(n, "-c", "50", "-i", "0.02", "-W", "2")
        assert (sent, received) == (50, 50), out
        # Polled adaptively (drivers/nic.c): 20 ms apart, each echo comes after the
        # 2 ms spin ended, so it waits for the tick; 1 ms apart, the loop is still
        # spinning. Printed, not asserted: TCG timing varies.
        spaced = re.search(r"rtt min/avg/max/mdev = ([0-9.]+/[0-9.]+/[0-9.]+)", out).group(1)
        _, _, close = host_ping(n, "-c", "50", "-i", "0.001", "-W", "2")
        close = re.search(r"rtt min/avg/max/mdev = ([0-9.]+/[0-9.]+/[0-9.]+)", close).group(1)
        print(f"{model} polled: RTT min/avg/max {spaced} ms 20 ms apart, {close} ms 1 ms apart")
        sent, received, out = host_ping(n, "-f", "-c", "2000", "-w", "60")
        assert (sent, received) == (2000, 2000), out
        after = ethtool_s(g)
        assert after["irqs"] == 0 and after["polls"] > st["polls"]
        assert after["rx_packets"] - st["rx_packets"] >= 2050
        assert wait_pool(g, n.pool_baseline) == n.pool_baseline
    finally:
        n.close()
