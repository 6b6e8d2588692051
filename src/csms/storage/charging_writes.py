"""Group-committed writes of 1.6 transactions, meter values, reservations and operator closes.

Each kind is a :class:`~csms.storage.writes.BatchWrite`: the committer applies a batch of them
inside its one transaction, so a StartTransaction's id, a StopTransaction's close and a
MeterValues' samples are committed before the station's message is acknowledged, at the cost of
one commit per batch. They need answers from the database (a RETURNING id, "was this new?"), so
each write runs its own statements, in submission order; they are far rarer than the
executemany-friendly kinds (status, 2.x events).

Idempotency (ocpp-rules §3.1) is decided by unique keys, atomically, also against another csms
process on the same PostgreSQL database:

* Start: ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` on (station, connector, idTag,
  timestamp, meterStart); no row returned → the retry's transaction is looked up.
* Stop: the transaction row is read ``FOR UPDATE``; one already closed by its station is a retry.
* MeterValues and unmatched messages: a content digest per station, inserted ``ON CONFLICT DO
  NOTHING``; only a new digest stores samples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.model import MeterSample
from csms.domain.reservations import Reservation, ReservationStatus
from csms.domain.tokens import IdToken, IdTokenInfo, evaluate, token_key
from csms.domain.transactions import (
    RegisterMark,
    StartResult,
    StopOutcome,
    StopResult,
    Transaction,
    TransactionAudit,
    TransactionFlag,
    TransactionStart,
    TransactionStop,
    check_registers,
    energy_wh,
    flags_text,
    in_future,
    parse_flags,
)
from csms.storage import charging_rows as rows
from csms.storage.dialect import dialect_insert
from csms.storage.rows import INSERT_METER_VALUES, meter_tuples
from csms.storage.statements import codec
from csms.storage.tables import transactions
from csms.storage.tables_charging import (
    id_tokens,
    reservations,
    transaction_audit,
    transactions_v16,
    unmatched_transaction_messages,
)
from csms.storage.writes import BatchWrite

__all__ = [
    "CloseTransaction",
    "CreateReservation",
    "PutIdToken",
    "SetReservationStatus",
    "StartTransaction",
    "StopTransaction",
    "Unmatched",
    "content_digest",
    "keep_unmatched",
    "read_id_token_info",
]

STATION = "station"
OPERATOR = "operator"


def content_digest(value: object) -> str:
    """SHA-256 of the canonical JSON of ``value``: equal content, equal digest."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


# --- id tokens ------------------------------------------------------------------------------


async def read_id_token_info(
    conn: AsyncConnection, id_token: str, now: datetime, *, exclude_transaction: int | None = None
) -> IdTokenInfo:
    """Evaluate ``id_token`` at ``now``; ``exclude_transaction`` is the one the message is about.

    One statement: the token and whether it is in an open 1.6 or 2.x transaction.
    """
    key = token_key(id_token)
    t16, t2 = transactions_v16.c, transactions.c
    open_v16 = [t16.id_tag_key == key, t16.ended_at.is_(None)]
    if exclude_transaction is not None:
        open_v16.append(t16.id != exclude_transaction)
    open_v2 = exists().where(
        t2.id_token == id_token, t2.started_at.is_not(None), t2.ended_at.is_(None)
    )
    stmt = select(
        id_tokens,
        exists().where(*open_v16).label("busy_v16"),
        open_v2.label("busy_v2"),
    ).where(id_tokens.c.key == key)
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        return evaluate(None, now, in_other_transaction=False)
    busy = bool(row["busy_v16"]) or bool(row["busy_v2"])
    return evaluate(rows.id_token(row), now, in_other_transaction=busy)


@dataclass(frozen=True, slots=True)
class PutIdToken(BatchWrite[None]):
    token: IdToken
    now: datetime

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        for w in writes:
            values = rows.id_token_row(w.token, w.now)
            stmt = dialect_insert(conn, id_tokens).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={
                    name: stmt.excluded[name]
                    for name in ("id_token", "status", "expiry_date", "parent_id_token")
                }
                | {"updated_at": stmt.excluded.updated_at},
            )
            await conn.execute(stmt)
        return [None] * len(writes)


