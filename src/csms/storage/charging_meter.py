"""1.6 MeterValues, de-duplicated by content and applied to their transactions, a batch at a time.

MeterValues are the most frequent transaction message (one every few seconds per charging
connector), so a batch of them costs a fixed number of statements, not a few per message:

1. the content digests of the batch (first submission wins inside the batch) go to one multi-row
   ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` per power-of-two chunk: what comes back is new,
   decided by the primary key, also against another csms process on the same PostgreSQL;
2. the transactions the new messages name are read (``FOR UPDATE`` on PostgreSQL) in one ``IN``;
3. all new samples go to ``meter_values`` in one executemany;
4. each transaction's register mark, flags and last activity are updated in one executemany.

Messages that name no transaction of their station (-1, unknown, another station's) are rare and
kept one by one in ``unmatched_transaction_messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any, ClassVar

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from csms.domain.model import MeterValuesReport
from csms.domain.transactions import (
    RegisterMark,
    StopOutcome,
    TransactionFlag,
    check_registers,
    flags_text,
    in_future,
    parse_flags,
)
from csms.storage.charging_writes import Unmatched, content_digest, keep_unmatched
from csms.storage.dialect import dialect_insert
from csms.storage.rows import INSERT_METER_VALUES, meter_tuples
from csms.storage.statements import (
    Codec,
    Prepared,
    PreparedFamily,
    codec,
    power_of_two_chunks,
)
from csms.storage.tables_charging import meter_value_messages, transactions_v16
from csms.storage.writes import BatchWrite

__all__ = ["RecordMeterValues16"]


@dataclass(slots=True)
class RecordMeterValues16(BatchWrite[bool]):  # False: the same content was stored before
    report: MeterValuesReport
    raw: dict[str, Any]  # the MeterValues payload, whose content digest is the dedup key
    received_at: datetime
    batch_order: ClassVar[int] = 30

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return await _record(conn, writes)


_DIGEST_COLUMNS = ("station_id", "digest", "received_at")


def _insert_digests(dialect: Dialect, count: int) -> ReturningInsert[Any]:
    table = meter_value_messages
    rows = [
        {name: bindparam(f"{name}__{i}", type_=table.c[name].type) for name in _DIGEST_COLUMNS}
        for i in range(count)
    ]
    return (
        dialect_insert(dialect, table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["station_id", "digest"])
        .returning(table.c.station_id, table.c.digest)
    )


_INSERT_DIGESTS = PreparedFamily(
    _insert_digests,
    len(_DIGEST_COLUMNS),
    lambda count: [f"{name}__{i}" for i in range(count) for name in _DIGEST_COLUMNS],
)

_T = transactions_v16.c
_MARK_COLUMNS = ("flags", "register_wh", "register_at")


def _select_transactions(_dialect: Dialect, count: int) -> Select[Any]:
    return (
        select(_T.id, _T.station_id, *(_T[name] for name in _MARK_COLUMNS))
        .where(_T.id.in_([0] * count))  # placeholders only: rendered, never bound
        .with_for_update()
    )


_SELECT_TRANSACTIONS = PreparedFamily(_select_transactions, 1)

_UPDATE_COLUMNS = (*_MARK_COLUMNS, "updated_at")
_UPDATE_TRANSACTIONS = Prepared(
    lambda _: update(transactions_v16).where(_T.id == bindparam("b_id", type_=_T.id.type)),
    (*_UPDATE_COLUMNS, "b_id"),
    column_keys=_UPDATE_COLUMNS,
)


@dataclass(slots=True)
class _Mark:
    station_id: str
    flags: frozenset[TransactionFlag]
    mark: RegisterMark
    updated_at: datetime  # meaningful once changed
    changed: bool = False


async def _record(conn: AsyncConnection, writes: list[RecordMeterValues16]) -> list[bool]:
    dialect_codec = codec(conn.dialect)
    timestamp = dialect_codec.timestamp
    keys = [(w.report.station_id, content_digest(w.raw)) for w in writes]
    first: dict[tuple[str, str], int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    inserted: set[tuple[str, str]] = set()
    items = [(*key, timestamp(writes[i].received_at)) for key, i in first.items()]
    for chunk in power_of_two_chunks(items):
        returned = await _INSERT_DIGESTS(len(chunk)).fetchall(conn, tuple(chain(*chunk)))
        inserted.update((row[0], row[1]) for row in returned)
    new = [i for key, i in first.items() if key in inserted]
    if not new:
        return [False] * len(writes)
    marks = await _load(conn, {_number(writes[i].report) for i in new} - {None}, dialect_codec)
    samples: list[tuple[Any, ...]] = []
    for i in new:
        w = writes[i]
        report, now = w.report, w.received_at
        meter_tuples(
            samples,
            report.station_id,
            report.evse_id,
            report.transaction_id,
            report.samples,
            received_at=timestamp(now),
            timestamp=timestamp,
        )
        if report.transaction_id is None:
            continue
        number = _number(report)
        found = marks.get(number) if number is not None else None
        if found is None or found.station_id != report.station_id:
            outcome = StopOutcome.UNKNOWN if found is None else StopOutcome.FOREIGN
            message = Unmatched(report.station_id, "MeterValues", number, outcome, w.raw)
            await keep_unmatched(conn, message, samples=(), now=now, digest=keys[i][1])
            continue
        found.mark, regressed = check_registers(found.mark, report.samples)
        if regressed:
            found.flags |= {TransactionFlag.NON_MONOTONIC_REGISTER}
        if any(in_future(s.timestamp, now) for s in report.samples):
            found.flags |= {TransactionFlag.FUTURE_TIMESTAMP}
        found.updated_at = max(found.updated_at, now) if found.changed else now
        found.changed = True
    await INSERT_METER_VALUES.executemany(conn, samples)
    await _UPDATE_TRANSACTIONS.executemany(
        conn,
        [
            (flags_text(m.flags), m.mark.wh, timestamp(m.mark.at), timestamp(m.updated_at), n)
            for n, m in marks.items()
            if m.changed
        ],
    )
    new_positions = set(new)
    return [i in new_positions for i in range(len(writes))]


def _number(report: MeterValuesReport) -> int | None:
    """The 1.6 transactionId as reported (-1 included), or None."""
    try:
        return int(report.transaction_id) if report.transaction_id is not None else None
    except ValueError:
        return None


async def _load(
    conn: AsyncConnection, numbers: set[int | None], dialect_codec: Codec
) -> dict[int, _Mark]:
    read_timestamp = dialect_codec.read_timestamp
    ids = sorted(n for n in numbers if n is not None and n > 0)  # ids issued are positive
    found: dict[int, _Mark] = {}
    for chunk in power_of_two_chunks(ids):
        for row in await _SELECT_TRANSACTIONS(len(chunk)).fetchall(conn, tuple(chunk)):
            at = read_timestamp(row[4])
            assert at is not None  # register_at is NOT NULL
            found[int(row[0])] = _Mark(
                row[1], parse_flags(row[2]), RegisterMark(float(row[3]), at), at
            )
    return found
