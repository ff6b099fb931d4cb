"""netconsole: the boot log as RFC 5424 syslog datagrams over UDP.

One boot (virtio-net) in a namespace of its own (netns.Netns: bridge br0 10.99.0.1/24,
dnsmasq) with `netconsole = 10.99.0.1:514` added to skiff.conf. A plain Python UDP socket
bound to 10.99.0.1:514 inside the namespace receives; every datagram must parse as
RFC 5424 (§6 ABNF, checked by the regex below), with PRI from facility local0 and the log
level's severity. Lines logged before DHCP finished (the first boot lines, the DHCP
client's own) must arrive too: they waited in the netconsole's ring.
"""
import json
import os
import re
import subprocess
import time

import pytest

from netns import HOST_ADDR, Netns
from skiff import IMAGE, ROOT, Guest, image_with_files

IMG = os.environ.get("SKIFF_IMAGE", IMAGE)
PORT = 514

# RFC 5424 §6: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD [SP MSG]
RFC5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 "
    r"(?P<ts>-|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)) "
    r"(?P<host>[!-~]{1,255}) (?P<app>[!-~]{1,48}) (?P<procid>[!-~]{1,128}) "
    r"(?P<msgid>[!-~]{1,32}) (?P<sd>-|\[.*\])(?: (?P<msg>.*))?$", re.S)

LISTENER = r"""
import json, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(1.0)
print(json.dumps({"ready": True}), flush=True)
deadline = time.time() + float(sys.argv[3])
while time.time() < deadline:
    try:
        data, peer = s.recvfrom(4096)
    except socket.timeout:
        continue
    print(json.dumps({"from": peer[0], "sport": peer[1], "hex": data.hex()}), flush=True)
"""


