"""State-changing requests take JSON: the defence against cross-site request forgery.

A web page can make a browser send a "simple" cross-origin POST (``text/plain``,
``application/x-www-form-urlencoded``, ``multipart/form-data`` or no body) without asking the API
first (no CORS preflight); a JSON content type always needs a preflight, which this API never
grants. So every POST/PUT/PATCH/DELETE with a body must declare a JSON media type
(``application/json`` or ``application/*+json``), or 415 — except the routes that document binary
bodies in their OpenAPI ``requestBody`` (firmware upload: ``application/octet-stream`` or
``multipart/form-data``, or no declared type, read as raw bytes; token import: ``text/csv``,
which is not a CORS "simple" type either, so a cross-site page cannot send it without a
preflight). Without authentication
(``CSMS_API_AUTH=none``) a bodyless POST must declare JSON too, since a browser can send one
cross-site; with a bearer token it cannot (browsers never attach one on their own).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from csms.api.auth import app_path
from csms.api.errors import TYPE_PREFIX, ProblemKind, problem_response
from csms.log import KindLog

logger = logging.getLogger(__name__)

STATE_CHANGING: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNSUPPORTED_MEDIA_TYPE: Final = ProblemKind(
    415, "unsupported-media-type", "Request body must be JSON"
)


def media_type(content_type: str | None) -> str | None:
    """The media type of a Content-Type header, lower case, without parameters."""
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def is_json(media: str | None) -> bool:
    return media is not None and (
        media == "application/json"
        or (media.startswith("application/") and media.endswith("+json"))
    )


@dataclass(frozen=True, slots=True)
class BinaryRoute:
    """A route documented to take a non-JSON body, with the media types it takes."""

    path: re.Pattern[str]
    methods: frozenset[str]
    media_types: frozenset[str]


def binary_routes(routes: Iterable[BaseRoute], *, prefix: str = "") -> tuple[BinaryRoute, ...]:
    """The routes (of a router mounted at ``prefix``) whose OpenAPI ``requestBody`` declares
    non-JSON media types, with those types (JSON is accepted everywhere anyway). A route that
    declares JSON too (token import: JSON or ``text/csv``) reads a body without a declared type
    itself, refusing it."""
    found = []
    for route in routes:
        if not isinstance(route, APIRoute) or not route.openapi_extra:
            continue
        content = route.openapi_extra.get("requestBody", {}).get("content", {})
        types = frozenset(str(t).lower() for t in content if not is_json(str(t).lower()))
        if types:
            regex = compile_path(prefix + route.path)[0]
            found.append(BinaryRoute(regex, frozenset(route.methods or ()), types))
    return tuple(found)


class JsonBodyMiddleware:
    """Answer 415 problem+json to a state-changing request whose body is not declared JSON."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        binary: Sequence[BinaryRoute] = (),
        exempt_prefixes: tuple[str, ...] = (),
        strict_bodyless: bool = False,
    ) -> None:
        self._app = app
        self._binary = tuple(binary)
        # The stations' file service (its own URL credential, raw uploads).
        self._exempt_prefixes = exempt_prefixes
        self._strict_bodyless = strict_bodyless
        self._log = KindLog(logger, burst=10)  # 10 lines a minute per kind, then a count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in STATE_CHANGING:
            await self._app(scope, receive, send)
            return
        path = app_path(scope)
        if path.startswith(self._exempt_prefixes) or self._accepts(scope, path):
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        got = media_type(headers.get("content-type")) or "none"
        self._log.info("refused API request %s %r with media type %r", scope["method"], path, got)
        response = problem_response(
            UNSUPPORTED_MEDIA_TYPE.status,
            type_=TYPE_PREFIX + UNSUPPORTED_MEDIA_TYPE.slug,
            title=UNSUPPORTED_MEDIA_TYPE.title,
            detail=(
                "Send the request body as JSON with 'Content-Type: application/json' "
                f"(got {got[:60]!r})."
            ),
            instance=scope["path"],
        )
        await response(scope, receive, send)

    def _accepts(self, scope: Scope, path: str) -> bool:
        headers = Headers(scope=scope)
        media = media_type(headers.get("content-type"))
        if is_json(media):
            return True
        has_body = (
            media is not None
            or "transfer-encoding" in headers
            or headers.get("content-length", "0").strip() not in ("", "0")
        )
        for route in self._binary:
            if scope["method"] in route.methods and route.path.match(path):
                return media is None or media in route.media_types
        if not has_body:
            return not (self._strict_bodyless and scope["method"] == "POST")
        return False
