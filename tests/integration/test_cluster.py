"""The cluster (issue 11, scope 1-3) over a real nats-server and PostgreSQL: two csms nodes on one
database and one NATS. A station on node A gets commands sent through B's API with today's
outcomes (200, 502 CALLERROR, 504 timeout, 404, 409); a station that reconnects to B closes its
old session on A and commands follow it; SSE on B sees A's events once; kill -9 of a `csms serve`
node: its presence expires and B (API only) says offline, and a command in flight on it is
"outcome unknown"; NATS restarted: the nodes reconnect by themselves; a live claim deleted by
another node comes back; one node sends the webhooks, and another takes over when it leaves.
One nats-server and one migrated database serve the module (tests/cluster.py; stations and node
ids differ per test)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from csms.cluster.mirror import station_key
from csms.config import ClusterSettings, EventsSettings
from tests.integration.events import SseReader, webhook_receiver
from tests.integration.harness import (
    BOOT_16,
    PASSWORD,
    RunningCsms,
    call,
    csms_serve,
    free_port,
    running_csms,
    settings_for,
)
from tests.nats import NatsServer

pytestmark = pytest.mark.postgres

LEASE = 2.0  # seconds: short, so a killed node's stations expire quickly


async def _until(check: Callable[[], Any], timeout: float = 15.0) -> None:
    """Wait for an awaitable-free condition (polled every 20 ms)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def _node(
    name: str, nats: NatsServer, url: str, tmp_path: Path, **cluster: Any
) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path / name)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=url),
        events=EventsSettings(keepalive=0.5, meter_interval=0),
        cluster=ClusterSettings(
            url=nats.url, node_id=name, lease=LEASE, request_margin=1.0, **cluster
        ),
    )
    async with running_csms(settings) as running:
        yield running


@asynccontextmanager
async def _two_nodes(
    nats: NatsServer, url: str, tmp_path: Path
) -> AsyncIterator[tuple[RunningCsms, RunningCsms]]:
    test = tmp_path.name[-12:]  # node ids unique per test: an earlier test's leases may linger
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(_node(f"A-{test}", nats, url, tmp_path))
        b = await stack.enter_async_context(_node(f"B-{test}", nats, url, tmp_path))
        yield a, b


def _online(node: RunningCsms, station_id: str) -> bool:
    return node.csms.command_gateway().is_connected(station_id)


async def _boot(ws: ClientConnection) -> None:
    reply = await call(ws, "boot", "BootNotification", BOOT_16)
    assert reply[2]["status"] == "Accepted"


async def _answer(ws: ClientConnection, action: str, answer: list[Any]) -> None:
    """Receive the CSMS's CALL of ``action`` and send ``answer`` (its id filled in)."""
    frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame[0] == 2 and frame[2] == action, frame
    await ws.send(orjson.dumps([answer[0], frame[1], *answer[1:]]).decode())


