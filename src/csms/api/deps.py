"""The per-app context that routes receive as a dependency.

The context lives on ``app.state`` rather than in module globals, so two apps (two tests, or two
servers in one process) never share ports or settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from csms.domain.ports import SoapPresence, StationGateway, StationRepository

_STATE_KEY = "csms_api_context"


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What the routes of one app work with."""

    stations: StationRepository
    gateway: StationGateway
    call_timeout: float
    version: str
    # Stations speaking OCPP over SOAP (issue 12); None when the SOAP endpoint is off.
    soap: SoapPresence | None = None


def attach_context(app: FastAPI, context: ApiContext) -> None:
    """Store ``context`` on the app's ``state``, where :func:`get_context` finds it."""
    setattr(app.state, _STATE_KEY, context)


def get_context(request: Request) -> ApiContext:
    """Return the context of the app serving ``request``."""
    context = getattr(request.app.state, _STATE_KEY, None)
    if not isinstance(context, ApiContext):
        raise RuntimeError("the app was not built by csms.api.create_app")
    return context


Context = Annotated[ApiContext, Depends(get_context)]


def attach(app: FastAPI, key: str, value: object) -> None:
    """Keep ``value`` on the app's state under ``key`` (what optional route groups work with)."""
    setattr(app.state, key, value)


def attached(request: Request, key: str) -> Any:
    """What :func:`attach` kept under ``key`` on the app serving ``request``."""
    value = getattr(request.app.state, key, None)
    if value is None:
        raise RuntimeError(f"the app was built without {key}")
    return value
