"""NIC drivers on the wire: e1000 (82540EM), e1000e (82574L), igb (82576) and virtio-net in QEMU.

Each test makes its own network namespace with one tap (IPv6 off, so the host side
sends nothing on its own), boots one guest on it, injects raw frames with scapy and
checks the guest's `nic` counters, then has the guest transmit with `nic send` and
checks the frames tshark captured on the tap. Traffic never leaves the namespace.
SKIFF_IMAGE=path boots another image than build/skiff.img.
"""
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from skiff import IMAGE, Guest, image_with_files, ROOT

IMG = os.environ.get("SKIFF_IMAGE", IMAGE)
TEST_ETHERTYPE = 0x88B5             # drivers/nic.h NIC_TEST_ETHERTYPE
FOREIGN_MAC = "02:00:00:00:00:99"   # no guest has it
PEER_MAC = "02:00:00:00:00:01"

INJECT = r"""
import sys
from scapy.all import Ether, Raw, sendp, conf
conf.verb = 0
iface, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
frames = [Ether(dst=dst, src=sys.argv[4], type=int(sys.argv[5])) /
          Raw(b"INJECT%06d" % i + bytes(34)) for i in range(n)]
sendp(frames, iface=iface)
"""

NIC_LINE = re.compile(r"^(eth\d+): (\S+) ([0-9a-f:]{17}) link (up|down) irq (\S+)", re.M)


class Namespace:
    """ip netns NAME with tap0 up and IPv6 disabled; close() deletes it all."""

    def __init__(self, name):
        self.name = name
        self.tap = "tap0"
        subprocess.run(["ip", "netns", "add", name], check=True)
        try:
            self.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                      "net.ipv6.conf.default.disable_ipv6=1"])
            self.run(["ip", "link", "set", "lo", "up"], check=True)
            self.run(["ip", "tuntap", "add", self.tap, "mode", "tap"], check=True)
            self.run(["ip", "link", "set", self.tap, "up"], check=True)
        except Exception:
            self.close()
            raise

    def run(self, cmd, check=False, timeout=60):
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True,
                              text=True, check=check, timeout=timeout)

    def inject(self, dst, n, ethertype=TEST_ETHERTYPE):
        self.run(["/usr/bin/python3", "-c", INJECT, self.tap, dst, str(n), PEER_MAC,
                  str(ethertype)], check=True)

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)


class Capture:
    """tshark on the namespace's tap, printing each test-ethertype frame as it passes."""

    def __init__(self, ns, duration=60):
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "tshark", "-i", ns.tap, "-l", "-n",
             "-f", f"ether proto 0x{TEST_ETHERTYPE:04x}", "-T", "fields", "-e", "eth.src",
             "-e", "eth.dst", "-e", "frame.len", "-e", "data.data", "-a", f"duration:{duration}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._sync(ns)
        except Exception:
            self.close()
            raise

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n").split("\t"))

    def frames(self, src):
        """(dst, length, payload bytes) of every frame seen from src so far."""
        with self.lock:
            return [(f[1], int(f[2]), bytes.fromhex(f[3])) for f in self.lines
                    if len(f) == 4 and f[0] == src]

    def _sync(self, ns):
        # tshark reports "Capturing" a little before it really is: the capture is live
        # once a frame injected into the tap shows up (dropped by the guest's filter).
        deadline = time.time() + 30
        while not self.frames(PEER_MAC):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("tshark never saw the sync frame")
            ns.inject(FOREIGN_MAC, 1)
            time.sleep(0.5)

    def wait(self, src, n, timeout=30):
        deadline = time.time() + timeout
        while len(self.frames(src)) < n and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(0.3)
        return self.frames(src)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def nic_state(guest, dev="eth0"):
    """Parses `nic` for dev: mac, link, irq mode and counters."""
    out = guest.cmd("nic")
    for block in re.split(r"\n(?=eth\d+:)", out):
        m = NIC_LINE.search(block)
        if not m or m.group(1) != dev:
            continue
        num = lambda rx: int(re.search(rx, block).group(1))  # noqa: E731
        return {"driver": m.group(2), "mac": m.group(3), "link": m.group(4),
                "irq": m.group(5), "rx": num(r"rx (\d+) packets"),
                "tx": num(r"tx (\d+) packets"), "irqs": num(r"napi irqs (\d+)"),
                "polls": num(r"polls (\d+)"), "rx_errors": num(r"(\d+) errors \d+ missed")}
    raise AssertionError(f"no {dev} in `nic` output:\n{out}")


