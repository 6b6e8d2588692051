"""The OCPP listener queues enough pending connections for a reconnect storm.

asyncio's default listen backlog (100) overflowed when 2,000 stations reconnected at once: the
kernel dropped their SYNs and the stations' TCP stacks retried after 1, 3, 7, 15 s, so a storm the
server could absorb in seconds took half a minute (docs/performance.md, "Reconnect storm").
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from csms.config import load_settings
from tests.integration.harness import running_csms, settings_for

SOMAXCONN = int(Path("/proc/sys/net/core/somaxconn").read_text())


def _listen_backlog(port: int) -> int:
    """Send-Q of a listening socket is its backlog (ss(8))."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[2])


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss(8)")
async def test_listener_uses_the_configured_backlog(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, listen_backlog=1000)) as running:
        assert _listen_backlog(running.csms.ocpp_port) == min(1000, SOMAXCONN)


def test_backlog_default_and_environment() -> None:
    assert load_settings({}).server.listen_backlog == 4096
    assert load_settings({"CSMS_LISTEN_BACKLOG": "2048"}).server.listen_backlog == 2048
