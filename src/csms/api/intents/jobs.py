"""Command jobs: an intent sent to one or many stations in the background (async mode, fan-out).

Bounded everywhere: at most ``max_stations`` stations per job, ``concurrency`` stations of a job
in flight at once, ``max_running`` jobs running at once (more is refused with 429, never queued
without bound), and stored jobs pruned by age and count. A job's per-station results live in
memory while it runs (so polling shows progress) and are stored when it starts and ends; a job
that was running when csms stopped is marked failed with its unfinished stations ``unknown`` at
the next start (the command may or may not have reached them).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from csms.api.errors import TYPE_PREFIX, ApiProblem, ProblemKind, domain_kind
from csms.domain.command_jobs import (
    CommandJob,
    CommandJobRepository,
    JobState,
    StationOutcome,
    StationResult,
)
from csms.domain.commands import MASKED
from csms.domain.errors import (
    CallOutcomeUnknown,
    DomainError,
    StationNotConnected,
    UnknownStation,
)

from .registry import Intent, IntentServices, execute

__all__ = ["JOBS_BUSY", "JobLimits", "JobRunner", "problem_of", "redact"]

logger = logging.getLogger(__name__)

JOBS_BUSY = ProblemKind(429, "jobs-busy", "Too many command jobs running")
RESTART_REASON = "csms stopped while the job ran: the outcome on unfinished stations is unknown"
STOPPED_REASON = "csms was stopped while the job ran: unfinished stations' outcome is unknown"
_PRUNE_EVERY = timedelta(minutes=1)
_SECRET_NAME = re.compile(r"password|authorization_?key|secret", re.IGNORECASE)

# Called with each finished job (e.g. to emit an event); its failures are logged, never raised.
JobCallback = Callable[[CommandJob], Awaitable[None]]


@dataclasses.dataclass(frozen=True, slots=True)
class JobLimits:
    """The bounds of the job runner (see ``ApiSettings.command_job_*``)."""

    max_stations: int = 1000
    concurrency: int = 20
    max_running: int = 16
    retention: timedelta = timedelta(days=7)
    max_kept: int = 10_000


def problem_of(exc: BaseException) -> dict[str, Any]:
    """The RFC 9457 problem object a station's failed command is reported with."""
    if isinstance(exc, DomainError):
        kind = domain_kind(exc)
        detail = getattr(exc, "description", None) or str(exc) or kind.title
    else:  # a bug: never echo its text
        kind = ProblemKind(500, "internal-error", "Internal error")
        detail = kind.title
    return {"type": TYPE_PREFIX + kind.slug, "title": kind.title, "status": kind.status,
            "detail": detail}  # fmt: skip


def redact(value: Any, parent: str = "") -> Any:
    """``value`` with every member named like a password masked: job parameters are stored and
    shown to every API reader (e.g. the VPN and APN passwords of set-network-profile, and the
    VPN's shared ``key``, 2.0.1 VPNType)."""
    if isinstance(value, dict):
        return {
            k: MASKED if v is not None and _secret(str(k), parent) else redact(v, str(k))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, parent) for v in value]
    return value


def _secret(name: str, parent: str) -> bool:
    return bool(_SECRET_NAME.search(name)) or (parent.lower() == "vpn" and name.lower() == "key")


def _outcome(exc: BaseException) -> StationOutcome:
    if isinstance(exc, StationNotConnected):
        return StationOutcome.OFFLINE
    if isinstance(exc, CallOutcomeUnknown):
        return StationOutcome.UNKNOWN
    return StationOutcome.ERROR


