"""Send a CSMS-initiated OCPP CALL to a connected station and return its answer.

The payload is passed through as-is; the gateway validates it against the official schema of the
station's negotiated version, so one route serves 1.6, 2.0.1 and 2.1. Payloads are never logged:
some carry secrets (e.g. a BasicAuthPassword in SetVariables). An action with tracked state
(ReserveNow, SetChargingProfile, ChangeConfiguration, SetVariables...) stores what the equivalent
typed command stores (:mod:`csms.api.intents.generic`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request

from csms.api.deps import Context
from csms.api.intents.generic import tracked_call
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import CallFailedProblem, InvalidPayloadProblem, Problem, ValidationProblem
from csms.domain.configuration import mask_result

logger = logging.getLogger(__name__)

# Where the typed commands' services are kept on the app (see typed_commands.py).
TYPED_COMMANDS_KEY = "csms_typed_commands"
MIN_TIMEOUT_S = 1.0
MAX_TIMEOUT_S = 300.0

ActionPath = Annotated[
    str,
    Path(
        description="OCPP action name, e.g. Reset or RequestStartTransaction",
        pattern=r"^[A-Za-z][A-Za-z0-9]*$",
        max_length=64,
    ),
]


async def call_station(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    action: ActionPath,
    payload: Annotated[
        dict[str, Any],
        Body(description="The OCPP request payload (a JSON object)", examples=[{"type": "Soft"}]),
    ],
    *,
    timeout_s: Annotated[
        float | None,
        Query(
            alias="timeout",
            ge=MIN_TIMEOUT_S,
            le=MAX_TIMEOUT_S,
            description="Seconds to wait for the station's answer (server default if absent)",
        ),
    ] = None,
) -> dict[str, Any]:
    """Send ``action`` to the station and return its CALLRESULT payload.

    Commands are never queued for an offline station (OCPP has no such queue): 409 at once.
    A 502 ``call-outcome-unknown`` means the command may or may not have been applied.
    """
    # An unregistered station is 404 whether or not something is connected under that name.
    await require_station(context, station_id)
    effective_timeout = context.call_timeout if timeout_s is None else timeout_s
    logger.info("API call %s to station %r (timeout %.1f s)", action, station_id, effective_timeout)
    api = getattr(request.app.state, TYPED_COMMANDS_KEY, None)
    if api is None:  # an app without the typed commands' stores: nothing to track
        result = await context.gateway.call(station_id, action, payload, timeout=effective_timeout)
    else:
        result = await tracked_call(
            api.services, station_id, action, payload, timeout=effective_timeout
        )
    # A station must not report its AuthorizationKey / BasicAuthPassword; if one does, the value
    # is masked before it leaves csms (1.6-J errata 3.10).
    return mask_result(action, result)


def commands_router() -> APIRouter:
    """Build the command route (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["commands"])
    router.add_api_route(
        "/stations/{station_id}/call/{action}",
        call_station,
        methods=["POST"],
        operation_id="callStation",
        summary="Send an OCPP command to a station",
        response_description="The station's CALLRESULT payload",
        responses={
            404: {"model": Problem, "description": "Unknown station"},
            409: {"model": Problem, "description": "Station not connected or command not allowed"},
            422: {
                "model": InvalidPayloadProblem | ValidationProblem,
                "description": "Malformed request, or payload invalid for the station's version",
            },
            429: {"model": Problem, "description": "Station's command queue is full; retry later"},
            502: {
                "model": CallFailedProblem,
                "description": "Station answered with a CALLERROR, or the outcome is unknown",
            },
            504: {"model": Problem, "description": "Station did not answer in time"},
        },
    )
    return router