def wait_rx(guest, want, timeout=20):
    """Waits until the rx counter reaches want, then lets stragglers land."""
    deadline = time.time() + timeout
    st = nic_state(guest)
    while st["rx"] < want and time.time() < deadline:
        time.sleep(0.3)
        st = nic_state(guest)
    time.sleep(0.5)
    return nic_state(guest)


@pytest.fixture
def netns(request):
    name = f"sknic{os.getpid() % 100000}{request.node.name[-12:]}"
    name = re.sub(r"[^A-Za-z0-9]", "", name)[:30]
    ns = Namespace(name)
    try:
        yield ns
    finally:
        ns.close()


class NicGuest(Guest):
    """A Guest whose QEMU is killed even when the boot itself fails."""

    def __init__(self, *args, **kw):
        try:
            super().__init__(*args, **kw)
        except Exception:
            proc = getattr(self, "proc", None)
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            raise


def boot(ns, model, img=IMG, name=None, machine="q35"):
    g = NicGuest(name or f"nic-{model}", nic=model, net="tap", img=img, netns=ns.name,
                 tap=ns.tap, machine=machine)
    # The igb driver restarts auto-negotiation after its reset; QEMU completes it 500 ms
    # (virtual) later. drivers/nic.c logs the first link state it sees, and each change.
    try:
        g.wait_for(r"eth0: link up", timeout=15)
    except Exception:
        g.close()
        raise
    return g


# model, expected driver name, expected interrupt mode, filters foreign unicast
MODELS = [
    ("e1000", "e1000", "INTx", True),       # QEMU's 82540EM has no MSI capability
    ("e1000e", "e1000e", "MSI-X", True),
    ("igb", "igb", "MSI-X", True),
    ("virtio", "virtio-net", "MSI-X", False),  # promiscuous: no CTRL_VQ to turn it off
]


@pytest.mark.parametrize("model,driver,irq_mode,filters", MODELS, ids=[m[0] for m in MODELS])
def test_nic_rx_tx(netns, model, driver, irq_mode, filters):
    g = boot(netns, model)
    try:
        st = nic_state(g)
        assert (st["driver"], st["link"], st["irq"]) == (driver, "up", irq_mode)
        mac = st["mac"]

        netns.inject(mac, 100)
        netns.inject("ff:ff:ff:ff:ff:ff", 20)
        if filters:
            netns.inject(FOREIGN_MAC, 10)       # dropped by the MAC's address filter
        after = wait_rx(g, st["rx"] + 120)
        assert after["rx"] - st["rx"] == 120
        assert after["rx_errors"] == 0
        if irq_mode != "poll":
            assert after["irqs"] > st["irqs"], "receive interrupts did not move"
        else:
            assert after["polls"] > st["polls"]

        cap = Capture(netns)
        try:
            out = g.cmd("nic send eth0 200")
            assert "sent 200 of 200" in out, out
            frames = [f for f in cap.wait(mac, 200) if f[2][:8] == b"SKIFFNIC"]
        finally:
            cap.close()
        assert len(frames) == 200
        assert [int.from_bytes(f[2][8:12], "big") for f in frames] == list(range(200))
        assert all(dst == "ff:ff:ff:ff:ff:ff" and length == 60 for dst, length, _ in frames)
        # The stack shares the NIC (DHCP discovers, ARP), so count at least our 200.
        assert nic_state(g)["tx"] - after["tx"] >= 200
    finally:
        g.close()


