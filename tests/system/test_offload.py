"""virtio-net offloads and the fast path, end to end, with QEMU's default offloads on and off.

One boot per CONFIGS entry, in a namespace of its own (netns.Netns: br0 10.99.0.1/24, tap0,
dnsmasq; IPv6 off), the device given as a user types it (`-device virtio-net-pci,...`) on a
tap, whose vnet header lets QEMU offer CSUM, GUEST_CSUM, HOST_TSO4 and GUEST_TSO4:
  - the probe line names exactly the offloads negotiated (none when switched off);
  - the 10 MiB download is byte-exact (sha256) and, after it and a wrk run, the transmit
    rescue counter (`ethtool -S` tx_rescues) is 0: no queue ever needed a doorbell the
    kick logic did not ring;
  - jumbo frames from the namespace (br0 and tap0 at MTU 9000; Skiff's own MTU stays
    1500) arrive over several 2 KiB receive buffers (MRG_RXBUF, num_buffers > 1) and are
    assembled: rx_merged moves and 8000-byte pings come back intact (ping checks the data);
  - UDP and TCP frames with a wrong checksum, sent with scapy from the namespace, are
    dropped and counted (UdpInCsumErrors, TcpInCsumErrors) even with GUEST_CSUM on: the
    tap marks frames from a packet socket neither DATA_VALID nor NEEDS_CSUM (only the
    host stack's own CHECKSUM_PARTIAL frames come NEEDS_CSUM), so Skiff checks them.
The "dgram" entry runs the same over `-netdev dgram` through impair.py (a pass-through
relay to the tap, as test_http.py uses): no vnet header, so QEMU offers no offloads at all.
"""
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import bytesgen
from netns import Netns
from skiff import IMAGE, Guest, image_with_files_once, nstat

IMG = os.environ.get("SKIFF_IMAGE", IMAGE)
PY = "/usr/bin/python3"
BIG = 10 * 1024 * 1024
V = "virtio-net-pci,netdev=n0,romfile="
OFF = ",csum=off,guest_csum=off,host_tso4=off,guest_tso4=off"
CONFIGS = {
    "default": (V, " tx-csum tso4 rx-csum lro"),
    "off": (V + OFF, " none"),
    "legacy": (V + ",disable-modern=on", " tx-csum tso4 rx-csum lro"),
    "dgram": (V, " none"),
}
HERE = os.path.dirname(os.path.abspath(__file__))
RELAY_PORT, QEMU_PORT = 10001, 10000        # scripts/qemu.sh --net dgram defaults
FILE = random.Random(12).randbytes(3 << 20)     # www/big.bin: sent by reference


def box_image():
    """IMG with www/big.bin added (made once per run)."""
    return image_with_files_once(("test_offload big.bin", IMG), {"www/big.bin": FILE}, base=IMG)


JUMBO_MTU = 9000
PING_SIZE = 8000