# --- start ----------------------------------------------------------------------------------


@dataclass(slots=True)
class StartTransaction(BatchWrite[StartResult]):
    start: TransactionStart
    received_at: datetime
    batch_order: ClassVar[int] = 10

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return [await _start(conn, w.start, w.received_at) for w in writes]


_START_KEY = ("station_id", "evse_id", "id_tag", "started_at", "meter_start")


async def _start(conn: AsyncConnection, s: TransactionStart, now: datetime) -> StartResult:
    t = transactions_v16.c
    flags: set[TransactionFlag] = set()
    if in_future(s.timestamp, now):
        flags.add(TransactionFlag.FUTURE_TIMESTAMP)
    values = {
        "station_id": s.station_id,
        "evse_id": s.evse_id,
        "connector_id": s.connector_id,
        "id_tag": s.id_token,
        "id_tag_key": token_key(s.id_token),
        "meter_start": s.meter_start_wh,
        "started_at": s.timestamp,
        "reservation_id": s.reservation_id,
        "register_wh": float(s.meter_start_wh),
        "register_at": s.timestamp,
        "created_at": now,
        "updated_at": now,
    }
    # Verified before the insert, so the new transaction does not count against its own token.
    info = await read_id_token_info(conn, s.id_token, now)
    values["id_tag_status"] = info.status.value
    values["flags"] = flags_text(flags)
    stmt = (
        dialect_insert(conn, transactions_v16)
        .values(values)
        .on_conflict_do_nothing(index_elements=list(_START_KEY))
        .returning(t.id)
    )
    inserted = (await conn.execute(stmt)).first()
    if inserted is None:  # a retry (new message id, same content): the same transaction
        where = [t[name] == values[name] for name in _START_KEY]
        found = (await conn.execute(select(t.id, t.flags).where(*where))).one()
        transaction_id = int(found[0])
        info = await read_id_token_info(conn, s.id_token, now, exclude_transaction=transaction_id)
        return StartResult(transaction_id, info, duplicate=True, flags=parse_flags(found[1]))
    transaction_id = int(inserted[0])
    if s.reservation_id is not None:
        # 1.6 §4.8: the transaction ends the reservation it names, whatever its state (the
        # station may have started offline, after the reservation expired here).
        used = await conn.execute(
            update(reservations)
            .where(
                reservations.c.id == s.reservation_id,
                reservations.c.station_id == s.station_id,
                reservations.c.transaction_id.is_(None),
            )
            .values(
                status=ReservationStatus.USED.value, transaction_id=transaction_id, updated_at=now
            )
        )
        if used.rowcount != 1:
            flags.add(TransactionFlag.RESERVATION_NOT_FOUND)
            await conn.execute(
                update(transactions_v16)
                .where(t.id == transaction_id)
                .values(flags=flags_text(flags))
            )
    return StartResult(transaction_id, info, duplicate=False, flags=frozenset(flags))


# --- stop -----------------------------------------------------------------------------------


@dataclass(slots=True)
class StopTransaction(BatchWrite[StopResult]):
    stop: TransactionStop
    received_at: datetime
    batch_order: ClassVar[int] = 20

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return [await _stop(conn, w.stop, w.received_at) for w in writes]


async def _load_transaction(conn: AsyncConnection, transaction_id: int) -> Mapping[Any, Any] | None:
    stmt = select(transactions_v16).where(transactions_v16.c.id == transaction_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).mappings().first()


