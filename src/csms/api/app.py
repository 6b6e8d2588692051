"""The app factory. Everything an app uses is passed in, so the composition root decides what runs
and tests build as many independent apps as they like."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Security
from fastapi.params import Depends

import csms
from csms.api.auth import BearerAuthMiddleware, bearer_scheme
from csms.api.deps import ApiContext, attach_context
from csms.api.errors import PROBLEM_MEDIA_TYPE, install_error_handlers
from csms.api.routes.commands import commands_router
from csms.api.routes.files import FilesApi, attach_files, file_service_router, files_router
from csms.api.routes.health import LoadProbe, health_router
from csms.api.routes.security import security_router
from csms.api.routes.stations import stations_router
from csms.api.schemas import Problem
from csms.domain.ports import StationGateway, StationRepository

API_PREFIX: Final = "/api/v1"

_DESCRIPTION: Final = """\
Operate the charging stations of this CSMS: register them, see their state and send them OCPP
commands (1.6J, 2.0.1 and 2.1). The OCPP WebSocket endpoint is served on a separate port.

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem details
(`application/problem+json`); switch on `type`, not on `detail`.
"""

_TAGS: Final = [
    {"name": "stations", "description": "Station registry and status"},
    {"name": "commands", "description": "CSMS-initiated OCPP commands"},
    {"name": "health", "description": "Liveness"},
]
_FILES_TAGS: Final = [
    {"name": "files", "description": "Firmware images, diagnostics and log uploads"},
    {"name": "security", "description": "Security events, certificates, station passwords"},
]


class CsmsApi(FastAPI):
    """FastAPI whose OpenAPI document declares error bodies as ``application/problem+json``."""

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if (
                        status == "default" or status[:1] in "45"
                    ) and "application/json" in content:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        return schema


def create_app(
    *,
    stations: StationRepository,
    gateway: StationGateway,
    api_token: str | None = None,
    call_timeout: float = 30.0,
    version: str = csms.__version__,
    files: FilesApi | None = None,
    station_load: LoadProbe | None = None,
) -> FastAPI:
    """Build the HTTP API.

    Args:
        stations: where stations are stored.
        gateway: sends commands to connected stations and knows which are connected.
        api_token: if set, every ``/api/v1`` route requires ``Authorization: Bearer <token>``.
        call_timeout: seconds to wait for a station's answer when a request names no timeout.
        version: reported by ``/healthz`` and the OpenAPI document.
        files: the file service and security repositories; adds ``/files`` (for stations,
            authenticated by the URL token) and the firmware/diagnostics/security routes.
        station_load: the station endpoint's connection counters, shown by ``/healthz`` and
            ``/readyz`` (503 when saturated).
    """
    if api_token is not None and not api_token:
        raise ValueError("api_token must be None (no auth) or a non-empty token")
    if call_timeout <= 0:
        raise ValueError("call_timeout must be positive")

    app = CsmsApi(
        title="csms HTTP API",
        description=_DESCRIPTION,
        version=version,
        openapi_tags=_TAGS + (_FILES_TAGS if files is not None else []),
    )
    attach_context(
        app,
        ApiContext(stations=stations, gateway=gateway, call_timeout=call_timeout, version=version),
    )
    install_error_handlers(app)

    dependencies: list[Depends] = []
    responses: dict[int | str, dict[str, Any]] = {
        503: {"model": Problem, "description": "Storage unavailable"}
    }
    if api_token is not None:
        _require_token(app, api_token)
        # Declares the scheme in OpenAPI; the middleware enforces it before any parsing.
        dependencies.append(Security(bearer_scheme()))
        responses[401] = {"model": Problem, "description": "Missing or invalid bearer token"}
    routers = [stations_router(), commands_router()]
    if files is not None:
        attach_files(app, files)
        routers += [files_router(), security_router()]
        app.include_router(file_service_router())
    for router in routers:
        app.include_router(
            router, prefix=API_PREFIX, dependencies=dependencies, responses=responses
        )
    app.include_router(health_router(station_load))
    return app


def _require_token(app: FastAPI, token: str) -> None:
    """Put every path behind the token except liveness and the API description (no secrets)."""
    candidates = (
        "/healthz",
        "/readyz",
        app.openapi_url,
        app.docs_url,
        app.swagger_ui_oauth2_redirect_url,
        app.redoc_url,
    )
    public = frozenset(path for path in candidates if path)
    app.add_middleware(
        BearerAuthMiddleware, token=token, public_paths=public, public_prefixes=("/files/",)
    )
