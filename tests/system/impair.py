#!/usr/bin/python3
"""A link impairment relay between QEMU and a tap: seeded reordering, duplication, loss.

QEMU's `-netdev dgram` (scripts/qemu.sh --net dgram) sends each Ethernet frame the guest
transmits as one UDP datagram to 127.0.0.1:REMOTE and takes frames to deliver from
127.0.0.1:LOCAL. This relay sits on REMOTE, opens the tap (TUNSETIFF, IFF_TAP|IFF_NO_PI;
the tap must exist and the relay must run in its namespace) and copies frames both ways:

    guest --UDP--> relay --(impair "out")--> tap      (frames the guest sent)
    guest <--UDP-- relay <--(impair "in")--- tap      (frames for the guest)

Impairments, per direction, off until asked for:
  - loss p:     the frame is dropped;
  - dup p:      the frame is sent twice;
  - reorder p:  the frame is held and sent right after the next frame in the same
                direction (or after hold_ms if none comes), so two neighbours swap.
One random.Random(seed) draws every decision, so a run is repeatable given the same
frame sequence.

Control: one JSON object per line on stdin, one JSON reply per line on stdout; the first
line printed is {"ready": true}.
    {"op": "set", "dir": "out"|"in"|"both", "loss": 0.0, "dup": 0.0, "reorder": 0.0,
     "seed": 1, "hold_ms": 20}                          -> {"ok": true}
    {"op": "stats"}  -> {"out": {...}, "in": {...}}     frames, bytes, dropped, duplicated,
                                                        reordered per direction
    {"op": "quit"}   (or end of stdin)

    ip netns exec NS tests/system/impair.py tap0 10001 10000
"""
import fcntl
import json
import os
import random
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65536


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


class Direction:
    """One way through the relay: its impairments, its held frame and its counters."""

    def __init__(self, name, send, rng):
        self.name = name
        self.send = send                # frame -> None
        self.rng = rng
        self.loss = self.dup = self.reorder = 0.0
        self.hold_ns = 20_000_000
        self.held = None                # (frame, release deadline)
        self.stats = dict(frames=0, bytes=0, dropped=0, duplicated=0, reordered=0,
                          send_errors=0)

    def _out(self, frame):
        try:
            self.send(frame)
        except OSError:                 # tap down or no reader: the wire lost it
            self.stats["send_errors"] += 1

    def frame(self, frame):
        self.stats["frames"] += 1
        self.stats["bytes"] += len(frame)
        if self.loss and self.rng.random() < self.loss:
            self.stats["dropped"] += 1
            return
        copies = 1
        if self.dup and self.rng.random() < self.dup:
            self.stats["duplicated"] += 1
            copies = 2
        if self.held is None and self.reorder and self.rng.random() < self.reorder:
            self.stats["reordered"] += 1
            self.held = (frame, copies, time.monotonic_ns() + self.hold_ns)
            return
        for _ in range(copies):
            self._out(frame)
        self.release()

    def release(self):
        if self.held is not None:
            frame, copies, _ = self.held
            self.held = None
            for _ in range(copies):
                self._out(frame)

    def deadline(self):
        return self.held[2] if self.held else None


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: impair.py TAP RELAY_PORT QEMU_PORT")
    tap, relay_port, qemu_port = argv[1], int(argv[2]), int(argv[3])
    tap_fd = open_tap(tap)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    udp.bind(("127.0.0.1", relay_port))
    udp.setblocking(False)
    qemu = ("127.0.0.1", qemu_port)
    rng = random.Random(1)

    def to_tap(frame):
        os.write(tap_fd, frame)

    def to_guest(frame):
        udp.sendto(frame, qemu)

    dirs = {"out": Direction("out", to_tap, rng), "in": Direction("in", to_guest, rng)}
    stdin = sys.stdin.fileno()
    pending = b""

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def command(req):
        op = req.get("op")
        if op == "set":
            names = ("out", "in") if req.get("dir", "both") == "both" else (req["dir"],)
            if "seed" in req:
                rng.seed(req["seed"])
            for n in names:
                d = dirs[n]
                d.release()
                d.loss = float(req.get("loss", 0))
                d.dup = float(req.get("dup", 0))
                d.reorder = float(req.get("reorder", 0))
                d.hold_ns = int(float(req.get("hold_ms", 20)) * 1e6)
            return {"ok": True}
        if op == "stats":
            return {n: dict(d.stats) for n, d in dirs.items()}
        return {"error": f"unknown op {op!r}"}

    reply({"ready": True})
    while True:
        now = time.monotonic_ns()
        deadlines = [d.deadline() for d in dirs.values() if d.deadline()]
        timeout = max(0.0, (min(deadlines) - now) / 1e9) if deadlines else 1.0
        readable, _, _ = select.select([udp, tap_fd, stdin], [], [], timeout)
        for _ in range(256) if udp in readable else ():
            try:
                dirs["out"].frame(udp.recv(MAX_FRAME))
            except BlockingIOError:
                break
        for _ in range(256) if tap_fd in readable else ():
            try:
                dirs["in"].frame(os.read(tap_fd, MAX_FRAME))
            except BlockingIOError:
                break
        if stdin in readable:
            data = os.read(stdin, 65536)
            if not data:
                break
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not line.strip():
                    continue
                req = json.loads(line)
                if req.get("op") == "quit":
                    return
                reply(command(req))
        now = time.monotonic_ns()
        for d in dirs.values():
            if d.held and d.held[2] <= now:
                d.release()


if __name__ == "__main__":
    main(sys.argv)
