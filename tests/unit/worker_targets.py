"""Stand-in workers for tests/unit/test_workers.py, in a module of their own: a spawned worker
imports its target's module, and this one imports nothing heavy."""

from __future__ import annotations

import os
import signal
import sys
import time
from multiprocessing.connection import Connection

from csms.config import Settings


def cannot_start(settings: Settings, name: str, parent: int, report: Connection) -> None:
    """A worker whose start fails (a port in use, ...)."""
    report.send(("error", f"CSMS_PORT: {name} cannot listen"))
    sys.exit(1)


def dies_once_then_stops_everything(
    settings: Settings, name: str, parent: int, report: Connection
) -> None:
    """Worker 2's first start dies after it is ready; its second start sends the supervisor
    SIGTERM; everyone else waits for SIGTERM."""
    report.send(("ready", ""))
    node = settings.cluster.node_id or ""
    if name == "w2" and not node.endswith("-w2-2"):
        time.sleep(0.2)
        sys.exit(3)
    if name == "w2":
        os.kill(parent, signal.SIGTERM)
    time.sleep(60)


def ignores_sigterm(settings: Settings, name: str, parent: int, report: Connection) -> None:
    """A worker slow to stop (thousands of sessions to close): SIGTERM does not end it; worker 1
    sends the supervisor SIGTERM once ready."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    report.send(("ready", ""))
    if name == "w1":
        os.kill(parent, signal.SIGTERM)
    time.sleep(60)
