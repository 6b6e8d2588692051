"""Install a Debian package for the tests, one apt-get at a time across test processes.

pytest-xdist runs the suite in several processes: two of them may find PostgreSQL or chromium
missing at the same moment, and dpkg refuses a second apt-get while one runs. An exclusive lock on
a file in the temporary directory makes the second wait; it then finds the package installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["apt_get_install", "install_lock"]


@contextlib.contextmanager
def install_lock() -> Iterator[None]:
    """Hold the tests' apt-get lock (blocking until the process holding it is done)."""
    with (Path(tempfile.gettempdir()) / "csms-tests-apt-get.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def apt_get_install(package: str) -> None:
    """``apt-get update`` then install ``package`` without its recommends (call under
    :func:`install_lock`, after checking once more that it is still missing)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", package],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
