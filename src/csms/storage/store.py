"""The storage composition: engine, group committer and repositories, started and closed together."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.accounts import AccountRepository, AuditLog
from csms.domain.charging_ports import (
    ChargingTransactionRepository,
    IdTokenRepository,
    ReservationRepository,
)
from csms.domain.command_jobs import CommandJobRepository, DesiredSettings
from csms.domain.configuration import ConfigurationRepository
from csms.domain.connections import ConnectionHistory
from csms.domain.devicemodel import DeviceModelRepository
from csms.domain.files import FileRepository
from csms.domain.ledger import Ledger
from csms.domain.localauth import LocalListRepository
from csms.domain.messagelog import MessageLogRepository
from csms.domain.metrics import Histogram
from csms.domain.notifications import NotificationLog
from csms.domain.ports import StationRepository, TransactionRepository
from csms.domain.remotestart import RemoteStartLinks
from csms.domain.security import SecurityRepository
from csms.domain.smartcharging import ChargingProfileRepository
from csms.domain.tariffs import TariffRepository
from csms.domain.token_admin import IdTokenAdmin
from csms.log import LogLimiter
from csms.storage.charging import (
    SqlChargingRepository,
    SqlIdTokenRepository,
    SqlReservationRepository,
)
from csms.storage.chargingprofiles import SqlChargingProfileRepository
from csms.storage.command_jobs import SqlCommandJobRepository, SqlDesiredSettings
from csms.storage.committer import GroupCommitter
from csms.storage.configuration import SqlConfigurationRepository
from csms.storage.connections import SqlConnectionHistory
from csms.storage.devicemodel import SqlDeviceModelRepository
from csms.storage.direct import reading
from csms.storage.engine import PoolSizing, SqliteSynchronous, create_engine
from csms.storage.files_repository import SqlFileRepository, SqlSecurityRepository
from csms.storage.identity import SqlAccountRepository, SqlAuditLog
from csms.storage.ledger import SqlLedger
from csms.storage.localauth import SqlLocalListRepository
from csms.storage.messagelog import SqlMessageLog
from csms.storage.migrate import upgrade
from csms.storage.notifications import SqlNotificationLog
from csms.storage.opening import opening
from csms.storage.remote_starts import SqlRemoteStartLinks
from csms.storage.repositories import (
    Clock,
    SqlStationRepository,
    SqlTransactionRepository,
    utc_now,
)
from csms.storage.tariffs import SqlTariffRepository
from csms.storage.token_admin import SqlIdTokenAdmin

__all__ = ["Store", "open_store"]


class Store:
    """The repositories over one database; call :meth:`start` before use, :meth:`aclose` after."""

    stations: StationRepository
    transactions: TransactionRepository
    local_lists: LocalListRepository
    charging_profiles: ChargingProfileRepository
    files: FileRepository
    security: SecurityRepository
    configuration: ConfigurationRepository
    device_model: DeviceModelRepository
    notifications: NotificationLog
    remote_starts: RemoteStartLinks
    tokens: IdTokenRepository
    token_admin: IdTokenAdmin
    charging: ChargingTransactionRepository
    reservations: ReservationRepository
    tariffs: TariffRepository
    ledger: Ledger
    command_jobs: CommandJobRepository
    desired_settings: DesiredSettings
    accounts: AccountRepository
    audit: AuditLog
    message_log: MessageLogRepository
    connection_history: ConnectionHistory

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = utc_now,
        max_batch: int = 1000,
        max_pending: int = 10_000,
        touch_interval: float = 1.0,
        log_limiter: LogLimiter | None = None,
        sqlite_writer_thread: bool = True,
        direct_station_reads: bool = True,
    ) -> None:
        self._engine = engine
        self._committer = GroupCommitter(
            engine,
            max_batch=max_batch,
            max_pending=max_pending,
            touch_interval=touch_interval,
            log_limiter=log_limiter,
            sqlite_writer_thread=sqlite_writer_thread,
        )
        self._stations = SqlStationRepository(
            engine, self._committer, clock=clock, direct_reads=direct_station_reads
        )
        self.stations = self._stations
        self.transactions = SqlTransactionRepository(self._committer, clock=clock)
        self.local_lists = SqlLocalListRepository(engine)
        self.charging_profiles = SqlChargingProfileRepository(engine)
        self.files = SqlFileRepository(engine)
        self.security = SqlSecurityRepository(engine)
        self.configuration = SqlConfigurationRepository(engine)
        self.device_model = SqlDeviceModelRepository(engine)
        self.notifications = SqlNotificationLog(engine)
        self.remote_starts = SqlRemoteStartLinks(engine)
        self.tokens = SqlIdTokenRepository(engine, self._committer)
        self.token_admin = SqlIdTokenAdmin(engine)
        self.charging = SqlChargingRepository(engine, self._committer)
        self.reservations = SqlReservationRepository(engine, self._committer)
        self.tariffs = SqlTariffRepository(engine)
        self.ledger = SqlLedger(engine)
        self.command_jobs = SqlCommandJobRepository(engine)
        self.desired_settings = SqlDesiredSettings(engine)
        self.accounts = SqlAccountRepository(engine)
        self.audit = SqlAuditLog(engine)
        self.message_log = SqlMessageLog(engine, self._committer)
        self.connection_history = SqlConnectionHistory(engine)

    @property
    def engine(self) -> AsyncEngine:
        """The engine (for health checks, tests and read-only reporting queries)."""
        return self._engine

    @property
    def committer_pending(self) -> int:
        """Writes queued or being committed by the group committer (for /metrics)."""
        return self._committer.pending

    @property
    def commit_latency(self) -> Histogram:
        """Seconds per group-commit transaction (for /metrics)."""
        return self._committer.commit_latency

    def pool_stats(self) -> dict[str, int]:
        """The connection pool's size, connections checked out and overflow (empty for pools
        that keep no count, e.g. NullPool)."""
        pool = self._engine.sync_engine.pool
        stats: dict[str, int] = {}
        for name in ("size", "checkedout", "overflow"):
            method = getattr(pool, name, None)
            if callable(method):
                stats[name] = int(method())
        return stats

    async def ping(self) -> None:
        """Run ``SELECT 1`` (readiness); database failures become :class:`StorageError`."""
        async with reading(self._engine) as conn:
            await conn.execute(text("SELECT 1"))

    async def start(self) -> None:
        """Start the group committer (idempotent)."""
        await self._committer.start()

    async def aclose(self) -> None:
        """Commit everything pending, then close the database connections."""
        try:
            await self._committer.aclose()
        finally:
            try:
                await self._stations.aclose()
            finally:
                await self._engine.dispose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def open_store(
    database_url: str,
    *,
    migrate: bool = True,
    sqlite_synchronous: SqliteSynchronous = SqliteSynchronous.FULL,
    clock: Clock = utc_now,
    max_batch: int = 1000,
    max_pending: int = 10_000,
    log_limiter: LogLimiter | None = None,
    pool: PoolSizing | None = None,
    sqlite_writer_thread: bool = True,
    direct_station_reads: bool = True,
) -> Store:
    """Migrate the database (unless ``migrate`` is False) and return a started :class:`Store`.

    ``database_url`` is ``sqlite+aiosqlite:///path/to/csms.db`` or
    ``postgresql+asyncpg://user:password@host/db``. The caller must ``await store.aclose()``.
    ``log_limiter``: the process's limiter, so a database outage logs a few lines, not one per batch.
    ``pool``: this process's pool size, overflow and timeout (CSMS_DATABASE_POOL_*).
    ``sqlite_writer_thread``: see :class:`~csms.storage.committer.GroupCommitter`.
    A database that cannot be opened raises :class:`~csms.storage.opening.DatabaseUnavailable`.
    ``direct_station_reads``: CSMS_DATABASE_DIRECT_STATION_READS (storage/station_reads.py).
    """
    if migrate:
        await upgrade(database_url)
    async with opening(database_url):
        sizing = pool if pool is not None else PoolSizing()
        engine = create_engine(
            database_url,
            sqlite_synchronous=sqlite_synchronous,
            pool_size=sizing.size,
            max_overflow=sizing.max_overflow,
            pool_timeout=sizing.timeout,
        )
        if not migrate:  # nothing has connected yet: fail here, not at the first station
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            except BaseException:
                await engine.dispose()
                raise
    store = Store(
        engine,
        clock=clock,
        max_batch=max_batch,
        max_pending=max_pending,
        log_limiter=log_limiter,
        sqlite_writer_thread=sqlite_writer_thread,
        direct_station_reads=direct_station_reads,
    )
    await store.start()
    return store
