"""Typed, version-neutral commands, one route per intent, generated from the intent catalog.

* ``POST /stations/{id}/commands/{intent}``: sync (default) waits up to ``timeout`` and answers
  200 with the typed result, or the problems of the generic call (404, 409, 422, 429, 502, 504);
  ``?mode=async`` answers 202 with a job to poll at ``GET /jobs/{id}``.
* ``POST /commands/{intent}``: fan-out to ``stations`` or to a ``filter`` of stations, as one job
  with per-station results (202).
* ``GET /jobs``, ``GET /jobs/{id}``.

The generic ``POST /stations/{id}/call/{action}`` stays for experts.
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from csms.api.deps import attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.intents.catalog import INTENTS
from csms.api.intents.jobs import JobRunner
from csms.api.intents.registry import Intent, IntentServices, execute
from csms.api.routes.commands import MAX_TIMEOUT_S, MIN_TIMEOUT_S, TYPED_COMMANDS_KEY
from csms.api.schemas import CallFailedProblem, InvalidPayloadProblem, Problem, ValidationProblem
from csms.domain.command_jobs import CommandJob, JobState, StationOutcome
from csms.domain.errors import UnknownStation
from csms.domain.model import RegistrationStatus
from csms.rpc import OcppVersion

__all__ = ["CommandsApi", "attach_typed_commands", "typed_commands_router"]

logger = logging.getLogger(__name__)

_KEY = TYPED_COMMANDS_KEY
TOO_MANY_STATIONS = ProblemKind(422, "too-many-stations", "Too many stations for one job")
NO_TARGET = ProblemKind(422, "no-stations", "No stations named")
UNKNOWN_JOB = ProblemKind(404, "unknown-job", "Unknown job")
BAD_CURSOR = ProblemKind(422, "validation-error", "Request validation failed")


class CommandsApi:
    """What the typed command routes work with: the intent services and the job runner."""

    def __init__(self, services: IntentServices, jobs: JobRunner, *, call_timeout: float) -> None:
        self.services = services
        self.jobs = jobs
        self.call_timeout = call_timeout


def attach_typed_commands(app: FastAPI, api: CommandsApi) -> None:
    attach(app, _KEY, api)


def _api(request: Request) -> CommandsApi:
    api: CommandsApi = attached(request, _KEY)
    return api


# --- response models -------------------------------------------------------------------------


class StationResultOut(BaseModel):
    """One station's part of a job: ``result`` (the intent's typed result) when ``outcome`` is
    ok, else ``problem`` (an RFC 9457 problem object: offline, not supported by its version,
    CALLERROR, timeout...)."""

    station_id: str
    outcome: StationOutcome
    result: Any = None
    problem: dict[str, Any] | None = None
    finished_at: datetime | None = None


class JobOut(BaseModel):
    """A command job. ``state``: queued, running, done (every station answered) or failed (at
    least one did not; see its result). ``counts`` tallies the outcomes."""

    id: str
    intent: str
    state: JobState
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    created_by: str | None = None
    station_count: int
    counts: dict[str, int]
    results: list[StationResultOut]
    href: str


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None = None
    total: int | None = None


def job_out(job: CommandJob, *, prefix: str = "/api/v1") -> JobOut:
    counts = {outcome.value: 0 for outcome in StationOutcome}
    for r in job.results:
        counts[r.outcome.value] += 1
    return JobOut(
        id=job.id,
        intent=job.intent,
        state=job.state,
        params=job.params,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        created_by=job.created_by,
        station_count=len(job.stations),
        counts=counts,
        results=[
            StationResultOut(
                station_id=r.station_id,
                outcome=r.outcome,
                result=r.result,
                problem=r.problem,
                finished_at=r.finished_at,
            )
            for r in job.results
        ],
        href=f"{prefix}/jobs/{job.id}",
    )


def _job_response(job: CommandJob, status: int) -> JSONResponse:
    out = job_out(job)
    return JSONResponse(
        out.model_dump(mode="json"), status_code=status, headers={"Location": out.href}
    )


def _principal(request: Request) -> str | None:
    principal = getattr(request.state, "principal", None)
    name = getattr(principal, "name", None)
    return name if isinstance(name, str) else None


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown station (or reservation, file)"},
    409: {"model": Problem, "description": "Station not connected or command not allowed"},
    422: {
        "model": InvalidPayloadProblem | ValidationProblem,
        "description": "Malformed request, invalid for the station's version, or "
        "`urn:csms:problem:not-supported-by-version` when its OCPP version has no such command",
    },
    429: {"model": Problem, "description": "Station's command queue (or the job runner) full"},
    502: {
        "model": CallFailedProblem,
        "description": "Station answered with a CALLERROR, or the outcome is unknown",
    },
    504: {"model": Problem, "description": "Station did not answer in time"},
}

Mode = Literal["sync", "async"]
Timeout = Annotated[
    float | None,
    Query(
        alias="timeout",
        ge=MIN_TIMEOUT_S,
        le=MAX_TIMEOUT_S,
        description="Seconds to wait for each station's answer (server default if absent)",
    ),
]


def _versions_text(intent: Intent) -> str:
    names = ", ".join(sorted(str(v) for v in intent.versions))
    return f"OCPP versions: {names}. Sends: " + ", ".join(
        sorted({action for _, action in intent.sends})
    )


def _station_route(intent: Intent) -> Callable[..., Awaitable[Any]]:
    async def endpoint(
        request: Request,
        station_id: str,
        body: Any,
        mode: Mode = "sync",
        timeout_s: float | None = None,
    ) -> Any:
        api = _api(request)
        timeout = api.call_timeout if timeout_s is None else timeout_s
        if mode == "async":
            if await api.services.stations.get(station_id) is None:
                raise UnknownStation(f"no station {station_id!r} is registered")
            job = await api.jobs.submit(
                intent, body, [station_id], created_by=_principal(request), timeout=timeout
            )
            return _job_response(job, 202)
        logger.info(
            "API command %s to station %r (timeout %.1f s)", intent.name, station_id, timeout
        )
        value = await execute(intent, api.services, station_id, body, timeout=timeout)
        return JSONResponse(intent.dump(value))

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "station_id",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[str, Path(description="Charging station identity")],
            ),
            inspect.Parameter(
                "body",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=Annotated[intent.body, Body()],
            ),
            inspect.Parameter(
                "mode",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default="sync",
                annotation=Annotated[
                    Mode,
                    Query(description="sync: wait and answer 200; async: answer 202 with a job"),
                ],
            ),
            inspect.Parameter(
                "timeout_s",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None,
                annotation=Timeout,
            ),
        ]
    )
    return endpoint


StationRef = Annotated[str, Field(min_length=1, max_length=255)]


class StationFilter(BaseModel):
    """Which stations a fan-out targets; all given conditions must hold."""

    model_config = ConfigDict(extra="forbid")

    ocpp_version: OcppVersion | None = Field(
        default=None, description="The live version of a connected station, else the last one"
    )
    online: bool | None = None
    registration_status: RegistrationStatus | None = None


def _fan_out_model(intent: Intent) -> type[BaseModel]:
    model: type[BaseModel] = create_model(
        "FanOut" + "".join(part.title() for part in intent.name.split("-")),
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"Send {intent.name} to ``stations`` or to the stations matching ``filter``.",
        stations=(list[StationRef] | None, Field(default=None, min_length=1, max_length=100_000)),
        filter=(StationFilter | None, None),
        params=(intent.body, ...),
    )
    return model


async def _targets(
    api: CommandsApi, stations: list[str] | None, flt: StationFilter | None
) -> list[str]:
    cap = api.jobs.limits.max_stations
    if stations is not None:
        if flt is not None:
            raise ApiProblem(NO_TARGET, "name either stations or a filter, not both")
        if len(set(stations)) > cap:
            raise ApiProblem(TOO_MANY_STATIONS, f"at most {cap} stations per job")
        return stations
    if flt is None:
        raise ApiProblem(NO_TARGET, "name stations or a filter")
    gateway = api.services.gateway
    chosen: list[str] = []
    offset = 0
    while True:
        page = await api.services.stations.list(limit=500, offset=offset)
        for station in page:
            online = gateway.is_connected(station.id)
            version = (gateway.ocpp_version(station.id) if online else None) or station.ocpp_version
            if flt.online is not None and online != flt.online:
                continue
            if flt.ocpp_version is not None and version != flt.ocpp_version.value:
                continue
            if (
                flt.registration_status is not None
                and station.registration_status is not flt.registration_status
            ):
                continue
            chosen.append(station.id)
            if len(chosen) > cap:
                raise ApiProblem(
                    TOO_MANY_STATIONS, f"the filter matches more than {cap} stations; narrow it"
                )
        if len(page) < 500:
            return chosen
        offset += len(page)


def _fan_out_route(intent: Intent) -> Callable[..., Awaitable[Any]]:
    model = _fan_out_model(intent)

    async def endpoint(request: Request, body: Any, timeout_s: float | None = None) -> Any:
        api = _api(request)
        stations = await _targets(api, body.stations, body.filter)
        if not stations:
            raise ApiProblem(NO_TARGET, "no station matches the filter")
        job = await api.jobs.submit(
            intent,
            body.params,
            stations,
            created_by=_principal(request),
            timeout=api.call_timeout if timeout_s is None else timeout_s,
        )
        return _job_response(job, 202)

    endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[model, Body()]
            ),
            inspect.Parameter(
                "timeout_s",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=None,
                annotation=Timeout,
            ),
        ]
    )
    return endpoint


async def get_job(request: Request, job_id: Annotated[str, Path(max_length=36)]) -> JobOut:
    """A job and its per-station results (progress while it runs)."""
    job = await _api(request).jobs.get(job_id)
    if job is None:
        raise ApiProblem(UNKNOWN_JOB, f"no job {job_id!r} (jobs are kept for a bounded time)")
    return job_out(job)


def _cursor(job: CommandJob) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, job_id = raw.partition("|")
        return datetime.fromisoformat(at), job_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiProblem(BAD_CURSOR, "cursor: not a cursor this API gave") from None


async def list_jobs(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> JobPage:
    """Jobs, newest first."""
    jobs = _api(request).jobs
    before = _read_cursor(cursor) if cursor else None
    found = await jobs.repository.list(limit=limit + 1, before=before)
    page = list(found[:limit])
    items = []
    for job in page:
        live = await jobs.get(job.id)
        items.append(job_out(live or job))
    return JobPage(
        items=items,
        next_cursor=_cursor(page[-1]) if len(found) > limit else None,
        total=await jobs.repository.count(),
    )


def typed_commands_router(services: IntentServices) -> APIRouter:
    """One route per intent the services can run, its fan-out twin, and the job routes."""
    needs = frozenset(need for intent in INTENTS for need in intent.needs)
    return _typed_commands_router(frozenset(n for n in needs if services.has((n,))))


@functools.lru_cache(maxsize=8)
def _typed_commands_router(available: frozenset[str]) -> APIRouter:
    """Built once per set of available services and shared by every app of the process: the
    routes read the services from their app's state (``_api``), and building their 80-odd
    pydantic bodies costs about 0.6 s, which every csms start (and every test server) paid.
    Nothing changes a router once built."""
    router = APIRouter(tags=["commands"])
    for intent in INTENTS:
        if not available.issuperset(intent.needs):
            continue
        camel = "".join(part.title() for part in intent.name.split("-"))
        description = f"{intent.description}\n\n{_versions_text(intent)}".strip()
        router.add_api_route(
            f"/stations/{{station_id}}/commands/{intent.name}",
            _station_route(intent),
            methods=["POST"],
            operation_id=f"command{camel}",
            summary=intent.summary,
            description=description,
            response_model=intent.result,
            response_description="The station's answer, the same shape for every OCPP version",
            responses={202: {"model": JobOut, "description": "mode=async: the job"}, **_PROBLEMS},
        )
        router.add_api_route(
            f"/commands/{intent.name}",
            _fan_out_route(intent),
            methods=["POST"],
            status_code=202,
            operation_id=f"fanOut{camel}",
            summary=f"{intent.summary}, on many stations (one job)",
            description=description,
            response_model=JobOut,
            responses={
                404: _PROBLEMS[404],
                422: {
                    "model": ValidationProblem | Problem,
                    "description": "Malformed request, no stations, or too many for one job",
                },
                429: {"model": Problem, "description": "Too many jobs running"},
            },
        )
    router.add_api_route(
        "/jobs", list_jobs, methods=["GET"], operation_id="listJobs", summary="Command jobs"
    )
    router.add_api_route(
        "/jobs/{job_id}",
        get_job,
        methods=["GET"],
        operation_id="getJob",
        summary="A command job and its per-station results",
        responses={404: {"model": Problem, "description": "Unknown job"}},
    )
    return router
