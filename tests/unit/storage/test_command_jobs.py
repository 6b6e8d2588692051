"""Command jobs and desired settings in storage (SQLite and PostgreSQL), and what a restart does
to a job that was running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from csms.api.intents.jobs import RESTART_REASON, JobLimits, JobRunner
from csms.api.intents.registry import IntentServices
from csms.domain.command_jobs import (
    CommandJob,
    DesiredSetting,
    JobState,
    StationOutcome,
    StationResult,
)
from csms.storage import Store

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _job(job_id: str, at: datetime, state: JobState = JobState.DONE) -> CommandJob:
    return CommandJob(
        id=job_id,
        intent="reset",
        params={"type": "soft"},
        state=state,
        created_at=at,
        results=(
            StationResult("CS1", StationOutcome.OK, {"status": "Accepted"}, None, at),
            StationResult("CS2"),
        ),
        stations=("CS1", "CS2"),
    )


async def test_jobs_round_trip_and_page_newest_first(store: Store) -> None:
    jobs = store.command_jobs
    for n in range(3):
        await jobs.save(_job(f"job-{n}", T0 + timedelta(minutes=n)))
    got = await jobs.get("job-1")
    assert got == _job("job-1", T0 + timedelta(minutes=1))
    first = await jobs.list(limit=2)
    assert [j.id for j in first] == ["job-2", "job-1"]
    rest = await jobs.list(limit=2, before=(first[-1].created_at, first[-1].id))
    assert [j.id for j in rest] == ["job-0"]
    assert await jobs.count() == 3
    assert await jobs.get("nope") is None


async def test_prune_keeps_running_jobs_and_bounds_age_and_count(store: Store) -> None:
    jobs = store.command_jobs
    await jobs.save(_job("old", T0 - timedelta(days=30)))
    await jobs.save(_job("old-running", T0 - timedelta(days=30), JobState.RUNNING))
    for n in range(3):
        await jobs.save(_job(f"new-{n}", T0 + timedelta(minutes=n)))
    removed = await jobs.prune(older_than=T0 - timedelta(days=7), keep=2)
    assert removed == 2  # "old" by age, then "new-0" by count
    assert {j.id for j in await jobs.list()} == {"old-running", "new-1", "new-2"}


async def test_a_job_running_at_a_restart_is_failed_with_outcome_unknown(store: Store) -> None:
    await store.command_jobs.save(_job("crashed", T0, JobState.RUNNING))
    await store.command_jobs.save(_job("finished", T0, JobState.DONE))
    services = IntentServices(
        gateway=cast(Any, None), stations=store.stations, clock=lambda: T0 + timedelta(hours=1)
    )
    runner = JobRunner(store.command_jobs, services, limits=JobLimits())
    await runner.start()  # what the container does at each start
    crashed = await store.command_jobs.get("crashed")
    assert crashed is not None
    assert (crashed.state, crashed.error) == (JobState.FAILED, RESTART_REASON)
    assert [r.outcome for r in crashed.results] == [StationOutcome.OK, StationOutcome.UNKNOWN]
    assert crashed.finished_at == T0 + timedelta(hours=1)
    finished = await store.command_jobs.get("finished")
    assert finished is not None and finished.state is JobState.DONE
    assert finished.results[1].outcome is StationOutcome.PENDING


async def test_desired_settings_keep_the_last_value_per_name(store: Store) -> None:
    desired = store.desired_settings
    await desired.record(DesiredSetting("CS1", "key", "HeartbeatInterval", "60", T0, None))
    await desired.record(DesiredSetting("CS1", "key", "HeartbeatInterval", "120", T0, "Accepted"))
    await desired.record(DesiredSetting("CS1", "variable", "OCPPCommCtrlr/X", "1", T0, "Rejected"))
    got = await desired.list("CS1")
    assert [(d.kind, d.name, d.value, d.status) for d in got] == [
        ("key", "HeartbeatInterval", "120", "Accepted"),
        ("variable", "OCPPCommCtrlr/X", "1", "Rejected"),
    ]
    assert await desired.list("CS2") == []
