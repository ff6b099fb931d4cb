"""The framebuffer console: OVMF's GOP framebuffer on QEMU's std VGA (still -display none).

The screen is read with QMP `screendump` (a PPM) and decoded back into text: each 8x16
cell is matched against the glyphs of the same PSF font the build used (read by
scripts/gen_font.py's own parser), so the test finds known strings where fbcon drew them,
not just "some pixels changed". A cell that matches no glyph decodes as '\\0' and fails
the comparisons that touch it.
"""
import importlib.util
import os
import re
import secrets
import tempfile
import time

import pytest

from skiff import IMAGE, ROOT, Guest

IMG = os.environ.get("SKIFF_IMAGE", IMAGE)
FONT_PSF = os.environ.get("FONT_PSF", "/usr/share/consolefonts/Lat15-VGA16.psf.gz")
REDRAW_S = 0.3          # fbcon redraws at most every 40 ms; leave it time


def load_font():
    spec = importlib.util.spec_from_file_location("gen_font", os.path.join(ROOT, "scripts", "gen_font.py"))
    gf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gf)
    glyphs, table, w, h = gf.parse_psf2(gf.load(FONT_PSF)) if gf.load(FONT_PSF)[:4] == gf.PSF2_MAGIC \
        else gf.parse_psf1(gf.load(FONT_PSF))
    assert (w, h) == (8, 16)
    by_bits = {}
    for cp in range(0x7e, 0x1f, -1):            # space last: blank cells read as ' '
        g = table.get(cp)
        if g is not None:
            by_bits[bytes(glyphs[g][:16])] = chr(cp)
    return by_bits


def read_ppm(path):
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:                      # magic, width, height, maxval
        while data[pos:pos + 1].isspace():
            pos += 1
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b"P6" and fields[3] == b"255", fields
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1:pos + 1 + w * h * 3]


def decode(path, font, cols, rows):
    """The screen as rows of text; background is black, anything else is ink."""
    w, h, px = read_ppm(path)
    lines = []
    for r in range(rows):
        line = []
        for c in range(cols):
            bits = bytearray(16)
            for y in range(16):
                base = ((r * 16 + y) * w + c * 8) * 3
                row = 0
                for x in range(8):
                    p = base + x * 3
                    if px[p] or px[p + 1] or px[p + 2]:
                        row |= 0x80 >> x
                bits[y] = row
            line.append(font.get(bytes(bits), "\0"))
        lines.append("".join(line).rstrip())
    return lines


def ink(path):
    _, _, px = read_ppm(path)
    return sum(1 for b in px[::3] if b)


@pytest.fixture(scope="module")
def guest():
    g = Guest("fbcon", nic="none", net="none", img=IMG, qmp=True, vga="std")
    try:
        yield g
    finally:
        g.close()


def screendump(g, name):
    path = os.path.join(g.dir, name)
    g.qmp("screendump", filename=path)
    return path


def test_boot_log_on_screen(guest):
    m = guest.wait_for(r"fbcon: (\d+)x(\d+) framebuffer at 0x[0-9a-f]+ \((RGBX|BGRX)\), (\d+)x(\d+) text")
    cols, rows = int(m.group(4)), int(m.group(5))
    assert (cols, rows) == (int(m.group(1)) // 8, int(m.group(2)) // 16)
    time.sleep(REDRAW_S)
    path = screendump(guest, "boot.ppm")
    assert ink(path) > 1000
    screen = decode(path, load_font(), cols, rows)
    text = "\n".join(screen)
    # The log from before fbcon started (replayed from the ring) and after it.
    assert re.search(r"paging: identity map", text), text
    assert re.search(r"fbcon: \d+x\d+ framebuffer", text), text
    assert re.search(r"ready in [0-9.]+ ms", text), text
    assert screen[-1] == "" or "skiff> " in text
    assert "skiff> " in text


def test_shell_output_on_screen_and_scrolls(guest):
    m = guest.wait_for(r"fbcon: \d+x\d+ framebuffer at \S+ \(\w+\), (\d+)x(\d+) text")
    cols, rows = int(m.group(1)), int(m.group(2))
    font = load_font()
    before = decode(screendump(guest, "before.ppm"), font, cols, rows)
    token = "fb" + secrets.token_hex(6)
    out = guest.cmd(token)
    assert token in out
    time.sleep(REDRAW_S)
    after = decode(screendump(guest, "after.ppm"), font, cols, rows)
    assert after != before
    # The echoed command line and the shell's answer, as the serial console shows them.
    serial = [ln for ln in out.splitlines() if ln.strip()]
    text = "\n".join(after)
    # The echo: after the prompt, or on a line of its own when a log line came in between.
    assert any(ln.endswith(token) for ln in after), text
    assert all(ln.rstrip() in text for ln in serial), (serial, text)
    # Enough lines to scroll the whole screen: the token scrolls off, the last line stays.
    for i in range(rows // 4 + 1):
        guest.cmd("irq")
    time.sleep(REDRAW_S)
    scrolled = decode(screendump(guest, "scrolled.ppm"), font, cols, rows)
    assert token not in "\n".join(scrolled)
    assert scrolled[-1].startswith("skiff>") or scrolled[-2].startswith("skiff>"), scrolled[-3:]


def test_exception_report_reaches_the_screen():
    # After a fault the main loop never runs again: only console_flush() can draw.
    g = Guest("fbcon-crash", nic="none", net="none", img=IMG, qmp=True, vga="std")
    try:
        m = g.wait_for(r"fbcon: \d+x\d+ framebuffer at \S+ \(\w+\), (\d+)x(\d+) text")
        cols, rows = int(m.group(1)), int(m.group(2))
        start = g.mark()
        g.send("crash null\r")
        g.wait_for(r"system halted", start=start, timeout=20)
        time.sleep(REDRAW_S)
        text = "\n".join(decode(screendump(g, "crash.ppm"), load_font(), cols, rows))
        assert "*** CPU exception 14" in text, text
        assert "system halted" in text, text
    finally:
        g.close()
