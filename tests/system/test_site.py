"""Issue 4: files in a www/ folder on the boot volume are served and override the
built-in site; `make run`'s user networking reaches the server on 127.0.0.1."""
import hashlib
import os
import socket
import urllib.request

import pytest

from skiff import Guest, image_with_files

OVERRIDE = b"<!DOCTYPE html><title>mine</title><p>a site dropped onto the stick</p>\n"
NESTED = bytes(range(256)) * 300          # 76,800 bytes, binary


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site():
    port = free_port()
    img = image_with_files({"www/index.html": OVERRIDE, "www/data/blob.bin": NESTED})
    old = os.environ.get("HTTP_PORT")
    os.environ["HTTP_PORT"] = str(port)
    try:
        g = Guest("site-user-net", nic="virtio", net="user", img=img)
    finally:
        if old is None:
            os.environ.pop("HTTP_PORT", None)
        else:
            os.environ["HTTP_PORT"] = old
    g.wait_for(r"http: serving \d+ files \(2 from the boot volume\)", timeout=30)
    g.wait_for(r"dhcp: eth0: lease", timeout=60)
    yield g, f"http://127.0.0.1:{port}"
    g.close()


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.status, dict(r.headers), r.read()


def test_boot_volume_index_overrides_builtin(site):
    g, base = site
    status, headers, body = get(base + "/")
    assert status == 200 and body == OVERRIDE
    assert headers["Content-Type"].startswith("text/html")


def test_nested_boot_volume_file_is_served_intact(site):
    g, base = site
    status, headers, body = get(base + "/data/blob.bin")
    assert status == 200
    assert int(headers["Content-Length"]) == len(NESTED)
    assert hashlib.sha256(body).digest() == hashlib.sha256(NESTED).digest()
    assert headers["Content-Type"] == "application/octet-stream"


def test_builtin_files_still_served(site):
    g, base = site
    status, headers, body = get(base + "/style.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css") and body


def test_date_header_from_rtc(site):
    g, base = site
    _, headers, _ = get(base + "/style.css")
    assert headers.get("Date", "").endswith(" GMT")


def test_wget_mirrors_the_site(site, tmp_path):
    # Another real client: wget must succeed on every file, and store exactly what the
    # server sends (binary data from the boot volume included).
    import subprocess
    g, base = site
    r = subprocess.run(["wget", "-q", "-r", "-l", "1", "-nH", "-P", str(tmp_path), base + "/style.css",
                        base + "/data/blob.bin"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "data" / "blob.bin").read_bytes() == NESTED
    assert (tmp_path / "style.css").read_bytes() == get(base + "/style.css")[2]
