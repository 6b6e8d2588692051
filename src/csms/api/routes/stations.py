"""Station registry: list, inspect, register and update stations.

``online`` and the OCPP version are read from the gateway, the live truth: the stored flag lags
behind (and stays True after a crash) until the server records the disconnect.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal
from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response

from csms.api.cursors import decode_station_cursor, encode_station_cursor
from csms.api.deps import ApiContext, Context
from csms.api.errors import STATION_EXISTS, WEAK_PASSWORD, ApiProblem
from csms.api.ledger_schemas import TransactionOut
from csms.api.query_types import QueryText
from csms.api.routes.ledger_context import optional_ledger
from csms.api.schemas import (
    ConnectorOut,
    EvseOut,
    Problem,
    SessionCountersOut,
    StationCreate,
    StationDetail,
    StationPage,
    StationSummary,
    StationUpdate,
    StatusReportOut,
    ValidationProblem,
)
from csms.blocks.provisioning.commands import notify_registration_change
from csms.domain.credentials import WeakPassword, check_password_strength, hash_password
from csms.domain.errors import StorageError, UnknownStation
from csms.domain.ledger import Ledger, LedgerEntry, StationQuery
from csms.domain.model import RegistrationStatus, Station

logger = logging.getLogger(__name__)

StationIdPath = Annotated[str, Path(description="Charging station identity")]
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500


async def require_station(context: ApiContext, station_id: str) -> Station:
    """Return the station or raise :class:`UnknownStation` (404)."""
    station = await context.stations.get(station_id)
    if station is None:
        raise UnknownStation(f"no station {station_id!r} is registered")
    return station


def _summary_fields(context: ApiContext, station: Station) -> dict[str, Any]:
    # A SOAP station is online while it keeps calling (issue 12); the gateway may include it.
    soap = None if context.soap is None else context.soap.soap_session(station.id)
    live_version: str | None
    transport: str | None
    if soap is not None:
        online, live_version, transport = True, soap.ocpp_version, "soap"
    else:
        online = context.gateway.is_connected(station.id)
        live_version = context.gateway.ocpp_version(station.id) if online else None
        if live_version == "1.6" and station.ocpp_version == "1.5":
            live_version = "1.5"  # 1.5J: commands are spelled as 1.6; storage has what was agreed
        transport = "json" if online else None
    return {
        "id": station.id,
        "registration_status": station.registration_status,
        "ocpp_version": live_version or station.ocpp_version,
        "transport": transport,
        "vendor_name": station.vendor_name,
        "model": station.model,
        "serial_number": station.serial_number,
        "firmware_version": station.firmware_version,
        "online": online,
        "last_seen_at": station.last_seen_at,
        "last_boot_at": station.last_boot_at,
        "connected_at": station.connected_at,
        "decommissioned_at": station.decommissioned_at,
    }


async def _detail(
    context: ApiContext, station: Station, ledger: Ledger | None = None
) -> StationDetail:
    connectors = await context.stations.connector_states(station.id)
    counters = context.gateway.session_counters(station.id)
    running = list(await ledger.open_on(station.id)) if ledger is not None else []
    connector_out = [ConnectorOut.of(state) for state in connectors]
    soap = None if context.soap is None else context.soap.soap_session(station.id)
    return StationDetail(
        soap_endpoint=soap.endpoint if soap is not None else station.soap_endpoint,
        session=None
        if counters is None
        else SessionCountersOut(
            protocol_violations=counters.protocol_violations,
            schema_violations=counters.schema_violations,
            suppressed_log_lines=counters.suppressed_log_lines,
        ),
        **_summary_fields(context, station),
        lenient=station.lenient,
        has_password=station.password_hash is not None,
        min_security_profile=station.min_security_profile,
        iccid=station.iccid,
        imsi=station.imsi,
        meter_type=station.meter_type,
        meter_serial_number=station.meter_serial_number,
        created_at=station.created_at,
        disconnected_at=station.disconnected_at,
        connectors=connector_out,
        evses=evses_of(connector_out, running, datetime.now(UTC)),
        warnings=[] if station.password_hash is not None else [_no_password(station.id)],
    )


def evses_of(
    connectors: list[ConnectorOut], running: list[LedgerEntry], now: datetime
) -> list[EvseOut]:
    """Group the connectors by EVSE (EVSE 0, the station itself, left out) and put on each the
    most recent open transaction."""
    by_evse: dict[int, list[ConnectorOut]] = {}
    for c in connectors:
        if c.evse_id > 0:
            by_evse.setdefault(c.evse_id, []).append(c)
    tx: dict[int, LedgerEntry] = {}
    for entry in running:  # newest first: keep the first per EVSE
        evse = entry.transaction.evse_id
        if evse is not None and evse > 0:
            tx.setdefault(evse, entry)
            by_evse.setdefault(evse, [])
    return [
        EvseOut(
            evse_id=evse,
            status=found[0].status if len(found) == 1 else None,
            connectors=found,
            transaction=TransactionOut.of(tx[evse], now) if evse in tx else None,
        )
        for evse, found in sorted(by_evse.items())
    ]


def _no_password(station_id: str) -> str:
    """Why a station without a password never connects under security profile 1 or 2."""
    return (
        "no password: this station cannot connect while csms runs with security profile 1 or 2 "
        f"(1 is the default); set one with PATCH /api/v1/stations/{quote(station_id, safe='')} "
        '{"password": "..."} (16 to 40 characters)'
    )


def _already_registered(station_id: str) -> ApiProblem:
    return ApiProblem(STATION_EXISTS, f"a station {station_id!r} is already registered")


def _hash_new_password(password: str) -> str:
    """Hash a password set through the API; the spec's length policy is enforced first."""
    raw = password.encode("utf-8")
    try:
        check_password_strength(raw)
    except WeakPassword as exc:
        raise ApiProblem(WEAK_PASSWORD, str(exc)) from None
    return hash_password(raw)


