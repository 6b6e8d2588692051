"""The Debian ``chromium`` for Playwright: found on the PATH, or installed with apt-get (as root)
the way tests/postgres.py installs PostgreSQL. Playwright's own browser download is never used."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser")


def find_chromium() -> Path | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found is not None:
            return Path(found)
    return None


def chromium_path() -> Path:
    """The chromium executable, installing the Debian package when it is missing."""
    found = find_chromium()
    if found is not None:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "chromium not found; install the Debian 'chromium' package to run the dashboard's "
            "end-to-end tests"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    found = find_chromium()
    if found is None:
        raise RuntimeError("apt-get installed chromium but it is still not on the PATH")
    return found
