"""SQL implementations of the domain repositories (``csms.domain.ports``).

Reads go straight to the engine; every change goes through the group committer, so each ``add`` /
``set_*`` / ``record_*`` coroutine returns only once its change is committed (ocpp-rules §3.3).
Database failures surface as :class:`~csms.domain.errors.StorageError`, chained to the cause.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.connections import Disconnection
from csms.domain.errors import UnknownStation
from csms.domain.ledger import StationQuery, StationSearch
from csms.domain.model import (
    BootInfo,
    ConnectorState,
    MeterValuesReport,
    RegistrationStatus,
    Station,
    StatusReport,
    TransactionEventReport,
)
from csms.domain.transactions import TransactionEventOutcome
from csms.storage import rows
from csms.storage.committer import GroupCommitter
from csms.storage.direct import reading
from csms.storage.disconnections import RecordDisconnections
from csms.storage.engine import single_reads
from csms.storage.ledger import search_stations
from csms.storage.statements import Prepared, codec
from csms.storage.station_reads import FALLBACK, direct_reader
from csms.storage.tables import connector_status, stations, status_history
from csms.storage.writes import (
    AddStation,
    RecordBoot,
    RecordConnection,
    RecordMeterValues,
    RecordStatus,
    RecordTransactionEvent,
    UpdateStation,
)

__all__ = ["Clock", "SqlStationRepository", "SqlTransactionRepository", "utc_now"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (the default clock)."""
    return datetime.now(UTC)


_SELECT_STATION = Prepared(
    lambda _: select(*(stations.c[name] for name in rows.STATION_FIELDS)).where(
        stations.c.id == bindparam("b_id", type_=stations.c.id.type)
    ),
    ("b_id",),
    for_executemany=False,
)


class SqlStationRepository:
    """Implements :class:`csms.domain.ports.StationRepository`."""

    def __init__(
        self,
        engine: AsyncEngine,
        committer: GroupCommitter,
        *,
        clock: Clock = utc_now,
        direct_reads: bool = True,
    ) -> None:
        self._engine = engine
        self._single_reads = single_reads(engine)
        self._committer = committer
        self._clock = clock
        # The handshake's read without the async engine's layers (station_reads.py).
        self._direct = direct_reader(engine) if direct_reads else None
        self._direct_codec = codec(engine.dialect) if self._direct is not None else None

    async def aclose(self) -> None:
        """Release the direct read connection (before the store disposes of the engine)."""
        if self._direct is not None:
            await self._direct.aclose()

    async def get(self, station_id: str) -> Station | None:
        # Every connection and BootNotification asks: one prepared SELECT, a tuple per row.
        if self._direct is not None:
            row = await self._direct.fetch(station_id)
            if row is not FALLBACK:
                assert self._direct_codec is not None
                return None if row is None else rows.station_from_tuple(row, self._direct_codec)
        async with reading(self._single_reads) as conn:
            found = await _SELECT_STATION.fetchall(conn, (station_id,))
            dialect_codec = codec(conn.dialect)
        return rows.station_from_tuple(found[0], dialect_codec) if found else None

    async def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Station]:
        stmt = select(stations).order_by(stations.c.id).limit(limit).offset(offset)
        async with reading(self._engine) as conn:
            result = await conn.execute(stmt)
            return [rows.station(row) for row in result.mappings()]

    async def count(self, *, registration_status: RegistrationStatus | None = None) -> int:
        stmt = select(func.count()).select_from(stations)
        if registration_status is not None:
            stmt = stmt.where(stations.c.registration_status == registration_status.value)
        async with reading(self._engine) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def add(self, station: Station) -> None:
        if station.created_at is None:
            station = dataclasses.replace(station, created_at=self._clock())
        await self._committer.submit(AddStation(station))

    async def set_registration(self, station_id: str, status: RegistrationStatus) -> None:
        await self._update(station_id, registration_status=status.value)

    async def set_password_hash(self, station_id: str, password_hash: str | None) -> None:
        await self._update(station_id, password_hash=password_hash, pending_password_hash=None)

    async def set_pending_password_hash(self, station_id: str, password_hash: str | None) -> None:
        await self._update(station_id, pending_password_hash=password_hash)

    async def set_lenient(self, station_id: str, lenient: bool) -> None:
        await self._update(station_id, lenient=lenient)

    async def set_min_security_profile(self, station_id: str, profile: int | None) -> None:
        await self._update(station_id, min_security_profile=profile)

    async def set_soap_endpoint(self, station_id: str, endpoint: str | None) -> None:
        await self._update(station_id, soap_endpoint=endpoint)

    async def search(self, query: StationQuery, *, after: str | None, limit: int) -> StationSearch:
        return await search_stations(self._engine, query, after=after, limit=limit)

    async def set_decommissioned(self, station_id: str, at: datetime | None) -> None:
        await self._update(station_id, decommissioned_at=at)

    async def _update(self, station_id: str, **values: object) -> None:
        """Apply an operator's change; raise UnknownStation if there is no such station."""
        if not await self._committer.submit(UpdateStation(station_id, values)):
            raise UnknownStation(station_id)

    async def record_boot(
        self, station_id: str, boot: BootInfo, status: RegistrationStatus, now: datetime
    ) -> None:
        await self._committer.submit(RecordBoot(station_id, boot, status, now))

    async def record_connection(
        self,
        station_id: str,
        *,
        online: bool,
        ocpp_version: str | None,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        await self._committer.submit(
            RecordConnection(station_id, online, ocpp_version, now, reason)
        )

    async def record_disconnections(
        self, disconnections: Sequence[Disconnection], *, at: datetime
    ) -> None:
        if disconnections:
            await self._committer.submit(RecordDisconnections(disconnections, at))

    def touch(self, station_id: str, now: datetime) -> None:
        self._committer.touch(station_id, now)

    async def record_status(self, report: StatusReport) -> None:
        await self._committer.submit(RecordStatus(report, self._clock()))

    async def connector_states(self, station_id: str) -> Sequence[ConnectorState]:
        stmt = (
            select(connector_status)
            .where(connector_status.c.station_id == station_id)
            .order_by(connector_status.c.evse_id, connector_status.c.connector_id)
        )
        async with reading(self._engine) as conn:
            result = await conn.execute(stmt)
            return [rows.connector_state(row) for row in result.mappings()]

    async def status_history(self, station_id: str, *, limit: int = 100) -> Sequence[StatusReport]:
        stmt = (
            select(status_history)
            .where(status_history.c.station_id == station_id)
            .order_by(status_history.c.id.desc())
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            result = await conn.execute(stmt)
            return [rows.status_report(row) for row in result.mappings()]


class SqlTransactionRepository:
    """Implements :class:`csms.domain.ports.TransactionRepository`."""

    def __init__(self, committer: GroupCommitter, *, clock: Clock = utc_now) -> None:
        self._committer = committer
        self._clock = clock

    async def record_meter_values(self, report: MeterValuesReport) -> None:
        await self._committer.submit(RecordMeterValues(report, self._clock()))

    async def record_transaction_event(self, report: TransactionEventReport) -> bool:
        return (await self.apply_transaction_event(report)).fresh

    async def apply_transaction_event(
        self, report: TransactionEventReport, *, refuse_concurrent: bool = True
    ) -> TransactionEventOutcome:
        write = RecordTransactionEvent(report, self._clock(), refuse_concurrent)
        return await self._committer.submit(write)
