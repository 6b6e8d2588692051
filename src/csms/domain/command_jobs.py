"""Command jobs: one typed operator command sent to one or many stations, run in the background.

A job is created ``queued``, becomes ``running``, and ends ``done`` (every station answered) or
``failed`` (at least one station's command failed: not connected, refused, CALLERROR, timeout...).
Each station has its own result. Jobs are stored, so they outlive the process as records; a job
that was queued or running when csms stopped cannot be resumed (OCPP has no command queue, and
the command may or may not have reached the station), so at the next start it is marked
``failed`` and its unfinished stations ``unknown``.

Also here: the *desired* configuration, what an operator set through the typed commands (1.6
configuration keys, 2.x device-model variables), kept beside what the station reported.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "CommandJob",
    "CommandJobRepository",
    "DesiredSetting",
    "DesiredSettings",
    "JobState",
    "StationOutcome",
    "StationResult",
]


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # every station answered
    FAILED = "failed"  # at least one station did not (see its result)

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED)


class StationOutcome(enum.StrEnum):
    PENDING = "pending"  # not sent yet
    OK = "ok"  # the station answered; ``result`` is the typed answer
    OFFLINE = "offline"  # not connected: nothing was sent
    ERROR = "error"  # refused by csms or the station; ``problem`` says why
    UNKNOWN = "unknown"  # the outcome is unknown (connection lost, csms restarted)


@dataclass(frozen=True, slots=True)
class StationResult:
    """One station's part of a job. ``problem`` is an RFC 9457 problem object (type, title...)."""

    station_id: str
    outcome: StationOutcome = StationOutcome.PENDING
    result: Any = None
    problem: dict[str, Any] | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CommandJob:
    """A typed command (``intent`` with its JSON ``params``) sent to ``stations``."""

    id: str
    intent: str
    params: dict[str, Any]
    state: JobState
    created_at: datetime
    results: tuple[StationResult, ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    created_by: str | None = None
    stations: tuple[str, ...] = field(default=())


class CommandJobRepository(Protocol):
    """Where jobs are kept (bounded: by age and count; each change committed on return)."""

    async def save(self, job: CommandJob) -> None:
        """Insert or replace ``job``."""
        ...

    async def get(self, job_id: str) -> CommandJob | None: ...

    async def list(
        self, *, limit: int = 50, before: tuple[datetime, str] | None = None
    ) -> Sequence[CommandJob]:
        """Jobs newest first, optionally older than ``before`` (created_at, id)."""
        ...

    async def count(self) -> int: ...

    async def abandon_unfinished(self, now: datetime, reason: str) -> int:
        """Mark queued/running jobs failed and their pending stations unknown (at start-up)."""
        ...

    async def prune(self, *, older_than: datetime, keep: int) -> int:
        """Delete finished jobs older than ``older_than`` and all but the newest ``keep``."""
        ...


@dataclass(frozen=True, slots=True)
class DesiredSetting:
    """A configuration value csms sent: a 1.6 key (``name`` = key) or a 2.x variable (``name`` =
    the device-model path, see :meth:`csms.domain.devicemodel.VariableKey.path`); ``status`` is
    the station's answer (None: no answer)."""

    station_id: str
    kind: str  # "key" | "variable"
    name: str
    value: str
    sent_at: datetime
    status: str | None


class DesiredSettings(Protocol):
    """What operators set (never secrets: those go through the password rotation)."""

    async def record(self, setting: DesiredSetting) -> None: ...

    async def list(self, station_id: str) -> Sequence[DesiredSetting]: ...
