"""SQL implementation of :class:`csms.domain.configuration.ConfigurationRepository`.

Configuration reads and changes are operator actions (a few per station per day), so they commit in
their own write transaction instead of going through the group committer; each method returns once
its change is committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.commands import ConfigurationKey
from csms.domain.configuration import masked
from csms.storage.dialect import dialect_insert
from csms.storage.direct import reading, writing
from csms.storage.tables_configuration import station_configuration as table

__all__ = ["SqlConfigurationRepository"]


class SqlConfigurationRepository:
    """Implements :class:`csms.domain.configuration.ConfigurationRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_read(
        self,
        station_id: str,
        keys: Iterable[ConfigurationKey],
        unknown_keys: Iterable[str],
        now: datetime,
    ) -> None:
        rows = {
            k.key: {
                "station_id": station_id,
                "key": k.key,
                # Masked again here: a secret must not reach the database whatever the caller did.
                "value": masked(k.key, k.value),
                "readonly": k.readonly,
                "unknown": False,
                "read_at": now,
            }
            for k in keys
        }
        for key in unknown_keys:
            rows.setdefault(
                key,
                {
                    "station_id": station_id,
                    "key": key,
                    "value": None,
                    "readonly": None,
                    "unknown": True,
                    "read_at": now,
                },
            )
        if not rows:
            return
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["station_id", "key"],
                set_={name: stmt.excluded[name] for name in ("value", "readonly", "unknown")}
                | {"read_at": stmt.excluded.read_at},
            )
            await conn.execute(stmt, list(rows.values()))

    async def record_change(self, station_id: str, key: str, value: str, now: datetime) -> None:
        row = {
            "station_id": station_id,
            "key": key,
            "value": masked(key, value),
            "readonly": False,
            "unknown": False,
            "changed_at": now,
        }
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["station_id", "key"],
                set_={
                    "value": stmt.excluded.value,
                    "unknown": False,
                    "changed_at": stmt.excluded.changed_at,
                },
            )
            await conn.execute(stmt, [row])

    async def keys(self, station_id: str) -> Sequence[ConfigurationKey]:
        stmt = select(table).where(table.c.station_id == station_id).order_by(table.c.key)
        async with reading(self._engine) as conn:
            result = await conn.execute(stmt)
            return [
                ConfigurationKey(
                    key=row["key"],
                    value=row["value"],
                    readonly=row["readonly"],
                    unknown=row["unknown"],
                    read_at=row["read_at"],
                    changed_at=row["changed_at"],
                )
                for row in result.mappings()
            ]
