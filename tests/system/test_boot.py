"""Issue 2 system tests: boot, serial shell, PCI listing, configuration, exceptions.

One guest (all three NIC models attached) serves most checks; the configuration and
exception tests need images of their own, so they boot separately.
"""
import re

import pytest

from skiff import Guest, image_with_files


@pytest.fixture(scope="module")
def guest():
    g = Guest("boot-all-nics", nic="all", net="none")
    yield g
    g.close()


def test_banner_on_serial(guest):
    assert "Skiff unikernel network stack" in guest.output()


def test_ready_line_reports_boot_time(guest):
    m = re.search(r"skiff: ready in (\d+)\.(\d) ms", guest.output())
    assert m, "no ready line"
    assert 0 < int(m.group(1)) < 60000


def test_clock_calibrated_against_pit(guest):
    m = re.search(r"TSC (\d+)\.\d+ MHz, calibrated against the PIT", guest.output())
    assert m and int(m.group(1)) > 100


def test_boot_lists_pci_devices(guest):
    out = guest.output()
    assert re.search(r"00:[0-9a-f]{2}\.0 8086:100e class 0200 \[Intel 82540EM", out)


@pytest.mark.parametrize("ids,model", [
    ("8086:100e", "e1000"), ("8086:10d3", "e1000e"), ("1af4:1041", "virtio-net-pci")])
def test_lspci_lists_each_nic(guest, ids, model):
    out = guest.cmd("lspci")
    line = next((l for l in out.splitlines() if ids in l), None)
    assert line, f"{model} ({ids}) missing from lspci:\n{out}"
    assert "class 0200" in line


def test_lspci_shows_capabilities(guest):
    out = guest.cmd("lspci")
    lines = out.splitlines()
    i = next(i for i, l in enumerate(lines) if "8086:10d3" in l)
    assert "MSI-X(" in lines[i + 1] and "PCIe" in lines[i + 1], lines[i + 1]
    j = next(i for i, l in enumerate(lines) if "1af4:1041" in l)
    assert "MSI-X(" in lines[j + 1] and "Vendor" in lines[j + 1], lines[j + 1]


def test_lspci_verbose_shows_bars(guest):
    out = guest.cmd("lspci -v")
    assert re.search(r"BAR0 mem32 0x[0-9a-f]+ size 0x20000", out), out   # e1000 128 KiB
    assert "mem64" in out                                              # virtio modern BAR


def test_unknown_command_is_an_error(guest):
    out = guest.cmd("frobnicate now")
    assert "error: unknown command 'frobnicate'" in out


def test_bad_arguments_are_an_error(guest):
    assert "usage: mem" in guest.cmd("mem extra")
    assert "usage: lspci [-v]" in guest.cmd("lspci -x")


def test_help_lists_commands(guest):
    out = guest.cmd("help")
    for name in ("lspci", "mem", "uptime", "log", "conf", "reboot", "poweroff"):
        assert re.search(rf"^\s+{name}\b", out, re.M), name


def test_mem_counters(guest):
    out = guest.cmd("mem")
    total = int(re.search(r"pages:\s+total (\d+) KiB", out).group(1))
    free = int(re.search(r"pages:.* free (\d+) KiB", out).group(1))
    assert 300 * 1024 < total <= 512 * 1024      # the guest has 512 MiB
    assert 0 < free < total
    assert re.search(r"heap:\s+arena 8192 KiB", out)
    assert re.search(r"paging: \d+ table pages", out)


def test_uptime_advances(guest):
    def ms(text):
        h, m, s, frac = re.search(r"up (\d+):(\d+):(\d+)\.(\d+)", text).groups()
        return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac)
    a = ms(guest.cmd("uptime"))
    b = ms(guest.cmd("uptime"))
    assert b > a


