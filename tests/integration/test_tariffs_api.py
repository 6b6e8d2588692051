"""The tariff routes (docs/api.md "Tariffs and cost") on SQLite and PostgreSQL: create, list with a
cursor, change, assign (a scope moves between tariffs), preview, delete; refusals as problem JSON;
and the cost of a 1.6 transaction, computed from the one domain model."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from csms.blocks.authorization.commands import add_token
from tests.integration.charging import csms_on, store_of
from tests.integration.harness import BOOT_16, RunningCsms, call

TARIFF = {"tariff_id": "t1", "currency": "EUR", "price_per_kwh": 0.3, "descriptions": {"en": "x"}}


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    async with csms_on(database_url, tmp_path) as running:
        yield running


async def test_tariff_crud_pagination_assignments_and_preview(server: RunningCsms) -> None:
    async with server.api() as api:
        created = await api.post("/api/v1/tariffs", json=TARIFF)
        assert created.status_code == 201, created.text
        assert created.headers["location"] == "/api/v1/tariffs/t1"
        body = created.json()
        assert (body["price_per_kwh"], body["tax_rate"], body["assignments"]) == ("0.3", "0", [])
        assert (await api.post("/api/v1/tariffs", json=TARIFF)).status_code == 409
        for n in range(2, 5):
            await api.post("/api/v1/tariffs", json=TARIFF | {"tariff_id": f"t{n}"})
        page = (await api.get("/api/v1/tariffs", params={"limit": 3})).json()
        assert [t["tariff_id"] for t in page["items"]] == ["t1", "t2", "t3"]
        assert page["total"] == 4 and page["next_cursor"]
        rest = await api.get("/api/v1/tariffs", params={"cursor": page["next_cursor"]})
        assert [t["tariff_id"] for t in rest.json()["items"]] == ["t4"]
        assert rest.json()["next_cursor"] is None

        station = [{"scope": "station", "station_id": "CS1"}]
        put = await api.put("/api/v1/tariffs/t1/assignments", json={"assignments": station})
        assert put.json()["assignments"] == [
            {"scope": "station", "station_id": "CS1", "evse_id": None, "id_token": None}
        ]
        # One tariff per scope: assigning the scope to t2 takes it from t1.
        await api.put("/api/v1/tariffs/t2/assignments", json={"assignments": station})
        assert (await api.get("/api/v1/tariffs/t1")).json()["assignments"] == []

        patched = await api.patch(
            "/api/v1/tariffs/t1", json={"tax_rate": "20", "min_cost": 1, "session_fee": "0.5"}
        )
        assert patched.status_code == 200
        preview = await api.post(
            "/api/v1/tariffs/t1/preview", json={"energy_wh": 10_000, "duration_s": 60}
        )
        # (10 kWh * 0.30 + 0.50) * 1.20 = 4.20
        assert preview.json()["total_cost"] == "4.20"
        assert preview.json()["tax"] == "0.70"

        assert (await api.delete("/api/v1/tariffs/t2")).status_code == 204
        gone = await api.get("/api/v1/tariffs/t2")
        assert gone.status_code == 404 and gone.json()["type"].endswith("unknown-tariff")
        assert (await api.delete("/api/v1/tariffs/t2")).status_code == 404


INVALID = [
    TARIFF | {"currency": "euro"},
    TARIFF | {"price_per_kwh": -1},
    TARIFF | {"min_cost": 5, "max_cost": 1},
    TARIFF | {"assignments": [{"scope": "evse", "station_id": "CS1"}]},
    TARIFF | {"descriptions": {"en": "x" * 600}},
]


async def test_invalid_tariffs_are_refused_and_nothing_is_stored(server: RunningCsms) -> None:
    async with server.api() as api:
        for body in INVALID:
            refused = await api.post("/api/v1/tariffs", json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await api.get("/api/v1/tariffs")).json()["total"] == 0
        bad_cursor = await api.get("/api/v1/tariffs", params={"cursor": "***"})
        assert bad_cursor.status_code == 400
        unknown = await api.put("/api/v1/tariffs/nope/assignments", json={"assignments": []})
        assert unknown.status_code == 404


async def test_a_16_transaction_is_priced_by_the_same_model(server: RunningCsms) -> None:
    await server.add_station("CS16")
    await add_token(store_of(server).tokens, "TAG16", now=datetime(2026, 12, 6, tzinfo=UTC))
    async with server.api() as api:
        body = TARIFF | {"assignments": [{"scope": "evse", "station_id": "CS16", "evse_id": 1}]}
        assert (await api.post("/api/v1/tariffs", json=body)).status_code == 201
    async with server.connect("CS16") as ws:
        assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        start = {"connectorId": 1, "idTag": "TAG16", "meterStart": 1000,
                 "timestamp": "2026-12-06T10:00:00Z"}  # fmt: skip
        tx = (await call(ws, "2", "StartTransaction", start))[2]["transactionId"]
        stop = {"transactionId": tx, "meterStop": 6000, "timestamp": "2026-12-06T11:00:00Z"}
        await call(ws, "3", "StopTransaction", stop)
    async with server.api() as api:
        got = await api.get(f"/api/v1/transactions/{tx}/cost")
        assert got.status_code == 200, got.text
        cost = got.json()
        assert (cost["total_cost"], cost["energy_wh"], cost["source"]) == ("1.50", 5000, "computed")
        assert cost["final"] is True  # it ended; computed on request (1.6 has no totalCost)
        # The transactions resource's id names the same transaction.
        listed = (await api.get("/api/v1/transactions", params={"station": "CS16"})).json()
        ledger_id = listed["items"][0]["id"]
        by_ledger_id = await api.get(f"/api/v1/transactions/{ledger_id}/cost")
        assert by_ledger_id.status_code == 200, by_ledger_id.text
        assert by_ledger_id.json()["total_cost"] == "1.50"
        unknown = await api.get("/api/v1/transactions/999999/cost")
        assert unknown.status_code == 404
