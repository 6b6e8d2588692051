"""Tariffs and cost end to end (2.0.1 block I) on SQLite and PostgreSQL: tariffs made through the
HTTP API, the `ocpp` package's 2.0.1 ChargePoint charging on them over a real socket.

* Authorize and a Started with an idToken get the tariff's text as idTokenInfo.personalMessage
  (I01), every TransactionEventResponse of a priced transaction the running cost as
  updatedPersonalMessage, and the response to Ended the final totalCost (I03) that the API shows
  as the transaction's stored, final cost.
* A tariff assigned to the token's group wins over the station's.
* CostUpdated arrives during the session while a time-based price grows (I02).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from csms.blocks.authorization.commands import add_token
from csms.domain.tariffs import compute_cost
from tests.integration.charging import store_of
from tests.integration.harness import RunningCsms, running_csms, settings_for

BOOT = {"charging_station": {"model": "M", "vendor_name": "V"}, "reason": "PowerUp"}
T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)

STANDARD = {
    "tariff_id": "standard",
    "currency": "EUR",
    "price_per_kwh": "0.40",
    "price_per_hour": "1.20",
    "session_fee": "0.50",
    "tax_rate": "19",
    "descriptions": {"en": "0.40 EUR/kWh + 1.20 EUR/h", "de": "0,40 EUR/kWh + 1,20 EUR/h"},
    "assignments": [{"scope": "station", "station_id": "TARIFF-1"}],
}
FLEET = {
    "tariff_id": "fleet",
    "currency": "EUR",
    "price_per_kwh": "0.25",
    "descriptions": {"en": "Fleet rate 0.25 EUR/kWh"},
    "assignments": [{"scope": "token", "id_token": "FLEET"}],
}


class Station(ChargePoint):  # type: ignore[misc]  # ocpp ships no type hints
    """The `ocpp` package's 2.0.1 station, keeping the CostUpdated it receives."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.cost_updates: list[tuple[str, float]] = []
        self.cost_updated = asyncio.Event()

    @on("CostUpdated")  # type: ignore[misc]
    async def on_cost_updated(self, total_cost: float, transaction_id: str, **_: Any) -> Any:
        self.cost_updates.append((transaction_id, total_cost))
        self.cost_updated.set()
        return call_result.CostUpdated()


def _settings(database_url: str, tmp_path: Path, **server: Any) -> Any:
    settings = settings_for(tmp_path, **server)
    return dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with running_csms(_settings(database_url, tmp_path, cost_update_interval=0)) as running:
        await _prepare(running)
        yield running


async def _prepare(running: RunningCsms) -> None:
    await running.add_station("TARIFF-1")
    store = store_of(running)
    await add_token(store.tokens, "DRIVER", now=T0, parent_id_token="FLEET", language="en")
    await add_token(store.tokens, "VISITOR", now=T0, language="de")
    async with running.api() as api:
        for body in (STANDARD, FLEET):
            assert (await api.post("/api/v1/tariffs", json=body)).status_code == 201