async def list_stations(
    context: Context,
    *,
    registration_status: Annotated[RegistrationStatus | None, Query()] = None,
    online: Annotated[
        bool | None, Query(description="As the server last recorded it (connect/disconnect)")
    ] = None,
    ocpp_version: Annotated[
        Literal["1.5", "1.6", "2.0.1", "2.1"] | None,
        Query(description="Version last negotiated (1.5: SOAP or the ocpp1.5 subprotocol)"),
    ] = None,
    status: Annotated[
        QueryText | None,
        Query(max_length=64, description="A connector (or the station) reports this status"),
    ] = None,
    q: Annotated[
        QueryText | None,
        Query(max_length=255, description="Search id, vendor, model, serial (case-insensitive)"),
    ] = None,
    include_decommissioned: Annotated[bool, Query()] = False,
    with_connectors: Annotated[
        bool,
        Query(
            description="Add each station's connectors with their current status (one more "
            "read per station of the page)"
        ),
    ] = False,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> StationPage:
    """List stations ordered by id, filtered and paged (``total``: all that match)."""
    query = StationQuery(
        registration_status=registration_status,
        online=online,
        ocpp_version=ocpp_version,
        status=status,
        q=q or None,
        include_decommissioned=include_decommissioned,
    )
    after = decode_station_cursor(cursor) if cursor is not None else None
    found = await context.stations.search(query, after=after, limit=limit)
    items = [StationSummary(**_summary_fields(context, s)) for s in found.stations]
    if with_connectors:  # the dashboard's fleet page: status per connector on one page
        for item in items:
            states = await context.stations.connector_states(item.id)
            item.connectors = [ConnectorOut.of(state) for state in states]
    next_cursor = encode_station_cursor(items[-1].id) if found.more and items else None
    return StationPage(items=items, next_cursor=next_cursor, total=found.total)


async def decommission_station(context: Context, station_id: StationIdPath) -> Response:
    """Decommission a station: a soft delete. Its handshakes are refused (404, like an unknown
    identity, and it never registers itself again), it leaves the default listing, and its
    history (transactions, meter values, status) stays readable. Registering the id again
    (``POST /stations``) reactivates it. Repeating the request is harmless (204)."""
    station = await require_station(context, station_id)
    if station.decommissioned_at is None:
        await context.stations.set_decommissioned(station_id, datetime.now(UTC))
        logger.info("decommissioned station %r via the API", station_id)
    return Response(status_code=204)


async def get_station(
    context: Context, request: Request, station_id: StationIdPath
) -> StationDetail:
    """Return one station with the current status of its connectors (by EVSE, with the
    transaction running on each)."""
    station = await require_station(context, station_id)
    return await _detail(context, station, optional_ledger(request))


async def status_history(
    context: Context,
    station_id: StationIdPath,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[StatusReportOut]:
    """Return the station's most recent StatusNotifications, newest first."""
    await require_station(context, station_id)
    reports = await context.stations.status_history(station_id, limit=limit)
    return [StatusReportOut.of_report(report) for report in reports]


async def register_station(
    context: Context, body: StationCreate, response: Response
) -> StationDetail:
    """Register a station so it may connect; the password, if any, is stored only as a hash."""
    password_hash = (
        _hash_new_password(body.password.get_secret_value()) if body.password is not None else None
    )
    existing = await context.stations.get(body.id)
    if existing is not None and existing.decommissioned_at is not None:
        return await _reactivate(context, body, password_hash, response)
    if existing is not None:
        raise _already_registered(body.id)
    station = Station(
        id=body.id,
        registration_status=body.registration_status,
        password_hash=password_hash,
        lenient=body.lenient,
        created_at=datetime.now(UTC),
    )
    try:
        await context.stations.add(station)
    except StorageError:
        # A concurrent registration of the same id won the race; anything else is a real failure.
        if await context.stations.get(body.id) is not None:
            raise _already_registered(body.id) from None
        raise
    logger.info(
        "registered station %r via the API (%s, password %s)",
        body.id,
        body.registration_status.value,
        "set" if password_hash else "not set",
    )
    if password_hash is None:
        logger.warning("station %r: %s", body.id, _no_password(body.id))
    response.headers["Location"] = f"/api/v1/stations/{quote(body.id, safe='')}"
    stored = await context.stations.get(body.id)
    return await _detail(context, stored or station)


async def _reactivate(
    context: Context, body: StationCreate, password_hash: str | None, response: Response
) -> StationDetail:
    """Register a decommissioned id again: the settings of ``body``, the history kept."""
    await context.stations.set_registration(body.id, body.registration_status)
    await context.stations.set_password_hash(body.id, password_hash)
    await context.stations.set_lenient(body.id, body.lenient)
    await context.stations.set_decommissioned(body.id, None)
    logger.info("reactivated decommissioned station %r via the API", body.id)
    response.headers["Location"] = f"/api/v1/stations/{quote(body.id, safe='')}"
    return await _detail(context, await require_station(context, body.id))


async def update_station(
    context: Context,
    request: Request,
    station_id: StationIdPath,
    body: StationUpdate,
    background: BackgroundTasks,
) -> StationDetail:
    """Change a station's registration status, password or leniency (e.g. accept a Pending one).

    A connected station that has just been accepted is then told to boot again at once
    (TriggerMessage(BootNotification), 1.6 §4.2; 2.0.1 B02), after the response is sent; its next
    BootNotification is Accepted.
    """
    previous = await require_station(context, station_id)
    # Validate everything before writing anything, so a weak password leaves no partial update.
    change_password = "password" in body.model_fields_set
    new_hash = (
        _hash_new_password(body.password.get_secret_value())
        if change_password and body.password is not None
        else None
    )
    if body.registration_status is not None:
        await context.stations.set_registration(station_id, body.registration_status)
    if change_password:
        await context.stations.set_password_hash(station_id, new_hash)
    if body.lenient is not None:
        await context.stations.set_lenient(station_id, body.lenient)
    if "min_security_profile" in body.model_fields_set:
        # The operator may lower it too (a replaced station); A05.FR.09 binds csms, not them.
        await context.stations.set_min_security_profile(station_id, body.min_security_profile)
    if body.registration_status is not None:
        # After the response: a station that never answers must not hold the operator up.
        background.add_task(
            notify_registration_change,
            context.gateway,
            station_id,
            previous.registration_status,
            body.registration_status,
            timeout=context.call_timeout,
        )
    logger.info(
        "updated station %r via the API (%s)", station_id, ", ".join(sorted(body.model_fields_set))
    )
    station = await require_station(context, station_id)
    return await _detail(context, station, optional_ledger(request))


def stations_router() -> APIRouter:
    """Build the ``/stations`` routes (a new router per app: routers are mutable)."""
    router = APIRouter(prefix="/stations", tags=["stations"])
    unknown: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown station"}
    }
    invalid: dict[int | str, dict[str, Any]] = {
        422: {"model": ValidationProblem, "description": "Invalid request"}
    }
    router.add_api_route(
        "",
        list_stations,
        methods=["GET"],
        operation_id="listStations",
        summary="List stations",
        responses={400: {"model": Problem, "description": "Invalid cursor"}, **invalid},
    )
    router.add_api_route(
        "",
        register_station,
        methods=["POST"],
        status_code=201,
        operation_id="registerStation",
        summary="Register a station",
        responses={
            409: {"model": Problem, "description": "Already registered"},
            **invalid,
        },
    )
    router.add_api_route(
        "/{station_id}",
        get_station,
        methods=["GET"],
        operation_id="getStation",
        summary="Get a station",
        responses={**unknown, **invalid},
    )
    router.add_api_route(
        "/{station_id}",
        update_station,
        methods=["PATCH"],
        operation_id="updateStation",
        summary="Update a station",
        responses={**unknown, **invalid},
    )
    router.add_api_route(
        "/{station_id}",
        decommission_station,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        operation_id="decommissionStation",
        summary="Decommission a station (soft delete)",
        responses={**unknown, **invalid},
    )
    router.add_api_route(
        "/{station_id}/status-history",
        status_history,
        methods=["GET"],
        operation_id="getStatusHistory",
        summary="Recent status notifications",
        responses={**unknown, **invalid},
    )
    return router
