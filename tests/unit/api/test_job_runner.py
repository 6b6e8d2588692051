"""The job runner's bounds, without a database or stations: stations of a job in flight at once,
jobs running at once (more is a 429, not an unbounded queue), per-station outcomes, callback."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from pydantic import BaseModel

from csms.api.errors import ApiProblem
from csms.api.intents.jobs import JobLimits, JobRunner, redact
from csms.api.intents.registry import Intent, IntentServices
from csms.domain.command_jobs import CommandJob, JobState, StationOutcome
from csms.domain.errors import CallFailed
from csms.rpc import OcppVersion

T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Body(BaseModel):
    pass


class Result(BaseModel):
    station: str


class MemoryJobs:
    def __init__(self) -> None:
        self.jobs: dict[str, CommandJob] = {}

    async def save(self, job: CommandJob) -> None:
        self.jobs[job.id] = job

    async def get(self, job_id: str) -> CommandJob | None:
        return self.jobs.get(job_id)

    async def list(self, **_: Any) -> Sequence[CommandJob]:
        return list(self.jobs.values())

    async def count(self) -> int:
        return len(self.jobs)

    async def abandon_unfinished(self, now: datetime, reason: str) -> int:
        return 0

    async def prune(self, *, older_than: datetime, keep: int) -> int:
        return 0


class Gateway:
    def __init__(self, online: set[str]) -> None:
        self.online = online

    def ocpp_version(self, station_id: str) -> str | None:
        return "2.0.1" if station_id in self.online else None


class Stations:
    async def get(self, station_id: str) -> object | None:
        return None if station_id == "UNKNOWN" else object()


class Probe:
    def __init__(self) -> None:
        self.in_flight = 0
        self.most = 0
        self.release = asyncio.Event()
        self.full = asyncio.Event()  # set when 3 stations are in flight

    async def run(
        self, s: IntentServices, sid: str, version: OcppVersion, body: Any, timeout: float
    ) -> Result:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight == 3:
            self.full.set()
        try:
            await self.release.wait()
            if sid == "REFUSES":
                raise CallFailed("NotSupported", "no")
            return Result(station=sid)
        finally:
            self.in_flight -= 1


def _intent(probe: Probe) -> Intent:
    return Intent(
        name="probe",
        summary="",
        body=Body,
        result=Result,
        versions=frozenset({OcppVersion.V201}),
        sends=frozenset({(OcppVersion.V201, "Probe")}),
        run=probe.run,
    )


def _runner(
    online: set[str], limits: JobLimits, done: list[CommandJob], ended: asyncio.Event | None = None
) -> JobRunner:
    services = IntentServices(
        gateway=cast(Any, Gateway(online)), stations=cast(Any, Stations()), clock=lambda: T0
    )

    async def finished(job: CommandJob) -> None:
        done.append(job)
        if ended is not None:
            ended.set()

    return JobRunner(MemoryJobs(), services, limits=limits, on_finished=finished)


async def test_a_job_runs_at_most_concurrency_stations_at_once_and_reports_each() -> None:
    stations = [f"CS{n}" for n in range(10)] + ["REFUSES", "OFFLINE", "UNKNOWN"]
    probe = Probe()
    done: list[CommandJob] = []
    ended = asyncio.Event()
    runner = _runner(set(stations) - {"OFFLINE"}, JobLimits(concurrency=3), done, ended)
    job = await runner.submit(_intent(probe), Body(), stations)
    async with asyncio.timeout(5):
        await probe.full.wait()
        running = await runner.get(job.id)
        assert running is not None and running.state is JobState.RUNNING
        probe.release.set()
        await ended.wait()
    assert probe.most == 3
    [finished] = done
    assert finished.state is JobState.FAILED
    outcomes = {r.station_id: r.outcome for r in finished.results}
    assert outcomes["CS0"] is StationOutcome.OK and outcomes["OFFLINE"] is StationOutcome.OFFLINE
    assert outcomes["REFUSES"] is StationOutcome.ERROR
    assert outcomes["UNKNOWN"] is StationOutcome.ERROR
    by_id = {r.station_id: r for r in finished.results}
    assert by_id["CS0"].result == {"station": "CS0"}
    assert by_id["REFUSES"].problem is not None
    assert by_id["REFUSES"].problem["type"] == "urn:csms:problem:call-failed"
    assert await runner.get(job.id) == finished  # stored once finished


async def test_more_jobs_than_max_running_are_refused_with_429() -> None:
    probe = Probe()
    runner = _runner({"CS1"}, JobLimits(max_running=1), [])
    await runner.submit(_intent(probe), Body(), ["CS1"])
    with pytest.raises(ApiProblem) as refused:
        await runner.submit(_intent(probe), Body(), ["CS1"])
    assert refused.value.kind.status == 429
    probe.release.set()
    await runner.aclose()
    assert dataclasses.asdict(JobLimits())["max_stations"] == 1000


def test_job_parameters_never_keep_a_password() -> None:
    params = {
        "connection_data": {
            "vpn": {"password": "s3cret", "key": "k", "user": "u"},
            "apn": {"apn_password": "p", "apn": "internet"},
            "basic_auth_password": None,
        },
        "values": [{"AuthorizationKey": "x"}],
        "key": "HeartbeatInterval",
    }
    assert redact(params) == {
        "connection_data": {
            "vpn": {"password": "********", "key": "********", "user": "u"},
            "apn": {"apn_password": "********", "apn": "internet"},
            "basic_auth_password": None,
        },
        "values": [{"AuthorizationKey": "********"}],
        "key": "HeartbeatInterval",
    }


async def test_stopping_csms_keeps_finished_stations_and_marks_the_rest_unknown() -> None:
    probe = Probe()
    runner = _runner({"CS1", "CS2", "CS3"}, JobLimits(concurrency=3), [])
    job = await runner.submit(_intent(probe), Body(), ["CS1", "CS2", "CS3", "OFFLINE"])
    async with asyncio.timeout(5):
        await probe.full.wait()
    await runner.aclose()
    stored = await runner.repository.get(job.id)
    assert stored is not None and stored.state is JobState.FAILED
    assert stored.error is not None and "stopped" in stored.error
    outcomes = [r.outcome for r in stored.results]
    # Three were on the wire; the fourth never started (concurrency 3): nothing was sent to it.
    assert outcomes == [StationOutcome.UNKNOWN] * 3 + [StationOutcome.PENDING]
