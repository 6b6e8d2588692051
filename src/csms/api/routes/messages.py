"""The OCPP message log (:mod:`csms.domain.messagelog`): every frame in and out, newest first.

One item per exchange: a CALL with its answer (``request`` and ``response``, each frame with its
own direction, type, time, size and payload, plus the latency and the outcome), or a frame outside
any exchange (``request`` only). ``GET /messages`` searches every station's, ``GET
/stations/{id}/messages`` one station's; both filter by action, direction (who started the
exchange), time range (of its first frame) and errors, and page with an opaque ``cursor``.
Payloads are shown as stored: secrets were masked before they were written.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from csms.api.deps import Context, attach, attached
from csms.api.errors import VALIDATION, ApiProblem
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import DB_INT_MAX, Problem, ValidationProblem
from csms.domain.messagelog import (
    IN,
    OUT,
    LoggedExchange,
    MessageLogRepository,
    MessageQuery,
    frame_payload,
)

__all__ = ["attach_message_log", "message_log_router"]

_STATE_KEY = "csms_message_log"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def attach_message_log(app: FastAPI, log: MessageLogRepository) -> None:
    """Keep the log on the app, where the routes find it."""
    attach(app, _STATE_KEY, log)


def _log(request: Request) -> MessageLogRepository:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


MessageType = Literal["CALL", "CALLRESULT", "CALLERROR", "CALLRESULTERROR", "SEND", "INVALID"]


class FrameOut(BaseModel):
    """One frame of an exchange as the log keeps it."""

    direction: Literal["in", "out"] = Field(description="in: station → csms; out: csms → station")
    message_type: MessageType
    at: datetime = Field(description="When csms read or wrote the frame (UTC)")
    size: int = Field(description="Bytes of the frame")
    payload: Any = Field(
        default=None,
        description="The payload with secrets masked (a CALLERROR's code, description and "
        "details; an unreadable frame's text); null when payloads are not kept",
    )


class MessageOut(BaseModel):
    """One exchange (a CALL and its answer) or one frame outside any exchange."""

    id: int
    station_id: str
    at: datetime = Field(description="When csms read or wrote the first frame (UTC)")
    direction: Literal["in", "out"] = Field(
        description="The first frame's: in, the station started the exchange; out, csms did"
    )
    message_type: MessageType = Field(
        description="The first frame's: CALL or SEND, or a lone CALLRESULT, CALLERROR, "
        "CALLRESULTERROR (no known CALL) or INVALID (unreadable)"
    )
    message_id: str | None
    action: str | None = Field(description="The CALL's (null for a lone result or error)")
    outcome: Literal["result", "error", "unanswered"] | None = Field(
        description="A CALL's: answered with a CALLRESULT, with a CALLERROR or CALLRESULTERROR, "
        "or not answered in time or before the connection ended; null for other frames"
    )
    latency_ms: float | None = Field(description="Milliseconds from the CALL to its answer")
    error_code: str | None = Field(description="Of a CALLERROR or CALLRESULTERROR")
    request: FrameOut = Field(description="The first frame (the CALL, or the lone frame)")
    response: FrameOut | None = Field(description="The answer; null when there is none")

    @classmethod
    def of(cls, m: LoggedExchange) -> MessageOut:
        assert m.id is not None
        at = datetime.fromtimestamp(m.at, UTC)
        response = None
        if m.response_type is not None:
            response = FrameOut(
                direction=OUT if m.direction == IN else IN,
                message_type=m.response_type,  # type: ignore[arg-type]
                at=at + timedelta(milliseconds=m.latency_ms or 0.0),
                size=m.response_size or 0,
                payload=None if m.response_frame is None else frame_payload(m.response_frame),
            )
        return cls(
            id=m.id,
            station_id=m.station_id,
            at=at,
            direction=m.direction,  # type: ignore[arg-type]
            message_type=m.message_type,  # type: ignore[arg-type]
            message_id=m.message_id,
            action=m.action,
            outcome=m.outcome,  # type: ignore[arg-type]
            latency_ms=m.latency_ms,
            error_code=m.error_code,
            request=FrameOut(
                direction=m.direction,  # type: ignore[arg-type]
                message_type=m.message_type,  # type: ignore[arg-type]
                at=at,
                size=m.size,
                payload=None if m.frame is None else frame_payload(m.frame),
            ),
            response=response,
        )


class MessagePage(BaseModel):
    """A page of the log, newest first."""

    items: list[MessageOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
    total: int | None = Field(
        default=None, description="Not counted: the log is large and keeps growing"
    )


Cursor = Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Action = Annotated[str | None, Query(max_length=64, description="e.g. BootNotification")]
Direction = Annotated[
    Literal["in", "out"] | None,
    Query(description="Who started the exchange: in, the station; out, csms"),
]
Since = Annotated[
    AwareDatetime | None, Query(description="First frame at or after (with a UTC offset)")
]
Until = Annotated[AwareDatetime | None, Query(description="First frame before (with a UTC offset)")]
ErrorsOnly = Annotated[
    bool,
    Query(
        description="Only exchanges answered with a CALLERROR or CALLRESULTERROR, unanswered "
        "CALLs, lone errors and unreadable frames"
    ),
]


def _encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"m:{entry_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        value = int(number)
        if prefix != "m" or not 1 <= value <= DB_INT_MAX:
            raise ValueError(cursor)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(VALIDATION, "cursor: not a cursor this API returned") from None
    return value


async def _page(request: Request, query: MessageQuery, limit: int) -> MessagePage:
    found = await _log(request).search(query, limit + 1)
    items = [MessageOut.of(m) for m in found[:limit]]
    more = len(found) > limit
    return MessagePage(items=items, next_cursor=_encode_cursor(items[-1].id) if more else None)


async def list_messages(
    request: Request,
    *,
    station: Annotated[str | None, Query(max_length=255, description="Station identity")] = None,
    action: Action = None,
    direction: Direction = None,
    since: Since = None,
    until: Until = None,
    errors: ErrorsOnly = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> MessagePage:
    """Every station's exchanges, newest first."""
    query = MessageQuery(
        station_id=station,
        action=action,
        direction=direction,
        since=since,
        until=until,
        errors_only=errors,
        before_id=None if cursor is None else _decode_cursor(cursor),
    )
    return await _page(request, query, limit)


async def list_station_messages(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    *,
    action: Action = None,
    direction: Direction = None,
    since: Since = None,
    until: Until = None,
    errors: ErrorsOnly = False,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> MessagePage:
    """One station's exchanges, newest first; 404 for a station that is not registered."""
    before = None if cursor is None else _decode_cursor(cursor)
    await require_station(context, station_id)
    query = MessageQuery(
        station_id=station_id,
        action=action,
        direction=direction,
        since=since,
        until=until,
        errors_only=errors,
        before_id=before,
    )
    return await _page(request, query, limit)


def message_log_router() -> APIRouter:
    """Build the message-log routes (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["message log"])
    bad_request: dict[int | str, dict[str, Any]] = {
        422: {"model": ValidationProblem, "description": "Invalid filter or cursor"}
    }
    router.add_api_route(
        "/messages",
        list_messages,
        methods=["GET"],
        operation_id="listMessages",
        summary="Search the OCPP message log",
        responses=bad_request,
    )
    router.add_api_route(
        "/stations/{station_id}/messages",
        list_station_messages,
        methods=["GET"],
        operation_id="listStationMessages",
        summary="A station's OCPP messages",
        responses={404: {"model": Problem, "description": "Unknown station"}, **bad_request},
    )
    return router