def test_nic_poll_mode(netns):
    """skiff.conf poll = on: the e1000e, which has MSI-X, is polled and never interrupts."""
    conf = open(os.path.join(ROOT, "skiff.conf"), "rb").read() + b"\npoll = on\n"
    img = image_with_files({"skiff.conf": conf}, base=IMG)
    g = boot(netns, "e1000e", img=img, name="nic-poll")
    try:
        st = nic_state(g)
        assert (st["irq"], st["irqs"]) == ("poll", 0)
        assert "eth0-rx" not in g.cmd("irq")
        netns.inject(st["mac"], 50)
        after = wait_rx(g, st["rx"] + 50)
        assert after["rx"] - st["rx"] == 50
        assert after["irqs"] == 0 and after["polls"] > st["polls"]
    finally:
        g.close()
        shutil.rmtree(os.path.dirname(img), ignore_errors=True)


def test_unknown_nic_gets_a_no_driver_line():
    """-device rtl8139: one line naming it, "no driver" and what Skiff drives; the shell
    still comes up (Guest waits for the prompt)."""
    g = NicGuest("nic-rtl8139", nic="none", net="none", img=IMG,
                 extra=["-netdev", "user,id=n0,restrict=on", "-device", "rtl8139,netdev=n0,romfile="])
    try:
        lines = re.findall(r"pci: (\S+) 10ec:8139 Realtek RTL8139 Fast Ethernet: no driver "
                           r"\(Skiff drives ([^)]*)\)", g.output())
        assert len(lines) == 1, g.output()[-2000:]
        families = lines[0][1].split(", ")
        assert {"e1000", "e1000e", "virtio-net"} <= set(families)
        assert "virtio-rng" not in families
        assert "no NICs" in g.cmd("nic")
        assert "uptime" in g.cmd("help")
    finally:
        g.close()


def test_igb_on_i440fx(netns):
    """QEMU's defaults on the pc machine (no ECAM, igb on conventional PCI): MSI-X still."""
    g = boot(netns, "igb", name="nic-igb-pc", machine="pc")
    try:
        assert "via legacy 0xCF8/0xCFC" in g.output()
        st = nic_state(g)
        assert (st["driver"], st["link"], st["irq"]) == ("igb", "up", "MSI-X")
        netns.inject(st["mac"], 50)
        after = wait_rx(g, st["rx"] + 50)
        assert after["rx"] - st["rx"] == 50
        assert after["irqs"] > st["irqs"], "receive interrupts did not move"
        out = g.cmd("nic send eth0 20")
        assert "sent 20 of 20" in out, out
    finally:
        g.close()


# ---- transmit offloads: `nic send DEV N csum|tso` (drivers/nic_test.c frames) ----------

TEST_SRC_IP = "192.0.2.1"           # drivers/nic_test.c
TSO_PAYLOAD = 20000                 # drivers/nic.c TEST_TSO_PAYLOAD
TSO_MSS = 1448                      # drivers/nic_test.h NIC_TEST_MSS
CSUM_PAYLOAD = 200


