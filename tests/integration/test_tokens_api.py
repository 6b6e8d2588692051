"""/api/v1/tokens over real sockets: one store for 1.6 idTags and 2.x IdTokens, changed through the
API and seen at once by the `ocpp` package's ChargePoints (1.6 and 2.0.1); local lists kept
consistent; bulk import with per-row errors; export round-trips. SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from csms.container import Csms
from csms.domain.localauth import (
    LocalListEntry,
    LocalListSyncState,
    LocalListUpdate,
    UpdateStatus,
    UpdateType,
)
from tests.integration.harness import RunningCsms, settings_for
from tests.integration.test_ocpp_package_clients import Station16, Station201, started

PROBLEM = "application/problem+json"


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    csms = Csms(settings)
    await csms.start()
    try:
        yield RunningCsms(csms)
    finally:
        await csms.close()


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def _in_sync_list(server: RunningCsms, station_id: str, entries: list[str]) -> None:
    """A local list csms sent and the station accepted (version 3)."""
    store = server.csms.store
    assert store is not None
    now = datetime.now(UTC)
    await store.local_lists.set_target(station_id, [LocalListEntry(e) for e in entries], 3, now)
    update = LocalListUpdate(
        station_id, 3, UpdateType.FULL, len(entries), UpdateStatus.ACCEPTED, now
    )
    await store.local_lists.record_update(update, LocalListSyncState.IN_SYNC)


async def test_blocking_a_token_reaches_16_and_201_stations_and_local_lists(
    server: RunningCsms,
) -> None:
    expiry = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    await server.add_station("TK16")
    await server.add_station("TK201")
    await _in_sync_list(server, "TK16", ["card-42", "OTHER"])
    async with server.api() as api:
        created = await api.post(
            "/api/v1/tokens",
            json={
                "id_token": "CARD-42",
                "type": "ISO14443",
                "expiry_date": expiry.isoformat(),
                "group_id_token": "FLEET",
            },
        )
        assert created.status_code == 201, created.text
        assert created.headers["location"] == "/api/v1/tokens/ISO14443/CARD-42"
        assert created.json()["effective_status"] == "Accepted"

        async with (
            server.connect("TK16", subprotocols=["ocpp1.6"]) as ws16,
            server.connect("TK201", subprotocols=["ocpp2.0.1"]) as ws201,
            started(Station16("TK16", ws16)) as cp16,
            started(Station201("TK201", ws201)) as cp201,
        ):
            await cp16.call(
                call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
            )
            await cp201.call(
                call201.BootNotification(
                    charging_station={"model": "M", "vendor_name": "V"}, reason="PowerUp"
                )
            )
            card = {"id_token": "CARD-42", "type": "ISO14443"}

            # A 1.6 idTag (no type) matches the ISO14443 token case-insensitively.
            auth16 = await cp16.call(call16.Authorize(id_tag="card-42"))
            assert auth16.id_tag_info["status"] == "Accepted"
            assert auth16.id_tag_info["parent_id_tag"] == "FLEET"
            auth201 = await cp201.call(call201.Authorize(id_token=card))
            assert auth201.id_token_info["status"] == "Accepted"
            # A 2.x idToken is (value, type): another type is another, unknown token.
            keycode = await cp201.call(
                call201.Authorize(id_token={"id_token": "CARD-42", "type": "KeyCode"})
            )
            assert keycode.id_token_info["status"] == "Invalid"
            started_event = await cp201.call(
                call201.TransactionEvent(
                    event_type="Started",
                    timestamp=_now(),
                    trigger_reason="Authorized",
                    seq_no=0,
                    transaction_info={"transaction_id": "TX-1"},
                    id_token=card,
                    evse={"id": 1, "connector_id": 1},
                )
            )
            assert started_event.id_token_info["status"] == "Accepted"

            patched = await api.patch("/api/v1/tokens/ISO14443/CARD-42", json={"status": "Blocked"})
            assert patched.status_code == 200, patched.text
            body = patched.json()
            assert body["status"] == "Blocked"
            assert body["local_lists"] == [
                {
                    "station_id": "TK16",
                    "entry_status": "Blocked",
                    "state": "pending",
                    "version": 4,
                    "station_version": 3,
                }
            ]

            auth16 = await cp16.call(call16.Authorize(id_tag="CARD-42"))
            assert auth16.id_tag_info["status"] == "Blocked"
            auth201 = await cp201.call(call201.Authorize(id_token=card))
            assert auth201.id_token_info["status"] == "Blocked"
            updated = await cp201.call(
                call201.TransactionEvent(
                    event_type="Updated",
                    timestamp=_now(),
                    trigger_reason="Authorized",
                    seq_no=1,
                    transaction_info={"transaction_id": "TX-1"},
                    id_token=card,
                )
            )
            assert updated.id_token_info["status"] == "Blocked"

        store = server.csms.store
        assert store is not None
        entries = {e.id_token: e for e in await store.local_lists.entries("TK16")}
        assert entries["card-42"].status == "Blocked"
        assert entries["card-42"].token_type == "ISO14443"
        assert entries["OTHER"].status == "Accepted"  # untouched

        # A PATCH that changes nothing a list holds leaves the list alone.
        same = await api.patch("/api/v1/tokens/ISO14443/CARD-42", json={"language": "de"})
        assert same.json()["local_lists"][0]["version"] == 4

        deleted = await api.delete("/api/v1/tokens/ISO14443/CARD-42")
        assert deleted.status_code == 204
        _problem(await api.get("/api/v1/tokens/ISO14443/CARD-42"), 404)
        sync = await store.local_lists.sync_state("TK16")
        assert sync is not None
        assert (sync.version, sync.state, sync.entries) == (5, LocalListSyncState.PENDING, 1)


_CSV = (
    "id_token,type,status,expiry_date,group_id_token,language,evse_ids\r\n"
    "GOOD-1,ISO14443,Accepted,2030-01-01T00:00:00Z,FLEET,de,1;2\r\n"
    "GOOD-2,,Blocked,,,,\r\n"
    "BAD-STATUS,ISO14443,Expired,,,,\r\n"
    "BAD-TYPE,NoAuthorization,,,,,\r\n"
    ",ISO14443,,,,,\r\n"
    "BAD-EXPIRY,,,2030-01-01T00:00:00,,,\r\n"
    "good-1,,,,,,\r\n"
    "BAD-EVSE,,,,,,0\r\n"
    "TOO,MANY,CELLS,,,,,,\r\n"
    "GOOD-3,eMAID,,,,,\r\n"
)
_EXPECTED_ERRORS = [
    {"row": 3, "field": "status"},
    {"row": 4, "field": "type"},
    {"row": 5, "field": "id_token"},
    {"row": 6, "field": "expiry_date"},
    {"row": 7, "field": "id_token"},  # duplicate of row 1 (case-insensitive)
    {"row": 8, "field": "evse_ids"},
    {"row": 9, "field": None},
]


async def test_csv_import_reports_each_bad_row(server: RunningCsms) -> None:
    csv = {"content-type": "text/csv"}
    async with server.api() as api:
        refused = await api.post("/api/v1/tokens/import", content=_CSV, headers=csv)
        body = _problem(refused, 422)
        assert [{"row": e["row"], "field": e["field"]} for e in body["errors"]] == _EXPECTED_ERRORS
        assert "duplicate of row 1" in body["errors"][4]["message"]
        assert (await api.get("/api/v1/tokens")).json()["total"] == 0  # all or nothing

        done = await api.post(
            "/api/v1/tokens/import", params={"mode": "best-effort"}, content=_CSV, headers=csv
        )
        assert done.status_code == 200, done.text
        result = done.json()
        assert (result["created"], result["updated"], result["rejected"]) == (3, 0, 7)
        assert len(result["errors"]) == 7
        good = (await api.get("/api/v1/tokens/ISO14443/GOOD-1")).json()
        assert good["evse_ids"] == [1, 2]
        assert good["expiry_date"].startswith("2030-01-01T00:00:00")
        assert (await api.get("/api/v1/tokens/idTag/GOOD-2")).json()["status"] == "Blocked"

        # JSON import of the same value updates it.
        again = await api.post("/api/v1/tokens/import", json=[{"id_token": "good-2"}])
        assert (again.json()["created"], again.json()["updated"]) == (0, 1)


async def test_export_round_trips_and_listing_pages(server: RunningCsms) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    rows: list[dict[str, Any]] = [
        {"id_token": "a/b c", "type": "KeyCode", "evse_ids": [3, 1]},
        {"id_token": "=SUM(1)", "status": "Invalid"},
        {"id_token": "Grüße", "type": "Central", "group_id_token": "G1", "language": "de-CH"},
        {"id_token": "OLD", "expiry_date": past, "group_id_token": "g1"},
        {"id_token": "-dash", "type": "VIN"},
    ]
    async with server.api() as api:
        for row in rows:
            assert (await api.post("/api/v1/tokens", json=row)).status_code == 201
        encoded = await api.get("/api/v1/tokens/KeyCode/a%2Fb%20c")
        assert encoded.status_code == 200, encoded.text
        assert encoded.json()["href"] == "/api/v1/tokens/KeyCode/a%2Fb%20c"

        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor is not None:
                params["cursor"] = cursor
            page = (await api.get("/api/v1/tokens", params=params)).json()
            assert page["total"] == 5
            seen += [t["id_token"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5 and len(set(seen)) == 5
        expired = (await api.get("/api/v1/tokens", params={"status": "Expired"})).json()
        assert [t["id_token"] for t in expired["items"]] == ["OLD"]
        assert expired["items"][0]["effective_status"] == "Expired"
        group = (await api.get("/api/v1/tokens", params={"group": "G1"})).json()
        assert group["total"] == 2
        untyped = (await api.get("/api/v1/tokens", params={"type": "idTag"})).json()
        assert {t["id_token"] for t in untyped["items"]} == {"=SUM(1)", "OLD"}
        found = (await api.get("/api/v1/tokens", params={"search": "GRÜ"})).json()
        assert [t["id_token"] for t in found["items"]] == ["Grüße"]

        before = (await api.get("/api/v1/tokens/export", params={"format": "json"})).json()
        csv = await api.get("/api/v1/tokens/export", params={"format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        assert "'=SUM(1)" in csv.text  # no formula for a spreadsheet
        for token in before:
            href = f"/api/v1/tokens/{token['type'] or 'idTag'}/{quote(token['id_token'], safe='')}"
            assert (await api.delete(href)).status_code == 204, href
        assert (await api.get("/api/v1/tokens")).json()["total"] == 0
        imported = await api.post(
            "/api/v1/tokens/import", content=csv.content, headers={"content-type": "text/csv"}
        )
        assert imported.json()["created"] == 5, imported.text
        after = (await api.get("/api/v1/tokens/export", params={"format": "json"})).json()
        assert after == before
        again = await api.post("/api/v1/tokens/import", json=after)
        assert (again.json()["created"], again.json()["updated"]) == (0, 5)


async def test_bad_requests_are_problems_not_500(server: RunningCsms) -> None:
    async with server.api() as api:
        assert (await api.post("/api/v1/tokens", json={"id_token": "T1"})).status_code == 201
        dup = await api.post("/api/v1/tokens", json={"id_token": "t1", "type": "KeyCode"})
        assert _problem(dup, 409)["href"] == "/api/v1/tokens/idTag/T1"
        _problem(
            await api.post("/api/v1/tokens", json={"id_token": "T2", "status": "Expired"}), 422
        )
        no_auth = await api.post(
            "/api/v1/tokens", json={"id_token": "T2", "type": "NoAuthorization"}
        )
        assert "idToken is empty" in _problem(no_auth, 422)["detail"]
        _problem(
            await api.post(
                "/api/v1/tokens", json={"id_token": "T2", "expiry_date": "2030-01-01T00:00:00"}
            ),
            422,
        )
        _problem(await api.post("/api/v1/tokens", json={"id_token": "x" * 256}), 422)
        _problem(await api.post("/api/v1/tokens", json={"id_token": "T2", "evse_ids": [0]}), 422)
        _problem(await api.post("/api/v1/tokens", json={"id_token": "T2", "bogus": 1}), 422)
        wrong_type = _problem(await api.get("/api/v1/tokens/ISO14443/T1"), 404)
        assert wrong_type["href"] == "/api/v1/tokens/idTag/T1"
        _problem(await api.get("/api/v1/tokens/Bogus/T1"), 404)
        _problem(await api.patch("/api/v1/tokens/idTag/NOPE", json={"status": "Blocked"}), 404)
        _problem(await api.delete("/api/v1/tokens/idTag/NOPE"), 404)
        _problem(await api.patch("/api/v1/tokens/idTag/T1", json={"status": "Expired"}), 422)
        _problem(await api.get("/api/v1/tokens", params={"cursor": "!!"}), 400)
        _problem(await api.get("/api/v1/tokens", params={"type": "Bogus"}), 422)
        _problem(await api.get("/api/v1/tokens", params={"limit": 501}), 422)
        _problem(await api.get("/api/v1/tokens/export", params={"format": "xml"}), 422)
        url = "/api/v1/tokens/import"
        _problem(await api.post(url, content=b"a", headers={"content-type": "text/plain"}), 415)
        _problem(await api.post(url, content=b"x"), 415)  # no declared type
        _problem(await api.post(url, json={"id_token": "A"}), 422)  # not an array
        _problem(
            await api.post(url, content=b"[", headers={"content-type": "application/json"}), 422
        )
        _problem(await api.post(url, content=b"\xff", headers={"content-type": "text/csv"}), 422)
        _problem(
            await api.post(url, content="nope\r\nx", headers={"content-type": "text/csv"}), 422
        )
        _problem(await api.post(url, content="", headers={"content-type": "text/csv"}), 422)
        _problem(await api.post(url, json=[1, "x"]), 422)
        big = b"[" + b" " * (8 * 1024 * 1024) + b"]"
        _problem(
            await api.post(url, content=big, headers={"content-type": "application/json"}), 413
        )
        # Control characters (NUL: PostgreSQL refuses it in text) never reach the database.
        _problem(await api.post("/api/v1/tokens", json={"id_token": "A\u0000"}), 422)
        lone_surrogate = b'{"id_token": "A\\ud800"}'
        json_type = {"content-type": "application/json"}
        _problem(await api.post("/api/v1/tokens", content=lone_surrogate, headers=json_type), 422)
        _problem(await api.get("/api/v1/tokens", params={"search": "\x00"}), 422)
        _problem(await api.get("/api/v1/tokens", params={"group": "\x01"}), 422)
        _problem(await api.get("/api/v1/tokens/idTag/A%00"), 404)
        nul_cursor = base64.urlsafe_b64encode(b"k\x00").decode()
        _problem(await api.get("/api/v1/tokens", params={"cursor": nul_cursor}), 400)
        _problem(await api.post(url, json=[{"id_token": "B", "group_id_token": "\x00"}]), 422)
        patched = await api.patch("/api/v1/tokens/idTag/T1", json={"type": "ISO15693"})
        assert patched.json()["href"] == "/api/v1/tokens/ISO15693/T1"
        cleared = await api.patch("/api/v1/tokens/ISO15693/T1", json={"type": None})
        assert cleared.json()["type"] is None
