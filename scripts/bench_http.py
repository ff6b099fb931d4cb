#!/usr/bin/python3
"""HTTP part of `make bench`: issue 11's QEMU figures, measured, beside the issue's
reference table and its targets. Printed, never asserted.

One boot per NIC model, each in a namespace of its own (tests/system/netns.py: bridge,
tap, dnsmasq; created and removed here, traffic never leaves it), the client inside it:
  - 10 MiB download, `curl /bytes/10485760`, median of BENCH_HTTP_DOWNLOADS (3), MB/s
    (10^6 bytes/s, as curl reports): a generated body, written into TCP's send buffer;
  - the same for a 10 MiB file (random bytes put in www/ on the image's boot volume, as
    the issue's Linux guest served a file): sent by reference, the stack's own cost;
  - `wrk -t1 -c16 -d5s` and `wrk -t1 -c1 -d5s` keep-alive requests/s on a 1 KiB page:
    /bytes/1024 (exactly 1,024 bytes of body; the static pages are 405, 1,766 and
    6,745 bytes, none close to 1 KiB);
  - `ab -c 8 -n 2000` on the same page: HTTP/1.0 without keep-alive, so one TCP
    connection per request: connections/s (needs apache2-utils, in scripts/deps.sh);
  - ping RTT is bench.py's `net:` table (host->skiff avg); not measured again here.

Reference and targets are issue 11's (Skiff and a Linux guest under QEMU on the issue
author's machine; none for igb, which the issue predates). Under TCG on a shared 2-core
machine these figures measure the emulator and the machine's load as much as Skiff.

Run by scripts/bench.py; alone: `flock /tmp/skiff-qemu.lock /usr/bin/python3
scripts/bench_http.py` (root). Environment: BENCH_NICS ("e1000 e1000e igb virtio"),
BENCH_HTTP_DOWNLOADS (3).
"""
import os
import re
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from netns import Netns  # noqa: E402
from skiff import Guest, image_with_files  # noqa: E402

NICS = os.environ.get("BENCH_NICS", "e1000 e1000e igb virtio").split()
DOWNLOADS = int(os.environ.get("BENCH_HTTP_DOWNLOADS", "3"))
BIG = 10 << 20
FILE = "/big.bin"
PAGE = "/bytes/1024"
AB_CONC, AB_REQS = 8, 2000

# metric: (label, unit, {nic: issue 11 Skiff reference}, {nic: target}, {nic: Linux guest})
# The 1-connection target is twice its reference, per model.
METRICS = {
    "download": ("10 MiB download, curl, median", "MB/s",
                 {"virtio": 116, "e1000e": 63, "e1000": 71},
                 {"virtio": 600, "e1000e": 500},
                 {"virtio": 316, "e1000e": 240, "e1000": 87}),
    "file": ("10 MiB www/ file, curl, median", "MB/s", {},
             {"virtio": 600, "e1000e": 500},
             {"virtio": 316, "e1000e": 240, "e1000": 87}),
    "wrk16": (f"wrk -c16 keep-alive {PAGE}", "req/s",
              {"virtio": 20900, "e1000e": 12500, "e1000": 14400},
              {"virtio": 40000}, {}),
    "wrk1": (f"wrk -c1 keep-alive {PAGE}", "req/s",
             {"virtio": 6500, "e1000e": 4000, "e1000": 1000},
             {"virtio": 13000, "e1000e": 8000, "e1000": 2000}, {}),
    "ab": (f"ab -c {AB_CONC} -n {AB_REQS} {PAGE}", "conn/s",
           {"virtio": 5100, "e1000e": 4200, "e1000": 3700}, {}, {}),
}

WRK_REQS = re.compile(r"(\d+) requests in ([0-9.]+)(m?s)")
WRK_ERRS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
AB_RATE = re.compile(r"Requests per second:\s+([0-9.]+)")
AB_DONE = re.compile(r"Complete requests:\s+(\d+)")
AB_FAILED = re.compile(r"Failed requests:\s+(\d+)")
AB_NON2XX = re.compile(r"Non-2xx responses:\s+(\d+)")


def count(rx, text):
    m = rx.search(text)
    return sum(int(x) for x in m.groups()) if m else 0


def wrk(ns, url, conns):
    """(requests/s, errors) of a bounded 5 s wrk run, or (None, why)."""
    r = ns.run(["wrk", "-t1", f"-c{conns}", "-d5s", "--timeout", "5s", url], timeout=60)
    m = WRK_REQS.search(r.stdout)
    if r.returncode != 0 or not m:
        return None, (r.stderr or r.stdout).strip()[-200:] or f"wrk exit {r.returncode}"
    secs = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    return int(m.group(1)) / secs, count(WRK_ERRS, r.stdout) + count(WRK_NON2XX, r.stdout)


