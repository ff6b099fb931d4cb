"""net/pkt_filter.c against the real tcpdump (libpcap): the same pcap file, the same
expressions, the same frames selected. No QEMU and no network: tcpdump only reads a
file. Skipped when tcpdump is not installed (apt-get install tcpdump)."""
import os
import random
import shutil
import struct
import subprocess

import pytest
from scapy.all import ARP, ICMP, IP, TCP, UDP, Ether, IPv6, IPv6ExtHdrFragment, Raw

from skiff import ROOT

pytestmark = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")

EXPRS = [
    "tcp", "udp", "icmp", "arp", "ip", "not ip", "!(tcp || udp)", "not tcp and not arp",
    "host 10.0.0.1", "src host 10.0.0.1", "dst 10.0.0.1", "ip host 10.0.0.2",
    "arp host 10.0.0.2", "host 10.0.0.3 or 8.8.8.8", "net 10.0.0.0/24", "net 192.168",
    "net 10", "host 10.0", "dst net 8.0.0.0/8", "net 0.0.0.0/0", "src and dst net 10.0.0.0/8",
    "src or dst host 8.8.8.8", "ether host 02:00:00:00:00:05", "ether dst ff:ff:ff:ff:ff:ff",
    "ether src 2:0:0:0:0:1", "ether host 2-0-0-0-0-3", "port 80", "port 1234",
    "not port 80", "port 80 or 443", "udp dst port 53", "tcp port 53", "udp port 80",
    "src or dst port 53", "src and dst port 80", "tcp src port 443 and not dst 8.8.8.8",
    "port 22 and not 443", "tcp or udp and arp", "arp or udp and ip",
    "tcp and port 80 or arp", "tcp && port 80 || arp", "arp or (udp and ip)",
    "host 10.0.0.1 and not port 80", "ip and (port 80 or port 53)",
    "host 10.0.0.1 and (10.0.0.2 or 192.168.1.5)", "not (host 10.0.0.1 or arp) or icmp",
    "dst port 53 or src port 80 and tcp", "not not not tcp", "arp net 10.0.0.0/8",
    "ip src net 10.0.0.0/30 and not dst 10.0.0.2", "port 0", "dst host 255.255.255.255",
]

ADDRS = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "8.8.8.8", "192.168.1.5", "255.255.255.255"]
MACS = ["02:00:00:00:00:0%d" % i for i in range(1, 6)] + ["ff:ff:ff:ff:ff:ff"]
PORTS = [0, 22, 53, 80, 443, 1234, 5353, 40000]


def frames(rng, n, truncate):
    out = []
    for _ in range(n):
        eth = Ether(src=rng.choice(MACS[:5]), dst=rng.choice(MACS))
        kind = rng.randrange(8)
        ip = IP(src=rng.choice(ADDRS[:5]), dst=rng.choice(ADDRS))
        if kind == 0:
            p = eth / ip / TCP(sport=rng.choice(PORTS), dport=rng.choice(PORTS))
        elif kind == 1:
            p = eth / ip / UDP(sport=rng.choice(PORTS), dport=rng.choice(PORTS)) / Raw(b"x")
        elif kind == 2:
            p = eth / ip / ICMP() / Raw(b"12345678")
        elif kind == 3:
            p = eth / ARP(psrc=rng.choice(ADDRS[:5]), pdst=rng.choice(ADDRS), hwsrc=eth.src)
        elif kind == 4:     # a later fragment whose payload looks like ports
            ip.frag = 1
            p = eth / ip / Raw(bytes([0, 80, 0, 53, 0, 8, 0, 0]))
        elif kind == 5:
            p = eth / Raw(bytes(46))
            p.type = rng.choice([0x88CC, 0x8035, 0x86DD])
        elif kind == 6:
            l4 = rng.choice([TCP, UDP])(sport=rng.choice(PORTS), dport=rng.choice(PORTS))
            p = eth / IPv6(src="fe80::1", dst="fe80::2") / l4
        else:
            l4 = rng.choice([TCP, UDP])(sport=rng.choice(PORTS), dport=rng.choice(PORTS))
            p = eth / IPv6(src="fe80::1", dst="fe80::2") / IPv6ExtHdrFragment() / l4
        raw = bytes(p)
        if truncate:                # a capture cut short, down to a single byte
            raw = raw[: rng.randrange(1, len(raw))]
        out.append(raw)
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("pf")
    tool = str(d / "pfmatch")
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-O1",
                    "-I", ROOT, "-DSKIFF_HOSTED", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", os.path.join(ROOT, "tests/tools/pfmatch.c"),
                    os.path.join(ROOT, "net/pkt_filter.c"), os.path.join(ROOT, "lib/fmt.c"),
                    "-o", tool], check=True)
    full, cut = str(d / "frames.pcap"), str(d / "truncated.pcap")
    write_pcap(full, frames(random.Random(1234), 400, False))
    write_pcap(cut, frames(random.Random(99), 300, True))
    return tool, full, cut