def test_timer_and_uart_interrupts_are_delivered(guest):
    out = guest.cmd("irq")
    counts = {name: int(n) for n, name in re.findall(r"0x[0-9a-f]+\s+(\d+)\s+(\S+)", out)}
    assert counts.get("apic-timer", 0) > 10
    assert counts.get("uart0", 0) > 0        # our typing arrived by interrupt


def test_log_keeps_boot_messages(guest):
    out = guest.cmd("log")
    assert "pci: " in out and "paging: identity map" in out


def test_conf_shows_effective_values(guest):
    out = guest.cmd("conf")
    assert "hostname = skiff" in out and "log_level = info" in out


def test_line_editing(guest):
    # Backspace removes the stray x; Ctrl-U kills a whole line; Up recalls history.
    start = guest.mark()
    guest.send("uptimex\x7f\r")
    guest.wait_for(r"up \d+:\d+", start=start)
    start = guest.mark()
    guest.send("garbage\x15conf\r")
    guest.wait_for(r"hostname = skiff", start=start)
    start = guest.mark()
    guest.send("\x1b[A\r")
    guest.wait_for(r"hostname = skiff", start=start)
    assert "unknown command" not in guest.output(start)


def test_overlong_line_is_refused_not_overflowed(guest):
    out = guest.cmd("x" * 400)
    assert "error: unknown command" in out
    assert "uptime" not in out
    assert "up " in guest.cmd("uptime")     # still alive


def test_poweroff_ends_qemu(guest):
    guest.send("poweroff\r")
    assert guest.wait_exit(timeout=30) == 0


BAD_CONF = b"""# a deliberately broken configuration
log_level = debug
bogus_key = 1
this line has no equals sign
hostname = not_valid!
mtu = 99999
shell = on
"""


def test_malformed_conf_reports_lines_and_still_boots():
    g = Guest("bad-conf", nic="none", img=image_with_files({"skiff.conf": BAD_CONF}))
    try:
        out = g.output()
        assert "skiff.conf:3: unknown key 'bogus_key' (ignored)" in out
        assert "skiff.conf:4: malformed line" in out
        assert "skiff.conf:5: bad value 'not_valid!' for hostname" in out
        assert "skiff.conf:6: bad value '99999' for mtu" in out
        conf = g.cmd("conf")
        assert "log_level = debug" in conf       # the good lines still apply
        assert "hostname = skiff" in conf and "mtu = 1500" in conf
    finally:
        g.close()


@pytest.mark.parametrize("kind,expect", [
    ("null", r"CPU exception 14: #PF page fault.*\nRIP .*\nCR2 0000000000000008 \(page not present, read"),
    ("wp", r"CPU exception 14: #PF page fault.*\nRIP .*\nCR2 [0-9a-f]+ \(protection violation, write"),
    ("stack", r"CPU exception 14: #PF page fault.*\nRIP .*\nCR2 [0-9a-f]+ \(page not present, write"),
])
def test_exception_report(kind, expect):
    g = Guest(f"crash-{kind}", nic="none")
    try:
        start = g.mark()
        g.send(f"crash {kind}\r")
        g.wait_for(r"system halted", start=start, timeout=30)
        out = g.output(start)
        assert re.search(expect, out), out
        assert re.search(r"RAX [0-9a-f]{16} RBX", out)
        assert re.search(r"backtrace.*\n  [0-9a-f]{16} \(skiff\+0x[0-9a-f]+\)", out), out
    finally:
        g.close()


def test_legacy_pci_config_path_on_i440fx():
    # The pc machine has no MCFG table, so enumeration must fall back to 0xCF8/0xCFC.
    g = Guest("legacy-pci", nic="e1000", net="none", machine="pc")
    try:
        assert "via legacy 0xCF8/0xCFC" in g.output()
        out = g.cmd("lspci -v")
        assert "8086:100e class 0200" in out and "8086:7000" in out
        assert re.search(r"BAR0 mem32 0x[0-9a-f]+ size 0x20000", out), out
    finally:
        g.close()
