"""Nothing acknowledged is lost (ocpp-rules §3.3): across a clean restart and a process crash."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

from csms.domain.model import RegistrationStatus
from csms.storage import open_store
from csms.storage.tables import transactions
from tests.unit.storage.builders import (
    a_boot,
    a_meter_values,
    a_station,
    a_status,
    a_transaction_event,
    at,
)
from tests.unit.storage.db import fetch


async def test_data_survives_closing_and_reopening(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await store.stations.add(a_station("CS1", registration_status=RegistrationStatus.PENDING))
        await store.stations.record_boot("CS1", a_boot(), RegistrationStatus.ACCEPTED, at(1))
        await store.stations.record_status(a_status(status="Charging", timestamp=at(2)))
        await store.transactions.record_meter_values(a_meter_values())
        await store.transactions.record_transaction_event(a_transaction_event(0, "Started"))
        store.stations.touch("CS1", at(3))
    finally:
        await store.aclose()

    reopened = await open_store(database_url)  # migrating again is a no-op
    try:
        station = await reopened.stations.get("CS1")
        assert station is not None
        assert (station.accepted, station.vendor_name, station.last_seen_at) == (
            True,
            "Acme",
            at(3),
        )
        [state] = await reopened.stations.connector_states("CS1")
        assert state.status == "Charging"
        [tx] = await fetch(reopened.engine, transactions)
        assert tx["started_at"] == at(0)
        # The event is remembered: a station's retry after the restart is not applied twice.
        event = a_transaction_event(0, "Started")
        assert await reopened.transactions.record_transaction_event(event) is False
    finally:
        await reopened.aclose()


_ROOT = Path(__file__).resolve().parents[3]

# The child acknowledges each write on stdout once it returns, and dies abruptly (no close, no
# flush) while other writes are still queued: the "kill -9 between commit and reply" of §6 test 61.
_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    from csms.storage import open_store
    from tests.unit.storage.builders import a_status, at

    async def main(url):
        store = await open_store(url, migrate=False)
        acked = 0

        async def write(i):
            nonlocal acked
            await store.stations.record_status(a_status(connector_id=i, timestamp=at(i)))
            sys.stdout.write(f"{i}\\n")
            sys.stdout.flush()
            acked += 1
            if acked == 300:
                os._exit(0)

        await asyncio.gather(*(write(i) for i in range(1000)))

    asyncio.run(main(sys.argv[1]))
    """
)


async def test_acknowledged_writes_survive_a_crash(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await store.stations.add(a_station("CS1"))
    finally:
        await store.aclose()

    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _CHILD, database_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=_ROOT,  # the child imports the builders from tests/
    )
    assert child.returncode == 0, child.stderr
    acked = {int(line) for line in child.stdout.split()}
    assert len(acked) >= 300

    reopened = await open_store(database_url)
    try:
        history = await reopened.stations.status_history("CS1", limit=10_000)
    finally:
        await reopened.aclose()
    assert acked <= {report.connector_id for report in history}
