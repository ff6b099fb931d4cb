"""A private network for one test module: a namespace with a bridge, a tap for QEMU and
dnsmasq as DHCP server. Traffic never leaves the namespace; close() removes it all.

    with Netns("skiff-t1") as ns:
        g = Guest("x", nic="e1000", net="tap", netns=ns.name, tap=ns.tap)
        ns.run(["ping", "-c", "3", g_addr])
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile

HOST_ADDR = "10.99.0.1"
PREFIX = 24
POOL = ("10.99.0.50", "10.99.0.99")


class Netns:
    def __init__(self, name, dhcp=True):
        self.name = name
        self.tap = "tap0"
        self.bridge = "br0"
        self.dir = tempfile.mkdtemp(prefix=f"{name}-")
        self.dnsmasq = None
        subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
        subprocess.run(["ip", "netns", "add", name], check=True)
        try:
            self._links()
            if dhcp:
                self._dhcp()
        except Exception:
            self.close()
            raise

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.name, *args], check=True)

    def _links(self):
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", self.bridge, "type", "bridge")
        self.ip("addr", "add", f"{HOST_ADDR}/{PREFIX}", "dev", self.bridge)
        self.ip("link", "set", self.bridge, "up")
        self.ip("tuntap", "add", self.tap, "mode", "tap")
        self.ip("link", "set", self.tap, "master", self.bridge)
        self.ip("link", "set", self.tap, "up")

    def _dhcp(self):
        self.leases = os.path.join(self.dir, "leases")
        self.dnsmasq_log = os.path.join(self.dir, "dnsmasq.log")
        self.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", self.name, "dnsmasq", "--keep-in-foreground",
             f"--interface={self.bridge}", "--bind-interfaces", "--except-interface=lo",
             "--port=0", f"--dhcp-range={POOL[0]},{POOL[1]},255.255.255.0,2m",
             f"--dhcp-option=option:router,{HOST_ADDR}", "--dhcp-authoritative",
             f"--dhcp-leasefile={self.leases}", f"--log-facility={self.dnsmasq_log}",
             "--log-dhcp", f"--pid-file={os.path.join(self.dir, 'pid')}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def run(self, cmd, timeout=60, check=False, **kw):
        """Runs cmd inside the namespace; returns the CompletedProcess (text)."""
        return subprocess.run(["ip", "netns", "exec", self.name, *cmd], capture_output=True,
                              text=True, timeout=timeout, check=check, **kw)

    def close(self):
        if self.dnsmasq and self.dnsmasq.poll() is None:
            self.dnsmasq.send_signal(signal.SIGTERM)
            try:
                self.dnsmasq.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.dnsmasq.kill()
        subprocess.run(["ip", "netns", "del", self.name], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class NsHelper:
    """A helper program run inside a namespace that takes JSON lines on stdin and answers
    one JSON line each (scapy_peer.py, impair.py): started once, asked many times."""

    def __init__(self, ns_name, argv, what, pass_fds=()):
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns_name, *argv],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     pass_fds=pass_fds)
        if json.loads(self.proc.stdout.readline() or "{}").get("ready") is not True:
            self.close()
            raise RuntimeError(f"{what} did not start")

    def ask(self, **request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
