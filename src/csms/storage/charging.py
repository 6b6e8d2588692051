"""SQL implementations of the charging ports (:mod:`csms.domain.charging_ports`).

Changes go through the group committer (see :mod:`csms.storage.charging_writes`), so each returns
once committed; reads go straight to the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.errors import (
    AmbiguousTransaction,
    TransactionNotOpen,
    UnknownReservation,
    UnknownTransaction,
)
from csms.domain.model import MeterValuesReport
from csms.domain.reservations import ACTIVE_STATUSES, Reservation, ReservationStatus
from csms.domain.tokens import IdToken, IdTokenInfo, token_key
from csms.domain.transactions import (
    StartResult,
    StopResult,
    Transaction,
    TransactionAudit,
    TransactionStart,
    TransactionStop,
    UnmatchedMessage,
)
from csms.storage import charging_rows as rows
from csms.storage.charging_closes import CloseTransactionV2, ReleaseConnector, v2_transaction
from csms.storage.charging_meter import RecordMeterValues16
from csms.storage.charging_sessions import AuthorizeToken, StartTransaction, StopTransaction
from csms.storage.charging_writes import (
    CloseTransaction,
    ConsumeReservation,
    CreateReservation,
    PutIdToken,
    PutReservation,
    SetReservationStatus,
)
from csms.storage.committer import GroupCommitter
from csms.storage.direct import reading
from csms.storage.tables import transactions
from csms.storage.tables_charging import (
    id_tokens,
    reservations,
    transaction_audit,
    transactions_v16,
    unmatched_transaction_messages,
)

__all__ = ["SqlChargingRepository", "SqlIdTokenRepository", "SqlReservationRepository"]


class SqlIdTokenRepository:
    """Implements :class:`csms.domain.charging_ports.IdTokenRepository`."""

    def __init__(self, engine: AsyncEngine, committer: GroupCommitter) -> None:
        self._engine = engine
        self._committer = committer

    async def get(self, id_token: str) -> IdToken | None:
        stmt = select(id_tokens).where(id_tokens.c.key == token_key(id_token))
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return rows.id_token(row) if row is not None else None

    async def put(self, token: IdToken, now: datetime) -> None:
        await self._committer.submit(PutIdToken(token, now))

    async def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[IdToken]:
        stmt = select(id_tokens).order_by(id_tokens.c.key).limit(limit).offset(offset)
        async with reading(self._engine) as conn:
            return [rows.id_token(row) for row in (await conn.execute(stmt)).mappings()]

    async def authorize(
        self, id_token: str, now: datetime, token_type: str | None = None
    ) -> IdTokenInfo:
        # Batched with the writes (see AuthorizeToken): no pooled connection per Authorize.
        return await self._committer.submit(AuthorizeToken(id_token, now, token_type))


class SqlChargingRepository:
    """Implements :class:`csms.domain.charging_ports.ChargingTransactionRepository`."""

    def __init__(self, engine: AsyncEngine, committer: GroupCommitter) -> None:
        self._engine = engine
        self._committer = committer

    async def start(self, start: TransactionStart, received_at: datetime) -> StartResult:
        return await self._committer.submit(StartTransaction(start, received_at))

    async def stop(self, stop: TransactionStop, received_at: datetime) -> StopResult:
        return await self._committer.submit(StopTransaction(stop, received_at))

    async def record_meter_values(
        self, report: MeterValuesReport, raw: dict[str, Any], received_at: datetime
    ) -> bool:
        return await self._committer.submit(RecordMeterValues16(report, raw, received_at))

    async def get(self, transaction_id: int) -> Transaction | None:
        stmt = select(transactions_v16).where(transactions_v16.c.id == transaction_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return rows.transaction(row) if row is not None else None

    async def get_v2(self, station_id: str, transaction_id: str) -> Transaction | None:
        t = transactions.c
        stmt = select(transactions).where(
            t.station_id == station_id, t.transaction_id == transaction_id
        )
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return v2_transaction(row) if row is not None else None

    async def list_open(
        self,
        *,
        station_id: str | None = None,
        inactive_since: datetime | None = None,
        limit: int = 100,
    ) -> Sequence[Transaction]:
        found: list[Transaction] = []
        for table, convert in (
            (transactions_v16, rows.transaction),
            (transactions, v2_transaction),
        ):
            t = table.c
            stmt = select(table).where(t.ended_at.is_(None))
            if station_id is not None:
                stmt = stmt.where(t.station_id == station_id)
            if inactive_since is not None:
                stmt = stmt.where(t.updated_at < inactive_since)
            stmt = stmt.order_by(t.updated_at, t.id).limit(limit)
            async with reading(self._engine) as conn:
                found += [convert(row) for row in (await conn.execute(stmt)).mappings()]
        found.sort(key=lambda tx: tx.updated_at or datetime.min.replace(tzinfo=UTC))
        return found[:limit]

    async def close(
        self,
        transaction_id: int | str,
        *,
        operator: str,
        reason: str,
        now: datetime,
        station_id: str | None = None,
    ) -> Transaction:
        if isinstance(transaction_id, int):
            result = await self._committer.submit(
                CloseTransaction(transaction_id, operator, reason, now)
            )
        else:
            target = await self._find_open(transaction_id, station_id)
            if target.ocpp_version == "1.6":
                write: CloseTransaction | CloseTransactionV2 = CloseTransaction(
                    int(target.transaction_id), operator, reason, now
                )
            else:
                write = CloseTransactionV2(
                    target.station_id, target.transaction_id, operator, reason, now
                )
            result = await self._committer.submit(write)
        if result == "unknown":
            raise UnknownTransaction(str(transaction_id))
        if result == "closed":
            raise TransactionNotOpen(str(transaction_id))
        assert isinstance(result, Transaction)
        return result

    async def _find_open(self, transaction_id: str, station_id: str | None) -> Transaction:
        """The one transaction ``transaction_id`` names (1.6 id or 2.x transactionId)."""
        found: list[Transaction] = []
        where16 = _int64(transaction_id)
        async with reading(self._engine) as conn:
            if where16 is not None:
                stmt16 = select(transactions_v16).where(transactions_v16.c.id == where16)
                found += [rows.transaction(r) for r in (await conn.execute(stmt16)).mappings()]
            stmt2 = select(transactions).where(transactions.c.transaction_id == transaction_id)
            found += [v2_transaction(r) for r in (await conn.execute(stmt2)).mappings()]
        if station_id is not None:
            found = [tx for tx in found if tx.station_id == station_id]
        if not found:
            raise UnknownTransaction(transaction_id)
        still_open = [tx for tx in found if tx.open]
        if not still_open:
            raise TransactionNotOpen(transaction_id)
        if len(still_open) > 1:
            stations = ", ".join(
                sorted(f"{tx.station_id} ({tx.ocpp_version})" for tx in still_open)
            )
            raise AmbiguousTransaction(f"{transaction_id} is open on {stations}: give --station")
        return still_open[0]

    async def release_connector(
        self,
        station_id: str,
        evse_id: int,
        *,
        connector_id: int | None = None,
        keep: str | None = None,
        cause: str,
        now: datetime,
    ) -> Sequence[Transaction]:
        write = ReleaseConnector(station_id, evse_id, connector_id, keep, cause, now)
        return await self._committer.submit(write)

    async def audit_trail(self, transaction_id: int) -> Sequence[TransactionAudit]:
        a = transaction_audit.c
        stmt = select(transaction_audit).where(a.transaction_id == transaction_id).order_by(a.id)
        async with reading(self._engine) as conn:
            return [rows.audit(row) for row in (await conn.execute(stmt)).mappings()]

    async def unmatched(
        self, *, station_id: str | None = None, limit: int = 100
    ) -> Sequence[UnmatchedMessage]:
        u = unmatched_transaction_messages.c
        stmt = select(unmatched_transaction_messages).order_by(u.id.desc()).limit(limit)
        if station_id is not None:
            stmt = stmt.where(u.station_id == station_id)
        async with reading(self._engine) as conn:
            return [rows.unmatched(row) for row in (await conn.execute(stmt)).mappings()]


def _int64(text: str) -> int | None:
    """``text`` as a 1.6 transactionId (a positive 64-bit integer), or None."""
    if not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value < 2**63 else None


class SqlReservationRepository:
    """Implements :class:`csms.domain.charging_ports.ReservationRepository`."""

    def __init__(self, engine: AsyncEngine, committer: GroupCommitter) -> None:
        self._engine = engine
        self._committer = committer

    async def create(
        self,
        *,
        station_id: str,
        connector_id: int,
        id_token: str,
        parent_id_token: str | None,
        expiry_date: datetime,
        now: datetime,
    ) -> Reservation:
        return await self._committer.submit(
            CreateReservation(station_id, connector_id, id_token, parent_id_token, expiry_date, now)
        )

    async def put(self, reservation: Reservation, now: datetime) -> bool:
        return await self._committer.submit(PutReservation(reservation, now))

    async def set_status(
        self, reservation_id: int, status: ReservationStatus, now: datetime
    ) -> None:
        if not await self._committer.submit(SetReservationStatus(reservation_id, status, now)):
            raise UnknownReservation(str(reservation_id))

    async def get(self, reservation_id: int, now: datetime) -> Reservation | None:
        stmt = select(reservations).where(reservations.c.id == reservation_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return rows.reservation(row).as_of(now) if row is not None else None

    async def consume(
        self, station_id: str, reservation_id: int, transaction_id: str, now: datetime
    ) -> bool:
        write = ConsumeReservation(station_id, reservation_id, transaction_id, now)
        return await self._committer.submit(write)

    async def list(
        self, now: datetime, *, station_id: str | None = None, active_only: bool = False
    ) -> Sequence[Reservation]:
        r = reservations.c
        stmt = select(reservations).order_by(r.id.desc())
        if station_id is not None:
            stmt = stmt.where(r.station_id == station_id)
        if active_only:
            stmt = stmt.where(r.status.in_([s.value for s in ACTIVE_STATUSES]), r.expiry_date > now)
        async with reading(self._engine) as conn:
            found = [rows.reservation(row) for row in (await conn.execute(stmt)).mappings()]
        return [reservation.as_of(now) for reservation in found]
