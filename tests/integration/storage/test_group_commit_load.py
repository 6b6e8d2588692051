"""Many stations writing at once: every write lands, in far fewer transactions than writes."""

from __future__ import annotations

import asyncio

from csms.storage import open_store
from csms.storage.tables import meter_values
from tests.unit.storage.builders import a_meter_values, a_station
from tests.unit.storage.db import CommitCounter, fetch

SUBMITTERS = 200
REPORTS_EACH = 10


async def test_two_hundred_concurrent_submitters(database_url: str) -> None:
    store = await open_store(database_url)
    try:
        await asyncio.gather(*(store.stations.add(a_station(f"CS{i}")) for i in range(SUBMITTERS)))
        counter = CommitCounter(store.engine)

        async def station(i: int) -> None:
            for _ in range(REPORTS_EACH):
                await store.transactions.record_meter_values(a_meter_values(f"CS{i}", samples=5))

        await asyncio.gather(*(station(i) for i in range(SUBMITTERS)))
        counter.close()
        assert len(await fetch(store.engine, meter_values)) == SUBMITTERS * REPORTS_EACH * 5
        # Each round of 200 reports shares a transaction or a few.
        assert counter.commits <= SUBMITTERS * REPORTS_EACH / 20, counter.commits
    finally:
        await store.aclose()
