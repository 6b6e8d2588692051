"""SQL implementation of :class:`csms.domain.tariffs.TariffRepository`.

Tariff writes are operator actions and cost writes happen once per priced TransactionEvent, so
both use their own short write transaction (:mod:`csms.storage.direct`), not the group committer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import RowMapping, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.tariffs import (
    Assignment,
    CostBreakdown,
    Tariff,
    TariffInvalid,
    TariffScope,
    TransactionCost,
    UnknownTariff,
)
from csms.storage.dialect import dialect_insert
from csms.storage.direct import reading, writing
from csms.storage.tables_tariffs import tariff_assignments, tariffs, transaction_costs

__all__ = ["SqlTariffRepository"]


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _tariff_row(tariff: Tariff) -> dict[str, Any]:
    return {
        "tariff_id": tariff.tariff_id,
        "currency": tariff.currency,
        "price_per_kwh": str(tariff.price_per_kwh),
        "price_per_hour": str(tariff.price_per_hour),
        "session_fee": str(tariff.session_fee),
        "tax_rate": str(tariff.tax_rate),
        "min_cost": _text(tariff.min_cost),
        "max_cost": _text(tariff.max_cost),
        "descriptions": orjson.dumps(dict(tariff.descriptions)).decode(),
    }


def _tariff(row: RowMapping | Mapping[str, Any]) -> Tariff:
    def dec(name: str) -> Decimal | None:
        value = row[name]
        return None if value is None else Decimal(value)

    return Tariff(
        tariff_id=row["tariff_id"],
        currency=row["currency"],
        price_per_kwh=Decimal(row["price_per_kwh"]),
        price_per_hour=Decimal(row["price_per_hour"]),
        session_fee=Decimal(row["session_fee"]),
        tax_rate=Decimal(row["tax_rate"]),
        min_cost=dec("min_cost"),
        max_cost=dec("max_cost"),
        descriptions=orjson.loads(row["descriptions"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _assignment(row: RowMapping) -> Assignment:
    return Assignment(
        tariff_id=row["tariff_id"],
        scope=TariffScope(row["scope"]),
        station_id=row["station_id"],
        evse_id=row["evse_id"],
        id_token=row["id_token"],
    )


def _cost(row: RowMapping) -> TransactionCost:
    tariff = Tariff.from_json(orjson.loads(row["tariff"]))
    return TransactionCost(
        station_id=row["station_id"],
        transaction_id=row["transaction_id"],
        tariff=tariff,
        cost=CostBreakdown(
            currency=row["currency"],
            energy_wh=int(row["energy_wh"]),
            duration_s=int(row["duration_s"]),
            energy=Decimal(row["energy_cost"]),
            time=Decimal(row["time_cost"]),
            session_fee=Decimal(row["session_fee"]),
            tax=Decimal(row["tax"]),
            total=Decimal(row["total_cost"]),
        ),
        final=bool(row["final"]),
        updated_at=row["updated_at"],
        sent_total=None if row["sent_total"] is None else Decimal(row["sent_total"]),
    )


class SqlTariffRepository:
    """Implements :class:`csms.domain.tariffs.TariffRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list(self, *, after: str | None = None, limit: int = 50) -> Sequence[Tariff]:
        stmt = select(tariffs).order_by(tariffs.c.tariff_id).limit(limit)
        if after is not None:
            stmt = stmt.where(tariffs.c.tariff_id > after)
        async with reading(self._engine) as conn:
            return [_tariff(row) for row in (await conn.execute(stmt)).mappings()]

    async def count(self) -> int:
        async with reading(self._engine) as conn:
            return int((await conn.execute(select(func.count()).select_from(tariffs))).scalar_one())

    async def get(self, tariff_id: str) -> Tariff | None:
        stmt = select(tariffs).where(tariffs.c.tariff_id == tariff_id)
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _tariff(row)

    async def create(self, tariff: Tariff, now: datetime) -> Tariff:
        row = _tariff_row(tariff) | {"created_at": now, "updated_at": now}
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, tariffs).on_conflict_do_nothing(
                index_elements=["tariff_id"]
            )
            if (await conn.execute(stmt, [row])).rowcount == 0:
                raise TariffInvalid(f"tariff {tariff.tariff_id!r} already exists")
        return _tariff(row)

    async def replace(self, tariff: Tariff, now: datetime) -> Tariff:
        row = _tariff_row(tariff) | {"updated_at": now}
        async with writing(self._engine) as conn:
            stmt = update(tariffs).where(tariffs.c.tariff_id == tariff.tariff_id).values(row)
            if (await conn.execute(stmt)).rowcount == 0:
                raise UnknownTariff(tariff.tariff_id)
            stored = (
                (await conn.execute(select(tariffs).where(tariffs.c.tariff_id == tariff.tariff_id)))
                .mappings()
                .one()
            )
        return _tariff(stored)

    async def delete(self, tariff_id: str) -> None:
        async with writing(self._engine) as conn:
            # Explicitly: SQLite enforces ON DELETE CASCADE only with PRAGMA foreign_keys.
            await conn.execute(
                delete(tariff_assignments).where(tariff_assignments.c.tariff_id == tariff_id)
            )
            result = await conn.execute(delete(tariffs).where(tariffs.c.tariff_id == tariff_id))
            if result.rowcount == 0:
                raise UnknownTariff(tariff_id)

    async def assignments(self, tariff_id: str | None = None) -> Sequence[Assignment]:
        stmt = select(tariff_assignments).order_by(tariff_assignments.c.key)
        if tariff_id is not None:
            stmt = stmt.where(tariff_assignments.c.tariff_id == tariff_id)
        async with reading(self._engine) as conn:
            return [_assignment(row) for row in (await conn.execute(stmt)).mappings()]

    async def set_assignments(
        self, tariff_id: str, assignments: Sequence[Assignment], now: datetime
    ) -> None:
        rows = {
            a.key: {
                "key": a.key,
                "tariff_id": tariff_id,
                "scope": a.scope.value,
                "station_id": a.station_id,
                "evse_id": a.evse_id,
                "id_token": a.id_token,
                "updated_at": now,
            }
            for a in assignments
        }
        try:
            async with writing(self._engine) as conn:
                found = await conn.execute(
                    select(tariffs.c.tariff_id).where(tariffs.c.tariff_id == tariff_id)
                )
                if found.first() is None:
                    raise UnknownTariff(tariff_id)
                await conn.execute(
                    delete(tariff_assignments).where(tariff_assignments.c.tariff_id == tariff_id)
                )
                if rows:
                    await conn.execute(
                        delete(tariff_assignments).where(tariff_assignments.c.key.in_(list(rows)))
                    )
                    await conn.execute(tariff_assignments.insert(), list(rows.values()))
        except IntegrityError as exc:  # the tariff was deleted meanwhile
            raise UnknownTariff(tariff_id) from exc

    async def assignment_map(self) -> Mapping[str, str]:
        stmt = select(tariff_assignments.c.key, tariff_assignments.c.tariff_id)
        async with reading(self._engine) as conn:
            return {row.key: row.tariff_id for row in await conn.execute(stmt)}

    async def get_cost(self, station_id: str, transaction_id: str) -> TransactionCost | None:
        t = transaction_costs.c
        stmt = select(transaction_costs).where(
            t.station_id == station_id, t.transaction_id == transaction_id
        )
        async with reading(self._engine) as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _cost(row)

    async def put_cost(self, cost: TransactionCost) -> None:
        c = cost.cost
        row = {
            "station_id": cost.station_id,
            "transaction_id": cost.transaction_id,
            "tariff": orjson.dumps(cost.tariff.to_json()).decode(),
            "currency": c.currency,
            "energy_wh": c.energy_wh,
            "duration_s": c.duration_s,
            "energy_cost": str(c.energy),
            "time_cost": str(c.time),
            "session_fee": str(c.session_fee),
            "tax": str(c.tax),
            "total_cost": str(c.total),
            "final": cost.final,
            "sent_total": _text(cost.sent_total),
            "updated_at": cost.updated_at,
        }
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, transaction_costs)
            stmt = stmt.on_conflict_do_update(
                index_elements=["station_id", "transaction_id"],
                set_={
                    name: stmt.excluded[name]
                    for name in row
                    if name not in ("station_id", "transaction_id")
                },
                # A final cost (the transaction ended) is never replaced by a late running one.
                where=transaction_costs.c.final.is_(False),
            )
            await conn.execute(stmt, [row])

    async def open_costs(self, *, limit: int = 1000) -> Sequence[TransactionCost]:
        t = transaction_costs.c
        stmt = (
            select(transaction_costs)
            .where(t.final.is_(False))
            .order_by(t.updated_at, t.station_id, t.transaction_id)
            .limit(limit)
        )
        async with reading(self._engine) as conn:
            return [_cost(row) for row in (await conn.execute(stmt)).mappings()]
