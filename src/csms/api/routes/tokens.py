"""Id tokens: one resource for 2.x IdTokens and 1.6 idTags (the store both Authorize paths use).

A token is stored once per case-insensitive value (1.6 §7.28; 2.0.1 IdTokenType "case
insensitive"), with its 2.x type or none (a 1.6 idTag); see :func:`csms.domain.tokens.type_matches`
for how a presented token matches. Its URL is ``/tokens/{type}/{id_token}``: the stored type, or
``idTag`` for a type-less token, and the value percent-encoded as one path segment (``/`` as
``%2F``). Changes keep the stations' local lists consistent (:mod:`csms.domain.token_admin`).
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

import orjson
from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from csms.api.deps import attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.media import media_type
from csms.api.schemas import Problem
from csms.blocks.authorization import token_rows
from csms.domain.errors import UnknownIdToken
from csms.domain.token_admin import (
    UNTYPED,
    IdTokenAdmin,
    LocalListHolder,
    StatusFilter,
    TokenQuery,
)
from csms.domain.tokens import TOKEN_TYPES, UNSTORABLE_TYPES, IdToken, evaluate, storable_text

__all__ = ["TokensApi", "attach_tokens", "tokens_router"]

logger = logging.getLogger(__name__)

_STATE_KEY = "csms_tokens"
# Bulk import limits (docs/behaviour.md "Id tokens (operator API)").
IMPORT_MAX_BYTES: Final = 8 * 1024 * 1024
IMPORT_MAX_ROWS: Final = 50_000
# Row errors returned (the count is always complete).
IMPORT_MAX_ERRORS: Final = 1000
_EXPORT_PAGE: Final = 1000

NOT_FOUND = ProblemKind(404, "unknown-token", "Unknown id token")
EXISTS = ProblemKind(409, "token-exists", "Id token already registered")
BAD_CURSOR = ProblemKind(400, "invalid-cursor", "Invalid pagination cursor")
BAD_TOKEN = ProblemKind(422, "invalid-token", "Invalid id token")
IMPORT_REJECTED = ProblemKind(422, "import-rejected", "Import rejected: some rows are invalid")
TOO_LARGE = ProblemKind(413, "import-too-large", "Import too large")
UNSUPPORTED = ProblemKind(415, "unsupported-media-type", "Import body must be JSON or CSV")

# NoAuthorization is listed so that refusing it can say why (token_rows).
TokenType = Literal[
    "Central", "DirectPayment", "eMAID", "EVCCID", "ISO14443", "ISO15693", "KeyCode", "Local",
    "MacAddress", "NoAuthorization", "VIN",
]  # fmt: skip
PATH_TYPES: Final = frozenset((TOKEN_TYPES - UNSTORABLE_TYPES) | {UNTYPED})
Status = Literal["Accepted", "Blocked", "Invalid"]


@dataclass(frozen=True, slots=True)
class TokensApi:
    """What the token routes work with."""

    admin: IdTokenAdmin
    clock: Callable[[], datetime]


def attach_tokens(app: FastAPI, api: TokensApi) -> None:
    """Store the token store on the app, where the routes find it."""
    attach(app, _STATE_KEY, api)


def _api(request: Request) -> TokensApi:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------ models


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenCreate(_Strict):
    """Register a token. Absent members take their defaults."""

    id_token: str = Field(min_length=1, max_length=255, examples=["04A2B3C4D5E6F7"])
    type: TokenType | None = Field(
        default=None,
        description="2.x IdTokenEnumType; null: a 1.6 idTag, matched whatever type a 2.x "
        "station presents. NoAuthorization is not stored (its idToken is empty).",
    )
    status: Status = "Accepted"
    expiry_date: AwareDatetime | None = None
    group_id_token: str | None = Field(
        default=None, min_length=1, max_length=20, description="Parent (group) token"
    )
    language: str | None = Field(default=None, min_length=1, max_length=8)
    evse_ids: list[int] = Field(
        default_factory=list, max_length=64, description="2.x: valid only at these EVSEs"
    )


class TokenPatch(_Strict):
    """Change some members; absent ones stay, ``null`` clears."""

    type: TokenType | None = None
    status: Status | None = None
    expiry_date: AwareDatetime | None = None
    group_id_token: str | None = Field(default=None, min_length=1, max_length=20)
    language: str | None = Field(default=None, min_length=1, max_length=8)
    evse_ids: list[int] | None = Field(default=None, max_length=64)


class LocalListOut(BaseModel):
    """A station whose local list csms keeps with this token in it."""

    station_id: str
    entry_status: str = Field(description="The status the station's list is to hold")
    state: str = Field(description="in_sync, pending, failed or not_supported")
    version: int = Field(description="Version of the list csms wants the station to hold")
    station_version: int | None = Field(description="Last version the station accepted")

    @classmethod
    def of(cls, h: LocalListHolder) -> LocalListOut:
        return cls(
            station_id=h.station_id,
            entry_status=h.entry_status.value,
            state=h.state.value,
            version=h.version,
            station_version=h.station_version,
        )


class TokenOut(BaseModel):
    id_token: str
    type: str | None
    status: str = Field(description="Stored: Accepted, Blocked or Invalid")
    effective_status: str = Field(description="What a station is answered now (e.g. Expired)")
    expiry_date: datetime | None
    group_id_token: str | None
    language: str | None
    evse_ids: list[int]
    created_at: datetime | None
    updated_at: datetime | None
    href: str = Field(description="This token's URL path")

    @classmethod
    def of(cls, t: IdToken, now: datetime) -> TokenOut:
        return cls(
            id_token=t.id_token,
            type=t.token_type,
            status=t.status.value,
            effective_status=evaluate(t, now, in_other_transaction=False).status.value,
            expiry_date=t.expiry_date,
            group_id_token=t.parent_id_token,
            language=t.language,
            evse_ids=list(t.evse_ids),
            created_at=t.created_at,
            updated_at=t.updated_at,
            href=href(t),
        )


class TokenDetail(TokenOut):
    local_lists: list[LocalListOut] = Field(
        description="Stations whose local list holds this token (csms's target list)"
    )


class TokenPageOut(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None
    total: int


class RowErrorOut(BaseModel):
    row: int = Field(description="Record number from 1 (a CSV header is not a record)")
    field: str | None
    message: str


class ImportOut(BaseModel):
    mode: str
    created: int
    updated: int
    rejected: int
    errors: list[RowErrorOut] = Field(description=f"At most {IMPORT_MAX_ERRORS}")
    stale_local_lists: int = Field(description="Stations whose local list changed (now pending)")


# ------------------------------------------------------------------------------------ helpers


def href(token: IdToken) -> str:
    kind = token.token_type or UNTYPED
    return f"/api/v1/tokens/{kind}/{quote(token.id_token, safe='')}"


def _encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(b"k" + key.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        text = raw.decode()
    except (binascii.Error, ValueError):
        raise ApiProblem(BAD_CURSOR, "the cursor is not one this API returned") from None
    if not text.startswith("k") or not storable_text(text):
        raise ApiProblem(BAD_CURSOR, "the cursor is not one this API returned")
    return text[1:]


def _token(record: dict[str, Any], now: datetime) -> IdToken:
    try:
        return token_rows.token_from_record(record, now)
    except ValueError as exc:
        error = token_rows.record_error(1, exc)
        raise ApiProblem(
            BAD_TOKEN,
            f"{error.field}: {error.message}" if error.field else error.message,
            field=error.field,
        ) from None


async def _stored(api: TokensApi, token_type: str, id_token: str) -> IdToken:
    found = await api.admin.get(id_token) if storable_text(id_token) else None
    if found is None:
        raise ApiProblem(NOT_FOUND, f"no id token {id_token!r}")
    if (found.token_type or UNTYPED) != token_type:
        raise ApiProblem(
            NOT_FOUND,
            f"id token {id_token!r} is stored as type {found.token_type or UNTYPED}",
            href=href(found),
        )
    return found


async def _detail(api: TokensApi, token: IdToken) -> TokenDetail:
    holders = await api.admin.holders(token.id_token)
    out = TokenOut.of(token, api.clock())
    return TokenDetail(**out.model_dump(), local_lists=[LocalListOut.of(h) for h in holders])


TypePath = Annotated[str, Path(description="The stored type, or idTag for a type-less (1.6) token")]
IdPath = Annotated[str, Path(description="The token, percent-encoded", min_length=1)]


def _check_filters(type_: str | None, group: str | None, search: str | None) -> None:
    if type_ is not None and type_ not in PATH_TYPES:
        raise ApiProblem(BAD_TOKEN, f"type {type_!r} is not a token type (or idTag)", field="type")
    for name, value in (("group", group), ("search", search)):
        if value is not None and not storable_text(value):
            raise ApiProblem(BAD_TOKEN, f"{name} must not hold control characters", field=name)


def _check_path_type(token_type: str) -> None:
    if token_type not in PATH_TYPES:
        raise ApiProblem(NOT_FOUND, f"{token_type!r} is not a token type (or idTag)")


# ------------------------------------------------------------------------------------ routes


async def list_tokens(
    request: Request,
    *,
    type: Annotated[
        str | None, Query(max_length=20, description="A token type, or idTag for type-less")
    ] = None,
    status: Annotated[StatusFilter | None, Query(description="Status a station gets now")] = None,
    group: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    search: Annotated[
        str | None, Query(min_length=1, max_length=255, description="Part of the token")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TokenPageOut:
    """Tokens ordered by value (case-insensitively), filtered; ``total`` counts every page."""
    api = _api(request)
    _check_filters(type, group, search)
    now = api.clock()
    query = TokenQuery(
        now=now,
        token_type=type,
        status=status,
        group=group,
        search=search,
        after=_decode_cursor(cursor) if cursor is not None else None,
        limit=limit,
    )
    page = await api.admin.page(query)
    return TokenPageOut(
        items=[TokenOut.of(t, now) for t in page.items],
        next_cursor=_encode_cursor(page.next_after) if page.next_after is not None else None,
        total=page.total,
    )


async def create_token(request: Request, response: Response, body: TokenCreate) -> TokenDetail:
    """Register a token; 409 if its value is registered (whatever its type)."""
    api = _api(request)
    token = _token(body.model_dump(mode="json"), api.clock())
    if not await api.admin.create(token, api.clock()):
        existing = await api.admin.get(token.id_token)
        raise ApiProblem(
            EXISTS,
            f"id token {token.id_token!r} is registered",
            href=href(existing) if existing is not None else None,
        )
    logger.info("id token %s registered (%s)", href(token), token.status.value)
    response.status_code = 201
    response.headers["Location"] = href(token)
    return await _detail(api, token)


async def get_token(request: Request, token_type: TypePath, id_token: IdPath) -> TokenDetail:
    """One token and the stations whose local list holds it."""
    _check_path_type(token_type)
    api = _api(request)
    return await _detail(api, await _stored(api, token_type, id_token))


async def patch_token(
    request: Request, token_type: TypePath, id_token: IdPath, body: TokenPatch
) -> TokenDetail:
    """Change a token (block it, change its expiry, group, type...); local lists that hold it
    are rewritten and marked pending."""
    _check_path_type(token_type)
    api = _api(request)
    existing = await _stored(api, token_type, id_token)
    record = token_rows.json_record(existing)
    changes = body.model_dump(mode="json", include=body.model_fields_set)
    record.update(changes)
    if record.get("evse_ids") is None:
        record["evse_ids"] = []
    now = api.clock()
    token = _token(record, now)
    token = IdToken(
        token.id_token, token.status, token.expiry_date, token.parent_id_token,
        created_at=existing.created_at, updated_at=now, language=token.language,
        evse_ids=token.evse_ids, token_type=token.token_type,
    )  # fmt: skip
    try:
        stale = await api.admin.replace(token, now)
    except UnknownIdToken:
        raise ApiProblem(NOT_FOUND, f"no id token {id_token!r}") from None
    logger.info("id token %s changed (%s); %d local list(s) now pending", href(token),
                ", ".join(sorted(changes)) or "nothing", stale)  # fmt: skip
    return await _detail(api, token)


async def delete_token(request: Request, token_type: TypePath, id_token: IdPath) -> Response:
    """Forget a token: stations then get Invalid. Local lists holding it lose the entry and are
    marked pending. To revoke a card, block it instead (a station's list can say Blocked)."""
    _check_path_type(token_type)
    api = _api(request)
    token = await _stored(api, token_type, id_token)
    try:
        stale = await api.admin.delete(token.id_token, api.clock())
    except UnknownIdToken:
        raise ApiProblem(NOT_FOUND, f"no id token {id_token!r}") from None
    logger.info("id token %s deleted; %d local list(s) now pending", href(token), stale)
    return Response(status_code=204)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > IMPORT_MAX_BYTES:
        raise ApiProblem(TOO_LARGE, f"the body is over {IMPORT_MAX_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > IMPORT_MAX_BYTES:
            raise ApiProblem(TOO_LARGE, f"the body is over {IMPORT_MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _records(media: str | None, body: bytes) -> list[object]:
    if media == "text/csv":
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiProblem(BAD_TOKEN, "the CSV document is not UTF-8") from None
        try:
            return list(token_rows.parse_csv(text))
        except ValueError as exc:
            error = token_rows.record_error(0, exc)
            raise ApiProblem(
                BAD_TOKEN, f"{error.field}: {error.message}" if error.field else error.message
            ) from None
    if media == "application/json":
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ApiProblem(BAD_TOKEN, "the body is not valid JSON") from None
        if not isinstance(value, list):
            raise ApiProblem(BAD_TOKEN, "the JSON body must be an array of token records")
        return value
    raise ApiProblem(UNSUPPORTED, f"send application/json or text/csv (got {media!r})")


async def import_tokens(
    request: Request,
    mode: Annotated[
        Literal["all", "best-effort"],
        Query(
            description="all: nothing is stored if any row is invalid; best-effort: the "
            "valid rows are stored"
        ),
    ] = "all",
) -> ImportOut:
    """Create or replace tokens from a JSON array or a CSV document (header line first)."""
    api = _api(request)
    media = media_type(request.headers.get("content-type"))
    body = await _read_body(request)
    records = _records(media, body)
    if len(records) > IMPORT_MAX_ROWS:
        raise ApiProblem(TOO_LARGE, f"{len(records)} records: at most {IMPORT_MAX_ROWS}")
    now = api.clock()
    valid, errors = token_rows.validate_rows(records, now)
    shown = [RowErrorOut(row=e.row, field=e.field, message=e.message) for e in errors]
    shown = shown[:IMPORT_MAX_ERRORS]
    if errors and mode == "all":
        raise ApiProblem(
            IMPORT_REJECTED,
            f"{len(errors)} of {len(records)} rows are invalid; nothing was stored",
            errors=[e.model_dump() for e in shown],
            rejected=len(errors),
        )
    outcome = await api.admin.import_tokens([t for _, t in valid], now)
    logger.info("imported %d id tokens (%d new, %d rejected, %d local lists now pending)",
                len(valid), outcome.created, len(errors), outcome.stale_lists)  # fmt: skip
    return ImportOut(
        mode=mode,
        created=outcome.created,
        updated=outcome.updated,
        rejected=len(errors),
        errors=shown,
        stale_local_lists=outcome.stale_lists,
    )


async def export_tokens(
    request: Request,
    *,
    format: Annotated[Literal["csv", "json"], Query()] = "csv",
    type: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[StatusFilter | None, Query()] = None,
    group: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
    search: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
) -> StreamingResponse:
    """Every token (filtered like the listing), streamed as CSV or a JSON array of the import's
    records: an export imports unchanged."""
    api = _api(request)
    _check_filters(type, group, search)
    query = TokenQuery(
        now=api.clock(), token_type=type, status=status, group=group, search=search,
        limit=_EXPORT_PAGE,
    )  # fmt: skip
    first = await api.admin.page(query)  # a failure here is still a problem document

    async def pages() -> AsyncIterator[list[IdToken]]:
        page = first
        while True:
            yield list(page.items)
            if page.next_after is None:
                return
            page = await api.admin.page(_after(query, page.next_after))

    if format == "csv":

        async def csv_body() -> AsyncIterator[bytes]:
            yield token_rows.csv_header().encode()
            async for items in pages():
                yield "".join(token_rows.csv_line(t) for t in items).encode()

        return StreamingResponse(
            csv_body(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="tokens.csv"'},
        )

    async def json_body() -> AsyncIterator[bytes]:
        yield b"["
        sep = b""
        async for items in pages():
            for t in items:
                yield sep + orjson.dumps(token_rows.json_record(t))
                sep = b","
        yield b"]"

    return StreamingResponse(json_body(), media_type="application/json")


def _after(query: TokenQuery, key: str) -> TokenQuery:
    return TokenQuery(
        now=query.now, token_type=query.token_type, status=query.status, group=query.group,
        search=query.search, after=key, limit=query.limit,
    )  # fmt: skip


IMPORT_BODY: Final[dict[str, Any]] = {
    "application/json": {
        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/TokenCreate"}}
    },
    "text/csv": {
        "schema": {"type": "string"},
        "example": "id_token,type,status,expiry_date,group_id_token,language,evse_ids\r\n"
        "04A2B3C4,ISO14443,Accepted,2027-01-31T00:00:00Z,FLEET-1,de,1;2\r\n",
    },
}


def tokens_router() -> APIRouter:
    """Build the id-token routes (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["tokens"])
    not_found: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown token (or type)"}
    }
    invalid: dict[int | str, dict[str, Any]] = {
        422: {"model": Problem, "description": "Invalid token"}
    }
    router.add_api_route(
        "/tokens",
        list_tokens,
        methods=["GET"],
        operation_id="listTokens",
        responses={400: {"model": Problem, "description": "Invalid cursor"}, **invalid},
    )
    router.add_api_route(
        "/tokens",
        create_token,
        methods=["POST"],
        status_code=201,
        operation_id="createToken",
        responses={409: {"model": Problem, "description": "Token registered"}, **invalid},
    )
    router.add_api_route(
        "/tokens/export",
        export_tokens,
        methods=["GET"],
        operation_id="exportTokens",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/csv": {}, "application/json": {}}}, **invalid},
    )
    router.add_api_route(
        "/tokens/import",
        import_tokens,
        methods=["POST"],
        operation_id="importTokens",
        responses={
            413: {"model": Problem, "description": "Body or row count over the limit"},
            415: {"model": Problem, "description": "Body is neither JSON nor CSV"},
            422: {"model": Problem, "description": "Invalid rows (mode=all) or document"},
        },
        openapi_extra={"requestBody": {"required": True, "content": IMPORT_BODY}},
    )
    item = "/tokens/{token_type}/{id_token:path}"
    router.add_api_route(
        item, get_token, methods=["GET"], operation_id="getToken", responses=not_found
    )
    router.add_api_route(
        item,
        patch_token,
        methods=["PATCH"],
        operation_id="patchToken",
        responses={**not_found, **invalid},
    )
    router.add_api_route(
        item,
        delete_token,
        methods=["DELETE"],
        status_code=204,
        operation_id="deleteToken",
        responses=not_found,
        response_class=Response,
    )
    return router
