"""The ledger's keyset pages over the 1.6 and 2.x tables, on SQLite and PostgreSQL: walking the
cursor page by page, whatever the page size and filters, gives exactly the rows a full sort
gives, in order, once each — with many equal start times across both tables and 2.x rows that
have no start time (the tail)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from csms.domain.ledger import LedgerKey, LedgerVersion, TransactionQuery
from csms.storage import Store
from csms.storage.tables import transactions
from csms.storage.tables_charging import transactions_v16
from tests.unit.storage.builders import a_station

T0 = datetime(2026, 12, 1, tzinfo=UTC)


async def _fill(store: Store, count: int, seed: int) -> list[tuple[LedgerKey, str, int, bool]]:
    """Rows with start times from only 5 distinct instants (ties everywhere), some 2.x without one;
    returns (key, station, evse, open) of each."""
    rng = random.Random(seed)
    await store.stations.add(a_station("CS2"))
    made: list[tuple[LedgerKey, str, int, bool]] = []
    rows16: list[dict[str, Any]] = []
    rows2: list[dict[str, Any]] = []
    for n in range(count):
        station, evse, is_open = rng.choice(("CS1", "CS2")), rng.randint(1, 2), rng.random() < 0.3
        started = T0 + timedelta(minutes=rng.randrange(5))
        ended = None if is_open else started + timedelta(hours=1)
        if rng.random() < 0.5:
            row_id = len(rows16) + 1
            rows16.append(
                {
                    "id": row_id, "station_id": station, "evse_id": evse, "connector_id": 1,
                    "id_tag": f"T{n}", "id_tag_key": f"t{n}", "meter_start": 0,
                    "started_at": started, "ended_at": ended, "register_wh": 0.0,
                    "register_at": started, "created_at": started, "updated_at": started,
                }
            )  # fmt: skip
            made.append((LedgerKey(started, LedgerVersion.V16, row_id), station, evse, is_open))
        else:
            row_id = len(rows2) + 1
            no_start = rng.random() < 0.25
            rows2.append(
                {
                    "id": row_id, "station_id": station, "transaction_id": f"TX{n}",
                    "evse_id": evse, "started_at": None if no_start else started,
                    "ended_at": ended, "updated_at": started,
                }
            )  # fmt: skip
            key = LedgerKey(None if no_start else started, LedgerVersion.V2, row_id)
            made.append((key, station, evse, is_open))
    async with store.engine.begin() as conn:
        await conn.execute(insert(transactions_v16), rows16)
        await conn.execute(insert(transactions), rows2)
    return made


def _expected(made: list[tuple[LedgerKey, str, int, bool]]) -> list[LedgerKey]:
    started = sorted((k for k, *_ in made if k.started_at is not None), reverse=True)
    tail = sorted((k for k, *_ in made if k.started_at is None), key=lambda k: -k.row_id)
    return started + tail


async def _walk(store: Store, query: TransactionQuery, limit: int) -> list[LedgerKey]:
    walked: list[LedgerKey] = []
    after = None
    for _ in range(1000):
        page = await store.ledger.page(query, after=after, limit=limit + 1)
        walked += [e.key for e in page[:limit]]
        if len(page) <= limit:
            return walked
        after = page[limit - 1].key
    raise AssertionError("the walk does not end")


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
async def test_walking_the_cursor_gives_the_full_sort_once(store: Store, limit: int) -> None:
    made = await _fill(store, 60, seed=limit)
    assert await _walk(store, TransactionQuery(), limit) == _expected(made)
    cs2 = [m for m in made if m[1] == "CS2" and m[2] == 2]
    walked = await _walk(store, TransactionQuery(station_id="CS2", evse_id=2), limit)
    assert walked == _expected(cs2)
    opened = [m for m in made if m[3]]
    assert await _walk(store, TransactionQuery(open=True), limit) == _expected(opened)
    assert await store.ledger.count(TransactionQuery(open=True)) == len(opened)
    v2 = [m for m in made if m[0].version is LedgerVersion.V2]
    walked = await _walk(store, TransactionQuery(version=LedgerVersion.V2), limit)
    assert walked == _expected(v2)
    window = TransactionQuery(
        started_from=T0 + timedelta(minutes=1), started_to=T0 + timedelta(minutes=3)
    )
    inside = [
        m
        for m in made
        if m[0].started_at is not None
        and window.started_from <= m[0].started_at < window.started_to
    ]  # type: ignore[operator]
    assert await _walk(store, window, limit) == _expected(inside)
    assert await store.ledger.count(window) == len(inside)
