"""Handshake budgets on the wire (issue 7 findings 2 and 8; docs/behaviour.md "Handshake throttle").

Clients bind 127.0.0.x source addresses on loopback (as ``csms loadtest`` does) to play an attacker
and honest stations at the same or at other addresses.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from websockets.exceptions import InvalidStatus

from csms.domain.model import RegistrationStatus, UnknownStationPolicy
from csms.storage.store import Store
from tests.integration.harness import (
    BOOT_16,
    PASSWORD,
    RunningCsms,
    call,
    running_csms,
    settings_for,
)

ATTACKER = "127.0.0.2"


async def refusal(
    server: RunningCsms, identity: str, source: str, password: bytes | None = PASSWORD
) -> tuple[int, str | None]:
    """Connect and expect a refusal: return its status and Retry-After."""
    with pytest.raises(InvalidStatus) as caught:
        async with server.connect(identity, password=password, local_addr=(source, 0)):
            pass
    response = caught.value.response
    return response.status_code, response.headers.get("Retry-After")


async def boots(server: RunningCsms, identity: str, source: str) -> str:
    """Connect from ``source`` with the right password; return the BootNotification status."""
    async with server.connect(identity, local_addr=(source, 0)) as ws:
        return str((await call(ws, "1", "BootNotification", BOOT_16))[2]["status"])


def store_of(server: RunningCsms) -> Store:
    assert server.csms.store is not None
    return server.csms.store


@asynccontextmanager
async def csms_with(
    tmp_path: Path, database_url: str | None = None, **server: Any
) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path, **server)
    if database_url is not None:
        database = dataclasses.replace(settings.database, url=database_url)
        settings = dataclasses.replace(settings, database=database)
    async with running_csms(settings) as running:
        yield running


# ------------------------------------------------------------------ finding 2: failed logins

BUDGETS = {
    "auth_failures_per_address": 3,
    "auth_failures_per_identity": 3,
    "unknown_identity_failures_per_address": 3,
}


async def test_unknown_identities_cannot_lock_out_a_station_behind_the_same_address(
    tmp_path: Path,
) -> None:
    """Requests that need no credentials (unknown identities) from a shared address (a site
    router, a carrier NAT) are throttled on their own budget; the station there still gets in."""
    async with csms_with(tmp_path, **BUDGETS) as server:
        await server.add_station("HONEST")
        codes = [(await refusal(server, f"SCAN-{n}", ATTACKER))[0] for n in range(5)]
        assert codes == [404, 404, 404, 429, 429]
        assert (await refusal(server, "SCAN-9", ATTACKER))[1] is not None  # Retry-After
        assert await boots(server, "HONEST", ATTACKER) == "Accepted"
        # A wrong password for a registered station is still answered 401, not 429.
        assert (await refusal(server, "HONEST", ATTACKER, b"wrong-password-0001"))[0] == 401


async def test_wrong_passwords_cannot_lock_out_the_right_one(tmp_path: Path) -> None:
    """A guesser spends the victim's budget and its own address's: its guesses get 429, while the
    victim's right password is admitted from the guesser's address and from anywhere else."""
    async with csms_with(tmp_path, **BUDGETS) as server:
        await server.add_station("VICTIM")
        await server.add_station("NEIGHBOUR")
        guesses = [
            await refusal(server, "VICTIM", ATTACKER, b"guess-guess-guess-%d" % n) for n in range(5)
        ]
        assert [code for code, _ in guesses] == [401, 401, 401, 429, 429]
        assert guesses[3][1] is not None and int(guesses[3][1]) >= 1
        # The victim's budget counts every address: a second guesser is refused too...
        assert (await refusal(server, "VICTIM", "127.0.0.3", b"guess-guess-guess-9"))[0] == 429
        # ...and the guesser's address budget is spent for other identities.
        assert (await refusal(server, "NEIGHBOUR", ATTACKER, b"guess-guess-guess-9"))[0] == 429
        # The right password always gets in, from the same address and from another.
        assert await boots(server, "VICTIM", ATTACKER) == "Accepted"
        assert await boots(server, "NEIGHBOUR", ATTACKER) == "Accepted"
        async with server.connect("VICTIM", local_addr=("127.0.0.4", 0)) as ws:
            cp = ChargePoint16("VICTIM", ws)
            task = asyncio.create_task(cp.start())
            try:
                boot = await cp.call(
                    call16.BootNotification(charge_point_model="M", charge_point_vendor="V")
                )
            finally:
                task.cancel()
            assert boot.status == "Accepted"


# ------------------------------------------------------------ finding 8: self-registration


async def test_self_registration_is_rate_limited(database_url: str, tmp_path: Path) -> None:
    """``pending``: a small burst per process and a smaller share per address, then 429 with
    Retry-After and nothing stored."""
    async with csms_with(
        tmp_path,
        database_url,
        unknown_stations=UnknownStationPolicy.PENDING,
        registration_rate=0.01,  # no token comes back during the test
        registration_burst=3,
        registrations_per_address=2,
    ) as server:
        assert await boots(server, "NEW-1", ATTACKER) == "Pending"
        assert await boots(server, "NEW-2", ATTACKER) == "Pending"
        code, retry_after = await refusal(server, "NEW-3", ATTACKER)  # the address's share
        assert code == 429 and retry_after is not None and int(retry_after) >= 1
        assert await boots(server, "NEW-3", "127.0.0.3") == "Pending"
        code, retry_after = await refusal(server, "NEW-4", "127.0.0.4")  # the process's burst
        assert code == 429 and retry_after is not None and int(retry_after) >= 90
        stations = store_of(server).stations
        assert await stations.get("NEW-4") is None
        assert await stations.count(registration_status=RegistrationStatus.PENDING) == 3
        await server.add_station("KNOWN")  # known stations are never paced
        assert await boots(server, "KNOWN", "127.0.0.4") == "Accepted"
        assert await boots(server, "NEW-1", ATTACKER) == "Pending"  # nor re-connections


async def test_self_registration_is_rate_limited_under_accept_too(tmp_path: Path) -> None:
    async with csms_with(
        tmp_path,
        unknown_stations=UnknownStationPolicy.ACCEPT,
        registration_rate=0.01,
        registration_burst=2,
    ) as server:
        assert await boots(server, "LAB-1", ATTACKER) == "Accepted"
        assert await boots(server, "LAB-2", "127.0.0.3") == "Accepted"
        assert (await refusal(server, "LAB-3", "127.0.0.4"))[0] == 429
        assert await store_of(server).stations.get("LAB-3") is None


async def test_pending_registrations_are_capped(database_url: str, tmp_path: Path) -> None:
    """CSMS_MAX_PENDING_REGISTRATIONS: beyond it 503 with Retry-After, nothing stored; an operator
    who accepts a station frees a place."""
    async with csms_with(
        tmp_path,
        database_url,
        unknown_stations=UnknownStationPolicy.PENDING,
        max_pending_registrations=3,
        registrations_per_address=100,
        registration_rate=100,
        registration_burst=100,
    ) as server:
        stations = store_of(server).stations
        await server.add_station("WAITING", status=RegistrationStatus.PENDING)
        assert await boots(server, "NEW-1", ATTACKER) == "Pending"
        assert await boots(server, "NEW-2", "127.0.0.3") == "Pending"
        for n, source in enumerate((ATTACKER, "127.0.0.4", "127.0.0.5")):
            code, retry_after = await refusal(server, f"OVER-{n}", source)
            assert code == 503 and retry_after == "60"  # CSMS_BOOT_RETRY_INTERVAL
            assert await stations.get(f"OVER-{n}") is None
        assert await stations.count(registration_status=RegistrationStatus.PENDING) == 3
        assert await stations.count() == 3
        await stations.set_registration("WAITING", RegistrationStatus.ACCEPTED)
        assert await boots(server, "OVER-0", ATTACKER) == "Pending"
        assert await boots(server, "NEW-1", ATTACKER) == "Pending"  # registered ones reconnect


async def test_concurrent_registrations_respect_the_cap(tmp_path: Path) -> None:
    """Registrations racing each other never take more places than the cap allows."""
    async with csms_with(
        tmp_path,
        unknown_stations=UnknownStationPolicy.PENDING,
        max_pending_registrations=5,
        registrations_per_address=100,
        registration_rate=100,
        registration_burst=100,
    ) as server:

        async def attempt(n: int) -> int:
            try:
                async with server.connect(f"RACE-{n}", local_addr=(ATTACKER, 0)):
                    return 101
            except InvalidStatus as exc:
                return exc.response.status_code

        codes = await asyncio.gather(*(attempt(n) for n in range(20)))
        assert sorted(codes) == [101] * 5 + [503] * 15
        assert await store_of(server).stations.count() == 5
