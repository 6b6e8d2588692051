"""SQL implementation of :class:`csms.domain.localauth.LocalListRepository`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from csms.domain.localauth import (
    AuthorizationStatus,
    LocalListEntry,
    LocalListSync,
    LocalListSyncState,
    LocalListUpdate,
    UpdateStatus,
    UpdateType,
)
from csms.storage.dialect import dialect_insert
from csms.storage.direct import reading, writing
from csms.storage.tables_localauth import local_list_entries, local_list_updates, local_lists

__all__ = ["SqlLocalListRepository"]


class SqlLocalListRepository:
    """Implements :class:`csms.domain.localauth.LocalListRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def sync_state(self, station_id: str) -> LocalListSync | None:
        async with reading(self._engine) as conn:
            row = (
                (
                    await conn.execute(
                        select(local_lists).where(local_lists.c.station_id == station_id)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            count = len(await self._entries(conn, station_id))
        return LocalListSync(
            station_id=station_id,
            state=LocalListSyncState(row["state"]),
            version=row["version"],
            station_version=row["station_version"],
            entries=count,
            last_status=UpdateStatus(row["last_status"]) if row["last_status"] else None,
            max_items=row["max_items"],
            max_bytes=row["max_bytes"],
            updated_at=row["updated_at"],
        )

    async def entries(self, station_id: str) -> Sequence[LocalListEntry]:
        async with reading(self._engine) as conn:
            return await self._entries(conn, station_id)

    @staticmethod
    async def _entries(conn: AsyncConnection, station_id: str) -> list[LocalListEntry]:
        stmt = (
            select(local_list_entries)
            .where(local_list_entries.c.station_id == station_id)
            .order_by(local_list_entries.c.id_token)
        )
        return [
            LocalListEntry(
                id_token=row["id_token"],
                status=AuthorizationStatus(row["status"]),
                expiry_date=row["expiry_date"],
                parent_id_token=row["parent_id_token"],
                token_type=row["token_type"],
            )
            for row in (await conn.execute(stmt)).mappings()
        ]

    async def set_target(
        self, station_id: str, entries: Sequence[LocalListEntry], version: int, now: datetime
    ) -> None:
        if any(entry.removes for entry in entries):
            raise ValueError("a target list holds no removals")
        async with writing(self._engine) as conn:
            await self._upsert(
                conn, station_id, now, version=version, state=LocalListSyncState.PENDING.value
            )
            await conn.execute(
                delete(local_list_entries).where(local_list_entries.c.station_id == station_id)
            )
            if entries:
                await conn.execute(
                    insert(local_list_entries),
                    [
                        {
                            "station_id": station_id,
                            "id_token": e.id_token,
                            "status": str(e.status),
                            "expiry_date": e.expiry_date,
                            "parent_id_token": e.parent_id_token,
                            "token_type": e.token_type,
                        }
                        for e in entries
                    ],
                )

    async def record_update(self, update: LocalListUpdate, state: LocalListSyncState) -> None:
        values: dict[str, Any] = {"state": state.value}
        if update.status is not None:
            values["last_status"] = update.status.value
        if update.status is UpdateStatus.ACCEPTED:
            values["station_version"] = update.version
        async with writing(self._engine) as conn:
            await conn.execute(
                insert(local_list_updates).values(
                    station_id=update.station_id,
                    version=update.version,
                    update_type=update.update_type.value,
                    entries=update.entries,
                    status=update.status.value if update.status else None,
                    error=update.error,
                    at=update.at,
                )
            )
            await self._upsert(conn, update.station_id, update.at, **values)

    async def record_station_version(
        self, station_id: str, version: int, state: LocalListSyncState, now: datetime
    ) -> None:
        async with writing(self._engine) as conn:
            await self._upsert(conn, station_id, now, station_version=version, state=state.value)

    async def set_limits(
        self, station_id: str, max_items: int | None, max_bytes: int | None, now: datetime
    ) -> None:
        async with writing(self._engine) as conn:
            await self._upsert(conn, station_id, now, max_items=max_items, max_bytes=max_bytes)

    async def updates(self, station_id: str, *, limit: int = 100) -> Sequence[LocalListUpdate]:
        stmt = (
            select(local_list_updates)
            .where(local_list_updates.c.station_id == station_id)
            .order_by(local_list_updates.c.id.desc())
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            return [
                LocalListUpdate(
                    station_id=row["station_id"],
                    version=row["version"],
                    update_type=UpdateType(row["update_type"]),
                    entries=row["entries"],
                    status=UpdateStatus(row["status"]) if row["status"] else None,
                    at=row["at"],
                    error=row["error"],
                )
                for row in (await conn.execute(stmt)).mappings()
            ]

    @staticmethod
    async def _upsert(conn: AsyncConnection, station_id: str, now: datetime, **values: Any) -> None:
        """Update the station's row, creating it (version 0, state pending) when missing."""
        values["updated_at"] = now
        result = await conn.execute(
            update(local_lists).where(local_lists.c.station_id == station_id).values(**values)
        )
        if result.rowcount == 1:
            return
        row: dict[str, Any] = {
            "station_id": station_id,
            "version": 0,
            "state": LocalListSyncState.PENDING.value,
        }
        row.update(values)
        stmt = dialect_insert(conn, local_lists).values(**row)
        await conn.execute(stmt.on_conflict_do_update(index_elements=["station_id"], set_=values))
