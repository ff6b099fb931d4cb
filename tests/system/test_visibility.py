"""Packet visibility on the wire: tcpdump on Skiff's shell, /debug/pcap, the COM2 pcap
stream and who may look at /debug/, through each NIC model.

One boot per model, in a namespace of its own (netns.Netns: br0 10.99.0.1/24, tap0,
dnsmasq), with pcap_serial = on (filter: icmp) and a second QEMU serial port written to
a file. Every capture is read back with tshark (no warning allowed) and compared with
what the test itself sent. Traffic stays in the namespace.
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from netns import HOST_ADDR, Netns
from skiff import IMAGE, ROOT, Guest, image_with_files, nstat

IMG = os.environ.get("SKIFF_IMAGE", IMAGE)
MODELS = ["e1000", "e1000e", "virtio"]
FAR_ADDR = "10.98.0.1"          # a second host address, on no subnet Skiff is on


class Vis:
    def __init__(self, model):
        self.model = model
        self.ns = Netns(f"skvis{os.getpid() % 100000}{model[-2:]}")
        self.dir = tempfile.mkdtemp(prefix="skiff-vis-")
        self.serial_pcap = os.path.join(self.dir, "com2.pcap")
        self.guest = None
        try:
            self.ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1"], check=True)
            conf = open(os.path.join(ROOT, "skiff.conf"), "rb").read() + \
                b"\npcap_serial = on\npcap_filter = icmp\n"
            img = image_with_files({"skiff.conf": conf}, base=IMG)
            self.img_dir = os.path.dirname(img)
            self.guest = Guest(f"vis-{model}", nic=model, net="tap", img=img, netns=self.ns.name,
                               tap=self.ns.tap, extra=["-serial", f"file:{self.serial_pcap}"])
            m = self.guest.wait_for(r"dhcp: eth0: lease ([0-9.]+)/", timeout=60)
            self.addr = m.group(1)
        except Exception:
            self.close()
            raise

    def host(self, *cmd, timeout=60):
        return self.ns.run(list(cmd), timeout=timeout)

    def close(self):
        if self.guest:
            self.guest.close()
        self.ns.close()
        shutil.rmtree(self.ns.dir, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        if getattr(self, "img_dir", None):
            shutil.rmtree(self.img_dir, ignore_errors=True)


@pytest.fixture(scope="module", params=MODELS)
def vis(request):
    v = Vis(request.param)
    try:
        yield v
    finally:
        v.close()


def tshark(path, *fields, filt=None):
    """Rows of the named fields; fails on any tshark warning or error."""
    cmd = ["tshark", "-r", path, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    if filt:
        cmd += ["-Y", filt]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    # tshark's note about running as root is not about the file
    err = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith("Running as user")]
    assert r.returncode == 0 and not err, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines()]


def run_async(g, line, done, timeout=30):
    start = g.mark()
    g.send(line + "\r")
    g.wait_for(done, timeout=timeout, start=start)
    return g.output(start)


# ---- tcpdump ------------------------------------------------------------------------

def test_tcpdump_prints_both_directions(vis):
    # No -c: a stray echo (dnsmasq pings the address it leased) may come first and
    # would use up a count. Stop with ^C once this ping's last reply is printed.
    g = vis.guest
    start = g.mark()
    g.send("tcpdump icmp\r")
    g.wait_for(r"listening on any, link-type EN10MB", start=start)
    r = vis.host("ping", "-c", "2", "-i", "0.3", "-s", "56", vis.addr)
    assert r.returncode == 0, r.stdout
    g.wait_for(rf"IP {vis.addr} > {HOST_ADDR}: ICMP echo reply, id \d+, seq 2, length 64\n",
               timeout=10, start=start)
    g.send("\x03")
    g.wait_for(r"packets dropped by kernel\n", timeout=10, start=start)
    out = g.output(start)
    m = re.search(r"(\d+) packets captured", out)
    assert m and int(m.group(1)) >= 4, out
    for seq in (1, 2):
        assert re.search(rf"\d\d:\d\d:\d\d\.\d{{6}} IP {HOST_ADDR} > {vis.addr}: ICMP echo request, "
                         rf"id \d+, seq {seq}, length 64\n", out), out
        assert re.search(rf"IP {vis.addr} > {HOST_ADDR}: ICMP echo reply, id \d+, seq {seq}, "
                         rf"length 64\n", out), out
    assert "0 packets dropped by kernel" in out
    # -c ends the capture by itself after that many (whichever they are).
    start = g.mark()
    g.send("tcpdump -c 2 icmp\r")
    g.wait_for(r"listening on any, link-type EN10MB", start=start)
    assert vis.host("ping", "-c", "1", vis.addr).returncode == 0
    g.wait_for(r"\n2 packets captured\n", timeout=10, start=start)


def test_tcpdump_filter_ether_and_ctrl_c(vis):
    g = vis.guest
    start = g.mark()
    g.send(f"tcpdump -e -i eth0 arp or host {HOST_ADDR} and udp\r")
    g.wait_for(r"listening on eth0", start=start)
    vis.host("ping", "-c", "1", vis.addr)          # ICMP: not shown
    time.sleep(0.5)
    g.send("\x03")
    g.wait_for(r"packets dropped by kernel\n", start=start)
    out = g.output(start)
    assert "ICMP" not in out, out
    m = re.search(r"(\d+) packets captured", out)
    assert m, out
    # Stopped: more traffic prints nothing.
    after = g.mark()
    vis.host("ping", "-c", "1", vis.addr)
    time.sleep(0.3)
    assert "IP " not in g.output(after)


@pytest.mark.parametrize("line,err", [
    ("tcpdump tcp port 99999", r"tcpdump: col 10: '99999': illegal port number > 65535"),
    ("tcpdump host 10.0.0.300", r"tcpdump: col 6: '10.0.0.300'"),
    ("tcpdump -i eth9", r"tcpdump: eth9: No such device exists"),
    ("tcpdump -c x", r"tcpdump: invalid packet count x"),
])
def test_tcpdump_bad_input(vis, line, err):
    out = vis.guest.cmd(line)
    assert re.match(err, out), out
    assert out.count("\n") == 1, out


# ---- /debug/pcap ----------------------------------------------------------------------

def test_debug_pcap_counted_capture(vis):
    path = os.path.join(vis.dir, "icmp.pcapng")
    curl = subprocess.Popen(["ip", "netns", "exec", vis.ns.name, "curl", "-sS", "-m", "30", "-o", path,
                             f"http://{vis.addr}/debug/pcap?f=icmp&c=6"])
    time.sleep(1)
    r = vis.host("ping", "-c", "3", "-i", "0.3", "-s", "100", vis.addr)
    assert r.returncode == 0, r.stdout
    assert curl.wait(timeout=40) == 0
    rows = tshark(path, "frame.interface_name", "frame.packet_flags_direction", "ip.src", "ip.dst",
                  "icmp.type", "icmp.seq", "frame.len")
    assert len(rows) == 6, rows
    want = []
    for seq in (1, 2, 3):
        want.append(["eth0", "0x1", HOST_ADDR, vis.addr, "8", str(seq), "142"])
        want.append(["eth0", "0x2", vis.addr, HOST_ADDR, "0", str(seq), "142"])
    # direction flag values: tshark prints 1 (inbound) / 2 (outbound) for the field
    got = [[r[0], "0x%x" % int(r[1], 0), *r[2:]] for r in rows]
    assert got == want, got


def test_debug_pcap_leaves_out_its_own_connection(vis):
    path = os.path.join(vis.dir, "http.pcapng")
    curl = subprocess.Popen(["ip", "netns", "exec", vis.ns.name, "curl", "-sS", "-m", "30",
                             "--local-port", "41000", "-o", path,
                             f"http://{vis.addr}/debug/pcap?f=tcp+port+80&c=8"])
    time.sleep(1)
    for _ in range(2):
        r = vis.host("curl", "-sS", "-m", "10", "--local-port", "42000-42100", "-o", "/dev/null",
                     f"http://{vis.addr}/")
        assert r.returncode == 0, r.stderr
    assert curl.wait(timeout=40) == 0
    rows = tshark(path, "tcp.srcport", "tcp.dstport")
    assert len(rows) == 8, rows
    for sport, dport in rows:
        assert "41000" not in (sport, dport), rows
        assert {sport, dport} & {"80"}, rows


def test_debug_pcap_bad_filter_and_busy(vis):
    r = vis.host("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                 f"http://{vis.addr}/debug/pcap?f=tcp+port+99999")
    assert r.stdout == "400", r.stdout
    r = vis.host("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://{vis.addr}/debug/nope")
    assert r.stdout == "404", r.stdout


def test_debug_forbidden_to_clients_off_subnet(vis):
    """A client on no connected subnet (its replies go via the gateway) gets 403."""
    def forbidden():
        r = vis.host("curl", "-s", f"http://{vis.addr}/debug/stats.json")
        return json.loads(r.stdout)["debug"]["forbidden"]
    before = forbidden()
    vis.ns.ip("addr", "add", f"{FAR_ADDR}/24", "dev", "br0")
    try:
        r = vis.host("curl", "-s", "-m", "10", "--interface", FAR_ADDR, "-o", "/dev/null", "-w",
                     "%{http_code}", f"http://{vis.addr}/debug/pcap?c=1")
        assert r.stdout == "403", (r.stdout, r.stderr)
        r = vis.host("curl", "-s", "-m", "10", "--interface", FAR_ADDR, "-o", "/dev/null", "-w",
                     "%{http_code}", f"http://{vis.addr}/metrics")
        assert r.stdout == "200", r.stdout
    finally:
        vis.ns.ip("addr", "del", f"{FAR_ADDR}/24", "dev", "br0")
    assert forbidden() == before + 1


# ---- trace -------------------------------------------------------------------------

def test_trace_shell_shows_each_floor(vis):
    g = vis.guest
    start = g.mark()
    g.send("trace -c 2 icmp\r")
    g.wait_for(r"tracing icmp\n", start=start)
    r = vis.host("ping", "-c", "1", vis.addr)
    assert r.returncode == 0, r.stdout
    g.wait_for(r"2 packets traced, 0 lines dropped\n", timeout=10, start=start)
    # waits worth showing ("[+N µs]") may follow any step under TCG: compare without them
    out = re.sub(r" \[\+\d+ µs\]", "", g.output(start))
    assert re.search(r"rx eth0 98B → eth ok 0x0800 → ipv4 for-us icmp 64B → icmp consumed  "
                     r"\(\d+ µs\)\n", out), out
    assert re.search(rf"ipv4 out icmp to {HOST_ADDR} → route via {HOST_ADDR} src {vis.addr} → "
                     r"neigh hit ..:[0-9a-f]{2}:[0-9a-f]{2} → qdisc enq backlog \d+ → tx eth0 98B  "
                     r"\(\d+ µs\)\n", out), out


def test_trace_bad_input(vis):
    out = vis.guest.cmd("trace udp port x")
    assert out.startswith("trace: col 10: 'x'"), out
    out = vis.guest.cmd("trace -c 0")
    assert out == "trace: invalid packet count 0\n", out


def test_debug_trace_json_lines(vis):
    curl = subprocess.Popen(["ip", "netns", "exec", vis.ns.name, "curl", "-sS", "-m", "30",
                             f"http://{vis.addr}/debug/trace?f=icmp&c=4"],
                            stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    r = vis.host("ping", "-c", "2", "-i", "0.3", vis.addr)
    assert r.returncode == 0
    out, _ = curl.communicate(timeout=40)
    lines = [json.loads(l) for l in out.splitlines()]
    assert len(lines) == 4, out
    rx = [l for l in lines if l["steps"][0]["event"] == "rx"]
    tx = [l for l in lines if l["steps"][0]["event"] == "ip-out"]
    assert len(rx) == 2 and len(tx) == 2, out
    for l in rx:
        assert [s["event"] for s in l["steps"]] == ["rx", "eth-ok", "ip-local", "deliver"], l
    for l in tx:
        assert [s["event"] for s in l["steps"]] == ["ip-out", "route", "neigh-hit", "qdisc-enq", "tx"], l
        assert l["total_ns"] == l["steps"][-1]["ns"] >= 0


# ---- COM2 ------------------------------------------------------------------------------

def serial_capture(vis):
    """The COM2 file from the pcap header on (the firmware prints on COM2 first)."""
    clean = os.path.join(vis.dir, "com2-clean.pcap")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "serial_pcap.py"),
                    vis.serial_pcap, clean], check=True, timeout=30)
    return clean


def test_serial_pcap_stream(vis):
    """Everything ICMP so far went to COM2 as classic pcap; a few more pings must show."""
    before = len(tshark(serial_capture(vis), "frame.len"))
    r = vis.host("ping", "-c", "2", "-i", "0.3", vis.addr)
    assert r.returncode == 0
    deadline = time.time() + 10
    rows = []
    while time.time() < deadline:
        rows = tshark(serial_capture(vis), "ip.src", "ip.dst", "icmp.type")
        if len(rows) >= before + 4:
            break
        time.sleep(0.5)
    assert len(rows) >= before + 4, rows
    assert [HOST_ADDR, vis.addr, "8"] in rows[before:] and [vis.addr, HOST_ADDR, "0"] in rows[before:]
    assert all(r[2] in ("0", "8") for r in rows), rows     # the filter holds: ICMP only


# ---- queueing discipline ------------------------------------------------------------

def test_tc_fq_codel_default_replace_and_back(vis):
    g = vis.guest
    out = g.cmd("tc -s qdisc show dev eth0")
    assert re.match(r"qdisc fq_codel 0: dev eth0 root refcnt 2 limit 1000p flows 1024 quantum 1514 "
                    r"target 5ms interval 100ms memory_limit \S+ ecn drop_batch 64\n Sent (\d+) bytes", out), out
    sent0 = int(re.search(r"Sent \d+ bytes (\d+) pkt", out).group(1))
    assert vis.host("ping", "-c", "3", "-i", "0.2", vis.addr).returncode == 0
    out = g.cmd("tc -s qdisc show dev eth0")
    assert int(re.search(r"Sent \d+ bytes (\d+) pkt", out).group(1)) >= sent0 + 3, out
    assert g.cmd("tc qdisc replace dev eth0 root pfifo limit 500") == ""
    assert "qdisc pfifo state UP" in g.cmd("ip link show eth0")
    assert vis.host("ping", "-c", "2", "-i", "0.2", vis.addr).returncode == 0
    out = g.cmd("tc -s qdisc")
    assert re.match(r"qdisc pfifo 0: dev eth0 root refcnt 2 limit 500p\n Sent (\d+) bytes (\d+) pkt", out), out
    assert g.cmd("tc qdisc replace dev eth0 root fq_codel target 2ms") == ""
    assert "target 2ms" in g.cmd("tc -s qdisc")
    assert g.cmd("tc qdisc replace dev eth0 root fq_codel limit 0") == 'Illegal "limit"\n'
    assert vis.host("ping", "-c", "2", "-i", "0.2", vis.addr).returncode == 0


# ---- the /debug/ page in a real browser -------------------------------------------------

def chromium(vis, *args):
    cmd = ["ip", "netns", "exec", vis.ns.name, "chromium", "--headless", "--no-sandbox", "--disable-gpu",
           "--no-first-run", f"--user-data-dir={vis.dir}/chromium", "--virtual-time-budget=4000",
           *args, f"http://{vis.addr}/debug.html"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def counter(dom, name):
    m = re.search(rf'data-counter="{re.escape(name)}">(\d+)', dom)
    assert m, dom[-3000:]
    return int(m.group(1))


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (make deps)")
def test_debug_page_in_chromium(vis):
    r = vis.host("curl", "-s", f"http://{vis.addr}/")
    assert 'href="/debug.html"' in r.stdout
    first = chromium(vis, "--dump-dom")
    assert first.returncode == 0, first.stderr[-2000:]
    a = counter(first.stdout, "ip-rx.IpInReceives")
    assert vis.host("ping", "-c", "5", "-i", "0.2", vis.addr).returncode == 0
    second = chromium(vis, "--dump-dom")
    b = counter(second.stdout, "ip-rx.IpInReceives")
    assert b >= a + 10, (a, b)          # 5 echo requests + chromium's own TCP segments
    assert counter(second.stdout, "wire-tx.tx_packets") > counter(first.stdout, "wire-tx.tx_packets")
    assert "ESTAB" in second.stdout     # chromium's own connection, as ss shows it
    shot = os.path.join(ROOT, "build", f"debug-page-{vis.model}.png")
    r = chromium(vis, f"--screenshot={shot}", "--window-size=1200,1400")
    assert r.returncode == 0 and os.path.getsize(shot) > 10000, r.stderr[-2000:]


# ---- tracepath and the path MTU cache ------------------------------------------------

@contextlib.contextmanager
def far_side(vis, tag, subnet, router_mtu, far_mtu):
    """A second namespace routed through the test's namespace: a veth whose router end
    (subnet.1, MTU router_mtu) stays in vis's namespace and whose far end (subnet.2, MTU
    far_mtu) is the only link of the new one; forwarding on. Yields its name; gone after."""
    far = f"skvis{tag}{os.getpid() % 100000}{vis.model[-2:]}"
    subprocess.run(["ip", "netns", "add", far], check=True)
    try:
        run = lambda *c: subprocess.run(list(c), check=True)
        near_if, far_if = f"v{tag}0", f"v{tag}1"
        run("ip", "link", "add", near_if, "netns", vis.ns.name, "type", "veth", "peer", "name", far_if,
            "netns", far)
        run("ip", "-n", vis.ns.name, "addr", "add", f"{subnet}.1/24", "dev", near_if)
        run("ip", "-n", vis.ns.name, "link", "set", near_if, "mtu", str(router_mtu), "up")
        run("ip", "-n", far, "addr", "add", f"{subnet}.2/24", "dev", far_if)
        run("ip", "-n", far, "link", "set", far_if, "mtu", str(far_mtu), "up")
        run("ip", "-n", far, "link", "set", "lo", "up")
        run("ip", "-n", far, "route", "add", "10.99.0.0/24", "via", f"{subnet}.1")
        run("ip", "netns", "exec", vis.ns.name, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        yield far
    finally:
        subprocess.run(["ip", "netns", "del", far])


def test_tracepath_two_hops_with_smaller_mtu(vis):
    """The namespace routes to a second namespace over a veth with MTU 1400: hop 1 is the
    namespace (time exceeded), hop 2 the far side, found after a frag-needed."""
    with far_side(vis, "far", "10.97.0", 1400, 1400):
        g = vis.guest
        start = g.mark()
        g.send("tracepath 10.97.0.2\r")
        g.wait_for(r"Resume: pmtu \d+ hops \d+ back \d+\n|Too many hops|Stopped", timeout=60, start=start)
        out = g.output(start)
        assert re.search(r" 1\?: \[LOCALHOST\] +pmtu 1500\n", out), out
        assert re.search(rf" 1:  {HOST_ADDR} +\d+\.\d{{3}}ms\n", out), out
        assert " 2:  pmtu 1400\n" in out, out
        assert re.search(r" 2:  10\.97\.0\.2 +\d+\.\d{3}ms reached\n     Resume: pmtu 1400 hops 2 back 2\n", out), out
        cache = g.cmd("ip route show cache")
        assert re.match(rf"10\.97\.0\.2 via {HOST_ADDR} dev eth0 \n    cache expires \d+sec mtu 1400 "
                        rf"from {HOST_ADDR}\n", cache), cache


def test_tcp_path_mtu_below_576_fragmented_by_router(vis):
    """A client behind a 400-byte link (the router's side of the veth; the client's own
    end is 1500, so its SYN offers MSS 1460): Skiff's full-sized DF segments draw a
    frag-needed with MTU 400, below TCP's 576 floor. Skiff must then send 576-byte
    segments without DF, which the router fragments; with DF kept the download stalls."""
    with far_side(vis, "mtu", "10.96.0", 400, 1500) as far:
        fails = nstat(vis.guest).get("TcpExtTCPMTUPFail", 0)
        r = subprocess.run(["ip", "netns", "exec", far, "curl", "-s", "--max-time", "30", "-o", "/dev/null",
                            "-w", "%{size_download}", f"http://{vis.addr}/bytes/200000"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout == "200000", (r.returncode, r.stdout, r.stderr)
        assert nstat(vis.guest).get("TcpExtTCPMTUPFail", 0) > fails
        cache = vis.guest.cmd("ip route show cache")
        assert re.search(rf"^10\.96\.0\.2 via {HOST_ADDR} dev eth0 \n    cache expires \d+sec mtu 400 ", cache,
                         re.M), cache
