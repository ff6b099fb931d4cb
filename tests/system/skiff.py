"""Boot a Skiff image in QEMU and talk to its serial shell.

Guest starts scripts/qemu.sh (the same script `make run` uses) with the console on a
unix socket, keeps everything the guest prints, and offers wait_for() and cmd().
Every guest is killed on close(); logs land in build/test-logs/ for post-mortems.
"""
import atexit
import codecs
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IMAGE = os.path.join(ROOT, "build", "skiff.img")
LOGDIR = os.path.join(ROOT, "build", "test-logs")
ESP_OFFSET = 1024 * 1024        # scripts/mkimg.sh puts the ESP at 1 MiB


class GuestError(Exception):
    pass


def image_with_files(files, base=IMAGE):
    """Copy of the image with files ({path on ESP: bytes}) replaced or added."""
    tmp = tempfile.mkdtemp(prefix="skiff-img-")
    img = os.path.join(tmp, "skiff.img")
    shutil.copyfile(base, img)
    for path, data in files.items():
        src = os.path.join(tmp, "payload")
        with open(src, "wb") as f:
            f.write(data)
        part = f"{img}@@{ESP_OFFSET}"
        parts = path.split("/")[:-1]
        for i in range(len(parts)):        # parent folders first; existing ones are fine
            subprocess.run(["mmd", "-D", "s", "-i", part, "::" + "/".join(parts[:i + 1])],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["mcopy", "-o", "-i", part, src, "::" + path], check=True)
    return img


_cached_images = {}


def image_with_files_once(key, files, base=IMAGE):
    """image_with_files, made once per test run for key and removed at exit."""
    if key not in _cached_images:
        img = image_with_files(files, base=base)
        atexit.register(shutil.rmtree, os.path.dirname(img), True)
        _cached_images[key] = img
    return _cached_images[key]


class Guest:
    def __init__(self, name, nic="all", net="none", img=IMAGE, netns=None, tap=None,
                 extra=(), hostname="skiff", boot_timeout=90, machine="q35", qmp=False,
                 vga="none", net_fd=None):
        os.makedirs(LOGDIR, exist_ok=True)
        self.name = name
        self.prompt = f"{hostname}> "
        self.dir = tempfile.mkdtemp(prefix="skiff-guest-")
        self.sock_path = os.path.join(self.dir, "serial.sock")
        self.qmp_path = os.path.join(self.dir, "qmp.sock") if qmp else None
        self.qmp_file = None
        self.buf = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.lock = threading.Lock()
        self.log = open(os.path.join(LOGDIR, f"{name}.log"), "w")
        cmd = [os.path.join(ROOT, "scripts", "qemu.sh"), "--nic", nic, "--net", net,
               "--serial", "unix:" + self.sock_path, "--img", img, "--no-reboot",
               "--machine", machine, "--vga", vga]
        if tap:
            cmd += ["--tap", tap]
        if net_fd is not None:          # --net stream: QEMU inherits this socket
            cmd += ["--net-fd", str(net_fd)]
        if qmp:
            extra = [*extra, "-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if extra:
            cmd += ["--", *extra]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=ROOT,
                                     pass_fds=() if net_fd is None else (net_fd,))
        self.sock = None
        try:
            self.sock = self._connect()
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
            self.wait_for(r"ready in [0-9.]+ ms", timeout=boot_timeout)
            if "shell = off" not in name:
                self.wait_for(re.escape(self.prompt), timeout=20)
        except Exception:
            self.close()        # a failed boot must not leave its QEMU running
            raise

    def _connect(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise GuestError(f"QEMU exited early with {self.proc.returncode}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock_path)
                return s
            except OSError:
                time.sleep(0.1)
        raise GuestError("serial socket never appeared")

    def _read(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            # one decoder for the stream: a character may straddle two reads
            text = self.decoder.decode(data).replace("\r", "")
            with self.lock:
                self.buf += text
            self.log.write(text)
            self.log.flush()

    def output(self, start=0):
        with self.lock:
            return self.buf[start:]

    def mark(self):
        with self.lock:
            return len(self.buf)

    def wait_for(self, pattern, timeout=30, start=0):
        """Waits until regex pattern appears in output after start; returns the match."""
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while time.time() < deadline:
            m = rx.search(self.output(start))
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise GuestError(f"{self.name}: no /{pattern}/ within {timeout}s; tail:\n"
                         + self.output(start)[-2000:])

    def send(self, text):
        self.sock.sendall(text.encode())

    def cmd(self, line, timeout=30):
        """Types line at the prompt; returns what the command printed."""
        start = self.mark()
        self.send(line + "\r")
        self.wait_for(re.escape(self.prompt), timeout=timeout, start=start + len(line))
        out = self.output(start)
        # Drop the echoed command line and the trailing prompt.
        body = out.split("\n", 1)[1] if "\n" in out else ""
        return body[: body.rfind(self.prompt)]

    def qmp(self, command, **arguments):
        """Runs a QMP command (Guest(qmp=True)); returns its "return" value."""
        if self.qmp_file is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(self.qmp_path)
            self.qmp_file = s.makefile("rw")
            json.loads(self.qmp_file.readline())            # greeting
            self._qmp_send("qmp_capabilities", {})
        return self._qmp_send(command, arguments)

    def _qmp_send(self, command, arguments):
        self.qmp_file.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.qmp_file.flush()
        while True:
            reply = json.loads(self.qmp_file.readline())
            if "error" in reply:
                raise GuestError(f"QMP {command}: {reply['error']}")
            if "return" in reply:                           # events are skipped
                return reply["return"]

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        try:
            if self.qmp_file:
                self.qmp_file.close()
            if self.sock:
                self.sock.close()
        except OSError:
            pass
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def nstat(g):
    """Skiff's `nstat` as {name: value}; counters it leaves out are 0."""
    out = g.cmd("nstat")
    assert out.startswith("#kernel"), out
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s+\S+$", out, re.M)}