class Box:
    def __init__(self, cfg):
        self.cfg = cfg
        self.ns = Netns(f"skoff{os.getpid() % 100000}{cfg}")
        self.guest = self.relay = None
        try:
            for dev in ("br0", "tap0"):
                self.ns.ip("link", "set", dev, "mtu", str(JUMBO_MTU))
            self.ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1"], check=True)
            netdev = f"tap,id=n0,ifname={self.ns.tap},script=no,downscript=no"
            if cfg == "dgram":
                self.relay = subprocess.Popen(
                    ["ip", "netns", "exec", self.ns.name, PY, os.path.join(HERE, "impair.py"),
                     self.ns.tap, str(RELAY_PORT), str(QEMU_PORT)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                assert json.loads(self.relay.stdout.readline() or "{}").get("ready") is True
                netdev = ("dgram,id=n0,local.type=inet,local.host=127.0.0.1,"
                          f"local.port={QEMU_PORT},remote.type=inet,remote.host=127.0.0.1,"
                          f"remote.port={RELAY_PORT}")
            extra = ["-netdev", netdev, "-device", CONFIGS[cfg][0]]
            self.guest = Guest(f"offload-{cfg}", nic="none", net="none", img=box_image(),
                               netns=self.ns.name, extra=extra)
            self.addr = self.guest.wait_for(r"dhcp: eth0: lease ([0-9.]+)/", timeout=60).group(1)
            self.guest.wait_for(r"http: serving \d+ files", timeout=5)
        except Exception:
            self.close()
            raise

    def run(self, *cmd, timeout=120):
        return self.ns.run(list(cmd), timeout=timeout)

    def xstats(self):
        out = self.guest.cmd("nic stats eth0")
        return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+): (\d+)$", out, re.M)}

    def mac(self):
        m = re.search(r"^eth0: \S+ ([0-9a-f:]{17})", self.guest.cmd("nic"), re.M)
        assert m
        return m.group(1)

    def diag(self):
        try:
            return "\n".join(f"skiff> {c}\n{self.guest.cmd(c, timeout=10)}" for c in
                             ("nic", "nic stats eth0", "nstat"))
        except Exception as e:
            return f"(no shell: {e})"

    def close(self):
        if self.guest:
            self.guest.close()
            self.guest = None
        if self.relay:
            self.relay.stdin.close()        # end of stdin: impair.py quits
            try:
                self.relay.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.relay.kill()
                self.relay.wait()
            self.relay = None
        self.ns.close()


@pytest.fixture(scope="module", params=list(CONFIGS))
def box(request):
    b = Box(request.param)
    try:
        yield b
    finally:
        b.close()


def test_probe_names_the_negotiated_offloads(box):
    m = re.search(r"eth0: virtio-net at .*, offloads([a-z0-9 -]*)$", box.guest.output(), re.M)
    assert m, box.guest.output()[-2000:]
    assert m.group(1) == CONFIGS[box.cfg][1]


def test_download_10mib_intact_and_no_rescue(box):
    d = tempfile.mkdtemp(prefix="skoff-")
    try:
        path = os.path.join(d, "big")
        t0 = time.time()
        r = box.run("curl", "-sS", "--max-time", "150", "-o", path, "-w",
                    "%{http_code} %{size_download}", f"http://{box.addr}/bytes/{BIG}",
                    timeout=170)
        secs = time.time() - t0
        assert r.returncode == 0, r.stderr + box.diag()
        assert r.stdout.split() == ["200", str(BIG)], r.stdout
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        assert h.hexdigest() == bytesgen.sha256(BIG)
        print(f"{box.cfg}: 10 MiB in {secs:.1f} s ({BIG / secs / 1e6:.1f} MB/s)")
        # Copied data went by reference (chained descriptors, or software GSO's
        # gather), and every pinned chunk was let go once the frames were reclaimed.
        n = nstat(box.guest)
        assert n.get("TcpExtSkiffSgCopySegs", 0) > 0, box.diag()
        for _ in range(25):
            if n.get("TcpExtSkiffSgPins", 0) == 0 and n.get("TcpExtSkiffSgHeldBytes", 0) == 0:
                break
            time.sleep(0.2)
            n = nstat(box.guest)
        assert n.get("TcpExtSkiffSgPins", 0) == 0, box.diag()
        assert n.get("TcpExtSkiffSgHeldBytes", 0) == 0, box.diag()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert box.xstats()["tx_rescues"] == 0, box.diag()


def test_file_download_intact_and_sent_in_place_with_tso(box):
    """A www/ file goes by reference: with HOST_TSO4 its super-segments are chained
    descriptors (headers, then the file where it lies: TcpExtSkiffSgSegs); without TSO
    software GSO gathers each wire frame from it (TcpExtSkiffSgSegs too). Byte-exact
    either way."""
    before = nstat(box.guest)
    d = tempfile.mkdtemp(prefix="skoff-")
    try:
        path = os.path.join(d, "file")
        r = box.run("curl", "-sS", "-o", path, "-w", "%{http_code}", f"http://{box.addr}/big.bin")
        assert r.returncode == 0 and r.stdout == "200", r.stderr + box.diag()
        got = open(path, "rb").read()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    assert hashlib.sha256(got).digest() == hashlib.sha256(FILE).digest()
    sg = nstat(box.guest).get("TcpExtSkiffSgSegs", 0) - before.get("TcpExtSkiffSgSegs", 0)
    assert sg > 0, box.diag()
    assert box.xstats()["tx_rescues"] == 0, box.diag()


def test_wrk_without_errors_and_no_rescue(box):
    r = box.run("wrk", "-t1", "-c16", "-d5s", "--timeout", "5s", f"http://{box.addr}/",
                timeout=60)
    assert r.returncode == 0, r.stderr
    m = re.search(r"(\d+) requests in", r.stdout)
    assert m and int(m.group(1)) > 100, r.stdout + box.diag()
    assert "Socket errors" not in r.stdout and "Non-2xx" not in r.stdout, r.stdout
    print(f"{box.cfg}: wrk {r.stdout.strip().splitlines()[-2]}")
    assert box.xstats()["tx_rescues"] == 0, box.diag()


def test_jumbo_frames_arrive_over_several_buffers_and_are_assembled(box):
    before = box.xstats()
    r = box.run("ping", "-c", "5", "-i", "0.2", "-W", "3", "-s", str(PING_SIZE), box.addr,
                timeout=60)
    after = box.xstats()
    assert " 0% packet loss" in r.stdout, r.stdout + r.stderr + box.diag()
    assert "wrong data" not in r.stdout, r.stdout
    # An 8042-byte frame needs at least four 2 KiB buffers.
    assert after["rx_merged"] - before["rx_merged"] >= 5, (before, after)
    assert after["rx_merged_buffers"] - before["rx_merged_buffers"] >= 5 * 4, (before, after)
    assert after["rx_merge_errors"] == before["rx_merge_errors"]
    assert after["alloc_rx_big_failed"] == before["alloc_rx_big_failed"]


def scapy_send(box, code):
    """Runs scapy code in the namespace with `frames` to send on br0."""
    prog = ("from scapy.all import *\nconf.verb = 0\n" + code +
            "\nsendp(frames, iface='br0')\n")
    r = box.run(PY, "-c", prog, timeout=60)
    assert r.returncode == 0, r.stderr


def test_wrong_checksums_are_dropped_and_counted(box):
    n = 5
    mac = box.mac()
    before = nstat(box.guest)
    scapy_send(box, f"""
e = Ether(dst='{mac}') / IP(src='10.99.0.1', dst='{box.addr}')
frames = [e / UDP(sport=40000 + i, dport=9, chksum=0x1234) / (b'u' * 100) for i in range({n})]
frames += [e / TCP(sport=41000 + i, dport=80, flags='S', seq=1000, chksum=0x1234) for i in range({n})]
""")
    time.sleep(1)
    after = nstat(box.guest)
    assert after.get("UdpInCsumErrors", 0) - before.get("UdpInCsumErrors", 0) == n, box.diag()
    assert after.get("TcpInCsumErrors", 0) - before.get("TcpInCsumErrors", 0) == n, box.diag()
    # Counted as checksum errors, so not one came marked verified (PKT_F_CSUM_OK skips
    # the check); the host's own traffic meanwhile may (rx_csum_ok), these may not.
    assert after.get("TcpPassiveOpens", 0) == before.get("TcpPassiveOpens", 0)


# ---- transmit offloads, seen through a tap that has none -----------------------------
# Skiff's `nic send eth0 N csum|tso` hands the driver UDP / TCP frames whose checksum
# (and, for tso, segmentation of a 20000-byte payload into 1448-byte ones,
# drivers/nic_test.c) is left to the device. With a tap
# backend the "device" is the host kernel: QEMU passes the virtio_net_hdr to the tap,
# whose parser (virtio_net_hdr_to_skb) drops frames with inconsistent offsets. A second,
# plain tap on the bridge offers no offloads, so the kernel finishes the checksums and
# cuts the segments before handing frames to its reader: what that reader gets is what
# a wire would carry.

SNIFF = r"""
import fcntl, json, os, select, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"tap1", 0x0002 | 0x1000))  # TUNSETIFF: tap, no PI
print(json.dumps({"ready": True}), flush=True)
want, end, out = int(sys.argv[1]), time.time() + float(sys.argv[2]), []
while len(out) < want and time.time() < end:
    if select.select([fd], [], [], 0.2)[0]:
        f = os.read(fd, 65536)
        if f[12:14] == b"\x08\x00" and f[26:30] == bytes([192, 0, 2, 1]):
            out.append(f.hex())
print(json.dumps({"frames": out}), flush=True)
"""


TSO_PAYLOAD, TSO_MSS = 20000, 1448     # drivers/nic.c TEST_TSO_PAYLOAD, nic_test.h NIC_TEST_MSS


def inet_sum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def l4_ok(f):
    """The frame's IPv4 header checksum and its L4 checksum (with pseudo-header) verify."""
    ip, ihl = f[14:], (f[14] & 15) * 4
    tot = int.from_bytes(ip[2:4], "big")
    pseudo = ip[12:20] + bytes([0, ip[9]]) + (tot - ihl).to_bytes(2, "big")
    return inet_sum(ip[:ihl]) == 0xFFFF and inet_sum(pseudo + ip[ihl:tot]) == 0xFFFF


def sniff_while(box, want, *commands):
    box.ns.run(["ip", "tuntap", "add", "tap1", "mode", "tap"])
    for args in (("master", "br0"), ("mtu", str(JUMBO_MTU)), ("up",)):
        box.ns.ip("link", "set", "tap1", *args)
    p = subprocess.Popen(["ip", "netns", "exec", box.ns.name, PY, "-c", SNIFF, str(want), "10"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert json.loads(p.stdout.readline()).get("ready")
        time.sleep(0.5)             # the bridge port comes up with its reader
        for c in commands:
            out = box.guest.cmd(c)
            assert "sent" in out, out
        frames = json.loads(p.stdout.readline())["frames"]
        p.wait(timeout=5)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return [bytes.fromhex(f) for f in frames]


def test_transmit_offloads_done_by_the_device(box):
    if "tx-csum" not in CONFIGS[box.cfg][1]:
        assert "does not offload csum" in box.guest.cmd("nic send eth0 1 csum")
        assert "does not offload tso" in box.guest.cmd("nic send eth0 1 tso")
        return
    nseg = (TSO_PAYLOAD + TSO_MSS - 1) // TSO_MSS
    before = box.xstats()
    frames = sniff_while(box, 3 + 2 * nseg, "nic send eth0 3 csum", "nic send eth0 2 tso")
    after = box.xstats()
    udp = [f for f in frames if f[23] == 17]
    tcp = [f for f in frames if f[23] == 6]
    # csum frames alternate UDP and TCP (200 bytes each): 2 UDP and 1 TCP, then the cuts.
    assert len(udp) == 2 and len(tcp) == 1 + 2 * nseg, [f[:60].hex() for f in frames]
    assert all(l4_ok(f) for f in frames), [f[:60].hex() for f in frames if not l4_ok(f)]
    # Two 20000-byte TCP payloads cut into 1448-byte pieces, in sequence, PSH on the last.
    want = [TSO_MSS] * (nseg - 1) + [TSO_PAYLOAD - TSO_MSS * (nseg - 1)]
    for k in range(2):
        segs = tcp[1 + nseg * k:1 + nseg * (k + 1)]
        assert [len(s) - 54 for s in segs] == want
        seqs = [int.from_bytes(s[38:42], "big") for s in segs]
        assert [q - seqs[0] for q in seqs] == [TSO_MSS * i for i in range(nseg)]
        assert [s[47] & 0x08 for s in segs] == [0] * (nseg - 1) + [8]
    assert after["tx_csum_partial"] - before["tx_csum_partial"] == 5
    assert after["tx_tso"] - before["tx_tso"] == 2
    assert after["tx_bad_offload"] == before["tx_bad_offload"]
