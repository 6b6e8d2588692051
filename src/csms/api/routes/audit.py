"""The audit log of state-changing requests (admin), newest first, with cursor pagination."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from csms.api.errors import ApiProblem
from csms.api.routes.identity_common import (
    ADMIN,
    BAD_REQUEST,
    ROLE_PROBLEMS,
    Cursor,
    Limit,
    decode_cursor,
    encode_cursor,
    identity_of,
)
from csms.domain.accounts import (
    AuditEntry,
    AuditQuery,
)

__all__ = ["audit_router"]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    auth_kind: str
    method: str
    path: str
    station_id: str | None
    status: int
    client: str

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        assert e.id is not None
        return cls(
            id=e.id,
            at=e.at,
            actor=e.actor,
            auth_kind=e.auth_kind,
            method=e.method,
            path=e.path,
            station_id=e.station_id,
            status=e.status,
            client=e.client,
        )


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None
    total: int


async def list_audit(
    request: Request,
    *,
    cursor: Cursor = None,
    limit: Limit = 50,
    actor: Annotated[str | None, Query(max_length=64, description="Account name")] = None,
    path_prefix: Annotated[
        str | None, Query(max_length=500, description="e.g. /api/v1/stations")
    ] = None,
    station: Annotated[str | None, Query(max_length=255, description="Station id")] = None,
    since: Annotated[datetime | None, Query(description="At or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Before (ISO 8601)")] = None,
) -> AuditPage:
    """State-changing API requests, newest first."""
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise ApiProblem(BAD_REQUEST, f"{name}: give a time zone (e.g. ...Z)")
    entries, total = await identity_of(request).audit.query(
        AuditQuery(
            actor=actor,
            path_prefix=path_prefix,
            station_id=station,
            since=since,
            until=until,
            before_id=decode_cursor(cursor),
            limit=limit + 1,
        )
    )
    page = list(entries[:limit])
    more = len(entries) > limit
    return AuditPage(
        items=[AuditOut.of(e) for e in page],
        next_cursor=encode_cursor(page[-1].id or 0) if more and page else None,
        total=total,
    )


def audit_router() -> APIRouter:
    """``/audit`` (admin)."""
    router = APIRouter()
    router.add_api_route(
        "/audit",
        list_audit,
        methods=["GET"],
        tags=["audit"],
        openapi_extra=ADMIN,
        responses=ROLE_PROBLEMS,
    )
    return router
