"""SQL implementations of :class:`csms.domain.command_jobs.CommandJobRepository` and
:class:`csms.domain.command_jobs.DesiredSettings`.

Operator-driven and rare (a few writes per job), so each write is its own short transaction
(:mod:`csms.storage.direct`), committed before the method returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from csms.domain.command_jobs import (
    CommandJob,
    DesiredSetting,
    JobState,
    StationOutcome,
    StationResult,
)
from csms.storage.dialect import dialect_insert
from csms.storage.direct import reading, writing
from csms.storage.tables_commands import command_jobs as jobs
from csms.storage.tables_commands import desired_settings as desired

__all__ = ["SqlCommandJobRepository", "SqlDesiredSettings"]

_UNFINISHED = (JobState.QUEUED.value, JobState.RUNNING.value)


def _result_json(r: StationResult) -> dict[str, Any]:
    return {
        "station_id": r.station_id,
        "outcome": r.outcome.value,
        "result": r.result,
        "problem": r.problem,
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
    }


def _result(raw: Mapping[str, Any]) -> StationResult:
    finished = raw.get("finished_at")
    return StationResult(
        station_id=str(raw["station_id"]),
        outcome=StationOutcome(raw.get("outcome", "pending")),
        result=raw.get("result"),
        problem=raw.get("problem"),
        finished_at=datetime.fromisoformat(finished) if finished else None,
    )


def _row(job: CommandJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "intent": job.intent,
        "state": job.state.value,
        "params": job.params,
        "stations": list(job.stations),
        "results": [_result_json(r) for r in job.results],
        "station_count": len(job.stations),
        "error": job.error,
        "created_by": job.created_by,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def _job(row: Any) -> CommandJob:
    return CommandJob(
        id=row["id"],
        intent=row["intent"],
        params=row["params"],
        state=JobState(row["state"]),
        created_at=row["created_at"],
        results=tuple(_result(r) for r in row["results"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        created_by=row["created_by"],
        stations=tuple(row["stations"]),
    )


class SqlCommandJobRepository:
    """Implements :class:`csms.domain.command_jobs.CommandJobRepository`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(self, job: CommandJob) -> None:
        row = _row(job)
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, jobs)
            stmt = stmt.on_conflict_do_update(
                index_elements=["id"],
                set_={k: stmt.excluded[k] for k in row if k not in ("id", "created_at")},
            )
            await conn.execute(stmt, [row])

    async def get(self, job_id: str) -> CommandJob | None:
        async with reading(self._engine) as conn:
            row = (await conn.execute(select(jobs).where(jobs.c.id == job_id))).mappings().first()
        return None if row is None else _job(row)

    async def list(
        self, *, limit: int = 50, before: tuple[datetime, str] | None = None
    ) -> Sequence[CommandJob]:
        stmt = select(jobs)
        if before is not None:
            at, job_id = before
            stmt = stmt.where(
                or_(jobs.c.created_at < at, and_(jobs.c.created_at == at, jobs.c.id < job_id))
            )
        stmt = stmt.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_job(row) for row in rows]

    async def count(self) -> int:
        async with reading(self._engine) as conn:
            return int((await conn.execute(select(func.count()).select_from(jobs))).scalar_one())

    async def abandon_unfinished(self, now: datetime, reason: str) -> int:
        async with writing(self._engine) as conn:
            rows = (
                (await conn.execute(select(jobs).where(jobs.c.state.in_(_UNFINISHED))))
                .mappings()
                .all()
            )
            for row in rows:
                results = [
                    r if r.get("outcome") not in (None, "pending") else {**r, "outcome": "unknown"}
                    for r in row["results"]
                ]
                await conn.execute(
                    update(jobs)
                    .where(jobs.c.id == row["id"])
                    .values(
                        state=JobState.FAILED.value,
                        results=results,
                        error=reason,
                        finished_at=now,
                    )
                )
        return len(rows)

    async def prune(self, *, older_than: datetime, keep: int) -> int:
        async with writing(self._engine) as conn:
            finished = jobs.c.state.not_in(_UNFINISHED)
            removed = (
                await conn.execute(delete(jobs).where(finished, jobs.c.created_at < older_than))
            ).rowcount or 0
            newest = (
                select(jobs.c.id)
                .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
                .limit(keep)
                .scalar_subquery()
            )
            removed += (
                await conn.execute(delete(jobs).where(finished, jobs.c.id.not_in(newest)))
            ).rowcount or 0
        return int(removed)


class SqlDesiredSettings:
    """Implements :class:`csms.domain.command_jobs.DesiredSettings`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, setting: DesiredSetting) -> None:
        row = {
            "station_id": setting.station_id,
            "kind": setting.kind,
            "name": setting.name,
            "value": setting.value,
            "status": setting.status,
            "sent_at": setting.sent_at,
        }
        async with writing(self._engine) as conn:
            stmt = dialect_insert(conn, desired)
            stmt = stmt.on_conflict_do_update(
                index_elements=["station_id", "kind", "name"],
                set_={k: stmt.excluded[k] for k in ("value", "status", "sent_at")},
            )
            await conn.execute(stmt, [row])

    async def list(self, station_id: str) -> Sequence[DesiredSetting]:
        stmt = (
            select(desired)
            .where(desired.c.station_id == station_id)
            .order_by(desired.c.kind, desired.c.name)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [
            DesiredSetting(
                station_id=row["station_id"],
                kind=row["kind"],
                name=row["name"],
                value=row["value"],
                sent_at=row["sent_at"],
                status=row["status"],
            )
            for row in rows
        ]
