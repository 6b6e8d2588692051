"""An idle session's websockets queues are the small list-backed ones (server/wsidle.py,
issue 11: memory per connected station), and the session still reads and answers a burst of
CALLs larger than websockets' ``max_queue``."""

from __future__ import annotations

import asyncio
import collections
import sys
from pathlib import Path

import orjson

from csms.server.wsidle import SmallDeque
from tests.integration.harness import BOOT_16, call, running_csms, settings_for


async def test_an_idle_session_keeps_small_queues_and_answers_a_burst(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path)) as server:
        await server.add_station("CP-IDLE")
        async with server.connect("CP-IDLE") as ws:
            assert (await call(ws, "b", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
            conn = server.csms.registry.get("CP-IDLE")
            assert conn is not None
            queues = (conn.ws.recv_messages.frames.queue, conn.ws.drain_waiters)
            assert all(type(q) is SmallDeque for q in queues), [type(q) for q in queues]
            empty_deque = sys.getsizeof(collections.deque())
            assert sum(sys.getsizeof(q) for q in queues) < empty_deque / 4
            # Nor the handshake's subprotocol callback (a closure and a bound method).
            assert "select_subprotocol" not in vars(conn.ws.protocol)
            for i in range(12):  # three times websockets' max_queue (4), without waiting
                await ws.send(orjson.dumps([2, f"h{i}", "Heartbeat", {}]).decode())
            answers = [orjson.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(12)]
            # Every CALL answered, each once: a result, or the CALLERROR for "too many concurrent
            # CALLs" (a station should wait for each answer; this one does not).
            assert sorted(a[1] for a in answers) == sorted(f"h{i}" for i in range(12))
            assert any(a[0] == 3 and "currentTime" in a[2] for a in answers)
