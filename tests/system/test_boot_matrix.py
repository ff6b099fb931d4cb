"""What users type: each NIC model and form, each machine, with and without -cpu max.

One boot per MATRIX entry, every check against that one guest, in a namespace of its
own (netns.Netns: br0 10.99.0.1/24, tap0, dnsmasq):
  1. the NIC is driven: `nic` shows the expected driver, link up, interrupt mode;
  2. DHCP lease from dnsmasq; 3. ping from the namespace; 4. `GET /` with curl;
  5. the entropy line names the right sources (RDRAND with -cpu max; without it,
     virtio-rng when the entry adds one, else the warning that says how to add one);
  6. link flap over QMP (`set_link n0 off`/`on`): the guest logs both changes, `nic`
     counts them, and HTTP answers again within LINK_RECOVERY_S of the link returning.
The devices are given exactly as a user would (`-device virtio-net-pci,netdev=n0`),
not through scripts/qemu.sh's --nic shorthands, except romfile= (OVMF would otherwise
spend seconds on each NIC's iPXE ROM: boot firmware, not Skiff). Adding a model (igb)
is one MATRIX line. The run prints each entry's wall time; pytest --durations shows
them too. SKIFF_IMAGE=path boots another image than build/skiff.img.
"""
import os
import re
import time
from dataclasses import dataclass

import pytest

from netns import Netns
from skiff import IMAGE, Guest

IMG = os.environ.get("SKIFF_IMAGE", IMAGE)
LINK_RECOVERY_S = 3.0
NIC_LINE = re.compile(r"^eth0: (\S+) ([0-9a-f:]{17}) link (up|down) irq (\S+)", re.M)


@dataclass
class Entry:
    id: str
    machine: str            # q35 | pc
    cpu: str                # max | qemu64 (QEMU's default CPU: no RDRAND)
    device: str             # the -device argument, netdev n0
    driver: str             # what `nic` must show
    irq: str
    extra: tuple = ()       # more QEMU arguments, after the NIC
    before: tuple = ()      # QEMU arguments the NIC refers to (a root port)
    interface: str = ""     # virtio: "modern"/"legacy" in the probe line
    header: int = 12        # virtio: virtio_net_hdr bytes


V = "virtio-net-pci,netdev=n0,romfile="
MATRIX = [
    Entry("virtio-q35", "q35", "max", V, "virtio-net", "MSI-X", interface="modern"),
    Entry("virtio-pc-qemu64-rng", "pc", "qemu64", V, "virtio-net", "MSI-X",
          extra=("-device", "virtio-rng-pci"), interface="modern"),
    # Behind a PCIe root port (as libvirt places it) QEMU makes it modern-only, 1af4:1041.
    Entry("virtio-rootport-q35", "q35", "max", V + ",bus=rp1", "virtio-net", "MSI-X",
          before=("-device", "pcie-root-port,id=rp1,chassis=1"), interface="modern"),
    Entry("virtio-modern-q35-qemu64", "q35", "qemu64", V + ",disable-legacy=on", "virtio-net",
          "MSI-X", interface="modern"),
    Entry("virtio-legacy-q35", "q35", "max", V + ",disable-modern=on", "virtio-net", "MSI-X",
          interface="legacy"),
    # Without MRG_RXBUF the legacy header is 10 bytes, not 12 (virtio 1.2 §5.1.6).
    Entry("virtio-legacy-nomrg-pc-qemu64", "pc", "qemu64", V + ",disable-modern=on,mrg_rxbuf=off",
          "virtio-net", "MSI-X", interface="legacy", header=10),
    # No MSI-X and no INTx routing yet: poll mode, said so on the console.
    Entry("virtio-legacy-novectors-pc", "pc", "max", V + ",disable-modern=on,vectors=0",
          "virtio-net", "poll", interface="legacy"),
    # QEMU's 82540EM has no MSI: legacy INTx through the IOAPIC (q35: ICH9 PIRQE-H,
    # GSI 20-23; pc: the PIIX3's ISA IRQ from the interrupt line register).
    Entry("e1000-q35", "q35", "max", "e1000,netdev=n0,romfile=", "e1000", "INTx"),
    Entry("e1000-pc-qemu64", "pc", "qemu64", "e1000,netdev=n0,romfile=", "e1000", "INTx"),
    Entry("e1000e-q35-qemu64", "q35", "qemu64", "e1000e,netdev=n0,romfile=", "e1000e", "MSI-X"),
    Entry("e1000e-pc", "pc", "max", "e1000e,netdev=n0,romfile=", "e1000e", "MSI-X"),
    Entry("igb-pc-qemu64", "pc", "qemu64", "igb,netdev=n0,romfile=", "igb", "MSI-X"),
]


