"""The body of Skiff's /bytes/N resource, computed the same way in Python.

The generator (net/http_server.h, http_bytes_fill) is splitmix64 in counter form:
    seed = N ^ 0x536b6966662f6279
    z_j  = seed + (j + 1) * 0x9e3779b97f4a7c15           (mod 2**64)
    z_j  = (z_j ^ (z_j >> 30)) * 0xbf58476d1ce4e5b9
    z_j  = (z_j ^ (z_j >> 27)) * 0x94d049bb133111eb
    z_j  =  z_j ^ (z_j >> 31)
and body byte k is byte k % 8 of z_{k // 8}, little-endian.

    python3 tests/system/bytesgen.py 10485760      # prints the sha256 of /bytes/10485760
"""
import hashlib
import struct
import sys

SEED = 0x536B6966662F6279
GAMMA = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB
MASK = (1 << 64) - 1
MAX_N = 64 << 20


def _blocks(n, first, count):
    """z_first .. z_{first+count-1} for /bytes/n."""
    seed = n ^ SEED
    out = []
    z0 = (seed + (first + 1) * GAMMA) & MASK
    for _ in range(count):
        z = z0
        z = ((z ^ (z >> 30)) * M1) & MASK
        z = ((z ^ (z >> 27)) * M2) & MASK
        out.append(z ^ (z >> 31))
        z0 = (z0 + GAMMA) & MASK
    return out


def body(n, offset=0, length=None):
    """Bytes [offset, offset+length) of /bytes/n (default: to the end)."""
    if length is None:
        length = n - offset
    first = offset // 8
    last = (offset + length + 7) // 8
    raw = struct.pack(f"<{last - first}Q", *_blocks(n, first, last - first))
    skip = offset - first * 8
    return raw[skip:skip + length]


def chunks(n, size=1 << 20):
    """The body of /bytes/n in pieces, without holding all of it."""
    for off in range(0, n, size):
        yield body(n, off, min(size, n - off))


def sha256(n):
    h = hashlib.sha256()
    for c in chunks(n):
        h.update(c)
    return h.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) > MAX_N:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    print(sha256(int(sys.argv[1])))