class Listener:
    """A UDP socket on HOST_ADDR:514 inside the namespace; datagrams as JSON lines."""

    def __init__(self, ns, seconds=150):
        self.path = os.path.join(ns.dir, "syslog.out")
        self.out = open(self.path, "w")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "/usr/bin/python3", "-c", LISTENER, HOST_ADDR,
             str(PORT), str(seconds)], stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while time.time() < deadline and '"ready"' not in open(self.path).read():
            time.sleep(0.1)
        assert '"ready"' in open(self.path).read(), open(self.path).read()

    def datagrams(self):
        out = []
        for line in open(self.path).read().splitlines():
            d = json.loads(line)
            if "hex" in d:
                d["text"] = bytes.fromhex(d["hex"]).decode("ascii")
                out.append(d)
        return out

    def wait_for(self, needle, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if any(needle in d["text"] for d in self.datagrams()):
                return
            time.sleep(0.2)
        raise AssertionError(f"no datagram with {needle!r}; got "
                             f"{[d['text'] for d in self.datagrams()][-10:]}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.out.close()


@pytest.fixture(scope="module")
def setup():
    ns = Netns(f"skncon{os.getpid() % 100000}")
    listener = guest = None
    img_dir = None
    try:
        ns.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1"], check=True)
        listener = Listener(ns)
        conf = open(os.path.join(ROOT, "skiff.conf"), "rb").read()
        img = image_with_files({"skiff.conf": conf + b"\nnetconsole = 10.99.0.1:514\n"}, base=IMG)
        img_dir = os.path.dirname(img)
        guest = Guest("netconsole", nic="virtio", net="tap", img=img, netns=ns.name, tap=ns.tap,
                      qmp=True)
        guest.wait_for(r"dhcp: eth0: lease ([0-9.]+)", timeout=60)
        listener.wait_for("dhcp: eth0: lease", timeout=30)
        yield ns, guest, listener
    finally:
        if guest:
            guest.close()
        if listener:
            listener.close()
        ns.close()
        if img_dir:
            subprocess.run(["rm", "-rf", img_dir])


def test_boot_log_arrives_as_rfc5424(setup):
    ns, guest, listener = setup
    grams = listener.datagrams()
    assert len(grams) >= 10, [d["text"] for d in grams]
    lease = re.search(r"dhcp: eth0: lease ([0-9.]+)", guest.output()).group(1)
    for d in grams:
        assert d["from"] == lease and d["sport"] == 514, d
        m = RFC5424.match(d["text"])
        assert m, d["text"]
        pri = int(m.group("pri"))
        assert pri // 8 == 16, d["text"]                    # local0
        assert pri % 8 in (3, 4, 6, 7), d["text"]           # err, warning, info, debug
        assert m.group("host") == "skiff" and m.group("app") == "skiff", d["text"]
        if "warn" in d["text"] and pri % 8 == 6:
            pytest.fail(f"a warning sent as info: {d['text']}")
    texts = [RFC5424.match(d["text"]).group("msg") or "" for d in grams]
    # Logged long before DHCP finished: the netconsole's own start line (right after the
    # configuration), paging, PCI; all waited in the ring.
    starts = [i for i, t in enumerate(texts) if t.startswith("netconsole: log to 10.99.0.1:514")]
    leases = [i for i, t in enumerate(texts) if t.startswith("dhcp: eth0: lease")]
    assert starts and leases, texts
    first, lease_i = starts[0], leases[0]
    assert first < lease_i
    assert any(t.startswith("paging: identity map") for t in texts[:lease_i]), texts[:lease_i]
    # Every line of the guest's log ring (`log`) up to the lease came, in order.
    serial = [re.sub(r"^\[\s*\d+\.\d+\] (\w+: \S+:\d+: )?", "", ln)
              for ln in guest.cmd("log").splitlines() if re.match(r"^\[\s*\d+\.\d+\] ", ln)]
    start = serial.index(texts[first])
    upto = serial.index(texts[lease_i])
    sent_plain = [re.sub(r"^\S+\.c:\d+: ", "", t) for t in texts]
    assert sent_plain[first:lease_i + 1] == serial[start:upto + 1]


def test_timestamps_once_the_clock_is_known(setup):
    _, guest, listener = setup
    texts = [d["text"] for d in listener.datagrams()]
    rtc = next(i for i, t in enumerate(texts) if " rtc: " in t)
    # Before rtc_init the wall clock is unknown: NILVALUE; after it, a real time.
    assert RFC5424.match(texts[0]).group("ts") == "-"
    later = [RFC5424.match(t).group("ts") for t in texts[rtc + 1:]]
    assert later and all(ts != "-" for ts in later), later
    assert all(ts.startswith(time.strftime("%Y-", time.gmtime())) for ts in later), later


def test_counters_and_shell_lines_after_boot(setup):
    _, guest, listener = setup
    out = guest.cmd("netconsole")
    m = re.search(r"queued (\d+) sent (\d+) dropped (\d+) \(overflow (\d+), errors (\d+)\) "
                  r"waiting (\d+)", out)
    assert m, out
    queued, sent, dropped = int(m.group(1)), int(m.group(2)), int(m.group(3))
    assert dropped == 0, out
    assert sent >= len(listener.datagrams()) - 1 and sent > 0, out
    assert queued >= sent
    # Lines logged while the link is down wait and go out, in order, once it is back.
    before = len(listener.datagrams())
    mark = guest.mark()
    guest.qmp("set_link", name="n0", up=False)
    guest.wait_for(r"eth0: link down \(1 changes\)", timeout=10, start=mark)
    time.sleep(1.0)
    assert len(listener.datagrams()) == before
    guest.qmp("set_link", name="n0", up=True)
    guest.wait_for(r"eth0: link up, .*\(2 changes\)", timeout=10, start=mark)
    # The stack may re-confirm its lease after the link returns; the lines wait for it.
    listener.wait_for("(2 changes)", timeout=30)
    new = [d["text"] for d in listener.datagrams()[before:]]
    down = next(i for i, t in enumerate(new) if "eth0: link down (1 changes)" in t)
    up = next(i for i, t in enumerate(new) if "(2 changes)" in t)
    assert down < up, new
    out = guest.cmd("netconsole")
    assert re.search(r"dropped 0 ", out), out