async def _stop(conn: AsyncConnection, s: TransactionStop, now: datetime) -> StopResult:
    row = await _load_transaction(conn, s.transaction_id) if s.transaction_id > 0 else None
    if row is None or row["station_id"] != s.station_id:
        # 1.6 errata 3.18 (-1), unknown ids, and another station's id (ocpp-rules §6 tests
        # 51-52): acknowledged, never applied to any session, kept whole for reconciliation.
        outcome = StopOutcome.UNKNOWN if row is None else StopOutcome.FOREIGN
        await keep_unmatched(
            conn,
            Unmatched(s.station_id, "StopTransaction", s.transaction_id, outcome, s.raw),
            samples=s.samples,
            now=now,
        )
        info = await read_id_token_info(conn, s.id_token, now) if s.id_token else None
        return StopResult(outcome, info)
    transaction_id = int(row["id"])
    info = (
        await read_id_token_info(conn, s.id_token, now, exclude_transaction=transaction_id)
        if s.id_token
        else None
    )
    old_flags = parse_flags(row["flags"])
    if row["closed_by"] == STATION:  # a retried Stop: closed once, its values stored once
        return StopResult(StopOutcome.ALREADY_CLOSED, info, row["energy_wh"], old_flags)
    energy, flags = energy_wh(int(row["meter_start"]), s.meter_stop_wh)
    flags = flags | old_flags
    if in_future(s.timestamp, now):
        flags |= {TransactionFlag.FUTURE_TIMESTAMP}
    if s.timestamp < row["started_at"]:
        flags |= {TransactionFlag.STOP_BEFORE_START}
    stop_reading = MeterSample(s.timestamp, float(s.meter_stop_wh), str(s.meter_stop_wh))
    mark, regressed = check_registers(
        RegisterMark(row["register_wh"], row["register_at"]), (*s.samples, stop_reading)
    )
    if regressed:
        flags |= {TransactionFlag.NON_MONOTONIC_REGISTER}
    outcome = StopOutcome.CLOSED
    if row["closed_by"] == OPERATOR:
        outcome = StopOutcome.RECONCILED
        flags |= {TransactionFlag.STOPPED_AFTER_OPERATOR_CLOSE}
        await _audit(
            conn,
            TransactionAudit(
                str(transaction_id),
                s.station_id,
                "station-stop-after-close",
                STATION,
                s.reason,
                now,
                {"meter_stop": s.meter_stop_wh, "energy_wh": energy},
            ),
        )
    await conn.execute(
        update(transactions_v16)
        .where(transactions_v16.c.id == transaction_id)
        .values(
            ended_at=s.timestamp,
            meter_stop=s.meter_stop_wh,
            energy_wh=energy,
            stopped_reason=s.reason,
            stop_id_tag=s.id_token,
            closed_by=STATION,
            flags=flags_text(flags),
            register_wh=mark.wh,
            register_at=mark.at,
            updated_at=now,
        )
    )
    await _insert_samples(conn, s.station_id, row["evse_id"], str(transaction_id), s.samples, now)
    return StopResult(outcome, info, energy, frozenset(flags))


async def _insert_samples(  # noqa: PLR0917 - the columns of a meter value
    conn: AsyncConnection,
    station_id: str,
    evse_id: int | None,
    transaction_id: str | None,
    samples: Sequence[MeterSample],
    now: datetime,
) -> None:
    if not samples:
        return
    timestamp = codec(conn.dialect).timestamp
    out: list[tuple[Any, ...]] = []
    meter_tuples(
        out,
        station_id,
        evse_id,
        transaction_id,
        samples,
        received_at=timestamp(now),
        timestamp=timestamp,
    )
    await INSERT_METER_VALUES.executemany(conn, out)


@dataclass(frozen=True, slots=True)
class Unmatched:
    """A message naming no transaction of its station."""

    station_id: str
    action: str
    transaction_id: int | None
    outcome: StopOutcome
    raw: Mapping[str, Any]


async def keep_unmatched(
    conn: AsyncConnection,
    message: Unmatched,
    *,
    samples: Sequence[MeterSample],
    now: datetime,
    digest: str | None = None,
) -> bool:
    """Keep a message that names no transaction of its station; False if kept before."""
    station_id, transaction_id = message.station_id, message.transaction_id
    stmt = (
        dialect_insert(conn, unmatched_transaction_messages)
        .values(
            station_id=station_id,
            action=message.action,
            transaction_id=transaction_id,
            outcome=message.outcome.value,
            digest=digest or content_digest([message.action, message.raw]),
            raw=dict(message.raw),
            received_at=now,
        )
        .on_conflict_do_nothing(index_elements=["station_id", "digest"])
        .returning(unmatched_transaction_messages.c.id)
    )
    new = (await conn.execute(stmt)).first() is not None
    if new and transaction_id is not None:
        # Samples are kept as reported, under the reporting station and the id it gave.
        await _insert_samples(conn, station_id, None, str(transaction_id), samples, now)
    return new