class JobRunner:
    """Runs jobs as tasks of the API's event loop; one per process."""

    def __init__(
        self,
        repository: CommandJobRepository,
        services: IntentServices,
        *,
        limits: JobLimits = JobLimits(),
        default_timeout: float = 30.0,
        on_finished: JobCallback | None = None,
    ) -> None:
        self._repository = repository
        self._services = services
        self.limits = limits
        self._timeout = default_timeout
        self._on_finished = on_finished
        self._live: dict[str, CommandJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._started: dict[str, set[int]] = {}  # per running job: stations sent to
        self._last_prune: datetime | None = None

    @property
    def repository(self) -> CommandJobRepository:
        return self._repository

    async def start(self) -> None:
        """Mark the jobs a previous process left unfinished, and prune old ones."""
        now = self._services.clock()
        abandoned = await self._repository.abandon_unfinished(now, RESTART_REASON)
        if abandoned:
            logger.warning("%d command job(s) were running when csms stopped: failed", abandoned)
        await self._prune(now)

    async def aclose(self) -> None:
        """Stop running jobs (their stations' outcomes become unknown at the next start)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def get(self, job_id: str) -> CommandJob | None:
        """The job, with the progress of a running one."""
        live = self._live.get(job_id)
        return live if live is not None else await self._repository.get(job_id)

    async def submit(
        self,
        intent: Intent,
        body: Any,
        stations: Sequence[str],
        *,
        created_by: str | None = None,
        timeout: float | None = None,
    ) -> CommandJob:
        """Store a queued job and start it.

        Raises:
            ApiProblem: 429 when ``max_running`` jobs are running already.
        """
        if len(self._tasks) >= self.limits.max_running:
            raise ApiProblem(
                JOBS_BUSY,
                f"{self.limits.max_running} command jobs are running; retry when one finished",
                headers={"Retry-After": "5"},
            )
        now = self._services.clock()
        await self._prune(now)
        unique = tuple(dict.fromkeys(stations))
        job = CommandJob(
            id=str(uuid.uuid4()),
            intent=intent.name,
            params=redact(intent.dump_body(body)),
            state=JobState.QUEUED,
            created_at=now,
            results=tuple(StationResult(sid) for sid in unique),
            created_by=created_by,
            stations=unique,
        )
        await self._repository.save(job)
        self._live[job.id] = job
        task = asyncio.create_task(
            self._run(job, intent, body, timeout or self._timeout), name=f"job-{job.id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        logger.info("command job %s: %s to %d station(s)", job.id, intent.name, len(unique))
        return job

    async def _run(self, job: CommandJob, intent: Intent, body: Any, timeout: float) -> None:
        try:
            job = dataclasses.replace(
                job, state=JobState.RUNNING, started_at=self._services.clock()
            )
            self._live[job.id] = job
            await self._repository.save(job)
            results = list(job.results)
            gate = asyncio.Semaphore(self.limits.concurrency)

            started = self._started.setdefault(job.id, set())

            async def one(index: int, station_id: str) -> None:
                async with gate:
                    started.add(index)
                    results[index] = await self._station(intent, body, station_id, timeout)
                    self._live[job.id] = dataclasses.replace(
                        self._live[job.id], results=tuple(results)
                    )

            await asyncio.gather(*(one(i, sid) for i, sid in enumerate(job.stations)))
            ok = all(r.outcome is StationOutcome.OK for r in results)
            job = dataclasses.replace(
                job,
                results=tuple(results),
                state=JobState.DONE if ok else JobState.FAILED,
                finished_at=self._services.clock(),
            )
            await self._repository.save(job)
        except asyncio.CancelledError:  # csms stops: what finished is kept, the rest unknown
            await self._stopped(self._live.get(job.id, job), self._started.get(job.id, set()))
            raise
        except Exception:  # storage down: the record stays running → failed at next start
            logger.exception("command job %s could not be completed", job.id)
            return
        finally:
            self._live.pop(job.id, None)
            self._started.pop(job.id, None)
        if self._on_finished is not None:
            try:
                await self._on_finished(job)
            except Exception:
                logger.exception("command job %s: completion callback failed", job.id)

    async def _stopped(self, job: CommandJob, started: set[int]) -> None:
        """Record a job csms stops: stations whose command was in flight are ``unknown``; those
        never started stay ``pending`` (nothing was sent to them)."""
        results = tuple(
            dataclasses.replace(r, outcome=StationOutcome.UNKNOWN)
            if r.outcome is StationOutcome.PENDING and i in started else r
            for i, r in enumerate(job.results)
        )  # fmt: skip
        stopped = dataclasses.replace(
            job,
            state=JobState.FAILED,
            results=results,
            error=STOPPED_REASON,
            finished_at=self._services.clock(),
        )
        try:
            await self._repository.save(stopped)
        except Exception:  # the next start marks it failed instead
            logger.exception("command job %s: could not record that csms stopped", job.id)

    async def _station(
        self, intent: Intent, body: Any, station_id: str, timeout: float
    ) -> StationResult:
        try:
            value = await execute(intent, self._services, station_id, body, timeout=timeout)
            result = StationResult(
                station_id, StationOutcome.OK, intent.dump(value), None, self._services.clock()
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if not isinstance(exc, DomainError):
                logger.exception("command job: %s on %r failed", intent.name, station_id)
            elif not isinstance(exc, StationNotConnected | UnknownStation):
                logger.info("command job: %s on %r: %s", intent.name, station_id, exc)
            result = StationResult(
                station_id, _outcome(exc), None, problem_of(exc), self._services.clock()
            )
        return result

    async def _prune(self, now: datetime) -> None:
        if self._last_prune is not None and now - self._last_prune < _PRUNE_EVERY:
            return
        self._last_prune = now
        removed = await self._repository.prune(
            older_than=now - self.limits.retention, keep=self.limits.max_kept
        )
        if removed:
            logger.info("pruned %d command job(s)", removed)
