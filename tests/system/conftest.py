import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from skiff import IMAGE, ROOT  # noqa: E402


def pytest_sessionstart(session):
    # The image is built by `make test` before pytest runs; build it if run alone.
    if not os.path.exists(IMAGE):
        subprocess.run(["make", "-C", ROOT, "image"], check=True)
