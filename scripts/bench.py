#!/usr/bin/python3
"""`make bench`: performance numbers, printed, never asserted.

Boot: kernel-reported time from efi_main entry to "ready", and the wall-clock time
from starting QEMU to the shell prompt (OVMF included), over a few boots.
"""
import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "system"))
from skiff import Guest  # noqa: E402

BOOTS = int(os.environ.get("BENCH_BOOTS", "3"))


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


if __name__ == "__main__":
    bench_boot()
