"""A station pointed at the API port gets told where the OCPP endpoint is.

Without this, a WebSocket handshake to the API is refused by the server with a bare 403 and the
station's installer has nothing to go on. The answer is an HTTP 404 problem+json naming
``ws[s]://<host>:<OCPP port>/ocpp/{station_id}`` (sent through the ASGI "websocket.http.response"
extension; a server without it closes with 1008 and the same text as reason). It runs before the
Host check and authentication: it discloses only what a station must be told anyway.
"""

from __future__ import annotations

import logging
import re
from typing import Final

import orjson
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from csms.api.errors import PROBLEM_MEDIA_TYPE, TYPE_PREFIX, ProblemKind
from csms.api.hosts import normalize_host
from csms.log import KindLog

logger = logging.getLogger(__name__)

NOT_OCPP_ENDPOINT: Final = ProblemKind(404, "not-ocpp-endpoint", "Not the OCPP endpoint")
_SAFE_HOST: Final = re.compile(r"^[a-z0-9.-]{1,253}$|^[0-9a-f:.]{2,45}$")


class OcppHintMiddleware:
    """Answer every WebSocket handshake with a pointer to the OCPP endpoint."""

    def __init__(self, app: ASGIApp, *, ocpp_port: int | None, ocpp_tls: bool = False) -> None:
        self._app = app
        self._port = ocpp_port
        self._scheme = "wss" if ocpp_tls else "ws"
        self._log = KindLog(logger, burst=10)  # 10 lines a minute per kind, then a count

    def endpoint(self, host_header: str | None) -> str | None:
        """The OCPP URL template for a client that reached us as ``host_header``."""
        if self._port is None:
            return None
        host = normalize_host(host_header or "")
        if not _SAFE_HOST.match(host):
            host = "<csms host>"
        if ":" in host:
            host = f"[{host}]"
        return f"{self._scheme}://{host}:{self._port}/ocpp/{{station_id}}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self._app(scope, receive, send)
            return
        endpoint = self.endpoint(Headers(scope=scope).get("host"))
        where = endpoint or "on the OCPP port (CSMS_PORT)"
        detail = f"This is the csms HTTP API. Stations connect to the OCPP endpoint: {where}"
        self._log.info(
            "WebSocket handshake to the API port %r: told to use %s", scope["path"], where
        )
        body: dict[str, object] = {
            "type": TYPE_PREFIX + NOT_OCPP_ENDPOINT.slug,
            "title": NOT_OCPP_ENDPOINT.title,
            "status": NOT_OCPP_ENDPOINT.status,
            "detail": detail,
        }
        if endpoint is not None:
            body["ocpp_endpoint"] = endpoint
        message = await receive()
        if message["type"] != "websocket.connect":  # pragma: no cover - ASGI sends connect first
            return
        if "websocket.http.response" not in scope.get("extensions", {}):  # pragma: no cover
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
            return
        raw = orjson.dumps(body)
        await send(
            {
                "type": "websocket.http.response.start",
                "status": NOT_OCPP_ENDPOINT.status,
                "headers": [
                    (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "websocket.http.response.body", "body": raw})