def _at(start: datetime, seconds: int) -> str:
    return (start + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _event(
    tx: str, seq: int, event_type: str, trigger: str, *, wh: float, seconds: int, **kw: Any
) -> call.TransactionEvent:
    start = kw.pop("start", T0)
    context = {"Started": "Transaction.Begin", "Ended": "Transaction.End"}
    sample = {
        "value": wh,
        "context": context.get(event_type, "Sample.Periodic"),
        "measurand": "Energy.Active.Import.Register",
        "unit_of_measure": {"unit": "Wh"},
    }
    return call.TransactionEvent(
        event_type=event_type,
        timestamp=_at(start, seconds),
        trigger_reason=trigger,
        seq_no=seq,
        transaction_info={"transaction_id": tx, **kw.pop("info", {})},
        evse={"id": 1, "connector_id": 1},
        meter_value=[{"timestamp": _at(start, seconds), "sampled_value": [sample]}],
        **kw,
    )


def _token(value: str) -> dict[str, str]:
    return {"id_token": value, "type": "ISO14443"}


async def test_a_priced_session_shows_tariff_running_cost_and_final_total(
    server: RunningCsms,
) -> None:
    async with server.connect("TARIFF-1", subprotocols=["ocpp2.0.1"]) as ws:
        cp = Station("TARIFF-1", ws)
        task = asyncio.create_task(cp.start())
        try:
            assert (await cp.call(call.BootNotification(**BOOT))).status == "Accepted"
            authorized = await cp.call(call.Authorize(id_token=_token("VISITOR")))
            assert authorized.id_token_info["personal_message"] == {
                "format": "UTF8", "language": "de", "content": "0,40 EUR/kWh + 1,20 EUR/h",
            }  # fmt: skip
            started = await cp.call(
                _event(
                    "P-1",
                    0,
                    "Started",
                    "Authorized",
                    wh=1000,
                    seconds=0,
                    id_token=_token("VISITOR"),
                )
            )
            assert started.id_token_info["personal_message"]["content"].startswith("0,40")
            assert started.total_cost is None  # only once charging has ended (schema)
            assert (
                started.updated_personal_message["content"] == "Cost so far: 0.60 EUR (0.000 kWh)"
            )
            updated = await cp.call(
                _event("P-1", 1, "Updated", "MeterValuePeriodic", wh=4000, seconds=1800)
            )
            # 3 kWh * 0.40 + 0.5 h * 1.20 + 0.50 = 2.30, + 19 % = 2.737
            assert updated.total_cost is None
            assert (
                updated.updated_personal_message["content"] == "Cost so far: 2.74 EUR (3.000 kWh)"
            )
            ended = await cp.call(
                _event("P-1", 2, "Ended", "EVDeparted", wh=11_500, seconds=3600,
                       info={"stopped_reason": "EVDisconnected"})
            )  # fmt: skip
        finally:
            task.cancel()
    store = store_of(server)
    tariff = await store.tariffs.get("standard")
    assert tariff is not None
    expected = compute_cost(tariff, 10_500, timedelta(hours=1))
    assert expected.total == Decimal("7.02")  # (10.5 kWh * 0.40 + 1 h * 1.20 + 0.50) * 1.19
    assert ended.total_cost == float(expected.total)
    assert ended.updated_personal_message["content"].startswith("Total: ")
    async with server.api() as api:
        got = await api.get("/api/v1/transactions/P-1/cost", params={"station_id": "TARIFF-1"})
        assert got.status_code == 200, got.text
        body = got.json()
        assert (body["final"], body["source"], body["tariff_id"]) == (True, "stored", "standard")
        assert Decimal(body["total_cost"]) == expected.total and body["energy_wh"] == 10_500
        # A running tariff change never reprices a kept cost.
        patched = await api.patch("/api/v1/tariffs/standard", json={"price_per_kwh": "9"})
        assert patched.status_code == 200 and patched.json()["price_per_kwh"] == "9"
        again = await api.get("/api/v1/transactions/P-1/cost", params={"station_id": "TARIFF-1"})
        assert Decimal(again.json()["total_cost"]) == expected.total
        missing = await api.get("/api/v1/transactions/P-1/cost")
        assert missing.status_code == 404
        assert missing.json()["type"].endswith("unknown-transaction")


async def test_the_token_groups_tariff_wins_over_the_stations(server: RunningCsms) -> None:
    async with server.connect("TARIFF-1", subprotocols=["ocpp2.0.1"]) as ws:
        cp = Station("TARIFF-1", ws)
        task = asyncio.create_task(cp.start())
        try:
            await cp.call(call.BootNotification(**BOOT))
            authorized = await cp.call(call.Authorize(id_token=_token("driver")))
            assert authorized.id_token_info["personal_message"]["content"] == (
                "Fleet rate 0.25 EUR/kWh"
            )
            await cp.call(
                _event(
                    "G-1", 0, "Started", "Authorized", wh=0, seconds=0, id_token=_token("DRIVER")
                )
            )
            # The group tariff is found from the token store even when Ended carries no idToken.
            ended = await cp.call(_event("G-1", 1, "Ended", "EVDeparted", wh=8000, seconds=7200))
        finally:
            task.cancel()
    assert ended.total_cost == 2.0  # 8 kWh * 0.25, no time price, no fee, no tax


async def test_cost_updated_arrives_during_the_session(database_url: str, tmp_path: Path) -> None:
    settings = _settings(database_url, tmp_path, cost_update_interval=0.2)
    async with running_csms(settings) as running:
        await _prepare(running)
        async with running.api() as api:  # 360 EUR/h: the total grows by cents every 0.2 s
            await api.patch("/api/v1/tariffs/standard", json={"price_per_hour": "360"})
        start = datetime.now(UTC)
        async with running.connect("TARIFF-1", subprotocols=["ocpp2.0.1"]) as ws:
            cp = Station("TARIFF-1", ws)
            task = asyncio.create_task(cp.start())
            try:
                await cp.call(call.BootNotification(**BOOT))
                await cp.call(
                    _event("C-1", 0, "Started", "Authorized", wh=0, seconds=0, start=start,
                           id_token=_token("VISITOR"))
                )  # fmt: skip
                # 2000 Wh at 0.40 = 0.80 while the hours keep adding: the total keeps changing.
                await cp.call(
                    _event(
                        "C-1", 1, "Updated", "MeterValuePeriodic", wh=2000, seconds=1, start=start
                    )
                )
                await asyncio.wait_for(cp.cost_updated.wait(), 10)
            finally:
                task.cancel()
        [(transaction_id, total)] = cp.cost_updates[:1]
        assert transaction_id == "C-1"
        # At least 2 kWh, the fee and tax: (0.80 + 0.50) * 1.19 = 1.547, plus the time so far
        # (under a cent when the first round comes within ~25 ms of the update: 1.55 rounded).
        assert total >= 1.55
