#!/usr/bin/python3
"""A rate-limited wire between QEMU and a tap that pushes back on the guest.

QEMU's `-netdev stream` (scripts/qemu.sh --net stream --net-fd N) writes each frame the
guest sends as a 4-byte big-endian length and the frame on a connected stream socket.
This relay holds the other end of that socket (a socketpair its parent made; fd SOCK)
and opens the tap (TUNSETIFF, IFF_TAP|IFF_NO_PI; run it in the tap's namespace):

    guest --stream--> relay --(token bucket, RATE bit/s)--> tap
    guest <--stream-- relay <------------------------------ tap     (not limited)

The relay reads the next frame from the socket only when its token bucket allows it, so
the bytes wait where they came from: the socket fills (its send buffer, set small by the
parent, is all the room there is), QEMU's write would block, QEMU stops taking frames
from the virtio TX ring, the ring fills, and the guest's byte queue limits hold the rest
in its qdisc. That is where the bottleneck queue must be for the guest's fq_codel to
manage it. A `tc tbf` on the tap instead would give no backpressure: QEMU's write into a
tap always succeeds and the excess would queue or drop in the host's tbf.

What is still queued outside the guest is measured: the socket's unread bytes (FIONREAD)
sampled at every frame read, reported as max and mean.

Control: one JSON object per line on stdin, one JSON reply per line on stdout; the first
line printed is {"ready": true}.
    {"op": "stats"}  -> {"out": {frames, bytes, sock_queue_max, sock_queue_mean},
                         "in": {frames, bytes}}
    {"op": "rate", "bps": N}                            -> {"ok": true}
    {"op": "quit"}   (or end of stdin)

    ip netns exec NS tests/system/shaper.py tap0 SOCK_FD RATE_BPS
"""
import fcntl
import json
import os
import select
import socket
import struct
import sys
import termios
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65536
BUCKET = 2 * 1514               # bytes: at most two full frames back to back


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


class FrameReader:
    """Reads one length-prefixed frame at a time, never more bytes than that frame, so
    what the relay has not yet taken stays in the socket (and pushes back)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.need = 4
        self.header = True

    def read(self):
        """Returns a whole frame, None if it is not complete yet; EOFError at the end."""
        data = self.sock.recv(self.need - len(self.buf))
        if not data:
            raise EOFError
        self.buf += data
        if len(self.buf) < self.need:
            return None
        if self.header:
            n = struct.unpack("!I", self.buf)[0]
            if n == 0 or n > MAX_FRAME:
                raise EOFError          # not QEMU's framing: stop rather than guess
            self.header, self.need, self.buf = False, n, b""
            return None
        frame = self.buf
        self.header, self.need, self.buf = True, 4, b""
        return frame


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: shaper.py TAP SOCK_FD RATE_BPS")
    tap_fd = open_tap(argv[1])
    sock = socket.socket(fileno=int(argv[2]))
    rate = float(argv[3]) / 8           # bytes per second
    reader = FrameReader(sock)
    out = dict(frames=0, bytes=0, sock_queue_max=0, sock_queue_sum=0)
    inn = dict(frames=0, bytes=0)
    tokens, last = float(BUCKET), time.monotonic()
    stdin = sys.stdin.fileno()
    pending = b""

    def reply(obj):
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    def command(req):
        nonlocal rate
        if req.get("op") == "stats":
            o = dict(out)
            o["sock_queue_mean"] = out["sock_queue_sum"] // max(1, out["frames"])
            del o["sock_queue_sum"]
            return {"out": o, "in": dict(inn)}
        if req.get("op") == "rate":
            rate = float(req["bps"]) / 8
            return {"ok": True}
        return {"error": f"unknown op {req.get('op')!r}"}

    reply({"ready": True})
    while True:
        now = time.monotonic()
        tokens = min(BUCKET, tokens + (now - last) * rate)
        last = now
        rset = [tap_fd, stdin]
        timeout = 1.0
        if tokens >= 0:
            rset.append(sock)
        else:
            timeout = -tokens / rate
        readable, _, _ = select.select(rset, [], [], timeout)
        if sock in readable:
            try:
                frame = reader.read()
            except (EOFError, ConnectionError):
                return
            if frame is not None:
                queued = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD,
                                                        b"\0\0\0\0"))[0]
                out["frames"] += 1
                out["bytes"] += len(frame)
                out["sock_queue_max"] = max(out["sock_queue_max"], queued)
                out["sock_queue_sum"] += queued
                tokens -= len(frame)
                try:
                    os.write(tap_fd, frame)
                except OSError:
                    pass                # tap down: the wire lost it
        for _ in range(64) if tap_fd in readable else ():
            try:
                frame = os.read(tap_fd, MAX_FRAME)
            except BlockingIOError:
                break
            inn["frames"] += 1
            inn["bytes"] += len(frame)
            sock.sendall(struct.pack("!I", len(frame)) + frame)
        if stdin in readable:
            data = os.read(stdin, 65536)
            if not data:
                return
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if not line.strip():
                    continue
                req = json.loads(line)
                if req.get("op") == "quit":
                    return
                reply(command(req))


if __name__ == "__main__":
    main(sys.argv)
