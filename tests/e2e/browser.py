"""The Debian ``chromium`` for Playwright: found on the PATH, or installed with apt-get (as root)
the way tests/postgres.py installs PostgreSQL. Playwright's own browser download is never used."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.system_packages import apt_get_install, install_lock

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
    with install_lock():  # another test process may be installing it right now
        if find_chromium() is None:
            apt_get_install("chromium")
    found = find_chromium()
    if found is None:
        raise RuntimeError("apt-get installed chromium but it is still not on the PATH")
    return found
