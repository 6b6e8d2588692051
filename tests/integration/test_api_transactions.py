"""The operator API's transactions, meter values and stations (issue 9 items 2 and 3), end to end
on SQLite and PostgreSQL: the `ocpp` package's 1.6 and 2.0.1 ChargePoints charge over loopback,
then the HTTP API lists both as one resource with their energy, filters, pages with cursors,
exports CSV, shows the history and warnings, serves the meter series (downsampled on request)
and closes a transaction; a decommissioned station is refused at the handshake and hidden; and
csms's own simulator charges on 1.6 and 2.0.1 and shows up the same way.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from websockets.exceptions import InvalidStatus

from csms.blocks.authorization.commands import add_token
from csms.rpc.versions import OcppVersion
from csms.simulator import Scenario, Timing, run_scenario
from tests.integration.charging import csms_on, store_of
from tests.integration.harness import RunningCsms
from tests.integration.simulator.helpers import allow_tags, make_agent, running

T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
TX = "/api/v1/transactions"


def _at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


@asynccontextmanager
async def started(cp: Any) -> AsyncIterator[Any]:
    task = asyncio.create_task(cp.start())
    try:
        yield cp
    finally:
        task.cancel()


def _sample16(wh: int, minutes: float, **extra: str) -> dict[str, Any]:
    value = {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
    return {"timestamp": _at(minutes), "sampled_value": [{**value, **extra}]}


async def _charge16(server: RunningCsms) -> tuple[int, int]:
    """A closed transaction (1500 Wh, on connector 1) and an open one (300 Wh so far, on 2)."""
    async with (
        server.connect("API16", subprotocols=["ocpp1.6"]) as ws,
        started(ChargePoint16("API16", ws)) as cp,
    ):
        await cp.call(call16.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        done = await cp.call(
            call16.StartTransaction(connector_id=1, id_tag="driver", meter_start=1000,
                                    timestamp=_at(0))
        )  # fmt: skip
        for i, wh in enumerate((1500, 2000, 2400)):
            await cp.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=done.transaction_id,
                    meter_value=[
                        _sample16(wh, 1 + i),
                        {
                            "timestamp": _at(1 + i),
                            "sampled_value": [
                                {"value": "16.0", "measurand": "Current.Import", "unit": "A",
                                 "phase": "L1"},
                                {"value": "15.5", "measurand": "Current.Import", "unit": "A",
                                 "phase": "L2"},
                            ],
                        },
                    ],
                )
            )  # fmt: skip
        await cp.call(
            call16.StopTransaction(meter_stop=2500, timestamp=_at(4),
                                   transaction_id=done.transaction_id, reason="EVDisconnected")
        )  # fmt: skip
        still = await cp.call(
            call16.StartTransaction(connector_id=2, id_tag="OTHER", meter_start=0,
                                    timestamp=_at(20))
        )  # fmt: skip
        await cp.call(
            call16.MeterValues(connector_id=2, transaction_id=still.transaction_id,
                               meter_value=[_sample16(300, 21)])
        )  # fmt: skip
        await cp.call(
            call16.StatusNotification(connector_id=2, error_code="NoError", status="Charging")
        )
        return done.transaction_id, still.transaction_id


def _register201(wh: int, minutes: float, **extra: Any) -> list[dict[str, Any]]:
    sample = {
        "value": wh,
        "measurand": "Energy.Active.Import.Register",
        "unit_of_measure": {"unit": "Wh"},
        **extra,
    }
    return [{"timestamp": _at(minutes), "sampled_value": [sample]}]


SIGNED = {
    "signed_meter_data": "AP///8IAAAAAAQAAAAAAAAAAAAAA3lHgXQ==",
    "signing_method": "ECDSA-secp256r1-SHA256",
    "encoding_method": "OCMF",
    "public_key": "",
}


async def _charge201(server: RunningCsms) -> None:
    """TX-201: 10000 → 15000 Wh (5000 Wh), seqNo 2 missing, one event sent offline."""
    async with (
        server.connect("API201", subprotocols=["ocpp2.0.1"]) as ws,
        started(ChargePoint201("API201", ws)) as cp,
    ):
        await cp.call(
            call201.BootNotification(
                charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
            )
        )

        def event(seq: int, kind: str, trigger: str, minutes: float, **kw: Any) -> Any:
            return call201.TransactionEvent(
                event_type=kind,
                timestamp=_at(minutes),
                trigger_reason=trigger,
                seq_no=seq,
                transaction_info={"transaction_id": "TX-201", **kw.pop("info", {})},
                evse={"id": 1, "connector_id": 1},
                **kw,
            )

        token = {"id_token": "DRIVER2", "type": "ISO14443"}
        await cp.call(
            event(0, "Started", "Authorized", 10, id_token=token,
                  meter_value=_register201(10000, 10, context="Transaction.Begin",
                                           signed_meter_value=SIGNED))
        )  # fmt: skip
        await cp.call(
            event(1, "Updated", "MeterValuePeriodic", 11, offline=True,
                  meter_value=_register201(12000, 11))
        )  # fmt: skip
        await cp.call(
            event(3, "Ended", "EVCommunicationLost", 12,
                  info={"stopped_reason": "EVDisconnected"},
                  meter_value=_register201(15000, 12, context="Transaction.End"))
        )  # fmt: skip
        # TX-NOSTART: its Started never arrived (no start time): listed last, still open.
        late = call201.TransactionEvent(
            event_type="Updated", timestamp=_at(30), trigger_reason="MeterValuePeriodic",
            seq_no=4, transaction_info={"transaction_id": "TX-NOSTART"},
            evse={"id": 2, "connector_id": 1},
        )  # fmt: skip
        await cp.call(late)


@pytest.fixture
async def charged(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[RunningCsms, int, int]]:
    async with csms_on(database_url, tmp_path) as server:
        store = store_of(server)
        for station in ("API16", "API201"):
            await server.add_station(station)
        await add_token(store.tokens, "DRIVER", now=T0)
        await add_token(store.tokens, "DRIVER2", now=T0)
        closed, still = await _charge16(server)
        await _charge201(server)
        yield server, closed, still


def _ids(page: dict[str, Any]) -> list[str]:
    return [t["id"] for t in page["items"]]


async def test_one_listing_for_16_and_201_with_energy_filters_and_cursors(
    charged: tuple[RunningCsms, int, int],
) -> None:
    server, closed, still = charged
    async with server.api() as api:
        page = (await api.get(TX)).json()
        # Newest first: the open 1.6 one (T0+20), the 2.0.1 one (T0+10), the closed 1.6 (T0),
        # then the 2.0.1 one without a start time.
        items = page["items"]
        assert _ids(page) == [f"v16-{still}", items[1]["id"], f"v16-{closed}", items[3]["id"]]
        assert (items[3]["transaction_id"], items[3]["started_at"]) == ("TX-NOSTART", None)
        nostart = items[3]["id"]
        assert page["next_cursor"] is None and page["total"] is None
        by_version = {t["ocpp_version"]: t for t in page["items"] if not t["open"]}
        assert by_version["1.6"]["energy_wh"] == 1500
        assert by_version["1.6"]["stopped_reason"] == "EVDisconnected"
        assert by_version["1.6"]["duration_s"] == 240
        v2 = by_version["2.x"]
        assert (v2["transaction_id"], v2["station_id"], v2["energy_wh"]) == (
            "TX-201",
            "API201",
            5000,
        )
        assert v2["id_token"] == "DRIVER2" and v2["meter_start_wh"] == 10000
        assert page["items"][0]["energy_wh"] == 300  # open 1.6: highest register - meterStart

        async def ids(**params: Any) -> list[str]:
            response = await api.get(TX, params=params)
            assert response.status_code == 200, response.text
            return _ids(response.json())

        assert await ids(station="API201") == [v2["id"], nostart]
        assert await ids(ocpp_version="1.6", state="closed") == [f"v16-{closed}"]
        assert await ids(state="open") == [f"v16-{still}", nostart]
        assert await ids(id_token="Driver") == [f"v16-{closed}"]  # 1.6 idTags: any case
        assert await ids(stop_reason="EVDisconnected", evse=1) == [v2["id"], f"v16-{closed}"]
        window = {"started_from": _at(5), "started_to": _at(15)}
        assert await ids(**window) == [v2["id"]]
        assert (await api.get(TX, params={"total": "true"})).json()["total"] == 4
        assert (await api.get(TX, params={"total": "true", **window})).json()["total"] == 1

        walked: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            got = (await api.get(TX, params=params)).json()
            walked += _ids(got)
            cursor = got["next_cursor"]
            if cursor is None:
                break
        assert walked == _ids(page)

        for path, extra in ((f"{TX}.csv", {}), (TX, {"format": "csv"})):
            exported = await api.get(path, params={"ocpp_version": "2.x", **extra})
            assert exported.status_code == 200
            assert exported.headers["content-type"].startswith("text/csv")
            rows = list(csv.DictReader(io.StringIO(exported.text)))
            assert [(r["id"], r["energy_wh"]) for r in rows] == [(v2["id"], "5000"), (nostart, "")]


async def test_detail_history_warnings_and_meter_series(
    charged: tuple[RunningCsms, int, int],
) -> None:
    server, closed, _ = charged
    async with server.api() as api:
        params = {"station": "API201", "state": "closed"}
        [v2] = (await api.get(TX, params=params)).json()["items"]
        detail = (await api.get(f"{TX}/{v2['id']}")).json()
        assert [(e["kind"], e["seq_no"], e["offline"]) for e in detail["events"]] == [
            ("Started", 0, False),
            ("Updated", 1, True),
            ("Ended", 3, False),
        ]
        assert detail["events"][2]["trigger_reason"] == "EVCommunicationLost"
        assert detail["seq_nos"] == "0..1,3..3"
        assert any("seqNo gap: 1 event(s) missing" in w for w in detail["warnings"])
        assert any("1 event(s) sent offline" in w for w in detail["warnings"])

        [late] = (await api.get(TX, params={"station": "API201", "state": "open"})).json()["items"]
        late_detail = (await api.get(f"{TX}/{late['id']}")).json()
        assert late_detail["warnings"] == [
            "seqNo gap: the first event received has seqNo 4, not 0",
            "no Energy.Active.Import.Register reading yet: energy unknown",
        ]
        assert late_detail["duration_s"] is None and late_detail["energy_wh"] is None

        series = (await api.get(f"{TX}/{v2['id']}/meter-values")).json()
        assert [p["value"] for p in series["items"]] == [10000, 12000, 15000]
        assert series["items"][0]["signed_data"] is not None  # kept verbatim
        assert "AP///8IAAAAAAQAAAAAAAAAAAAAA3lHgXQ==" in series["items"][0]["signed_data"]

        v16 = (await api.get(f"{TX}/v16-{closed}")).json()
        kinds = [e["kind"] for e in v16["events"]]
        assert kinds[0] == "StartTransaction" and kinds[-1] == "StopTransaction"
        assert kinds.count("MeterValues") == 3
        assert v16["warnings"] == []
        currents = (
            await api.get(
                f"{TX}/v16-{closed}/meter-values",
                params={"measurand": "Current.Import", "phase": "L1"},
            )
        ).json()
        assert [(p["raw_value"], p["phase"]) for p in currents["items"]] == [("16.0", "L1")] * 3
        energy = (
            await api.get(
                f"{TX}/v16-{closed}/meter-values",
                params={"measurand": "Energy.Active.Import.Register", "points": 2},
            )
        ).json()
        assert energy["downsampled_to"] == 2
        # Two buckets over 1..3 min, [1, 2) and [2, 3]: the last of each (2400 stands for 2000 too).
        assert [(p["raw_value"], p["bucket_samples"]) for p in energy["items"]] == [
            ("1500", 1),
            ("2400", 2),
        ]
        evse = await api.get(
            "/api/v1/stations/API16/evses/1/meter-values",
            params={"measurand": "Energy.Active.Import.Register", "from": _at(2), "to": _at(3)},
        )
        assert [p["raw_value"] for p in evse.json()["items"]] == ["2000"]


async def test_station_detail_shows_the_running_transaction_and_the_operator_closes_it(
    charged: tuple[RunningCsms, int, int],
) -> None:
    server, _, still = charged
    async with server.api() as api:
        station = (await api.get("/api/v1/stations/API16")).json()
        evses = {e["evse_id"]: e for e in station["evses"]}
        assert evses[2]["transaction"]["id"] == f"v16-{still}"
        assert evses[2]["status"] == "Charging"
        assert station["last_seen_at"] is not None

        answer = await api.post(f"{TX}/v16-{still}/close", json={"reason": "cable stuck"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["open"], body["closed_by"]) == (False, "operator")
        assert any(e["kind"] == "close" or e["operator"] for e in body["events"][1:])
        again = await api.post(f"{TX}/v16-{still}/close", json={"reason": "twice"})
        assert (again.status_code, again.json()["type"]) == (
            409,
            "urn:csms:problem:transaction-not-open",
        )
        station = (await api.get("/api/v1/stations/API16")).json()
        assert all(e["transaction"] is None for e in station["evses"])
        still_open = (await api.get(TX, params={"state": "open"})).json()["items"]
        assert [t["transaction_id"] for t in still_open] == ["TX-NOSTART"]


BAD_INPUT = [
    (TX, {"cursor": "garbage!"}, 400, "bad-cursor"),
    (TX, {"cursor": "eyJrIjoic3QiLCJpIjoiQSJ9"}, 400, "bad-cursor"),  # a station cursor
    (TX, {"limit": 0}, 422, "validation-error"),
    (TX, {"limit": 501}, 422, "validation-error"),
    (TX, {"started_from": "2026-01-01T00:00:00"}, 422, "validation-error"),  # naive
    (TX, {"started_from": _at(5), "started_to": _at(1)}, 422, "bad-time-range"),
    (TX, {"state": "maybe"}, 422, "validation-error"),
    (f"{TX}/v16-999999", {}, 404, "unknown-transaction"),
    (f"{TX}/v2-99999999999999999999", {}, 404, "unknown-transaction"),
    (f"{TX}/nonsense", {}, 404, "unknown-transaction"),
    (f"{TX}/v16-1/meter-values", {"points": 0}, 422, "validation-error"),
    ("/api/v1/stations/NOPE/evses/1/meter-values", {}, 404, "unknown-station"),
    ("/api/v1/stations", {"cursor": "e30"}, 400, "bad-cursor"),
    # What PostgreSQL cannot bind is refused before it gets there (never a 5xx).
    (TX, {"station": "a\x00b"}, 422, "validation-error"),
    (TX, {"id_token": "\x00"}, 422, "validation-error"),
    (TX, {"started_from": "0001-01-01T00:00:00+01:00"}, 422, "validation-error"),
    (f"{TX}/v16-1/meter-values", {"measurand": "E\x00"}, 422, "validation-error"),
    ("/api/v1/stations", {"q": "\x00"}, 422, "validation-error"),
    ("/api/v1/stations", {"status": "x" * 65}, 422, "validation-error"),
]


async def test_bad_input_gets_a_clear_problem(charged: tuple[RunningCsms, int, int]) -> None:
    server, _, _ = charged
    async with server.api() as api:
        for path, params, status, slug in BAD_INPUT:
            response = await api.get(path, params=params)
            assert response.status_code == status, (path, params, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"] == f"urn:csms:problem:{slug}", (path, params)


async def test_close_needs_a_reason_and_a_known_transaction(
    charged: tuple[RunningCsms, int, int],
) -> None:
    server, _, still = charged
    async with server.api() as api:
        empty = await api.post(f"{TX}/v16-{still}/close", json={"reason": ""})
        assert empty.status_code == 422
        unknown = await api.post(f"{TX}/v2-424242/close", json={"reason": "x"})
        assert unknown.status_code == 404


async def test_station_search_pages_and_decommission(database_url: str, tmp_path: Path) -> None:
    async with csms_on(database_url, tmp_path) as server:
        for n in range(5):
            await server.add_station(f"DEC-{n}")
        async with server.connect("DEC-1", subprotocols=["ocpp1.6"]) as ws:
            cp = ChargePoint16("DEC-1", ws)
            async with started(cp):
                await cp.call(
                    call16.BootNotification(
                        charge_point_model="Wallbox", charge_point_vendor="Acme",
                        charge_point_serial_number="SER-77",
                    )
                )  # fmt: skip
                await cp.call(
                    call16.StatusNotification(connector_id=1, error_code="NoError",
                                              status="Faulted")
                )  # fmt: skip
        async with server.api() as api:

            async def ids(**params: Any) -> tuple[list[str], int]:
                response = await api.get("/api/v1/stations", params=params)
                assert response.status_code == 200, response.text
                body = response.json()
                return [s["id"] for s in body["items"]], body["total"]

            assert await ids(q="ser-7") == (["DEC-1"], 1)
            assert await ids(q="acme", ocpp_version="1.6") == (["DEC-1"], 1)
            assert await ids(status="Faulted") == (["DEC-1"], 1)
            assert await ids(q="100%") == ([], 0)  # LIKE wildcards are literal
            first = (await api.get("/api/v1/stations", params={"limit": 2})).json()
            assert ([s["id"] for s in first["items"]], first["total"]) == (["DEC-0", "DEC-1"], 5)
            second = await api.get(
                "/api/v1/stations", params={"limit": 2, "cursor": first["next_cursor"]}
            )
            assert [s["id"] for s in second.json()["items"]] == ["DEC-2", "DEC-3"]

            assert (await api.delete("/api/v1/stations/DEC-1")).status_code == 204
            assert await ids() == (["DEC-0", "DEC-2", "DEC-3", "DEC-4"], 4)
            listed, total = await ids(include_decommissioned="true")
            assert "DEC-1" in listed and total == 5
            with pytest.raises(InvalidStatus) as refused:
                async with server.connect("DEC-1"):
                    pass
            assert refused.value.response.status_code == 404
            history = await api.get("/api/v1/stations/DEC-1/status-history")
            assert [h["status"] for h in history.json()] == ["Faulted"]  # history kept

            again = await api.post(
                "/api/v1/stations", json={"id": "DEC-1", "registration_status": "Accepted",
                                          "password": "correct-horse-battery-staple"}
            )  # fmt: skip
            assert again.status_code == 201
            assert again.json()["decommissioned_at"] is None
        async with server.connect("DEC-1") as ws:
            await ws.send('[2,"1","Heartbeat",{}]')
            assert '"currentTime"' in await ws.recv()


FAST = Timing(charge=0.4, idle=0.1, offline=0.35, outage=0.3)


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201], ids=["1.6", "2.0.1"])
async def test_simulated_charge_is_listed_with_its_energy(
    database_url: str, tmp_path: Path, version: OcppVersion
) -> None:
    async with csms_on(database_url, tmp_path) as server:
        sid = f"SIM-API-{version.value}"
        await server.add_station(sid)
        await allow_tags(server)
        agent = make_agent(server.ocpp_url, sid, version)
        async with running(agent):
            await run_scenario(agent, Scenario.CHARGE, FAST, repeat=False)
            await agent.drained()
        async with server.api() as api:
            found = await _wait_closed(api, sid)
            assert found["ocpp_version"] == ("1.6" if version is OcppVersion.V16 else "2.x")
            assert found["energy_wh"] is not None and found["energy_wh"] > 0
            series = await api.get(f"{TX}/{found['id']}/meter-values", params={"points": 5})
            points = series.json()["items"]
            per_series: dict[tuple[str, str | None], int] = {}
            for p in points:
                key = (p["measurand"], p["phase"])
                per_series[key] = per_series.get(key, 0) + 1
            assert points and max(per_series.values()) <= 5


async def _wait_closed(api: httpx.AsyncClient, station: str) -> dict[str, Any]:
    async with asyncio.timeout(5):
        while True:
            items = (await api.get(TX, params={"station": station})).json()["items"]
            if items and not items[0]["open"]:
                return items[0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)