def boot(e, ns):
    extra = ["-netdev", f"tap,id=n0,ifname={ns.tap},script=no,downscript=no",
             *e.before, "-device", e.device, *e.extra]
    if e.cpu != "max":          # scripts/qemu.sh passes -cpu max; the last -cpu wins
        extra += ["-cpu", e.cpu]
    return Guest(f"matrix-{e.id}", nic="none", net="none", img=IMG, netns=ns.name,
                 machine=e.machine, extra=extra, qmp=True)


def nic(g):
    out = g.cmd("nic")
    m = NIC_LINE.search(out)
    assert m, out
    changes = re.search(r"(\d+) changes", out)
    return {"driver": m.group(1), "link": m.group(3), "irq": m.group(4),
            "changes": int(changes.group(1)) if changes else None, "text": out}


def http_ok(ns, addr, timeout=2):
    r = ns.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time",
                str(timeout), f"http://{addr}/"], timeout=timeout + 5)
    return r.returncode == 0 and r.stdout.strip() == "200"


def check_driven(e, g):
    # igb (and e1000 on some machines) restart auto-negotiation after their reset: QEMU
    # brings the link up about 500 ms (virtual) later, logged by drivers/nic.c.
    g.wait_for(r"eth0: link up", timeout=15)
    st = nic(g)
    assert (st["driver"], st["link"], st["irq"]) == (e.driver, "up", e.irq), st["text"]
    if e.interface:
        assert re.search(rf"eth0: virtio-net at .*{e.interface} interface, {e.header}-byte header",
                         g.output())
    if e.irq == "poll" and e.driver == "virtio-net":
        assert "INTx is not routed" in g.output()
    assert "no driver" not in g.output()


def check_entropy(e, g):
    out = g.output()
    if e.cpu == "max":
        assert re.search(r"random: RDSEED\+RDRAND", out), out[-1500:]
    elif "virtio-rng-pci" in e.extra:
        assert re.search(r"virtio-rng: .* \d+ bytes into the entropy pool", out)
        assert "random: virtio-rng" in out and "the CPU has no RDRAND" in out
    else:
        assert re.search(r"random: TSC jitter only \(weak\).*-device virtio-rng-pci.*-cpu max",
                         out), out[-1500:]


def config_irqs(g):
    m = re.search(r"irq_config: (\d+)", g.cmd("nic stats eth0"))
    return int(m.group(1)) if m else None


def check_link_flap(e, g, ns, addr):
    """virtio with MSI-X must learn of both changes from config interrupts
    (VIRTIO_NET_F_STATUS, virtio 1.2 §5.1.4); others may learn from the 1 Hz poll."""
    irqs = config_irqs(g)
    before = nic(g)["changes"]
    mark = g.mark()
    g.qmp("set_link", name="n0", up=False)
    g.wait_for(rf"eth0: link down \({before + 1} changes\)", timeout=5, start=mark)
    assert nic(g)["link"] == "down"
    mark = g.mark()
    g.qmp("set_link", name="n0", up=True)
    t0 = time.time()
    ok = False
    while time.time() - t0 < LINK_RECOVERY_S:
        if http_ok(ns, addr, timeout=1):
            ok = True
            break
        time.sleep(0.1)
    recovered = time.time() - t0
    assert ok, f"no HTTP within {LINK_RECOVERY_S} s of the link returning"
    g.wait_for(rf"eth0: link up, .* \({before + 2} changes\)", timeout=5, start=mark)
    after = nic(g)
    assert after["link"] == "up" and after["changes"] == before + 2, after["text"]
    if e.driver == "virtio-net" and e.irq == "MSI-X":
        assert config_irqs(g) >= irqs + 2
    return recovered


@pytest.mark.parametrize("e", MATRIX, ids=[e.id for e in MATRIX])
def test_boot_matrix(e):
    t0 = time.time()
    with Netns(f"skmx{os.getpid() % 10000}") as ns:
        g = boot(e, ns)
        try:
            boot_s = time.time() - t0
            check_driven(e, g)
            check_entropy(e, g)
            addr = g.wait_for(r"dhcp: eth0: lease (\d+\.\d+\.\d+\.\d+)/", timeout=30).group(1)
            r = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", addr], timeout=20)
            assert r.returncode == 0 and " 0% packet loss" in r.stdout, r.stdout
            assert http_ok(ns, addr, timeout=10)
            recovered = check_link_flap(e, g, ns, addr)
        finally:
            g.close()
    print(f"\n{e.id}: boot {boot_s:.1f} s, HTTP back {recovered:.2f} s after link up, "
          f"total {time.time() - t0:.1f} s")