class PcapCapture:
    """tshark -w on the tap for the offload test frames; read() dissects the file with
    every checksum check turned on."""

    def __init__(self, ns, path):
        self.path = path
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "tshark", "-i", ns.tap, "-n", "-F", "pcap",
             "-w", path, "-f", f"host {TEST_SRC_IP} or ether src {PEER_MAC}",
             "-a", "duration:120"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        # Live once a frame injected into the tap lands in the file (24-byte header only
        # until then).
        while not (os.path.exists(path) and os.path.getsize(path) > 24):
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("tshark never saw the sync frame")
            ns.inject(FOREIGN_MAC, 1)
            time.sleep(0.5)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def read(self):
        out = subprocess.run(
            ["tshark", "-r", self.path, "-n", "-o", "tcp.check_checksum:TRUE",
             "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
             "-o", "tcp.analyze_sequence_numbers:FALSE", "-Y", f"ip.src == {TEST_SRC_IP}",
             "-T", "fields", "-E", "occurrence=f", "-e", "ip.proto", "-e", "ip.checksum.status",
             "-e", "tcp.checksum.status", "-e", "udp.checksum.status", "-e", "tcp.seq_raw",
             "-e", "ip.id", "-e", "tcp.payload", "-e", "udp.payload", "-e", "ip.len",
             "-e", "tcp.flags"],
            capture_output=True, text=True, check=True, timeout=60).stdout
        return [line.split("\t") for line in out.splitlines() if line]


def pattern(seq, start, n):
    """drivers/nic_test.c payload: byte i of frame seq is (seq + 7 i) mod 256."""
    return bytes((seq + 7 * i) & 0xFF for i in range(start, start + n))


@pytest.mark.parametrize("model", ["e1000", "e1000e", "igb"])
def test_nic_tx_offload_on_the_wire(netns, model, tmp_path, monkeypatch):
    """Checksum offload and TSO through the context descriptors: every frame on the tap
    has a good IP and TCP/UDP checksum by tshark's own check, the TSO frames arrive as
    MSS-sized segments with consecutive sequence numbers and the original bytes.
    vnet_hdr=off: with a virtio-net header on the tap, QEMU's e1000e and igb would hand
    the offload on to the host kernel, and the tap would show the unsegmented frame."""
    monkeypatch.setenv("SKIFF_TAP_OPTS", "vnet_hdr=off")
    g = boot(netns, model)
    cap = PcapCapture(netns, str(tmp_path / "offload.pcap"))
    try:
        out = g.cmd("nic send eth0 20 csum")
        assert "sent 20 of 20 csum frames" in out, out
        out = g.cmd("nic send eth0 3 tso")
        assert "sent 3 of 3 tso frames" in out, out
        time.sleep(2)
        cap.close()
        rows = cap.read()
        xstats = g.cmd("nic stats eth0")
    finally:
        cap.close()
        g.close()
    udp = [r for r in rows if r[0] == "17"]
    tcp = [r for r in rows if r[0] == "6"]
    segs_per_tso = -(-TSO_PAYLOAD // TSO_MSS)
    assert len(udp) == 10 and len(tcp) == 10 + 3 * segs_per_tso, rows
    # status 1 = "Good" in tshark's checksum fields.
    assert all(r[1] == "1" for r in rows), [r[:4] for r in rows]
    assert all(r[3] == "1" for r in udp) and all(r[2] == "1" for r in tcp), [r[:4] for r in rows]
    for seq in range(3):
        segs = sorted((int(r[4]), bytes.fromhex(r[6])) for r in tcp
                      if int(r[4]) // 100000 == seq and r[8] != str(20 + 20 + CSUM_PAYLOAD))
        assert len(segs) == segs_per_tso
        base = seq * 100000
        offset = 0
        for s, data in segs:
            assert s - base == offset and len(data) <= TSO_MSS
            assert data == pattern(seq, offset, len(data))
            offset += len(data)
        assert offset == TSO_PAYLOAD
    for seq in range(20):
        r = (udp if seq % 2 == 0 else tcp)
        mine = [x for x in r if int(x[5], 0) == seq and x[8] == str(20 + (20 if seq % 2 else 8) + CSUM_PAYLOAD)]
        assert mine and bytes.fromhex(mine[0][7 if seq % 2 == 0 else 6]) == pattern(seq, 0, CSUM_PAYLOAD)
    print(f"{model}: {len(rows)} offloaded frames on the wire, all checksums good; "
          + " ".join(l.strip() for l in xstats.splitlines() if "tso" in l or "csum" in l))
