"""The operator API end to end (issue 9's first "Done when" line), on SQLite and PostgreSQL: an
operator account starts a charge on a 2.0.1 station (the `ocpp` package's ChargePoint) with the
version-neutral ``start`` intent; the station charges; ``GET /api/v1/transactions?station=``
shows the session with its energy; the SSE stream delivered started/updated/ended; a webhook
receiver got them signed; and the audit log names the operator who started it."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from csms.config import EventsSettings
from csms.domain.webhooks import verify
from tests.integration.events import SseReader, webhook_receiver
from tests.integration.harness import running_csms, settings_for

STATION = "E2E-1"
OPERATOR_PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class Station(ChargePoint):  # type: ignore[misc]
    """Accepts a remote start and remembers its remoteStartId."""

    remote_start_ids: list[int]

    @on("RequestStartTransaction")  # type: ignore[misc]
    def on_start(self, id_token: dict[str, Any], remote_start_id: int, **_: Any) -> Any:
        self.remote_start_ids.append(remote_start_id)
        return call_result.RequestStartTransaction(status="Accepted")


def _at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _event(seq: int, kind: str, trigger: str, wh: float, **kw: Any) -> call.TransactionEvent:
    sample = {"value": wh, "measurand": "Energy.Active.Import.Register"}
    return call.TransactionEvent(
        event_type=kind,
        timestamp=_at(seq * 60),
        trigger_reason=trigger,
        seq_no=seq,
        transaction_info={"transaction_id": "E2E-TX", **kw.pop("info", {})},
        evse={"id": 1, "connector_id": 1},
        meter_value=[{"timestamp": _at(seq * 60), "sampled_value": [sample]}],
        **kw,
    )


async def test_an_operator_starts_a_201_charge_seen_everywhere(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=database_url),
        events=EventsSettings(keepalive=0.5, meter_interval=0),
    )
    async with (
        webhook_receiver() as receiver,
        running_csms(settings) as server,
        server.api() as admin,
    ):
        await server.add_station(STATION)
        # The admin (bootstrap token) makes an operator account and a token for it.
        user = {"name": "olivia", "role": "operator", "password": OPERATOR_PASSWORD}
        assert (await admin.post("/api/v1/users", json=user)).status_code == 201
        made = await admin.post(
            "/api/v1/api-tokens", json={"name": "desk", "account": "olivia", "role": "operator"}
        )
        assert made.status_code == 201, made.text
        operator = {"Authorization": f"Bearer {made.json()['token']}"}
        hook = await admin.post(
            "/api/v1/webhooks",
            json={"url": receiver.url, "event_types": ["transaction."], "station_ids": [STATION]},
        )
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]

        stream_params = {"station": STATION, "type": "transaction."}
        async with admin.stream("GET", "/api/v1/events", params=stream_params) as response:
            assert response.status_code == 200
            sse = SseReader(response)
            async with server.connect(STATION, subprotocols=["ocpp2.0.1"]) as ws:
                station = Station(STATION, ws)
                station.remote_start_ids = []
                task = asyncio.create_task(station.start())
                try:
                    boot = call.BootNotification(
                        charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                    )
                    assert (await station.call(boot)).status == "Accepted"
                    started = await admin.post(
                        f"/api/v1/stations/{STATION}/commands/start",
                        json={"id_token": "DRIVER-1", "evse_id": 1},
                        headers=operator,
                    )
                    assert started.status_code == 200, started.text
                    assert started.json()["status"] == "Accepted"
                    remote_start_id = station.remote_start_ids[0]
                    token = {"id_token": "DRIVER-1", "type": "Central"}
                    await station.call(
                        _event(0, "Started", "RemoteStart", 1000.0, id_token=token,
                               info={"remote_start_id": remote_start_id})
                    )  # fmt: skip
                    await station.call(_event(1, "Updated", "MeterValuePeriodic", 4000.0))
                    await station.call(
                        _event(2, "Ended", "StopAuthorized", 8500.0,
                               info={"stopped_reason": "Local"})
                    )  # fmt: skip
                finally:
                    task.cancel()
            streamed = await sse.take(3)
        assert [m.event for m in streamed] == [
            "transaction.started", "transaction.updated", "transaction.ended"
        ]  # fmt: skip

        # The transaction, with its energy, in the one resource for 1.6 and 2.x.
        listed = (await admin.get("/api/v1/transactions", params={"station": STATION})).json()
        [tx] = listed["items"]
        assert tx["energy_wh"] == 7500
        assert tx["id_token"] == "DRIVER-1"
        assert tx["stopped_reason"] == "Local" and not tx["open"]

        # The webhook got the same three, signed with the subscription's secret.
        got = await receiver.wait_for(3)
        types = [orjson.loads(r.body)["type"] for r in got]
        assert types == [m.event for m in streamed]
        for request in got:
            assert verify(secret, request.headers["csms-signature"], request.body, int(time.time()))

        # The audit log names the operator who started it.
        audit = (await admin.get("/api/v1/audit", params={"station": STATION})).json()
        starts = [r for r in audit["items"] if r["path"].endswith("/commands/start")]
        assert [(r["actor"], r["auth_kind"], r["status"]) for r in starts] == [
            ("olivia", "token", 200)
        ]
