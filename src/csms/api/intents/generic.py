"""What the generic call (``POST /stations/{id}/call/{action}``) records: the same facts as the
equivalent intent, through the same typed command classes and recorders.

A tracked action's payload is read *before* sending with the typed command's ``from_request``
(the inverse of its ``request``), so a payload csms cannot represent is sent untracked (logged,
not refused: the generic call is the expert's way to send anything the schema allows), and a
refusal that must come first (a ReserveNow whose id is another station's) comes before anything
is sent. What is stored comes after: the station's answer, or the fact that it was sent without
one (timeout, unknown outcome, CALLERROR), exactly as the intent stores it. A payload refused
before sending (schema, registration state, secret guard, full queue) stores nothing.

Not listed here because the intents store nothing of their own for them: RemoteStartTransaction
/ RequestStartTransaction (the remoteStartId is tied to the transaction by the station's
TransactionEvents), GetBaseReport / GetReport (the NotifyReport parts are stored with their
requestId), InstallCertificate (the station's answer only; the installed certificates are what the station
reports to GetInstalledCertificateIds).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from csms.api.intents.catalog import (
    SENT_WITHOUT_ANSWER,
    record_composite_answer,
    record_desired_variables,
    record_key_change,
)
from csms.api.intents.registry import IntentServices
from csms.blocks.provisioning.commands import (
    ChangeConfiguration,
    GetConfiguration,
    GetVariables,
    SetVariables,
    record_configuration_report,
)
from csms.blocks.provisioning.device_model import record_variables_read, record_variables_set
from csms.blocks.reservation.commands import (
    CancelReservation,
    ReserveNow,
    record_cancel_answer,
    record_reserve_outcome,
)
from csms.blocks.security.commands import hash_data_from_request, record_delete_answer
from csms.blocks.smartcharging import payloads as smart_payloads
from csms.blocks.smartcharging.commands import SmartChargingCommands
from csms.domain.configuration import secret_write
from csms.domain.errors import CommandNotAllowed, DomainError
from csms.rpc import OcppVersion

__all__ = ["TRACKED_ACTIONS", "tracked_call"]

logger = logging.getLogger(__name__)

Payload = dict[str, Any]
# The station's answer, or why there is none (only errors after which the CALL was sent).
Outcome = Payload | DomainError
Record = Callable[[Outcome], Awaitable[None]]
# (services, station, its version, the request payload) -> what to store once answered.
Prepare = Callable[[IntentServices, str, OcppVersion, Payload], Awaitable[Record]]


@dataclass(frozen=True, slots=True)
class _Tracker:
    needs: tuple[str, ...]
    prepare: Prepare


# --- reservations ----------------------------------------------------------------------------


async def _reserve_now(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    now = s.clock()
    reservation = ReserveNow.from_request(version, sid, payload, now).reservation
    reservations = s.need("reservations")
    held = await reservations.get(reservation.reservation_id, now)
    if held is not None and held.station_id != sid:
        raise CommandNotAllowed(
            f"reservationId {reservation.reservation_id} is a reservation of another station; "
            "reservation ids are unique across stations (use the reserve command to get one)"
        )

    async def record(outcome: Outcome) -> None:
        if not await reservations.put(reservation, s.clock()):
            logger.warning(
                "[%s] ReserveNow %d not stored: the id is another station's",
                sid,
                reservation.reservation_id,
            )
            return
        status = (
            outcome
            if isinstance(outcome, DomainError)
            else ReserveNow(reservation).result(version, outcome)
        )
        await record_reserve_outcome(reservations, reservation, status, s.clock())

    return record


async def _cancel_reservation(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    command = CancelReservation(int(payload["reservationId"]))
    reservations = s.need("reservations")

    async def record(outcome: Outcome) -> None:
        if isinstance(outcome, DomainError):
            return  # nothing changes without an answer, as for the intent
        reservation = await reservations.get(command.reservation_id, s.clock())
        if reservation is None or reservation.station_id != sid:
            return  # not a reservation csms knows at this station
        answer = command.result(version, outcome)
        await record_cancel_answer(reservations, reservation, answer.status, s.clock())

    return record


# --- smart charging --------------------------------------------------------------------------


def _smart(s: IntentServices) -> SmartChargingCommands:
    return SmartChargingCommands(s.gateway, s.need("charging_profiles"), clock=s.clock)


async def _set_profile(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    evse_id, profile = smart_payloads.profile_from_request(payload, version)

    async def record(outcome: Outcome) -> None:
        if isinstance(outcome, DomainError):
            await _smart(s).record_set_unanswered(sid, evse_id, profile, outcome)
        else:
            await _smart(s).record_set_answer(sid, evse_id, profile, outcome)

    return record


async def _clear_profile(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    criteria = smart_payloads.clear_criteria_from_request(payload, version)

    async def record(outcome: Outcome) -> None:
        if not isinstance(outcome, DomainError):
            await _smart(s).record_clear_answer(sid, criteria, outcome)

    return record


async def _composite(s: IntentServices, sid: str, version: OcppVersion, payload: Payload) -> Record:
    evse_id = int(payload["connectorId" if version is OcppVersion.V16 else "evseId"])
    duration = int(payload["duration"])
    sent_at = s.clock().replace(microsecond=0)

    async def record(outcome: Outcome) -> None:
        if isinstance(outcome, DomainError):
            return
        reported = smart_payloads.composite_from_response(
            outcome, version, evse_id=evse_id, duration=duration, received_at=sent_at
        )
        await record_composite_answer(s, sid, evse_id, str(outcome["status"]), reported)

    return record


# --- configuration ---------------------------------------------------------------------------


async def _change_configuration(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    command = ChangeConfiguration.from_request(payload)  # refuses a secret key, like the intent

    async def record(outcome: Outcome) -> None:
        if isinstance(outcome, DomainError):
            await record_key_change(s, sid, command, outcome)
        else:
            await record_key_change(s, sid, command, command.result(version, outcome))

    return record


async def _get_configuration(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    command = GetConfiguration.from_request(payload)

    async def record(outcome: Outcome) -> None:
        if not isinstance(outcome, DomainError):
            report = command.result(version, outcome)
            await record_configuration_report(s.need("configuration"), sid, report, s.clock())

    return record


async def _set_variables(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    command = SetVariables.from_request(payload)  # refuses a secret variable, like the intent

    async def record(outcome: Outcome) -> None:
        if isinstance(outcome, DomainError):
            return  # the intent keeps nothing without an answer either
        results = command.result(version, outcome)
        await record_variables_set(s.need("device_model"), sid, command.values, results, s.clock())
        await record_desired_variables(s, sid, command.values, results)

    return record


async def _get_variables(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    command = GetVariables.from_request(payload)

    async def record(outcome: Outcome) -> None:
        if not isinstance(outcome, DomainError):
            results = command.result(version, outcome)
            await record_variables_read(s.need("device_model"), sid, results, s.clock())

    return record


# --- certificates ----------------------------------------------------------------------------


async def _delete_certificate(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    hash_data = hash_data_from_request(payload)

    async def record(outcome: Outcome) -> None:
        if not isinstance(outcome, DomainError):
            await record_delete_answer(s.need("security"), sid, hash_data, outcome)

    return record


# --- local authorization list ----------------------------------------------------------------


async def _local_list_version(
    s: IntentServices, sid: str, version: OcppVersion, payload: Payload
) -> Record:
    async def record(outcome: Outcome) -> None:
        if not isinstance(outcome, DomainError):
            await s.local_list_commands().record_version_answer(sid, version, outcome)

    return record


_TRACKERS: dict[str, _Tracker] = {
    "ReserveNow": _Tracker(("reservations",), _reserve_now),
    "CancelReservation": _Tracker(("reservations",), _cancel_reservation),
    "SetChargingProfile": _Tracker(("charging_profiles",), _set_profile),
    "ClearChargingProfile": _Tracker(("charging_profiles",), _clear_profile),
    "GetCompositeSchedule": _Tracker(("charging_profiles",), _composite),
    "ChangeConfiguration": _Tracker(("configuration",), _change_configuration),
    "GetConfiguration": _Tracker(("configuration",), _get_configuration),
    "SetVariables": _Tracker(("device_model",), _set_variables),
    "GetVariables": _Tracker(("device_model",), _get_variables),
    "DeleteCertificate": _Tracker(("security",), _delete_certificate),
    "GetLocalListVersion": _Tracker(("local_lists",), _local_list_version),
}
TRACKED_ACTIONS = frozenset(_TRACKERS)


async def _prepare(
    services: IntentServices, station_id: str, action: str, payload: Payload
) -> Record | None:
    tracker = _TRACKERS.get(action)
    version = services.gateway.ocpp_version(station_id)
    if tracker is None or version is None or not services.has(tracker.needs):
        return None  # not tracked; an offline station is refused by the call itself
    if secret_write(action, payload) is not None:
        return None  # the gateway's secret guard refuses it, naming the rotation route
    try:
        return await tracker.prepare(services, station_id, OcppVersion(version), payload)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        # Invalid for the schema (refused by the call next) or beyond what csms represents.
        # The error's type only: its text may quote a value of the payload.
        logger.info(
            "[%s] %s through the generic call is not tracked (%s)",
            station_id,
            action,
            type(error).__name__,
        )
        return None


async def tracked_call(
    services: IntentServices,
    station_id: str,
    action: str,
    payload: Payload,
    *,
    timeout: float,
) -> Payload:
    """Send ``action`` to the station and store what the equivalent intent stores.

    Raises:
        the gateway's errors, and CommandNotAllowed for a refusal that comes before sending.
    """
    record = await _prepare(services, station_id, action, payload)
    try:
        answer = await services.gateway.call(station_id, action, payload, timeout=timeout)
    except SENT_WITHOUT_ANSWER as error:
        if record is not None:
            await record(error)
        raise
    if record is not None:
        await record(answer)
    return answer
