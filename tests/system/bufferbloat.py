"""A ping next to bulk downloads over a rate-limited link, with the bottleneck queue in
Skiff: the measurement test_pacing.py asserts on and `make bench` (scripts/bench.py)
prints. One module, so both report the same experiment.

The wire (docs/performance.md, "Bufferbloat"): one virtio guest in a namespace of its own
(netns.Netns: br0 10.99.0.1/24, tap0, dnsmasq). QEMU's NIC is a `-netdev stream` socket
(one end of a socketpair made here, its send buffer shrunk to the minimum) whose other
end shaper.py reads at RATE bit/s and copies to tap0. The relay's slowness pushes back:
the socket fills, QEMU stops taking frames from the TX ring, the ring fills, Skiff's byte
queue limits stop its qdisc, and the queue builds in the qdisc, where fq_codel can manage
it. The relay reports how much waited in the socket (outside the guest).

One run: the idle RTT (ping from the namespace to the guest), then for each setting
(`tc qdisc replace dev eth0 root pfifo|fq_codel` and `sysctl net.ipv4.tcp_pacing`)
DOWNLOADS curls of /bytes/N bounded by LOAD_SECONDS, with PINGS pings at 100 ms going
alongside once the downloads are under way. Every loop is bounded in count and time;
the traffic stays in the namespace; close() removes the guest, the relay and the
namespace.
"""
import os
import re
import shutil
import socket
import statistics
import subprocess
import time

from netns import Netns, NsHelper
from skiff import IMAGE, Guest

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
RATE = 20_000_000               # bit/s at the relay
DOWNLOADS = 4                   # parallel bulk connections (64 KiB send buffer each)
LOAD_SECONDS = 14               # each download is cut off (curl --max-time) after this
WARMUP = 3.0                    # seconds of load before the pings start
PINGS = 20                      # at 100 ms
BODY = 64 << 20                 # /bytes/N: more than LOAD_SECONDS can carry at RATE
SETTINGS = (("pfifo", False), ("fq_codel", True))


class Shaper(NsHelper):
    def __init__(self, ns, fd, rate):
        super().__init__(ns.name, [PY, os.path.join(HERE, "shaper.py"), ns.tap, str(fd),
                                   str(rate)], "shaper.py", pass_fds=(fd,))


class Bottleneck:
    """One booted guest behind the shaping relay."""

    def __init__(self, name="bloat", rate=RATE, img=IMAGE):
        self.ns = Netns(f"skbloat{os.getpid() % 100000}")
        self.shaper = self.guest = None
        qemu_end, relay_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # The socket must not become the queue: the smallest send buffer Linux allows
            # on QEMU's end (about two frames; the relay measures what waits there).
            qemu_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
            relay_end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
            self.ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1"], check=True)
            self.shaper = Shaper(self.ns, relay_end.fileno(), rate)
            self.guest = Guest(name, nic="virtio", net="stream", img=img, netns=self.ns.name,
                               net_fd=qemu_end.fileno())
            self.addr = self.guest.wait_for(r"dhcp: eth0: lease ([0-9.]+)/", timeout=60).group(1)
            self.guest.wait_for(r"http: serving \d+ files", timeout=10)
        except Exception:
            self.close()
            raise
        finally:
            qemu_end.close()            # the children hold their copies
            relay_end.close()

    def ping(self, count, interval=0.1):
        """RTTs in ms of count pings (lost ones are left out)."""
        r = self.ns.run(["ping", "-n", "-c", str(count), "-i", str(interval), "-W", "2",
                         self.addr], timeout=count * interval + 30)
        return [float(m) for m in re.findall(r"time=([0-9.]+) ms", r.stdout)]

    def load(self, qdisc, pacing):
        """Bulk downloads with pings alongside; a dict of numbers."""
        assert self.guest.cmd(f"tc qdisc replace dev eth0 root {qdisc}") == ""
        self.guest.cmd(f"sysctl -w net.ipv4.tcp_pacing={int(pacing)}")
        before = self.shaper.ask(op="stats")["out"]
        url = f"http://{self.addr}/bytes/{BODY}"
        curls = [subprocess.Popen(
            ["ip", "netns", "exec", self.ns.name, "curl", "-s", "-o", "/dev/null",
             "--max-time", str(LOAD_SECONDS), "-w", "%{size_download}", url],
            stdout=subprocess.PIPE, text=True) for _ in range(DOWNLOADS)]
        t0 = time.time()
        try:
            time.sleep(WARMUP)
            rtts = self.ping(PINGS)
            tc = self.guest.cmd("tc -s qdisc show dev eth0")
            ss = self.guest.cmd("ss -tni")
        finally:
            got = 0
            for c in curls:
                try:
                    out, _ = c.communicate(timeout=LOAD_SECONDS + 30)
                    got += int(out.strip() or 0)
                except (subprocess.TimeoutExpired, ValueError):
                    c.kill()
                    c.wait()
        seconds = max(time.time() - t0, 1e-3)
        after = self.shaper.ask(op="stats")["out"]
        return {
            "qdisc": qdisc, "pacing": pacing, "rtts": rtts,
            "median_ms": statistics.median(rtts) if rtts else None,
            "lost": PINGS - len(rtts),
            "mbps": got * 8 / seconds / 1e6,
            "wire_mbps": (after["bytes"] - before["bytes"]) * 8 / seconds / 1e6,
            "sock_queue_max": after["sock_queue_max"],
            "sock_queue_mean": after["sock_queue_mean"],
            "tc": tc, "ss": ss,
        }

    def close(self):
        if self.guest:
            self.guest.close()
            self.guest = None
        if self.shaper:
            self.shaper.close()
            self.shaper = None
        self.ns.close()
        shutil.rmtree(self.ns.dir, ignore_errors=True)


def label(qdisc, pacing):
    return qdisc + (" + pacing" if pacing else ", no pacing")


def run(img=IMAGE, rate=RATE, settings=SETTINGS):
    """The whole experiment on one boot: {"idle": [...], label: {...} per setting}."""
    b = Bottleneck(img=img, rate=rate)
    try:
        res = {"rate_mbps": rate / 1e6, "idle": b.ping(PINGS), "settings": settings}
        res["idle_median_ms"] = statistics.median(res["idle"]) if res["idle"] else None
        for qdisc, pacing in settings:
            res[label(qdisc, pacing)] = b.load(qdisc, pacing)
        return res
    finally:
        b.close()


def report(res):
    """The lines `make bench` prints."""
    lines = [f"bufferbloat: ping beside {DOWNLOADS} downloads through a "
             f"{res['rate_mbps']:.0f} Mbit/s relay (queue in the guest)",
             f"  idle RTT median            {res['idle_median_ms']:.2f} ms"]
    for qdisc, pacing in res["settings"]:
        r = res[label(qdisc, pacing)]
        med = f"{r['median_ms']:.2f} ms" if r["median_ms"] is not None else "n/a"
        lines.append(f"  {label(qdisc, pacing):<26} RTT median "
                     f"{med:>10}, {r['lost']} lost, goodput {r['mbps']:.1f} Mbit/s "
                     f"(outside the guest: max {r['sock_queue_max']} B queued)")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    ALL = (("pfifo", False), ("pfifo", True), ("fq_codel", False), ("fq_codel", True))
    print(report(run(settings=ALL if "--all" in sys.argv else SETTINGS)))
