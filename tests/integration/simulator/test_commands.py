"""Operator commands through csms's API reach a simulated station and have their effect."""

from __future__ import annotations

from csms.rpc.versions import OcppVersion
from csms.storage.tables_files import file_request_status
from tests.integration.harness import RunningCsms
from tests.integration.simulator.helpers import make_agent, rows, running, tables, wait_for_rows


async def test_2x_remote_start_trigger_variables_and_firmware_update(server: RunningCsms) -> None:
    sid = "SIM-CMD-2"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, OcppVersion.V201, charge_time=0.3)
    async with running(agent), server.api() as api:
        base = f"/api/v1/stations/{sid}/call"
        start = await api.post(
            f"{base}/RequestStartTransaction",
            json={"idToken": {"idToken": "CARD-1", "type": "ISO14443"}, "remoteStartId": 77},
        )
        assert start.json() == {"status": "Accepted"}
        events = await wait_for_rows(
            server,
            tables.transaction_events,
            sid,
            lambda r: any(e.event_type == "Ended" for e in r),
        )
        assert events[0].trigger_reason == "RemoteStart"
        assert events[0].id_token == "CARD-1"
        link = (await api.get(f"/api/v1/stations/{sid}/remote-starts/77")).json()
        assert [t["transaction_id"] for t in link["transactions"]] == [events[0].transaction_id]
        variables = await api.post(
            f"{base}/GetVariables",
            json={
                "getVariableData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            },
        )
        assert variables.json()["getVariableResult"][0]["attributeValue"] == "0.5"
        before = len(await rows(server, tables.status_history, sid))
        trigger = await api.post(
            f"{base}/TriggerMessage",
            json={"requestedMessage": "StatusNotification", "evse": {"id": 2}},
        )
        assert trigger.json() == {"status": "Accepted"}
        await wait_for_rows(server, tables.status_history, sid, lambda r: len(r) > before)
        update = await api.post(
            f"{base}/UpdateFirmware",
            json={
                "requestId": 1,
                "firmware": {
                    "location": "https://example.com/fw.bin",
                    "retrieveDateTime": "2030-01-01T00:00:00Z",
                },
            },
        )
        assert update.json() == {"status": "Accepted"}
        boots = await wait_for_rows(
            server, tables.boot_notifications, sid, lambda r: len(r) == 2, timeout=10
        )
        assert boots[-1].reason == "FirmwareUpdate"
        assert boots[-1].firmware_version == "1.0.1"
        # Installing, InstallRebooting, reboot, then Installed (2.0.1 L01, TC_L_01_CSMS).
        await wait_for_rows(
            server,
            file_request_status,
            sid,
            lambda r: any(s.status == "Installed" for s in r),
            timeout=10,
        )
    assert agent.stats.sent["FirmwareStatusNotification"] == 5


async def test_16_remote_start_configuration_and_reset(server: RunningCsms) -> None:
    sid = "SIM-CMD-16"
    await server.add_station(sid)
    agent = make_agent(server.ocpp_url, sid, OcppVersion.V16, charge_time=5.0)
    async with running(agent), server.api() as api:
        base = f"/api/v1/stations/{sid}/call"
        start = await api.post(f"{base}/RemoteStartTransaction", json={"idTag": "CARD-2"})
        assert start.json() == {"status": "Accepted"}
        await wait_for_rows(
            server, tables.status_history, sid, lambda r: any(h.status == "Charging" for h in r)
        )
        config = await api.post(f"{base}/GetConfiguration", json={"key": ["NumberOfConnectors"]})
        assert config.json()["configurationKey"] == [
            {"key": "NumberOfConnectors", "readonly": True, "value": "2"}
        ]
        refused = await api.post(
            f"{base}/ChangeConfiguration", json={"key": "NumberOfConnectors", "value": "4"}
        )
        assert refused.json() == {"status": "Rejected"}
        reset = await api.post(f"{base}/Reset", json={"type": "Soft"})
        assert reset.json() == {"status": "Accepted"}
        await wait_for_rows(
            server, tables.boot_notifications, sid, lambda r: len(r) == 2, timeout=10
        )
        history = await rows(server, tables.status_history, sid)
        assert "Finishing" in [h.status for h in history if h.evse_id == 1]
    assert agent.stats.sent["StopTransaction"] == 1
