"""csms's simulated 2.0.1 and 2.1 stations play the station side of ISO 15118 smart charging
(K15), certificate signing (A02/A03), Plug & Charge certificate requests (M02/M06) and monitoring
levels (N03/N05) against a running csms, end to end."""

from __future__ import annotations

import asyncio

import pytest

from csms.blocks.displaymessage.commands import ClearDisplayMessage, SetDisplayMessage
from csms.blocks.outbound import send
from csms.blocks.remotecontrol.commands import TriggerMessage
from csms.blocks.security.commands import (
    delete_certificate,
    get_installed_certificate_ids,
    install_certificate,
)
from csms.blocks.smartcharging.ev_schedule import PROFILE_ID_BASE
from csms.domain.commands import MessageTrigger
from csms.domain.displaymessages import ClearMessageStatus, DisplayMessage, DisplayMessageStatus
from csms.rpc.versions import OcppVersion
from csms.simulator import Scenario, Timing, run_scenario
from tests.firmware_signing import self_signed
from tests.integration.harness import RunningCsms
from tests.integration.simulator.helpers import SIM_TAGS, make_agent, running, until

V2 = [OcppVersion.V201, OcppVersion.V21]
FAST = Timing(charge=0.3, idle=0.05, offline=0.2, outage=0.2)


async def _stored(server: RunningCsms, sid: str, action: str) -> list[dict]:
    assert server.csms.store is not None
    found = await server.csms.store.notifications.list(sid, action=action)
    return [n.payload for n in found]


@pytest.mark.parametrize("version", V2)
async def test_iso15118_ev_gets_a_schedule_and_reports_its_own(
    server: RunningCsms, version: OcppVersion
) -> None:
    sid = f"SIM-15118-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version, charge_time=30.0)
    async with running(agent):
        status, install = await agent.request_ev_certificates()
        assert status is not None and status.ok, status
        assert install is not None and install.ok, install
        evse = agent.station.state.evses[1]
        tx = await agent.start_session(evse, SIM_TAGS[0], iso15118=True)
        assert tx is not None
        await until(lambda: PROFILE_ID_BASE + 1 in evse.profiles)
        profile = evse.profiles[PROFILE_ID_BASE + 1]
        assert profile["transactionId"] == tx.transaction_id
        for _ in range(100):
            if await _stored(server, sid, "NotifyEVChargingSchedule"):
                break
            await asyncio.sleep(0.05)
        [reported] = await _stored(server, sid, "NotifyEVChargingSchedule")
        assert (
            reported["chargingSchedule"]["chargingSchedulePeriod"]
            == (profile["chargingSchedule"][0]["chargingSchedulePeriod"])
        )
        [needs] = await _stored(server, sid, "NotifyEVChargingNeeds")
        assert needs["evseId"] == 1
    assert not [e for e in agent.stats.errors if "EVCharging" in e], agent.stats.errors


@pytest.mark.parametrize("version", V2)
async def test_triggered_signing_installs_the_signed_certificate(
    server: RunningCsms, version: OcppVersion
) -> None:
    sid = f"SIM-SIGN-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        trigger = TriggerMessage(MessageTrigger.SIGN_CHARGING_STATION_CERTIFICATE)
        result = await send(server.csms.registry, sid, trigger)
        assert result.status.value == "Accepted"
        await until(
            lambda: any(
                c.certificate_type == "ChargingStationCertificate"
                for c in agent.station.state.certificates
            )
        )
    assert not [e for e in agent.stats.errors if e.startswith("SignCertificate")]


@pytest.mark.parametrize("version", V2)
async def test_monitoring_level_and_base_through_the_api(
    server: RunningCsms, version: OcppVersion
) -> None:
    sid = f"SIM-MON-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent), server.api() as api:
        level = await api.post(
            f"/api/v1/stations/{sid}/call/SetMonitoringLevel", json={"severity": 3}
        )
        assert level.status_code == 200, level.text
        assert level.json()["status"] == "Accepted"
        assert agent.station.state.monitoring_level == 3
        base = await api.post(
            f"/api/v1/stations/{sid}/call/SetMonitoringBase",
            json={"monitoringBase": "FactoryDefault"},
        )
        assert base.json()["status"] == "Accepted"
        assert agent.station.state.monitoring_base == "FactoryDefault"


@pytest.mark.parametrize("version", [OcppVersion.V16, *V2])
async def test_iso15118_scenario(server: RunningCsms, version: OcppVersion) -> None:
    """`csms simulate --scenario iso15118`: a 2.x station asks about the EV's certificates and
    its needs get a TxProfile; a 1.6 station just charges."""
    sid = f"SIM-SC15118-{version.value}"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        await run_scenario(agent, Scenario.ISO15118, FAST, repeat=False)
        await agent.drained()
    sent = agent.stats.sent
    assert sent["Authorize"] == 1
    expected = 1 if version.is_2x else 0
    assert (sent["Get15118EVCertificate"], sent["NotifyEVChargingNeeds"]) == (expected, expected)


@pytest.mark.parametrize("version", V2)
async def test_certificates_and_display_messages_kept_in_the_station_state(
    server: RunningCsms, version: OcppVersion
) -> None:
    """M05/M03/M04 and O01/O05 with csms's typed commands: what the station keeps follows."""
    store = server.csms.store
    assert store is not None
    sid = f"SIM-CERT-{version.value}"
    await server.add_station(sid)
    gw = server.csms.registry
    agent = make_agent(server.ocpp_url, sid, version)
    async with running(agent):
        pem = self_signed("V2G root")[1]
        assert await install_certificate(gw, sid, "V2GRootCertificate", pem) == "Accepted"
        listed = await get_installed_certificate_ids(
            gw, store.security, sid, ["V2GRootCertificate"]
        )
        [installed] = listed.certificates
        assert await delete_certificate(gw, store.security, sid, installed.hash_data) == "Accepted"
        assert agent.station.state.certificates == []
        shown = await send(gw, sid, SetDisplayMessage(DisplayMessage(6, "Hello")))
        assert shown.status is DisplayMessageStatus.ACCEPTED
        assert 6 in agent.station.state.display_messages
        cleared = await send(gw, sid, ClearDisplayMessage(6))
        assert cleared.status is ClearMessageStatus.ACCEPTED
        assert agent.station.state.display_messages == {}
