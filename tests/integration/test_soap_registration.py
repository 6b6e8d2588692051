"""SOAP stations the registry does not know yet, their From address across restarts, and their
exchanges in the message log (issue 12), with zeep as the charge point."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from zeep.exceptions import Fault

from csms.domain.model import UnknownStationPolicy
from tests.integration.harness import PASSWORD, RunningCsms, running_csms, settings_for
from tests.integration.soap_cp import charge_point_service
from tests.integration.test_soap import _envelope, _post, _reason, soap_station, soap_url

STRONG = b"a-strong-first-password-1"


@asynccontextmanager
async def csms_with(
    tmp_path: Path, database_url: str | None = None, **server: Any
) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path, soap_enabled=True, soap_port=0, **server)
    if database_url is not None:
        settings = dataclasses.replace(
            settings, database=dataclasses.replace(settings.database, url=database_url)
        )
    async with running_csms(settings) as running:
        yield running


# ---------------------------------------------------------------- unknown stations


@pytest.mark.parametrize(
    ("policy", "version", "boot_status", "stored"),
    [
        (UnknownStationPolicy.PENDING, "1.6", "Pending", "Pending"),
        (UnknownStationPolicy.PENDING, "1.5", "Rejected", "Pending"),  # 1.5 has no Pending
        (UnknownStationPolicy.ACCEPT, "1.6", "Accepted", "Accepted"),
    ],
)
async def test_unknown_soap_stations_follow_the_policy(
    *,
    database_url: str,
    tmp_path: Path,
    policy: UnknownStationPolicy,
    version: str,
    boot_status: str,
    stored: str,
) -> None:
    async with csms_with(tmp_path, database_url, unknown_stations=policy) as server:
        cp = soap_station(soap_url(server), "SOAP-NEW", version, password=STRONG)
        boot = await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        assert boot.status == boot_status
        async with server.api() as api:
            detail = (await api.get("/api/v1/stations/SOAP-NEW")).json()
        assert detail["registration_status"] == stored, detail
        assert detail["has_password"] is True  # trust on first use: its first password is its own
        # From now on that password, and only it, is the station's.
        again = await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        assert again.status == boot_status
        impostor = await _post(
            server, _envelope("SOAP-NEW", "<heartbeatRequest/>"), identity="SOAP-NEW"
        )
        assert impostor.status_code == 401, impostor.text


async def test_self_registration_refusals(tmp_path: Path) -> None:
    async with csms_with(
        tmp_path,
        unknown_stations=UnknownStationPolicy.PENDING,
        registrations_per_address=2,
        max_pending_registrations=1,
    ) as server:
        body = "<heartbeatRequest/>"
        # No password, or a weak one: it cannot become the station's (401).
        bare = await _post(server, _envelope("SOAP-A", body), identity="SOAP-A", password=b"")
        assert bare.status_code == 401 and "first password" in _reason(bare)
        weak = await _post(server, _envelope("SOAP-A", body), identity="SOAP-A", password=b"1234")
        assert weak.status_code == 401
        # Not a valid OCPP identity: never registered.
        long_id = "X" * 49  # at most 48 characters
        odd = await _post(server, _envelope(long_id, body), identity=long_id, password=STRONG)
        assert odd.status_code == 404, odd.text
        first = await _post(server, _envelope("SOAP-A", body), identity="SOAP-A", password=STRONG)
        # Registered Pending; a Heartbeat before an accepted boot is refused by the dispatcher.
        assert first.status_code == 400 and "SecurityError" in _reason(first)
        # CSMS_MAX_PENDING_REGISTRATIONS stations are Pending already: 503 with Retry-After.
        capped = await _post(server, _envelope("SOAP-B", body), identity="SOAP-B", password=STRONG)
        assert capped.status_code == 503 and "Retry-After" in capped.headers, capped.text
        # The address's registrations per window are spent: 429.
        paced = await _post(server, _envelope("SOAP-C", body), identity="SOAP-C", password=STRONG)
        assert paced.status_code == 429 and "Retry-After" in paced.headers, paced.text
        async with server.api() as api:
            listed = (await api.get("/api/v1/stations")).json()
        assert [s["id"] for s in listed["items"]] == ["SOAP-A"]


async def test_reject_policy_spends_the_unknown_identity_budget(tmp_path: Path) -> None:
    async with csms_with(tmp_path, unknown_identity_failures_per_address=2) as server:
        replies = [
            await _post(server, _envelope(f"NOBODY-{i}", "<heartbeatRequest/>"), identity="N")
            for i in range(3)
        ]
        assert [r.status_code for r in replies] == [404, 404, 429]


# ---------------------------------------------------------------- the From address


async def test_the_from_address_is_stored_and_survives_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    async with charge_point_service("1.6") as (cp_service, url):
        async with csms_with(tmp_path, database_url) as server:
            await server.add_station("SOAP-FROM")
            cp = soap_station(soap_url(server), "SOAP-FROM")
            cp.from_header.address = "http://192.0.2.1/old"
            await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
            cp.from_header.address = url  # it moved: kept current
            await cp.call("Heartbeat")
            async with server.api() as api:
                detail = (await api.get("/api/v1/stations/SOAP-FROM")).json()
            assert (detail["transport"], detail["ocpp_version"]) == ("soap", "1.6")
            assert detail["soap_endpoint"] == url
        async with csms_with(tmp_path, database_url) as server:
            async with server.api() as api:
                offline = (await api.get("/api/v1/stations/SOAP-FROM")).json()
            assert offline["online"] is False and offline["soap_endpoint"] == url
            # Back after the restart with a call that carries no From: the stored address is used.
            cp = soap_station(soap_url(server), "SOAP-FROM")
            cp.from_header.address = None
            await cp.call("Heartbeat")
            async with server.api() as api:
                reset = await api.post("/api/v1/stations/SOAP-FROM/commands/reset", json={})
            assert reset.status_code == 200, reset.text
            assert [a for a, _, _ in cp_service.received] == ["Reset"]


# ---------------------------------------------------------------- the message log


async def _messages(server: RunningCsms, want: int, **params: Any) -> list[dict[str, Any]]:
    async with server.api() as api:
        for _ in range(200):
            body = (await api.get("/api/v1/stations/SOAP-LOG/messages", params=params)).json()
            if len(body["items"]) >= want:
                return list(body["items"])
            await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {want} rows: {body}")


async def test_soap_exchanges_are_in_the_message_log(database_url: str, tmp_path: Path) -> None:
    async with (
        charge_point_service("1.6") as (cp_service, url),
        csms_with(tmp_path, database_url) as server,
    ):
        await server.add_station("SOAP-LOG")
        cp = soap_station(soap_url(server), "SOAP-LOG")
        cp.from_header.address = url
        await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        with pytest.raises(Fault):
            await cp.call("Authorize", idTag="X" * 21)  # violates the schema (CiString20)
        async with server.api() as api:
            rotated = await api.post("/api/v1/stations/SOAP-LOG/authorization-key")
        assert rotated.status_code == 200, rotated.text
        rows = await _messages(server, 3)
        by_action = {row["action"]: row for row in rows}
        boot = by_action["BootNotification"]
        assert (boot["direction"], boot["outcome"]) == ("in", "result")
        assert boot["request"]["payload"] == {"chargePointVendor": "V", "chargePointModel": "M"}
        assert boot["response"]["payload"]["status"] == "Accepted"
        refused = by_action["Authorize"]
        assert (refused["outcome"], refused["error_code"]) == ("error", "FormationViolation")
        command = by_action["ChangeConfiguration"]
        assert (command["direction"], command["outcome"]) == ("out", "result")
        assert command["request"]["payload"] == {"key": "AuthorizationKey", "value": "********"}
        assert command["response"]["payload"] == {"status": "Accepted"}
        assert len(rows) == 3  # one row per exchange
        [(_, _, sent)] = [r for r in cp_service.received if r[0] == "ChangeConfiguration"]
        assert sent["value"] not in str(rows)  # the new password never reaches the log


async def test_the_message_log_keeps_unanswered_soap_calls(tmp_path: Path) -> None:
    async with charge_point_service("1.6") as (cp_service, url), csms_with(tmp_path) as server:
        cp_service.delay = 2.0
        await server.add_station("SOAP-LOG", password=PASSWORD)
        cp = soap_station(soap_url(server), "SOAP-LOG")
        cp.from_header.address = url
        await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        async with server.api() as api:
            slow = await api.post(
                "/api/v1/stations/SOAP-LOG/commands/reset", json={}, params={"timeout": 1}
            )
        assert slow.status_code == 504
        rows = await _messages(server, 1, action="Reset")
        assert rows[0]["outcome"] == "unanswered"