def write_pcap(path, raws):
    with open(path, "wb") as w:     # classic pcap, LINKTYPE_ETHERNET, snaplen 65535
        w.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, raw in enumerate(raws):
            w.write(struct.pack("<IIII", 1000 + i, 0, len(raw), len(raw)) + raw)


def tcpdump_verdicts(pcap, expr, count):
    # Record i carries the timestamp 1000 + i s; -tt prints it as "1000.000000".
    r = subprocess.run(["tcpdump", "-r", pcap, "-n", "-tt", "-q", expr],
                       capture_output=True, text=True, timeout=30)
    if "expression rejects all packets" in r.stderr:
        return "0" * count
    assert r.returncode == 0, r.stderr
    picked = {int(line.split(".")[0]) - 1000 for line in r.stdout.splitlines() if line.strip()}
    return "".join("1" if i in picked else "0" for i in range(count))


def run_ours(tool, pcap, expr):
    ours = subprocess.run([tool, pcap, expr], capture_output=True, text=True, timeout=30)
    assert ours.returncode == 0, ours.stderr
    return ours.stdout.strip()


@pytest.mark.parametrize("expr", EXPRS)
def test_filter_matches_tcpdump(setup, expr):
    tool, full, _ = setup
    got = run_ours(tool, full, expr)
    want = tcpdump_verdicts(full, expr, len(got))
    diff = [i for i in range(len(got)) if got[i] != want[i]]
    assert not diff, "records %s differ for %r" % (diff[:10], expr)
    assert "1" in want or expr == "tcp or udp and arp", "the frames exercise nothing"


def test_truncated_captures(setup):
    """Cut frames: no overread (ASan build), and tcpdump's verdict on nearly all of
    them (its optimiser may read fields in another order; see pkt_filter.h)."""
    tool, _, cut = setup
    total = differ = 0
    for expr in EXPRS:
        got = run_ours(tool, cut, expr)
        want = tcpdump_verdicts(cut, expr, len(got))
        total += len(got)
        differ += sum(a != b for a, b in zip(got, want))
    assert differ <= total // 100, "%d of %d verdicts differ" % (differ, total)


@pytest.mark.parametrize("expr", ["tcp port", "host foo", "port 70000", "tcp host 10.0.0.1",
                                  "net 10.0.0.1/8", "(port 80 or 443", "tcp and 80",
                                  "port 80 )", "ip and", "icmp port 80", "10.0.0.1"])
def test_bad_expressions_rejected_by_both(setup, expr):
    tool, pcap, _ = setup
    ours = subprocess.run([tool, pcap, expr], capture_output=True, text=True, timeout=30)
    assert ours.returncode == 2 and ours.stderr.startswith("col ")
    theirs = subprocess.run(["tcpdump", "-r", pcap, "-n", expr], capture_output=True,
                            text=True, timeout=30)
    assert theirs.returncode != 0
