"""Group-committed writes of tokens, reservations and operator closes, and what the charging
writes share (token verification, unmatched messages, audit records, samples).

Each kind is a :class:`~csms.storage.writes.BatchWrite`: the committer applies a batch of them in
its one transaction, so whatever a response or an operator is told is committed first. These kinds
are rare (operator actions), so each write runs its own statements, in submission order. The
frequent ones are batched: Start/StopTransaction in :mod:`.charging_sessions`, MeterValues in
:mod:`.charging_meter`.

Idempotency (ocpp-rules §3.1) is decided by unique keys, atomically, also against another csms
process on the same PostgreSQL database: an unmatched message is kept once per content digest and
station (``ON CONFLICT DO NOTHING``). Tokens are evaluated with
:class:`~csms.storage.charging_sessions.TokenView`, for a batch at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.model import MeterSample
from csms.domain.reservations import Reservation, ReservationStatus
from csms.domain.tokens import IdToken
from csms.domain.transactions import (
    CLOSED_BY_CSMS,
    CLOSED_BY_OPERATOR,
    CLOSED_BY_STATION,
    StopOutcome,
    Transaction,
    TransactionAudit,
    TransactionFlag,
    energy_wh,
    flags_text,
    parse_flags,
    reading_wh,
)
from csms.storage import charging_rows as rows
from csms.storage.dialect import dialect_insert
from csms.storage.rows import INSERT_METER_VALUES, meter_tuples
from csms.storage.statements import codec
from csms.storage.tables_charging import (
    id_tokens,
    reservations,
    transaction_audit,
    transactions_v16,
    unmatched_transaction_messages,
)
from csms.storage.writes import BatchWrite

__all__ = [
    "CSMS",
    "OPERATOR",
    "STATION",
    "CloseTransaction",
    "ConsumeReservation",
    "CreateReservation",
    "PutIdToken",
    "PutReservation",
    "SetReservationStatus",
    "Unmatched",
    "audit",
    "close_v16_values",
    "content_digest",
    "keep_unmatched",
]

STATION = CLOSED_BY_STATION
OPERATOR = CLOSED_BY_OPERATOR
CSMS = CLOSED_BY_CSMS


def content_digest(value: object) -> str:
    """SHA-256 of the canonical JSON of ``value``: equal content, equal digest."""
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()


# --- id tokens ------------------------------------------------------------------------------


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
                    for name in (
                        "id_token",
                        "status",
                        "expiry_date",
                        "parent_id_token",
                        "language",
                        "evse_ids",
                        "token_type",
                    )
                }
                | {"updated_at": stmt.excluded.updated_at},
            )
            await conn.execute(stmt)
        return [None] * len(writes)


# --- shared by the writes -------------------------------------------------------------------


async def _load_transaction(conn: AsyncConnection, transaction_id: int) -> Mapping[Any, Any] | None:
    stmt = select(transactions_v16).where(transactions_v16.c.id == transaction_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).mappings().first()


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


async def audit(conn: AsyncConnection, record: TransactionAudit) -> None:
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
    values = close_v16_values(
        row, reason=w.reason, closed_by=OPERATOR, flag=TransactionFlag.CLOSED_BY_OPERATOR, now=w.now
    )
    await conn.execute(
        update(transactions_v16).where(transactions_v16.c.id == w.transaction_id).values(values)
    )
    details = {
        "meter_stop": values["meter_stop"],
        "energy_wh": values["energy_wh"],
        "last_activity": row["updated_at"].isoformat(),
    }
    await audit(
        conn,
        TransactionAudit(
            str(w.transaction_id), row["station_id"], "close", w.operator, w.reason, w.now, details
        ),
    )
    return rows.transaction(dict(row) | values)


def close_v16_values(
    row: Mapping[str, Any], *, reason: str, closed_by: str, flag: TransactionFlag, now: datetime
) -> dict[str, Any]:
    """The columns that close a 1.6 row nobody stopped: billed up to the last register reading,
    ended when it was taken (nothing better is known)."""
    meter_stop = reading_wh(float(row["register_wh"]))
    energy, flags = energy_wh(int(row["meter_start"]), meter_stop)
    return {
        "ended_at": max(row["register_at"], row["started_at"]),
        "meter_stop": meter_stop,
        "energy_wh": energy,
        "stopped_reason": reason,
        "closed_by": closed_by,
        "flags": flags_text(flags | parse_flags(row["flags"]) | {flag}),
        "updated_at": now,
    }


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
class PutReservation(BatchWrite[bool]):  # False: the id is another station's
    """A reservation with an operator-chosen id (generic ReserveNow): inserted, or replacing this
    station's reservation with that id; the id sequence is moved past it so ``create`` never
    hands it out again."""

    reservation: Reservation
    now: datetime
    batch_order: ClassVar[int] = 50

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        out = []
        r = reservations.c
        for w in writes:
            res: Reservation = w.reservation
            found = await conn.execute(select(r.station_id).where(r.id == res.reservation_id))
            owner = found.scalar_one_or_none()
            values = {
                "station_id": res.station_id,
                "connector_id": res.connector_id,
                "id_token": res.id_token,
                "parent_id_token": res.parent_id_token,
                "expiry_date": res.expiry_date,
                "status": ReservationStatus.REQUESTED.value,
                "transaction_id": None,
                "updated_at": w.now,
            }
            if owner is None:
                values |= {"id": res.reservation_id, "created_at": w.now}
                await conn.execute(insert(reservations).values(values))
                if conn.dialect.name == "postgresql":
                    await conn.execute(
                        text(
                            "SELECT setval(pg_get_serial_sequence('reservations', 'id'), "
                            "GREATEST((SELECT MAX(id) FROM reservations), 1))"
                        )
                    )
            elif owner == res.station_id:
                await conn.execute(
                    update(reservations).where(r.id == res.reservation_id).values(values)
                )
            else:
                out.append(False)
                continue
            out.append(True)
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


@dataclass(frozen=True, slots=True)
class ConsumeReservation(BatchWrite[bool]):
    """A 2.x TransactionEvent named the reservation: it is Used (idempotent for a repeat)."""

    station_id: str
    reservation_id: int
    transaction_id: str
    now: datetime
    batch_order: ClassVar[int] = 15  # after 1.6 starts, which consume their own

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        out = []
        r = reservations.c
        for w in writes:
            mine = (r.id == w.reservation_id, r.station_id == w.station_id)
            free = or_(r.transaction_id.is_(None), r.transaction_id == w.transaction_id)
            result = await conn.execute(
                update(reservations)
                .where(*mine, free)
                .values(
                    status=ReservationStatus.USED.value,
                    transaction_id=w.transaction_id,
                    updated_at=w.now,
                )
            )
            out.append(result.rowcount == 1)
        return out
