"""A real, throwaway ``nats-server`` with JetStream for the cluster tests (issue 11).

:func:`running_nats` finds the ``nats-server`` binary (``PATH``, ``/usr/sbin``), installs Debian's
``nats-server`` package when it is missing and we are root (CI is a fresh Debian machine), and
runs it on a free loopback port with JetStream storing in a temporary directory. The server can
be restarted on the same port and store (:meth:`NatsServer.restart`), as an operator's restart
would. ``tests/conftest.py`` registers this module as a pytest plugin.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.system_packages import apt_get_install, install_lock

__all__ = ["NatsServer", "nats_server", "running_nats"]

_TIMEOUT_S = 15.0


def _find() -> str | None:
    return shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/bin")


def _install() -> str:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "nats-server not found; install the 'nats-server' package to run the cluster tests"
        )
    with install_lock():  # another test process may be installing it (or anything) right now
        if _find() is None:
            apt_get_install("nats-server")
    found = _find()
    if found is None:
        raise RuntimeError("apt-get installed nats-server but the binary is still not found")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NatsServer:
    """One nats-server process with JetStream; :attr:`url` stays the same across restarts."""

    def __init__(self, binary: str, root: Path) -> None:
        self._binary = binary
        self._root = root
        self.port = _free_port()
        # nats-server's monitoring endpoint (``/varz``: in_msgs, out_msgs): the cluster
        # benchmark reads the messages per second of its steady window there.
        self.monitor_port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = (self._root / "server.log").open("ab")
        self._proc = subprocess.Popen(
            [
                self._binary, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                "-sd", str(self._root / "store"), "--server_name", "csms-test",
                "-m", str(self.monitor_port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + _TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"nats-server exited:\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.02)
        raise RuntimeError(f"nats-server did not listen:\n{self.log_tail()}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        """Stop and start again on the same port and JetStream store."""
        self.stop()
        self.start()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self._root / "server.log").read_text(errors="replace")[-4000:]
        return ""


@contextlib.contextmanager
def running_nats() -> Iterator[NatsServer]:
    """Start a throwaway nats-server with JetStream, yield it, stop it and delete its files."""
    binary = _find() or _install()
    root = Path(tempfile.mkdtemp(prefix="csms-nats-"))
    server = NatsServer(binary, root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def nats_server() -> Iterator[NatsServer]:
    """A fresh nats-server per test (its buckets start empty)."""
    with running_nats() as server:
        yield server
