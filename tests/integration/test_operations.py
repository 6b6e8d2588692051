"""Operations over real sockets: /metrics (Prometheus, behind the API token) after a station's
traffic, and /readyz answering 503 when the database is gone while /healthz stays 200."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

import orjson
import pytest

from tests.integration.harness import BOOT_16, RunningCsms, call, running_csms, settings_for
from tests.postgres import PostgresServer


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of the sample ``name`` whose labels include ``labels``."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    raise AssertionError(f"no sample {name} {labels}")


async def test_metrics_need_the_token_and_count_messages_commands_and_queues(
    server: RunningCsms,
) -> None:
    async with server.api(authenticated=False) as anonymous:
        refused = await anonymous.get("/metrics")
        assert refused.status_code == 401
        assert "csms_" not in refused.text
        wrong = await anonymous.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
    await server.add_station("CP16")
    async with server.connect("CP16", subprotocols=["ocpp1.6"]) as ws:
        assert (await call(ws, "b1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        assert (await call(ws, "h1", "Heartbeat", {}))[0] == 3
        assert (await call(ws, "x1", "NoSuchAction", {}))[0] == 4

        async def station() -> None:
            frame = await ws.recv()
            await ws.send(f'[3,"{orjson.loads(frame)[1]}",{{"status":"Accepted"}}]')

        answering = asyncio.create_task(station())
        async with server.api() as api:
            reset = await api.post("/api/v1/stations/CP16/call/Reset", json={"type": "Soft"})
            assert reset.status_code == 200, reset.text
            await answering
            response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _sample(text, "csms_station_connections", ocpp_version="1.6") == 1
    labels = {"ocpp_version": "1.6", "direction": "in"}
    assert (
        _sample(text, "csms_ocpp_messages_total", action="Heartbeat", outcome="result", **labels)
        == 1
    )
    assert (
        _sample(text, "csms_ocpp_messages_total", action="NoSuchAction", outcome="error", **labels)
        == 1
    )
    assert (
        _sample(
            text,
            "csms_ocpp_messages_total",
            ocpp_version="1.6",
            action="Reset",
            direction="out",
            outcome="result",
        )
        == 1
    )
    assert _sample(text, "csms_commands_total", action="Reset", outcome="Accepted") == 1
    assert _sample(text, "csms_handler_seconds_count", action="BootNotification") == 1
    assert _sample(text, "csms_handler_seconds_bucket", action="BootNotification", le="+Inf") == 1
    assert _sample(text, "csms_group_commit_seconds_count") >= 1
    assert _sample(text, "csms_committer_queue_depth") >= 0
    assert _sample(text, "csms_db_pool_connections", state="size") >= 1
    assert _sample(text, "csms_message_log_dropped_total") == 0
    assert _sample(text, "csms_message_log_queue_depth") >= 0


async def test_metrics_without_message_log(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, message_log=False)) as server:
        assert server.csms.message_log is None
        async with server.api() as api:
            text = (await api.get("/metrics")).text
        assert "csms_message_log_queue_depth" not in text
        assert "csms_station_connections" in text


@pytest.mark.postgres
async def test_readyz_is_503_when_the_database_is_gone(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    name = await postgres_server.create_database()
    settings = settings_for(tmp_path, readiness_cache=0.0, readiness_timeout=2.0)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=postgres_server.url(name)),
    )
    async with running_csms(settings) as server, server.api(authenticated=False) as api:
        ready = await api.get("/readyz")
        assert (ready.status_code, ready.json()["database"]) == (200, "ok")
        await postgres_server.drop_database(name)  # closes every connection, then drops it
        gone = await api.get("/readyz")
        assert gone.status_code == 503
        assert gone.json()["status"] == "database-unavailable"
        assert (await api.get("/healthz")).status_code == 200