def ab(ns, url):
    """(connections/s, failed requests) of ab, or (None, why)."""
    if not shutil.which("ab"):
        return None, "ab not installed (apache2-utils; make deps)"
    # -s: per-request timeout; -r: a socket error is counted, it does not end the run
    r = ns.run(["ab", "-q", "-r", "-s", "10", "-c", str(AB_CONC), "-n", str(AB_REQS), url],
               timeout=120)
    m = AB_RATE.search(r.stdout)
    if r.returncode != 0 or not m:
        return None, (r.stderr or r.stdout).strip()[-200:] or f"ab exit {r.returncode}"
    lost = AB_REQS - count(AB_DONE, r.stdout)
    return float(m.group(1)), count(AB_FAILED, r.stdout) + count(AB_NON2XX, r.stdout) + lost


def download(ns, url):
    """(median MB/s, failed downloads) over DOWNLOADS curl runs, or (None, why)."""
    speeds, why = [], ""
    for _ in range(DOWNLOADS):
        r = ns.run(["curl", "-sS", "--max-time", "60", "-o", "/dev/null", "-w",
                    "%{http_code} %{size_download} %{speed_download}", url], timeout=70)
        f = r.stdout.split()
        if r.returncode == 0 and f[:2] == ["200", str(BIG)]:
            speeds.append(float(f[2]) / 1e6)
        else:
            why = (r.stderr.strip() or r.stdout.strip())[-200:] or f"curl exit {r.returncode}"
    if not speeds:
        return None, why
    return statistics.median(speeds), DOWNLOADS - len(speeds)


def measure(model, img):
    """One boot of model in a fresh namespace: {metric: (value, errors or why)}."""
    ns = g = None
    try:
        ns = Netns(f"skbh{os.getpid() % 100000}{model}")
        ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1"])
        g = Guest(f"bench-http-{model}", nic=model, net="tap", netns=ns.name, tap=ns.tap,
                  img=img)
        addr = g.wait_for(r"dhcp: eth0: lease ([0-9.]+)/", timeout=60).group(1)
        base = f"http://{addr}"
        # One small fetch first: ARP and the first connection are not part of any rate.
        ns.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", base + PAGE], timeout=15)
        return {"wrk16": wrk(ns, base + PAGE, 16),
                "wrk1": wrk(ns, base + PAGE, 1),
                "ab": ab(ns, base + PAGE),
                "download": download(ns, f"{base}/bytes/{BIG}"),
                "file": download(ns, base + FILE)}
    except Exception as e:            # a benchmark reports, it does not stop the others
        why = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}"
        return {k: (None, why) for k in METRICS}
    finally:
        if g:
            g.close()
        if ns:
            ns.close()


def fmt_num(v, unit):
    if v is None:
        return "-"
    return f"{v:.1f}" if unit == "MB/s" else f"{v:,.0f}"


ROW = "  %-40s %-7s %-9s %-10s %-10s %-8s %s"


def row(label, unit, model, value, extra, ref, target, linux):
    if value is None:
        note = "failed: " + " ".join(str(extra).split())
    else:
        note = f"{extra} failed/errors" if extra else ""
    if model in linux:
        note = f"Linux guest {linux[model]}" + (f"; {note}" if note else "")
    goal = target.get(model)
    return (ROW % (f"{label} ({unit})", model, fmt_num(value, unit), fmt_num(ref.get(model), unit),
                   ">= " + fmt_num(goal, unit) if goal else "-",
                   f"{value / goal:.2f}" if value and goal else "-", note)).rstrip()


def table(results):
    """The printed table: one row per metric and NIC."""
    lines = ["http: issue 11's QEMU figures (TCG; namespace bridge + tap; client in the namespace)",
             ROW % ("metric", "NIC", "measured", "reference", "target", "x target", "notes")]
    for key, (label, unit, ref, target, linux) in METRICS.items():
        for model, res in results.items():
            lines.append(row(label, unit, model, *res[key], ref, target, linux))
    lines.append("  ping RTT: bench.py's net: table above (host->skiff avg); "
                 "x target = measured / target (>= 1 meets it)")
    return "\n".join(lines)


def bench_http(nics=None):
    if os.geteuid() != 0:
        print("http: skipped (network namespaces need root)")
        return
    t0 = time.time()
    load = os.getloadavg()[0]
    img = image_with_files({"www" + FILE: os.urandom(BIG)})
    try:
        results = {m: measure(m, img) for m in (nics or NICS)}
    finally:
        shutil.rmtree(os.path.dirname(img), ignore_errors=True)
    print(table(results))
    print(f"  ({time.time() - t0:.0f} s for {len(results)} boots; 1-minute load average "
          f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    bench_http()
