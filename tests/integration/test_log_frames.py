"""``--log-frames`` shows every frame on its own, without ``--log-level DEBUG``, and no SQL
(issue 7 finding 10)."""

from __future__ import annotations

from pathlib import Path

from websockets.asyncio.client import connect

from tests.integration.harness import BOOT_16, call, csms_serve, free_port


async def test_log_frames_alone_shows_frames_and_no_sql(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "csms.log"
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    async with (
        csms_serve(url, port, log, "--log-frames"),
        connect(
            f"ws://127.0.0.1:{port}/ocpp/CS-FRAMES",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        ) as ws,
    ):
        reply = await call(ws, "boot-1", "BootNotification", BOOT_16)
        assert reply[2]["status"] == "Accepted"
    lines = log.read_text().splitlines()
    frames = [line for line in lines if " csms.frames: " in line]
    assert any('<- [2,"boot-1","BootNotification"' in line for line in frames), lines
    assert any('-> [3,"boot-1"' in line for line in frames), lines
    assert all("[CS-FRAMES]" in line for line in frames), frames
    assert not [line for line in lines if "sqlalchemy" in line or "aiosqlite" in line], lines
