"""``/api/v1/webhooks``: webhook subscriptions and their delivery log (admin only).

The secret is returned once, by the POST that creates the subscription; later reads never show
it. See :mod:`csms.domain.webhooks` for the signature and :mod:`csms.events.webhooks` for
delivery, retries and what a restart loses.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from csms.api.errors import ApiProblem, ProblemKind
from csms.api.routes.events import EventsApi, events_api, known_type_prefix
from csms.api.schemas import Problem, ValidationProblem
from csms.domain.webhooks import Delivery, DeliveryState, WebhookRepository, WebhookSubscription
from csms.events.webhooks import InvalidWebhookUrl, check_url, new_secret

__all__ = ["webhooks_router"]

NOT_FOUND: Final = ProblemKind(404, "not-found", "Not found")
INVALID: Final = ProblemKind(422, "validation-error", "Request validation failed")
TOO_MANY: Final = ProblemKind(409, "too-many-webhooks", "Too many webhook subscriptions")
ADMIN: Final = {"x-required-role": "admin"}
IdPath = Annotated[int, Path(ge=1, le=2**63 - 1, description="Subscription id")]


class WebhookIn(BaseModel):
    url: str = Field(max_length=2048, description="https:// (http:// on loopback only)")
    event_types: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Type prefixes such as `transaction.`; empty: every type",
    )
    station_ids: list[str] = Field(
        default_factory=list, max_length=1000, description="Empty: every station"
    )
    description: str | None = Field(default=None, max_length=500)


class WebhookPatch(BaseModel):
    url: str | None = Field(default=None, max_length=2048)
    event_types: list[str] | None = Field(default=None, max_length=50)
    station_ids: list[str] | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(
        default=None, description="true re-enables a disabled subscription (failures reset)"
    )


class WebhookOut(BaseModel):
    id: int
    url: str
    event_types: list[str]
    station_ids: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why it was disabled, if it is")
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: WebhookSubscription) -> WebhookOut:
        return cls(
            id=s.id,
            url=s.url,
            event_types=list(s.event_types),
            station_ids=list(s.station_ids),
            description=s.description,
            enabled=s.enabled,
            disabled_reason=s.disabled_reason,
            consecutive_failures=s.consecutive_failures,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret: shown this once, store it now")


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None
    total: int | None


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    event_type: str
    station_id: str | None
    state: DeliveryState
    attempts: int = Field(description="Attempts made so far")
    status_code: int | None = Field(description="HTTP status of the last attempt")
    latency_ms: float | None = Field(description="Duration of the last attempt")
    error: str | None = Field(description="Why the last attempt failed")
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            event_id=d.event_id,
            event_type=d.event_type,
            station_id=d.station_id,
            state=d.state,
            attempts=d.attempts,
            status_code=d.last_status_code,
            latency_ms=d.last_latency_ms,
            error=d.last_error,
            next_attempt_at=d.next_attempt_at,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
    total: int | None = Field(description="Not counted for the log (always null)")


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "id" and value.isdigit() and len(value) < 20:
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiProblem(INVALID, "cursor: not a cursor this API returned")


def _repository(api: EventsApi) -> WebhookRepository:
    assert api.webhooks is not None  # the router is only included with a repository
    return api.webhooks


def _url(api: EventsApi, url: str) -> str:
    try:
        return check_url(url, allow_http=api.allow_http, block_private=api.block_private)
    except InvalidWebhookUrl as exc:
        raise ApiProblem(INVALID, f"url: {exc}") from None


def _types(types: list[str]) -> list[str]:
    for prefix in types:
        if not prefix or not known_type_prefix(prefix):
            raise ApiProblem(INVALID, f"event_types: {prefix!r} matches no event type")
    return types


async def _get(api: EventsApi, subscription_id: int) -> WebhookSubscription:
    found = await _repository(api).get(subscription_id)
    if found is None:
        raise ApiProblem(NOT_FOUND, f"no webhook subscription {subscription_id}")
    return found


def _now() -> datetime:
    return datetime.now(UTC)


async def create_webhook(request: Request, body: WebhookIn) -> WebhookCreated:
    """Subscribe a URL to events; the answer holds the signing secret, shown only this once."""
    api = events_api(request)
    repository = _repository(api)
    url = _url(api, body.url)
    types = _types(body.event_types)
    if await repository.count() >= api.max_webhooks:
        raise ApiProblem(
            TOO_MANY, f"{api.max_webhooks} subscriptions exist (CSMS_EVENTS_MAX_WEBHOOKS)"
        )
    created = await repository.create(
        url=url,
        secret=new_secret(),
        event_types=types,
        station_ids=body.station_ids,
        description=body.description,
        now=_now(),
    )
    api.dispatcher.changed()
    return WebhookCreated(**WebhookOut.of(created).model_dump(), secret=created.secret)


async def list_webhooks(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WebhookPage:
    """List subscriptions by id."""
    repository = _repository(events_api(request))
    page = await repository.list(after_id=_decode_cursor(cursor), limit=limit + 1)
    more = len(page) > limit
    items = list(page[:limit])
    return WebhookPage(
        items=[WebhookOut.of(s) for s in items],
        next_cursor=_encode_cursor(items[-1].id) if more else None,
        total=await repository.count(),
    )


async def get_webhook(request: Request, subscription_id: IdPath) -> WebhookOut:
    """One subscription (never its secret)."""
    return WebhookOut.of(await _get(events_api(request), subscription_id))


async def patch_webhook(
    request: Request, subscription_id: IdPath, body: WebhookPatch
) -> WebhookOut:
    """Change a subscription; `{"enabled": true}` re-enables one disabled after failures."""
    api = events_api(request)
    updated = await _repository(api).update(
        subscription_id,
        _now(),
        url=None if body.url is None else _url(api, body.url),
        event_types=None if body.event_types is None else _types(body.event_types),
        station_ids=body.station_ids,
        description=body.description,
        enabled=body.enabled,
    )
    if updated is None:
        raise ApiProblem(NOT_FOUND, f"no webhook subscription {subscription_id}")
    api.dispatcher.changed()
    return WebhookOut.of(updated)


async def delete_webhook(request: Request, subscription_id: IdPath) -> Response:
    """Delete a subscription, its pending deliveries and its log."""
    api = events_api(request)
    if not await _repository(api).delete(subscription_id):
        raise ApiProblem(NOT_FOUND, f"no webhook subscription {subscription_id}")
    api.dispatcher.changed()
    return Response(status_code=204)


async def list_deliveries(
    request: Request,
    subscription_id: IdPath,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    """The delivery log, newest first: one row per event, with its last attempt."""
    api = events_api(request)
    await _get(api, subscription_id)
    page = await _repository(api).deliveries(
        subscription_id, before_id=_decode_cursor(cursor), limit=limit + 1
    )
    more = len(page) > limit
    items = list(page[:limit])
    return DeliveryPage(
        items=[DeliveryOut.of(d) for d in items],
        next_cursor=_encode_cursor(items[-1].id) if more else None,
        total=None,
    )


_NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": Problem, "description": "No such subscription"}
}
_INVALID: Final[dict[int | str, dict[str, Any]]] = {
    422: {"model": ValidationProblem, "description": "Invalid URL, type or cursor"}
}


def webhooks_router() -> APIRouter:
    router = APIRouter(tags=["events"])
    add = router.add_api_route
    add(
        "/webhooks",
        create_webhook,
        methods=["POST"],
        status_code=201,
        response_model=WebhookCreated,
        responses={
            **_INVALID,
            409: {"model": Problem, "description": "Too many subscriptions"},
        },
        openapi_extra=ADMIN,
        summary="Create a webhook subscription",
    )
    add(
        "/webhooks",
        list_webhooks,
        methods=["GET"],
        response_model=WebhookPage,
        responses=_INVALID,
        openapi_extra=ADMIN,
        summary="List webhook subscriptions",
    )
    add(
        "/webhooks/{subscription_id}",
        get_webhook,
        methods=["GET"],
        response_model=WebhookOut,
        responses=_NOT_FOUND,
        openapi_extra=ADMIN,
        summary="Read a webhook subscription",
    )
    add(
        "/webhooks/{subscription_id}",
        patch_webhook,
        methods=["PATCH"],
        response_model=WebhookOut,
        responses={**_NOT_FOUND, **_INVALID},
        openapi_extra=ADMIN,
        summary="Change or re-enable a webhook subscription",
    )
    add(
        "/webhooks/{subscription_id}",
        delete_webhook,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        responses=_NOT_FOUND,
        openapi_extra=ADMIN,
        summary="Delete a webhook subscription",
    )
    add(
        "/webhooks/{subscription_id}/deliveries",
        list_deliveries,
        methods=["GET"],
        response_model=DeliveryPage,
        responses={**_NOT_FOUND, **_INVALID},
        openapi_extra=ADMIN,
        summary="The delivery log of a webhook subscription",
    )
    return router