async def _audit(conn: AsyncConnection, record: TransactionAudit) -> None:
    await conn.execute(
        insert(transaction_audit).values(
            transaction_id=int(record.transaction_id),
            station_id=record.station_id,
            action=record.action,
            operator=record.operator,
            reason=record.reason,
            details=record.details,
            at=record.at,
        )
    )


# --- operator close -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloseTransaction(BatchWrite[Transaction | str]):
    """An operator closes an open transaction; the result is the closed transaction, or
    "unknown" / "closed" when there is nothing to close."""

    transaction_id: int
    operator: str
    reason: str
    now: datetime
    batch_order: ClassVar[int] = 40

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return [await _close(conn, w) for w in writes]


async def _close(conn: AsyncConnection, w: CloseTransaction) -> Transaction | str:
    row = await _load_transaction(conn, w.transaction_id)
    if row is None:
        return "unknown"
    if row["ended_at"] is not None:
        return "closed"
    # Nothing better is known than the last register reading: bill up to it, end it then.
    meter_stop = int(row["register_wh"])
    energy, flags = energy_wh(int(row["meter_start"]), meter_stop)
    flags = flags | parse_flags(row["flags"]) | {TransactionFlag.CLOSED_BY_OPERATOR}
    values = {
        "ended_at": max(row["register_at"], row["started_at"]),
        "meter_stop": meter_stop,
        "energy_wh": energy,
        "stopped_reason": w.reason,
        "closed_by": OPERATOR,
        "flags": flags_text(flags),
        "updated_at": w.now,
    }
    await conn.execute(
        update(transactions_v16).where(transactions_v16.c.id == w.transaction_id).values(values)
    )
    details = {
        "meter_stop": meter_stop,
        "energy_wh": energy,
        "last_activity": row["updated_at"].isoformat(),
    }
    await _audit(
        conn,
        TransactionAudit(
            str(w.transaction_id), row["station_id"], "close", w.operator, w.reason, w.now, details
        ),
    )
    return rows.transaction(dict(row) | values)


# --- reservations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateReservation(BatchWrite[Reservation]):
    station_id: str
    connector_id: int
    id_token: str
    parent_id_token: str | None
    expiry_date: datetime
    now: datetime
    batch_order: ClassVar[int] = 50

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        out = []
        for w in writes:
            values = {
                "station_id": w.station_id,
                "connector_id": w.connector_id,
                "id_token": w.id_token,
                "parent_id_token": w.parent_id_token,
                "expiry_date": w.expiry_date,
                "status": ReservationStatus.REQUESTED.value,
                "created_at": w.now,
                "updated_at": w.now,
            }
            stmt = insert(reservations).values(values).returning(reservations.c.id)
            reservation_id = int((await conn.execute(stmt)).one()[0])
            out.append(rows.reservation(values | {"id": reservation_id, "transaction_id": None}))
        return out


@dataclass(frozen=True, slots=True)
class SetReservationStatus(BatchWrite[bool]):  # False: no such reservation
    reservation_id: int
    status: ReservationStatus
    now: datetime
    # Before starts: a StartTransaction in the same batch consumes the reservation afterwards.
    batch_order: ClassVar[int] = 5

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        out = []
        r = reservations.c
        for w in writes:
            found = await conn.execute(select(r.status).where(r.id == w.reservation_id))
            current = found.scalar_one_or_none()
            if current is None:
                out.append(False)
                continue
            if current != ReservationStatus.USED.value:  # a used reservation stays used
                stmt = (
                    update(reservations)
                    .where(r.id == w.reservation_id)
                    .values(status=w.status.value, updated_at=w.now)
                )
                await conn.execute(stmt)
            out.append(True)
        return out
