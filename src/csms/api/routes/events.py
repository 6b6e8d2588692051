"""``GET /api/v1/events``: committed facts as Server-Sent Events (issue 9, scope 8).

Each SSE message has ``id`` (the event id), ``event`` (its type) and ``data`` (the JSON document
``{id, type, station_id, time, data}``). A client that reconnects with ``Last-Event-ID`` (browsers'
EventSource do it by themselves) is replayed what it missed from the replay buffer; if the buffer
no longer holds all of it, the first message is an ``events.lost`` event. Keepalive comments are
sent every ``keepalive`` seconds. At most ``max_streams`` streams at once: more get 503.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Protocol

from fastapi import APIRouter, FastAPI, Header, Query, Request
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from csms.api.deps import attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.schemas import Problem
from csms.domain.events import Event, EventBus, EventFilter, EventSubscription, EventType
from csms.domain.webhooks import WebhookRepository

__all__ = ["EventsApi", "attach_events", "events_router", "known_type_prefix"]

_STATE_KEY = "csms_events"
TOO_MANY_STREAMS: Final = ProblemKind(503, "too-many-streams", "Too many event streams")
BAD_FILTER: Final = ProblemKind(422, "validation-error", "Request validation failed")
MAX_FILTER_VALUES: Final = 100
BATCH: Final = 256  # events written at once to one stream at most


class WebhookChanges(Protocol):
    """What the webhook routes tell after a change (the dispatcher reloads its subscriptions)."""

    def changed(self) -> None: ...


class _NoDispatcher:
    def changed(self) -> None:
        """Nothing to tell: no dispatcher runs."""


@dataclass(slots=True)
class EventsApi:
    """What the event and webhook routes work with."""

    bus: EventBus
    max_streams: int = 100
    keepalive: float = 15.0
    webhooks: WebhookRepository | None = None
    dispatcher: WebhookChanges = field(default_factory=_NoDispatcher)
    max_webhooks: int = 100
    allow_http: bool = False
    block_private: bool = False
    streams: int = 0  # open SSE streams


def attach_events(app: FastAPI, events: EventsApi) -> None:
    """Store the events API on the app, where the routes find it."""
    attach(app, _STATE_KEY, events)


def events_api(request: Request) -> EventsApi:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


def known_type_prefix(prefix: str) -> bool:
    """Whether ``prefix`` selects at least one event type."""
    return any(t.value.startswith(prefix) for t in EventType)


def _filter(stations: list[str], types: list[str]) -> EventFilter:
    if len(stations) > MAX_FILTER_VALUES or len(types) > MAX_FILTER_VALUES:
        raise ApiProblem(BAD_FILTER, f"at most {MAX_FILTER_VALUES} station and type filters")
    for prefix in types:
        if not prefix or not known_type_prefix(prefix):
            raise ApiProblem(BAD_FILTER, f"type {prefix!r} matches no event type")
    return EventFilter(stations=frozenset(stations), types=tuple(types))


def _last_event_id(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiProblem(BAD_FILTER, "Last-Event-ID: expected an event id (integer)") from None


class _Stream:
    """One SSE stream: its subscription and its slot, released once."""

    def __init__(self, api: EventsApi, subscription: EventSubscription) -> None:
        self._api = api
        self._subscription = subscription
        self._open = True
        api.streams += 1

    def release(self) -> None:
        if self._open:
            self._open = False
            self._api.streams -= 1
            self._subscription.close()

    async def messages(self) -> AsyncIterator[bytes]:
        """The SSE messages, several per write when several are waiting (one socket write per
        wake-up instead of one per event). A comment first: Firefox's EventSource says "open"
        only once body bytes arrive, so a quiet stream would look closed until the first
        keepalive."""
        try:
            yield b": open\n\n"
            while True:
                event = await self._subscription.next()
                if event is None:
                    continue
                batch = [event, *self._subscription.take_ready(BATCH)]
                yield "".join(_message(e) for e in batch).encode()
        finally:
            self.release()


def _message(event: Event) -> str:
    """One SSE message; ``wire`` is single-line JSON (orjson never writes a newline)."""
    return f"id: {event.id}\nevent: {event.type}\ndata: {event.wire}\n\n"


async def stream_events(
    request: Request,
    station: Annotated[
        list[str], Query(description="Only these stations (repeatable)", max_length=255)
    ] = [],  # noqa: B006 - FastAPI copies defaults
    type: Annotated[
        list[str],
        Query(description="Only types starting with one of these (repeatable)", max_length=64),
    ] = [],  # noqa: B006
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Resume after this event id")
    ] = None,
) -> EventSourceResponse:
    """Stream events as Server-Sent Events (`text/event-stream`).

    Filters: `station=` and `type=` (a prefix such as `transaction.`), each repeatable. Resumable
    with the `Last-Event-ID` header. Keepalive comments keep proxies from closing the stream.
    """
    api = events_api(request)
    event_filter = _filter(station, type)
    after = _last_event_id(last_event_id)
    if api.streams >= api.max_streams:
        raise ApiProblem(
            TOO_MANY_STREAMS,
            f"{api.max_streams} event streams are open (CSMS_EVENTS_MAX_STREAMS); retry later",
            headers={"Retry-After": "5"},
        )
    stream = _Stream(api, api.bus.subscribe(event_filter, after=after))
    return _StreamResponse(stream, ping=api.keepalive, send_timeout=30.0)


class _StreamResponse(EventSourceResponse):
    """Releases the stream's slot and subscription however the response ends (a HEAD request
    or an early disconnect never runs the generator)."""

    def __init__(self, stream: _Stream, **kwargs: Any) -> None:
        super().__init__(stream.messages(), **kwargs)
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._stream.release()


_SSE_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "An endless `text/event-stream`",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    422: {"model": Problem, "description": "Unknown event type or bad Last-Event-ID"},
    503: {"model": Problem, "description": "Too many event streams (or storage unavailable)"},
}


def events_router() -> APIRouter:
    router = APIRouter(tags=["events"])
    router.add_api_route(
        "/events",
        stream_events,
        methods=["GET"],
        response_class=EventSourceResponse,
        responses=_SSE_RESPONSES,
        summary="Stream events (SSE)",
    )
    return router
