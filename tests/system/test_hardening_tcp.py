"""Hostile connections against Skiff's TCP and HTTP, while a real client keeps being served.

One boot (SKIFF_NICS' first model, virtio by default) in a namespace of its own, as in
test_http.py (its Site: br0 10.99.0.1/24, dnsmasq, the impair.py relay). The flood comes
from two more addresses of the namespace's bridge (10.99.0.2, .3), so Skiff's per-peer
cap could only ever hit the flood, never curl on 10.99.0.1 (in practice the HTTP slots
shed the stalled connections before a peer gets near it): idle connections that never
send a byte, connections that send half a request head and stop, and connections that
ask for 10 MB and never read (a 4 KiB receive buffer: the window closes). While they are all open, curl
must get / within a second; once they close, every TCB, slot and packet buffer of the
guest is back. Bounded: FLOOD_PER_ADDR sockets per address, every wait has a deadline;
traffic stays in the namespace; the namespace and QEMU go with the fixture.
"""
import os
import select
import socket
import time

import pytest

from test_http import Site, curl, inside, pool_free, sample, scrape, ss_rows, wait_until
from skiff import nstat

MODEL = os.environ.get("SKIFF_NICS", "virtio").split()[0]
FLOOD_ADDRS = ("10.99.0.2", "10.99.0.3")
FLOOD_PER_ADDR = 300                    # > the per-peer cap (a quarter of 1024 TCBs)
CONNECT_SECONDS = 20
TCB_BYTES = 1200                        # sizeof(struct tcp_sock) and allocator overhead


@pytest.fixture(scope="module")
def site():
    s = Site(MODEL)
    try:
        for a in FLOOD_ADDRS:
            s.ns.ip("addr", "add", f"{a}/24", "dev", s.ns.bridge)
        yield s
    finally:
        s.close()


def open_flood(site):
    """Non-blocking connects from the flood addresses; returns the connected sockets
    (some SYNs are dropped by the per-peer cap: those sockets are closed)."""
    pending = []
    with inside(site.ns.name):
        for src in FLOOD_ADDRS:
            for _ in range(FLOOD_PER_ADDR):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.setblocking(False)
                s.bind((src, 0))
                s.connect_ex((site.addr, 80))
                pending.append(s)
    done = []
    deadline = time.time() + CONNECT_SECONDS
    while pending and time.time() < deadline:
        _, w, _ = select.select([], pending, [], 1.0)
        for s in w:
            pending.remove(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.append(s)
            else:
                s.close()
    for s in pending:
        s.close()
    for i, s in enumerate(done):
        try:
            if i % 3 == 1:              # a head that never ends
                s.send(b"GET / HTTP/1.1\r\nHost: sk")
            elif i % 3 == 2:            # a large response never read
                s.send(b"GET /bytes/10000000 HTTP/1.1\r\nHost: sk\r\n\r\n")
        except OSError:
            pass
    return done


def timed_get(site):
    out = curl(site, "-o", "/dev/null", "-w", "%{http_code} %{time_total}", site.url + "/",
               timeout=30)
    code, secs = out.split()
    return code, float(secs)


def test_flood_of_idle_and_slow_clients_new_client_served(site):
    base = scrape(site)
    n0 = nstat(site.guest)
    code, quiet = timed_get(site)
    assert code == "200"
    flood = open_flood(site)
    try:
        assert len(flood) > 64, f"only {len(flood)} flood connections opened"
        results = [timed_get(site) for _ in range(3)]
        mid = scrape(site)
        n1 = nstat(site.guest)
        print(f"flood: {len(flood)} connections; curl / quiet {quiet:.3f} s, under flood "
              + ", ".join(f"{c} {t:.3f} s" for c, t in results)
              + f"; shed {sample(mid, 'skiff_http_connections_shed_total') - sample(base, 'skiff_http_connections_shed_total')}"
              + "".join(f", {k} +{n1.get(k, 0) - n0.get(k, 0)}" for k in (
                  "TcpExtSkiffPeerConnLimit", "TcpExtListenDrops", "TcpExtTCPAbortOnMemory",
                  "TcpExtSyncookiesSent")))
        assert all(c == "200" for c, _ in results), (results, site.diag())
        assert max(t for _, t in results) < 1.0, (results, site.diag())
        # Idle connections cost no receive buffer, so memory never runs out first.
        assert n1.get("TcpExtTCPAbortOnMemory", 0) == n0.get("TcpExtTCPAbortOnMemory", 0), site.diag()
        assert sample(mid, "skiff_http_connections_shed_total") > \
            sample(base, "skiff_http_connections_shed_total")
    finally:
        for s in flood:
            s.close()
    # Back to the baseline: no connection but TIME-WAIT and the listener, every buffer free.
    assert wait_until(lambda: nstat(site.guest).get("TcpCurrEstab", 0) == 0, 60), site.diag()
    assert wait_until(lambda: not [r for r in ss_rows(site.guest)
                                   if r[0] not in ("TIME-WAIT", "LISTEN")], 120), site.diag()
    assert wait_until(lambda: pool_free(site.guest) == site.pool, 20), \
        (pool_free(site.guest), site.pool)
    # The kernel heap (TCP's budget lives there) is back too, but for TIME-WAIT TCBs.
    heap0 = sample(base, "skiff_heap_used_bytes")

    def heap_back():
        # TIME-WAIT TCBs, and the few freed objects TCP keeps for reuse while they are
        # still being asked for (given back after a second unused), may remain.
        tw = sum(1 for r in ss_rows(site.guest) if r[0] == "TIME-WAIT")
        kept = nstat(site.guest).get("TcpExtSkiffObjCacheBytes", 0)
        return sample(scrape(site), "skiff_heap_used_bytes") <= heap0 + tw * TCB_BYTES + kept + 4096

    assert wait_until(heap_back, 30), (heap0, sample(scrape(site), "skiff_heap_used_bytes"))
    code, _ = timed_get(site)
    assert code == "200"
