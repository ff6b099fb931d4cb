#!/usr/bin/python3
"""A scapy peer that lives inside a test namespace and takes orders on stdin.

Starting scapy costs about a second, so the tests start this once per namespace
(`ip netns exec NS /usr/bin/python3 scapy_peer.py IFACE`) and talk JSON lines:

    {"op": "send", "frames": [HEX, ...]}              -> {"sent": N}
    {"op": "srp1", "frame": HEX, "timeout": S}        -> {"reply": HEX or null}
    {"op": "quit"}

Frames are whole Ethernet frames, built by the test (with scapy or by hand); the peer
only puts them on IFACE as they are, so malformed ones stay malformed. srp1 returns the
first frame that scapy's answers() matches to the one sent (ICMP errors included), on a
socket opened for that exchange: a long-lived one would have to wade through everything
the interface carried since (a ping flood, say) before reaching the answer.
"""
import json
import socket
import sys

from scapy.all import Ether, conf

conf.verb = 0


def main():
    iface = sys.argv[1]
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)     # protocol 0: send only
    tx.bind((iface, 0))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        op = req.get("op")
        if op == "quit":
            break
        if op == "send":
            try:
                for frame in req["frames"]:
                    tx.send(bytes.fromhex(frame))
                resp = {"sent": len(req["frames"])}
            except OSError as e:        # e.g. EINVAL: shorter than the Ethernet header
                resp = {"error": str(e)}
        elif op == "srp1":
            sock = conf.L2socket(iface=iface)
            try:
                ans = sock.sr1(Ether(bytes.fromhex(req["frame"])), timeout=req.get("timeout", 2),
                               verbose=0)
            finally:
                sock.close()
            resp = {"reply": bytes(ans).hex() if ans is not None else None}
        else:
            resp = {"error": f"unknown op {op!r}"}
        print(json.dumps(resp), flush=True)
    tx.close()


if __name__ == "__main__":
    main()
