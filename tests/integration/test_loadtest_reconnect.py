"""``csms loadtest`` stations against a real csms, in process: they wait a 503's Retry-After before
trying again, and resend the transaction CALLs a lost connection left unanswered (1.6 §4.7), which
csms stores once (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from csms.blocks.authorization.commands import add_token
from csms.loadtest import engine as engine_module
from csms.loadtest.config import LoadConfig
from csms.loadtest.engine import Engine, Snapshot
from csms.loadtest.wsclient import OP_TEXT, WsClient
from csms.storage.tables import meter_values
from tests.integration.charging import csms_on, store_of
from tests.integration.harness import PASSWORD, RunningCsms, basic_auth, running_csms
from tests.integration.harness import settings_for as harness_settings
from tests.integration.rawws import silent_client
from tests.unit.storage.db import fetch


def _config(server: RunningCsms, **options: Any) -> LoadConfig:
    return LoadConfig(
        url=server.ocpp_url.rstrip("/"),
        id_pattern="CP-{n}",
        password=PASSWORD.decode(),
        rate=1000.0,
        duration=60.0,
        retry_random_range=0.0,
        **options,
    )


async def _run_until(engine: Engine, done: Callable[[], bool], within: float = 20.0) -> Snapshot:
    """Run the engine until ``done`` holds (checked as the run goes), then stop it."""
    run = asyncio.create_task(engine.run(interval=0.05))
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, engine.stats.to_dict()
        assert not run.done(), run
        await asyncio.sleep(0.02)
    engine.finish_early()
    return await run


async def test_a_station_refused_503_waits_the_retry_after_before_its_next_attempt(
    tmp_path: Path,
) -> None:
    # One handshake slot, held for the 3 s duplicate probe of CP-1: CP-2's upgrade gets 503.
    settings = harness_settings(
        tmp_path, max_handshakes=1, max_loop_lag=0, shed_retry_after=1, duplicate_probe_timeout=3.0
    )
    async with running_csms(settings) as server:
        for station in ("CP-1", "CP-2"):
            await server.add_station(station)
        port = server.csms.ocpp_port
        auth = basic_auth("CP-1", PASSWORD)["Authorization"]
        dead = await silent_client(
            "127.0.0.1", port, "/ocpp/CP-1", subprotocol="ocpp1.6", authorization=auth
        )
        probing = asyncio.create_task(
            silent_client(
                "127.0.0.1", port, "/ocpp/CP-1", subprotocol="ocpp1.6", authorization=auth
            )
        )
        try:
            listener = server.csms.listener
            assert listener is not None and listener._acceptor is not None
            # csms would now leave CP-2's connection in the listen backlog while saturated; a
            # 503 goes to a connection accepted just before the slot was taken. Make every
            # connection such a one, so each attempt of CP-2 meets the 503.
            listener._acceptor._pause_reason = lambda: None  # type: ignore[method-assign]
            deadline = time.monotonic() + 5
            while listener._acceptor is None or listener._acceptor.limits.working < 1:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            # Without Retry-After the back-off would try again after 0.1 s, 0.2 s, 0.4 s ...
            engine = Engine(_config(server, retry_wait_min=0.1), [2])
            attempts: list[float] = []
            asked: list[float] = []
            open_connection, retry_after_delay = engine.open_connection, engine.retry_after_delay

            def record_attempt(station: Any) -> None:
                attempts.append(time.monotonic())
                open_connection(station)

            def record_wait(retry_after: float) -> float:
                asked.append(retry_after)
                return retry_after_delay(retry_after)

            engine.open_connection = record_attempt  # type: ignore[method-assign]
            engine.retry_after_delay = record_wait  # type: ignore[method-assign]
            snap = await _run_until(engine, lambda: engine.stats.accepted_now == 1)
        finally:
            probing.cancel()
            for result in (dead, *await asyncio.gather(probing, return_exceptions=True)):
                if isinstance(result, tuple):
                    result[1].transport.abort()
    stats = snap["stats"]
    refused = stats["connect"]["errors"].get("http_503", 0)
    assert refused >= 1 and stats["retry_after_waits"] == refused == len(asked)
    assert all(1 <= wait <= 2 for wait in asked)  # shed_retry_after 1: 1..2 s
    # Every attempt after a 503 came at least Retry-After later (the last one was accepted).
    assert len(attempts) == refused + 1
    for gap, wait in zip((b - a for a, b in itertools.pairwise(attempts)), asked, strict=True):
        assert gap >= wait - 0.01
    assert stats["retry_after_wait_s"] >= sum(asked) - 1e-6


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> Any:
    async with csms_on(database_url, tmp_path) as running:
        for n in (1, 2):
            await running.add_station(f"CP-{n}")
            await add_token(store_of(running).tokens, f"LT{n}", now=datetime.now(UTC))
        yield running


async def test_an_unanswered_meter_values_is_resent_after_reconnecting_and_stored_once(
    server: RunningCsms, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CP-1's first MeterValues never reaches csms; csms's answer to CP-2's first one never
    reaches CP-2. Both stations reconnect, boot and send the same MeterValues again."""
    lost: dict[str, bytes] = {}  # station id -> the MeterValues CALL the connection lost
    awaiting_reply: set[str] = set()

    class LossyClient(WsClient):
        __slots__ = ()

        def send(self, data: bytes, opcode: int = OP_TEXT) -> None:
            station = self._listener.id  # type: ignore[attr-defined]
            if b'"MeterValues"' in data and station not in lost:
                lost[station] = data
                if station == "CP-1":  # the request is lost on the way
                    self.abort()
                    return
                awaiting_reply.add(station)
            super().send(data, opcode)

        def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
            station = self._listener.id  # type: ignore[attr-defined]
            if station in awaiting_reply and payload.startswith(b"[3,"):  # the answer is lost
                awaiting_reply.discard(station)
                self.abort()
                return
            super()._on_frame(fin, opcode, payload)

    monkeypatch.setattr(engine_module, "WsClient", LossyClient)
    engine = Engine(
        _config(server, charging=1.0, meter_interval=0.2, session_length=0.0, retry_wait_min=0.1),
        [1, 2],
    )
    meter = engine.stats.action("MeterValues")
    snap = await _run_until(engine, lambda: meter.resent == 2 and meter.answered >= 4)
    row = snap["stats"]["actions"]["MeterValues"]
    assert row["unanswered_at_close"] == 2 and row["resent"] == 2 and row["lost"] == 0
    assert snap["stats"]["boot_status"] == {"Accepted": 4}
    for station, frame in lost.items():
        payload = orjson.loads(frame)
        tx = str(payload[3]["transactionId"])
        rows = await fetch(store_of(server).engine, meter_values, transaction_id=tx)
        values = [
            r["raw_value"]
            for r in rows
            if r["measurand"] == "Energy.Active.Import.Register"
            and r["context"] == "Sample.Periodic"
        ]
        lost_value = payload[3]["meterValue"][0]["sampledValue"][0]["value"]
        assert values.count(lost_value) == 1, (station, values)
        assert len(values) == len(set(values))