async def test_a_station_on_a_gets_commands_through_b(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    async with _two_nodes(nats, database, tmp_path) as (a, b):
        await a.add_station("CP1")
        await a.add_station("CP-OFF")
        async with a.connect("CP1") as ws, b.api() as api:
            await _boot(ws)
            await _until(lambda: _online(b, "CP1"))
            listed = (await api.get("/api/v1/stations/CP1")).json()
            assert listed["online"] is True and listed["ocpp_version"] == "1.6"

            sent = asyncio.create_task(
                api.post("/api/v1/stations/CP1/call/Reset", json={"type": "Soft"})
            )
            await _answer(ws, "Reset", [3, {"status": "Accepted"}])
            reply = await sent
            assert reply.status_code == 200 and reply.json() == {"status": "Accepted"}

            sent = asyncio.create_task(
                api.post("/api/v1/stations/CP1/call/Reset", json={"type": "Hard"})
            )
            await _answer(ws, "Reset", [4, "NotSupported", "not here", {}])
            failed = await sent
            assert failed.status_code == 502, failed.text
            assert failed.json()["error_code"] == "NotSupported"

            sent = asyncio.create_task(
                api.post("/api/v1/stations/CP1/call/Reset?timeout=1", json={"type": "Soft"})
            )
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            assert frame[2] == "Reset"  # never answered: A's own timeout, reported through B
            assert (await sent).status_code == 504

            unknown = await api.post("/api/v1/stations/NOPE/call/Reset", json={"type": "Soft"})
            assert unknown.status_code == 404
            offline = await api.post("/api/v1/stations/CP-OFF/call/Reset", json={"type": "Soft"})
            assert offline.status_code == 409
        await _until(lambda: not _online(b, "CP1"))  # the release reached B


async def test_a_station_moving_to_b_closes_its_session_on_a(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    async with _two_nodes(nats, database, tmp_path) as (a, b):
        await a.add_station("CP2")
        async with a.connect("CP2") as old:
            await _boot(old)
            await _until(lambda: _online(b, "CP2"))
            async with b.connect("CP2") as new:
                await _boot(new)
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(old.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
                await _until(lambda: a.csms.registry.get("CP2") is None)
                assert a.csms.cluster is not None and a.csms.cluster.replaced == 1
                # Commands through A's API follow the station to B.
                async with a.api() as api:
                    await _until(lambda: _online(a, "CP2"))
                    sent = asyncio.create_task(
                        api.post("/api/v1/stations/CP2/call/Reset", json={"type": "Soft"})
                    )
                    await _answer(new, "Reset", [3, {"status": "Accepted"}])
                    assert (await sent).json() == {"status": "Accepted"}
                # A's release of its old claim did not take B's away.
                await asyncio.sleep(0.3)
                assert _online(a, "CP2") and _online(b, "CP2")
                # A did not record the station as gone offline (B recorded it online).
                async with a.api() as api:
                    page = await api.get("/api/v1/stations", params={"online": "true", "q": "CP2"})
                    assert page.json()["total"] == 1, page.json()


async def test_a_password_changed_or_station_deleted_on_b_is_refused_on_a_at_once(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    """Issue 11 item 5: the handshake's station read holds nothing stale across nodes."""

    async def status(password: bytes) -> int:
        try:
            async with a.connect("CP-PW", password=password) as ws:
                await _boot(ws)
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    new = b"a-brand-new-password-0123456789"
    async with _two_nodes(nats, database, tmp_path) as (a, b):
        await a.add_station("CP-PW")
        assert await status(PASSWORD) == 101  # A has read the station once
        async with b.api() as api:
            changed = await api.patch("/api/v1/stations/CP-PW", json={"password": new.decode()})
            assert changed.status_code == 200, changed.text
            assert await status(PASSWORD) == 401
            assert await status(new) == 101
            assert (await api.delete("/api/v1/stations/CP-PW")).status_code == 204
            assert await status(new) == 404


async def test_sse_on_b_sees_events_of_a_once_and_webhooks_are_sent_once(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    async with (
        webhook_receiver() as receiver,
        _two_nodes(nats, database, tmp_path) as (a, b),
    ):
        await a.add_station("CP3")
        async with (
            b.api() as api,
            api.stream("GET", "/api/v1/events", params={"station_id": "CP3"}) as response,
        ):
            assert response.status_code == 200
            stream = SseReader(response)
            hook = await api.post(
                "/api/v1/webhooks",
                json={"url": receiver.url, "event_types": ["station."], "station_ids": ["CP3"]},
            )  # created through B, must be known to A's intake
            assert hook.status_code == 201, hook.text
            await asyncio.sleep(0.2)  # the change reaches A over NATS
            async with a.connect("CP3") as ws:
                await _boot(ws)
                status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
                await call(ws, "st", "StatusNotification", status)
                seen = []
                while not seen or seen[-1] != "station.status":
                    seen.append((await stream.next(10)).event)
            with pytest.raises(TimeoutError):  # nothing twice
                while True:
                    message = await stream.next(1.0)
                    assert message.event == "station.disconnected", message
            assert seen.count("station.boot") == 1 and seen.count("station.connected") == 1

        def delivered() -> list[str]:
            return [orjson.loads(r.body)["type"] for r in receiver.received]

        await _until(lambda: "station.disconnected" in delivered())
        await asyncio.sleep(1.5)  # a second sender would have sent its copies by now
        types = delivered()
        for kind in ("station.connected", "station.boot", "station.status"):
            assert types.count(kind) == 1, types


async def test_kill_9_of_a_gateway_node_expires_its_presence(
    nats: NatsServer, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSMS_CLUSTER_LEASE", str(LEASE))
    url = database
    async with _node("B-kill", nats, url, tmp_path, role="api") as b:  # API only
        port = free_port()
        flags = ("--cluster-url", nats.url, "--node-id", "A-kill", "--role", "gateway")
        async with (
            csms_serve(url, port, tmp_path / "a.log", *flags) as proc,
            connect(f"ws://127.0.0.1:{port}/ocpp/CP4", subprotocols=["ocpp1.6"]) as ws,  # type: ignore[list-item]
            b.api() as api,
        ):
            await _boot(ws)
            assert b.csms.listener is None  # holds no station: every command goes over NATS
            await _until(lambda: _online(b, "CP4"))
            sent = asyncio.create_task(
                api.post("/api/v1/stations/CP4/call/Reset?timeout=1", json={"type": "Soft"})
            )
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            assert frame[2] == "Reset"
            proc.kill()  # SIGKILL with the CALL on the wire
            reply = await sent
            assert reply.status_code == 502, reply.text
            assert reply.json()["type"] == "urn:csms:problem:call-outcome-unknown"
            killed_at = time.monotonic()
            await _until(lambda: not _online(b, "CP4"), timeout=3 * LEASE)
            assert time.monotonic() - killed_at < 2 * LEASE
            listed = (await api.get("/api/v1/stations/CP4")).json()
            assert listed["online"] is False
            refused = await api.post("/api/v1/stations/CP4/call/Reset", json={"type": "Soft"})
            assert refused.status_code == 409


async def test_nodes_reconnect_after_a_nats_restart(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    async with _two_nodes(nats, database, tmp_path) as (a, b):
        await a.add_station("CP5")
        async with a.connect("CP5") as ws, b.api() as api:
            await _boot(ws)
            await _until(lambda: _online(b, "CP5"))
            await asyncio.to_thread(nats.restart)
            # The station stayed connected to A; once both nodes are back, B reaches it again.
            await _until(
                lambda: (
                    a.csms.cluster is not None
                    and b.csms.cluster is not None
                    and a.csms.cluster.connected
                    and b.csms.cluster.connected
                ),
                timeout=20,
            )
            await _until(lambda: _online(b, "CP5"))
            # Both nodes report NATS connected; on a loaded machine a node may still be
            # resubscribing (or drop once more while the restarted server recovers JetStream).
            # A command refused as not connected meanwhile never reached the station: send it
            # again until one arrives, within 30 s; the station never reconnected.
            deadline = time.monotonic() + 30
            while True:
                sent = asyncio.create_task(
                    api.post("/api/v1/stations/CP5/call/Reset", json={"type": "Soft"})
                )
                call = asyncio.create_task(ws.recv())
                await asyncio.wait({sent, call}, return_when=asyncio.FIRST_COMPLETED)
                if call.done():
                    frame = orjson.loads(call.result())
                    assert frame[0] == 2 and frame[2] == "Reset", frame
                    await ws.send(orjson.dumps([3, frame[1], {"status": "Accepted"}]).decode())
                    reply = await sent
                    assert reply.status_code == 200, reply.text
                    break
                call.cancel()  # websockets: a cancelled recv() loses no frame
                refused = sent.result()
                assert refused.status_code == 409, refused.text  # station-not-connected
                assert time.monotonic() < deadline, refused.text
                await asyncio.sleep(0.2)


async def test_a_live_claim_deleted_by_another_node_is_claimed_again(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    """A node whose loop stalled past its lease may have its claims deleted as orphans by a
    survivor; while the session lives, its node puts the claim back."""
    import nats as nats_client

    async with _two_nodes(nats, database, tmp_path) as (a, b):
        assert a.csms.cluster is not None and b.csms.cluster is not None
        mirror = b.csms.cluster.mirror
        await a.add_station("CP6")
        async with a.connect("CP6") as ws:
            await _boot(ws)
            await _until(lambda: _online(b, "CP6"))
            claimed = mirror.entry("CP6")
            assert claimed is not None
            client = await nats_client.connect(nats.url)
            try:
                kv = await client.jetstream().key_value("csms_stations")
                await kv.delete(station_key("CP6"))  # revision claimed + 1
            finally:
                await client.close()

            def claimed_again() -> bool:
                entry = mirror.entry("CP6")
                return entry is not None and entry.revision > claimed.revision + 1

            await _until(claimed_again)
            assert _online(b, "CP6") and mirror.entry("CP6").node == a.csms.cluster.node_id  # type: ignore[union-attr]


async def test_one_node_sends_webhooks_and_another_takes_over_when_it_leaves(
    nats: NatsServer, database: str, tmp_path: Path
) -> None:
    test = tmp_path.name[-12:]
    async with AsyncExitStack() as first, AsyncExitStack() as second:
        c = await first.enter_async_context(_node(f"C-{test}", nats, database, tmp_path))
        d = await second.enter_async_context(_node(f"D-{test}", nats, database, tmp_path))
        assert c.csms.cluster is not None and d.csms.cluster is not None
        nodes = [(c.csms.cluster, first), (d.csms.cluster, second)]
        await _until(lambda: any(n.sends_webhooks() for n, _ in nodes))
        await asyncio.sleep(LEASE)  # renewals: the lease stays where it is, never on both
        senders = [n.sends_webhooks() for n, _ in nodes]
        assert senders.count(True) == 1
        (_, stack), (staying, _) = nodes if senders[0] else nodes[::-1]
        await stack.aclose()  # the sender leaves (its lease released)
        await _until(staying.sends_webhooks, timeout=2 * LEASE)


async def test_a_stopping_node_is_seen_gone_at_once_even_with_its_claims_left(
    nats: NatsServer, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stopping node deletes its lease first: its peers stop counting its claims then, so the
    one-by-one claim deletes (one NATS round trip each: 14,000 for a full worker) may be cut
    short without a station looking connected to a node that is gone."""
    test = tmp_path.name[-12:]
    async with _node(f"B-{test}", nats, database, tmp_path) as b:
        async with _node(f"A-{test}", nats, database, tmp_path) as a:
            await a.add_station("CP-STOP")
            async with a.connect("CP-STOP") as ws:
                await _boot(ws)
                await _until(lambda: _online(b, "CP-STOP"))
                node = a.csms.cluster
                assert node is not None
                # Neither the writer's release at unregister nor the claim deletes at close: only
                # the lease tells B.
                monkeypatch.setattr(node, "_unregistered", lambda *args: None)
                monkeypatch.setattr("csms.cluster.node.RELEASE_BUDGET", -1.0)
                node._registry.on_unregister = node._unregistered
                stopped_at = time.monotonic()
        await _until(lambda: not _online(b, "CP-STOP"), timeout=LEASE)
        assert time.monotonic() - stopped_at < LEASE / 2
