"""RFC 9457 problem details: the single error format of the HTTP API.

Domain errors cross into HTTP only here, so routes raise what the domain raises and clients get one
shape for every failure. Each problem has a stable ``type`` URN that clients may switch on; two
409s (not connected, not allowed) are told apart by it, not by parsing ``detail``.

``StationBusy`` maps to 429: it is a transient, per-station back-pressure signal (the bounded
command queue is full) that the client should retry later, not a conflict with a resource state.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from csms.domain.errors import (
    CallFailed,
    CallOutcomeUnknown,
    CallTimeout,
    CommandNotAllowed,
    DomainError,
    InvalidPayload,
    NotSupportedByVersion,
    StationBusy,
    StationNotConnected,
    StorageError,
    UnknownFile,
    UnknownReservation,
    UnknownStation,
)

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE: Final = "application/problem+json"
TYPE_PREFIX: Final = "urn:csms:problem:"

OUTCOME_UNKNOWN_DETAIL: Final = (
    "The connection to the station dropped while the command was on the wire: the outcome is "
    "unknown, the station may or may not have applied it. Check its state before retrying."
)


class ProblemResponse(JSONResponse):
    """A JSON response with the problem details media type."""

    media_type = PROBLEM_MEDIA_TYPE


@dataclass(frozen=True, slots=True)
class ProblemKind:
    """How one kind of failure is presented: status code, ``type`` slug and fixed title."""

    status: int
    slug: str
    title: str


class ApiProblem(Exception):
    """Raised by routes for failures that are not domain errors (duplicate id, weak password)."""

    def __init__(
        self,
        kind: ProblemKind,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


UNAUTHORIZED: Final = ProblemKind(401, "unauthorized", "Missing or invalid bearer token")
STATION_EXISTS: Final = ProblemKind(409, "station-exists", "Station already registered")
WEAK_PASSWORD: Final = ProblemKind(422, "weak-password", "Password does not meet the policy")
VALIDATION: Final = ProblemKind(422, "validation-error", "Request validation failed")

_DOMAIN_KINDS: Final[Mapping[type[DomainError], ProblemKind]] = MappingProxyType(
    {
        UnknownStation: ProblemKind(404, "unknown-station", "Unknown station"),
        UnknownReservation: ProblemKind(404, "unknown-reservation", "Unknown reservation"),
        UnknownFile: ProblemKind(404, "not-found", "Not found"),
        StationNotConnected: ProblemKind(409, "station-not-connected", "Station not connected"),
        StationBusy: ProblemKind(429, "station-busy", "Station command queue is full"),
        CommandNotAllowed: ProblemKind(409, "command-not-allowed", "Command not allowed"),
        InvalidPayload: ProblemKind(422, "invalid-payload", "Invalid OCPP payload"),
        NotSupportedByVersion: ProblemKind(
            422, "not-supported-by-version", "Not supported by the station's OCPP version"
        ),
        CallTimeout: ProblemKind(504, "call-timeout", "Station did not answer in time"),
        CallOutcomeUnknown: ProblemKind(502, "call-outcome-unknown", "Command outcome unknown"),
        CallFailed: ProblemKind(502, "call-failed", "Station answered with a CALLERROR"),
        StorageError: ProblemKind(503, "storage-unavailable", "Storage unavailable"),
    }
)
_DOMAIN_FALLBACK: Final = ProblemKind(500, "domain-error", "Unexpected domain error")


def domain_kind(exc: DomainError) -> ProblemKind:
    """Return the problem kind of ``exc``, matching subclasses to their nearest mapped base."""
    for cls in type(exc).__mro__:
        kind = _DOMAIN_KINDS.get(cls)
        if kind is not None:
            return kind
    return _DOMAIN_FALLBACK


def problem_response(
    status: int,
    *,
    type_: str,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    """Build a problem+json response; ``extra`` members never override the standard ones."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _kind_response(
    kind: ProblemKind,
    request: Request,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    return problem_response(
        kind.status,
        type_=TYPE_PREFIX + kind.slug,
        title=kind.title,
        detail=detail,
        instance=request.url.path,
        headers=headers,
        extra=extra,
    )


def _domain_extra(exc: DomainError) -> dict[str, Any]:
    if isinstance(exc, CallFailed):
        return {
            "error_code": exc.code,
            "error_description": exc.description,
            "error_details": exc.details,
        }
    if isinstance(exc, InvalidPayload):
        return {"code": exc.code, "path": exc.path}
    return {}


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, DomainError):  # pragma: no cover - registered for DomainError only
        raise exc
    kind = domain_kind(exc)
    if isinstance(exc, CallOutcomeUnknown):
        detail = OUTCOME_UNKNOWN_DETAIL
    elif isinstance(exc, InvalidPayload):
        detail = exc.description
    else:
        detail = str(exc) or kind.title
    if kind.status >= 500:
        logger.warning(
            "%s %s failed: %s (%s)", request.method, request.url.path, kind.slug, type(exc).__name__
        )
    return _kind_response(kind, request, detail, extra=_domain_extra(exc))


async def _on_api_problem(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ApiProblem):  # pragma: no cover - registered for ApiProblem only
        raise exc
    return _kind_response(exc.kind, request, exc.detail, headers=exc.headers, extra=exc.extra)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    # Only location, message and type: pydantic's "input" would echo secrets such as passwords.
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in exc.errors()
    ]
    detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
    return _kind_response(VALIDATION, request, detail, extra={"errors": errors})


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        raise exc
    # No specific type: RFC 9457 §4.2.1 says "about:blank" with the status phrase as title.
    title = _status_phrase(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(
        exc.status_code,
        type_="about:blank",
        title=title,
        detail=detail,
        instance=request.url.path,
        headers=exc.headers,
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this handler, so the server still logs the traceback.
    return problem_response(
        500,
        type_="about:blank",
        title=_status_phrase(500),
        detail="An unexpected error occurred; see the server log.",
        instance=request.url.path,
    )


def _status_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def install_error_handlers(app: FastAPI) -> None:
    """Make every error leaving ``app`` a problem+json document."""
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
