#!/usr/bin/python3
"""`make bench`: performance numbers, printed, never asserted.

Boot: kernel-reported time from efi_main entry to "ready", and the wall-clock time
from starting QEMU to the shell prompt (OVMF included), over a few boots.

Network, per NIC model, each in a namespace of its own (tests/system/netns.py: bridge,
tap, dnsmasq; created and removed here, traffic never leaves it):
  - host -> Skiff echo RTT min/avg/max over `ping -c 200 -i 0.01`;
  - echoes answered per second under a bounded flood `ping -f -c 20000 -w 60`
    (received / the elapsed time ping reports);
  - Skiff -> host echo RTT, from Skiff's own `ping` summary.
Under TCG these measure the emulator as much as Skiff: compare models and commits on
the same machine, not against real hardware.

Bufferbloat (tests/system/bufferbloat.py, the experiment test_pacing.py asserts on): idle
RTT, then the RTT of a ping beside four downloads through a 20 Mbit/s relay that keeps the
queue in the guest, with pfifo and no pacing, then fq_codel with pacing; goodput of each.
BENCH_BLOAT_ALL=1 adds the two mixed settings (pfifo + pacing, fq_codel without).

Environment: BENCH_BOOTS (3), BENCH_NICS ("e1000 e1000e igb virtio"), BENCH_FLOOD (20000),
BENCH_SKIFF_PINGS (10); BENCH_NET=0 skips the network part (it needs root).
"""
import os
import re
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from netns import HOST_ADDR, Netns  # noqa: E402
from bench_http import bench_http  # noqa: E402  (issue 11 figures, scripts/bench_http.py)
from skiff import Guest  # noqa: E402
import bufferbloat  # noqa: E402

BOOTS = int(os.environ.get("BENCH_BOOTS", "3"))
NICS = os.environ.get("BENCH_NICS", "e1000 e1000e igb virtio").split()
FLOOD = int(os.environ.get("BENCH_FLOOD", "20000"))
SKIFF_PINGS = int(os.environ.get("BENCH_SKIFF_PINGS", "10"))

RTT = re.compile(r"rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9.]+) ms")
SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) received.*time (\d+)ms")


def bench_boot():
    kernel_ms, wall_s = [], []
    for i in range(BOOTS):
        t0 = time.time()
        g = Guest(f"bench-boot-{i}", nic="e1000", net="none")
        wall_s.append(time.time() - t0)
        kernel_ms.append(float(re.search(r"ready in ([0-9.]+) ms", g.output()).group(1)))
        g.close()
    print(f"boot: efi_main -> ready  min {min(kernel_ms):.1f} ms  median "
          f"{statistics.median(kernel_ms):.1f} ms  max {max(kernel_ms):.1f} ms  ({BOOTS} boots, TCG)")
    print(f"boot: QEMU start -> prompt  min {min(wall_s):.2f} s  median "
          f"{statistics.median(wall_s):.2f} s  (OVMF included)")


def rtt(text):
    m = RTT.search(text)
    return tuple(float(x) for x in m.groups()[:3]) if m else None


def host_ping(ns, addr, *args):
    r = ns.run(["ping", "-q", *args, addr], timeout=120)
    return r.stdout


def boot(name, model, ns):
    """A Guest on the namespace's tap; QEMU is killed if the boot itself fails."""
    class G(Guest):
        def __init__(self):
            try:
                super().__init__(name, nic=model, net="tap", netns=ns.name, tap=ns.tap)
            except Exception:
                if getattr(self, "proc", None) and self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
                raise
    return G()


def bench_nic(model):
    """One boot of model in a fresh namespace; returns a result row (or an error text)."""
    ns = Netns(f"skbench{os.getpid() % 100000}{model}")
    g = None
    try:
        ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1"])
        g = boot(f"bench-net-{model}", model, ns)
        addr = g.wait_for(r"dhcp: eth0: lease ([0-9.]+)/", timeout=60).group(1)
        row = {"model": model}
        out = host_ping(ns, addr, "-c", "200", "-i", "0.01", "-W", "2")
        row["rtt"] = rtt(out)
        row["rtt_loss"] = SUMMARY.search(out).group(1, 2)
        t0 = time.time()
        out = host_ping(ns, addr, "-f", "-c", str(FLOOD), "-w", "60")
        wall = time.time() - t0
        m = SUMMARY.search(out)
        sent, received, ms = int(m.group(1)), int(m.group(2)), int(m.group(3))
        row["flood"] = (sent, received, ms / 1000 if ms else wall)
        start = g.mark()
        g.send(f"ping -c {SKIFF_PINGS} {HOST_ADDR}\r")
        # The summary ends with the rtt line, or without one when nothing came back.
        g.wait_for(r"rtt min/avg/max/mdev = .* ms\n|transmitted, 0 received.*\n",
                   timeout=SKIFF_PINGS + 30, start=start)
        row["skiff_rtt"] = rtt(g.output(start))
        return row
    except Exception as e:            # a benchmark reports, it does not stop the others
        return {"model": model, "error": f"{type(e).__name__}: {str(e).splitlines()[0]}"}
    finally:
        if g:
            g.close()
        ns.close()
        shutil.rmtree(ns.dir, ignore_errors=True)


def fmt_rtt(r):
    return "%.3f/%.3f/%.3f" % r if r else "-"


def bench_net():
    if os.geteuid() != 0:
        print("net: skipped (network namespaces need root)")
        return
    rows = [bench_nic(m) for m in NICS]
    print("net: ICMP echo per NIC model (TCG; namespace bridge + tap; RTTs in ms)")
    head = ("model", "host->skiff min/avg/max", "flood answered", "echoes/s", "skiff->host min/avg/max")
    print("  %-8s %-26s %-16s %-10s %s" % head)
    for r in rows:
        if "error" in r:
            print(f"  {r['model']:<8} error: {r['error']}")
            continue
        sent, received, secs = r["flood"]
        pps = received / secs if secs else 0
        print("  %-8s %-26s %-16s %-10s %s" % (
            r["model"], fmt_rtt(r["rtt"]), f"{received}/{sent}", f"{pps:.0f}",
            fmt_rtt(r["skiff_rtt"])))
    print(f"  (host->skiff over ping -c 200 -i 0.01; flood ping -f -c {FLOOD} -w 60, "
          f"received / elapsed; skiff->host over Skiff's ping -c {SKIFF_PINGS})")


# HTTP (issue 11's figures): bench_http() in scripts/bench_http.py.


def bench_bloat():
    if os.geteuid() != 0:
        print("bufferbloat: skipped (network namespaces need root)")
        return
    settings = bufferbloat.SETTINGS
    if os.environ.get("BENCH_BLOAT_ALL") == "1":
        settings = (("pfifo", False), ("pfifo", True), ("fq_codel", False), ("fq_codel", True))
    try:
        print(bufferbloat.report(bufferbloat.run(settings=settings)))
    except Exception as e:      # a bench prints, it does not stop the others
        print(f"bufferbloat: error: {e}")


if __name__ == "__main__":
    bench_boot()
    if os.environ.get("BENCH_NET", "1") != "0":
        bench_net()
        bench_http()
        bench_bloat()
