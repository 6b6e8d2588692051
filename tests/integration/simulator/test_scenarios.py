"""Each scenario of a simulated station against a real ``csms serve`` on loopback.

The assertions read what csms stored (boot notifications, status history, transaction events,
meter values, connection events) or what its API answered.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from csms.rpc.versions import OcppVersion
from csms.simulator import Scenario, Timing, run_scenario
from tests.integration.harness import RunningCsms, running_csms, settings_for
from tests.integration.simulator.helpers import (
    VERSIONS,
    make_agent,
    rows,
    running,
    tables,
    until,
    wait_for_rows,
)

FAST = Timing(charge=0.4, idle=0.1, offline=0.35, outage=0.3)


def _ids(values: list[OcppVersion]) -> list[str]:
    return [v.value for v in values]


@pytest.mark.parametrize("version", VERSIONS, ids=_ids(VERSIONS))
async def test_boot_reports_status_and_heartbeats(
    server: RunningCsms, version: OcppVersion
) -> None:
    sid = f"SIM-BOOT-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        await run_scenario(agent, Scenario.BOOT, FAST, repeat=False)
        boots = await rows(server, tables.boot_notifications, sid)
        assert [(b.vendor_name, b.status) for b in boots] == [("csms-sim", "Accepted")]
        if version.is_2x:
            assert boots[0].reason == "PowerUp"
        states = await wait_for_rows(server, tables.connector_status, sid, lambda r: len(r) == 2)
        assert {(s.evse_id, s.status) for s in states} == {(1, "Available"), (2, "Available")}
        await until(lambda: agent.stats.sent["Heartbeat"] >= 1)
    assert agent.stats.errors["Heartbeat:Timeout"] == 0


@pytest.mark.parametrize("version", VERSIONS, ids=_ids(VERSIONS))
async def test_charge_with_rfid_tag(server: RunningCsms, version: OcppVersion) -> None:
    sid = f"SIM-CHG-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        await run_scenario(agent, Scenario.CHARGE, FAST, repeat=False)
        await agent.drained()
        history = await rows(server, tables.status_history, sid)
        evse1 = [h.status for h in history if h.evse_id == 1]
        if version.is_2x:
            events = await wait_for_rows(
                server,
                tables.transaction_events,
                sid,
                lambda r: any(e.event_type == "Ended" for e in r),
            )
            assert [e.seq_no for e in events] == list(range(len(events)))
            assert events[0].event_type == "Started"
            assert events[-1].stopped_reason == "Local"
            assert any(e.event_type == "Updated" for e in events)
            assert "Occupied" in evse1
            assert evse1[-1] == "Available"
        else:
            assert evse1[:3] == ["Available", "Preparing", "Charging"]
            assert evse1[-2:] == ["Finishing", "Available"]
        energy = [
            m.value
            for m in await rows(server, tables.meter_values, sid)
            if m.measurand == "Energy.Active.Import.Register"
        ]
        assert len(energy) >= 2
        assert energy == sorted(energy)
        assert energy[-1] > energy[0]  # 11 kW for ~0.4 s is about 1 Wh
    # 1.6 Authorize/Start/StopTransaction may be answered with NotSupported by this csms: the
    # station logs it and continues (transactionId -1), and drops nothing but those messages.
    assert all(action in ("StartTransaction", "StopTransaction") for action, _ in agent.dropped)


@pytest.mark.parametrize("version", VERSIONS, ids=_ids(VERSIONS))
async def test_offline_charging_is_replayed_after_reconnect(
    server: RunningCsms, version: OcppVersion
) -> None:
    sid = f"SIM-OFF-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        await run_scenario(agent, Scenario.OFFLINE, FAST, repeat=False)
        assert not agent.queue
        connections = await rows(server, tables.connection_events, sid)
        assert [c.online for c in connections].count(True) == 2
        if version.is_2x:
            events = await wait_for_rows(
                server,
                tables.transaction_events,
                sid,
                lambda r: any(e.event_type == "Ended" for e in r),
            )
            assert [e.seq_no for e in events] == list(range(len(events)))
            offline = [e for e in events if e.offline]
            assert offline, "events made while offline are flagged offline"
            assert offline[-1].event_type == "Ended"
            assert all(not e.offline for e in events[: events.index(offline[0])])
        else:
            samples = await rows(server, tables.meter_values, sid)
            assert {"Sample.Periodic"} <= {s.context for s in samples}
        # Samples taken while offline arrive after the reconnect, in order.
        times = [m.timestamp for m in await rows(server, tables.meter_values, sid)]
        assert times == sorted(times)


@pytest.mark.parametrize("version", VERSIONS, ids=_ids(VERSIONS))
async def test_power_loss_reboots_and_ends_the_transaction(
    server: RunningCsms, version: OcppVersion
) -> None:
    sid = f"SIM-PWR-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        await run_scenario(agent, Scenario.POWER_LOSS, FAST, repeat=False)
        boots = await rows(server, tables.boot_notifications, sid)
        assert len(boots) == 2
        if version.is_2x:
            assert [b.reason for b in boots] == ["PowerUp", "PowerUp"]
            events = await wait_for_rows(
                server,
                tables.transaction_events,
                sid,
                lambda r: any(e.event_type == "Ended" for e in r),
            )
            assert events[-1].stopped_reason == "PowerLoss"
            assert events[-1].offline
        else:
            assert agent.stats.sent["StopTransaction"] == 1


@pytest.mark.parametrize("version", VERSIONS, ids=_ids(VERSIONS))
async def test_fault_ends_the_transaction_and_is_reported(
    server: RunningCsms, version: OcppVersion
) -> None:
    sid = f"SIM-FLT-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        await run_scenario(agent, Scenario.FAULT, FAST, repeat=False)
        await agent.drained()
        history = await wait_for_rows(
            server,
            tables.status_history,
            sid,
            lambda r: r and r[-1].status == "Available" and any(h.status == "Faulted" for h in r),
        )
        faulted = [h for h in history if h.status == "Faulted"]
        assert faulted[0].evse_id == 1
        if version.is_2x:
            events = await rows(server, tables.transaction_events, sid)
            assert events[-1].stopped_reason == "GroundFault"
        else:
            assert faulted[0].error_code == "GroundFailure"


async def test_slow_responder_times_out_at_the_csms(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, call_timeout=0.3)) as server:
        await server.add_station("SIM-SLOW")
        await server.add_station("SIM-QUICK")
        slow = make_agent(server.ocpp_url, "SIM-SLOW", OcppVersion.V201, response_delay=0.8)
        quick = make_agent(server.ocpp_url, "SIM-QUICK", OcppVersion.V201)
        async with running(slow), running(quick), server.api() as api:
            late = await api.post("/api/v1/stations/SIM-SLOW/call/ClearCache", json={})
            prompt = await api.post(  # a generous timeout: loaded test machines are slow
                "/api/v1/stations/SIM-QUICK/call/ClearCache", json={}, params={"timeout": 10}
            )
        assert late.status_code == 504
        assert prompt.status_code == 200
        assert prompt.json() == {"status": "Accepted"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201], ids=["1.6", "2.0.1"])
async def test_reconnect_with_back_off(tmp_path: Path, version: OcppVersion) -> None:
    port = _free_port()
    url = f"ws://127.0.0.1:{port}/ocpp/"
    agent = make_agent(url, "SIM-RECON", version)
    task = asyncio.create_task(agent.run())
    try:
        await until(lambda: len(agent.backoff_log) >= 3)  # nobody listens yet: back off
        waits = agent.backoff_log[:3]
        if version.is_2x:  # RetryBackOffWaitMinimum 0.05 doubled, + up to 0.05 random
            for n, wait in enumerate(waits):
                assert 0.05 * 2**n <= wait <= 0.05 * 2**n + 0.05
        else:
            for n, wait in enumerate(waits):
                assert 0.025 * 2**n <= wait <= 0.075 * 2**n
        async with running_csms(settings_for(tmp_path, port=port)) as server:
            await server.add_station("SIM-RECON")
            async with asyncio.timeout(10):
                await agent.accepted.wait()
            await run_scenario(agent, Scenario.RECONNECT, FAST, repeat=False)
            events = await wait_for_rows(
                server,
                tables.connection_events,
                "SIM-RECON",
                lambda r: [e.online for e in r].count(True) == 2,
            )
            assert events[-1].online
            # A reconnect without power loss does not boot again (2.0.1 Part 4 §5.3).
            assert len(await rows(server, tables.boot_notifications, "SIM-RECON")) == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
