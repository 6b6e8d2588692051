"""ReserveNow and CancelReservation (1.6 §5.13, §5.1; 2.0.1 H01, H02) as typed operator commands.

:class:`ReserveNow` and :class:`CancelReservation` are the pure per-version mappings (see
:mod:`csms.blocks.outbound`); :func:`reserve_now` and :func:`cancel_reservation` also keep the
reservation store. The reservation is stored (status Requested, with a fresh reservationId from a
persistent sequence) *before* the CALL, so the id is never reused and the station's answer always
finds its row. The answer becomes the status; a CALLERROR or a refused command marks it Rejected;
an unknown outcome (timeout, connection lost) leaves it Requested, since the station may hold it,
and it then simply expires. Expiry is applied when read (see :mod:`csms.domain.reservations`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from csms.blocks.authorization.payloads import GROUP_TOKEN_TYPE
from csms.blocks.outbound import (
    Payload,
    negotiated_version,
    read_status,
    read_status_info,
    send,
    sends,
    sent_actions,
)
from csms.blocks.timefmt import format_datetime, parse_datetime
from csms.domain.charging_ports import IdTokenRepository, ReservationRepository
from csms.domain.commands import AcceptStatus, CommandResult
from csms.domain.errors import CallOutcomeUnknown, CallTimeout, DomainError, UnknownReservation
from csms.domain.ports import StationGateway
from csms.domain.reservations import Reservation, ReservationStatus
from csms.rpc import ALL_VERSIONS, OcppVersion

__all__ = [
    "COMMANDS",
    "CancelReservation",
    "CancelReservationResult",
    "ReserveNow",
    "cancel_reservation",
    "record_cancel_answer",
    "record_reserve_outcome",
    "reserve_now",
]

# What a station may answer to ReserveNow (1.6 §7.40; 2.x ReserveNowStatusEnumType).
_ANSWERS = frozenset(
    {
        ReservationStatus.ACCEPTED,
        ReservationStatus.FAULTED,
        ReservationStatus.OCCUPIED,
        ReservationStatus.REJECTED,
        ReservationStatus.UNAVAILABLE,
    }
)


@sends(ALL_VERSIONS, "ReserveNow")
@dataclass(frozen=True, slots=True)
class ReserveNow:
    """Reserve ``connector_id`` (1.6 connectorId, 0 = any; 2.x evseId, omitted for 0).

    ``token_type`` is the 2.x IdTokenEnumType of the reserved token, the type csms knows it by
    (a station may match a presented token on idToken and type; OCPP 2.0.1 part 6, the CSMS
    reservation state checks ``idToken.type`` is the token's configured type); Central when csms
    does not know it. 1.6 idTags have no type.
    """

    reservation: Reservation
    token_type: str | None = None

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        r = self.reservation
        if version is OcppVersion.V16:  # 1.6 §6.37 ReserveNow.req
            payload: Payload = {
                "connectorId": r.connector_id,
                "expiryDate": format_datetime(r.expiry_date),
                "idTag": r.id_token,
                "reservationId": r.reservation_id,
            }
            if r.parent_id_token is not None:
                payload["parentIdTag"] = r.parent_id_token
            return "ReserveNow", payload
        payload = {
            "id": r.reservation_id,
            "expiryDateTime": format_datetime(r.expiry_date),
            "idToken": {"idToken": r.id_token, "type": self.token_type or GROUP_TOKEN_TYPE},
        }
        if r.connector_id > 0:
            payload["evseId"] = r.connector_id
        if r.parent_id_token is not None:
            payload["groupIdToken"] = {"idToken": r.parent_id_token, "type": GROUP_TOKEN_TYPE}
        return "ReserveNow", payload

    @classmethod
    def from_request(
        cls, version: OcppVersion, station_id: str, payload: Payload, now: datetime
    ) -> ReserveNow:
        """The command a (schema-valid) ReserveNow payload spells: the inverse of
        :meth:`request`, for a ReserveNow sent through the generic call."""
        if version is OcppVersion.V16:
            connector_id = int(payload["connectorId"])
            reservation_id = int(payload["reservationId"])
            expiry, id_token = payload["expiryDate"], str(payload["idTag"])
            parent = payload.get("parentIdTag")
            token_type = None
        else:
            connector_id = int(payload.get("evseId", 0))
            reservation_id = int(payload["id"])
            expiry, id_token = payload["expiryDateTime"], str(payload["idToken"]["idToken"])
            group = payload.get("groupIdToken")
            parent = group.get("idToken") if isinstance(group, dict) else None
            token_type = payload["idToken"].get("type")
        return cls(
            Reservation(
                reservation_id=reservation_id,
                station_id=station_id,
                connector_id=connector_id,
                id_token=id_token,
                expiry_date=parse_datetime(str(expiry)),
                status=ReservationStatus.REQUESTED,
                parent_id_token=str(parent) if parent is not None else None,
                created_at=now,
                updated_at=now,
            ),
            token_type=str(token_type) if token_type is not None else None,
        )

    def result(self, version: OcppVersion, payload: Payload) -> ReservationStatus:
        status = read_status(ReservationStatus, payload)
        return status if status in _ANSWERS else ReservationStatus.REJECTED


@sends(ALL_VERSIONS, "CancelReservation")
@dataclass(frozen=True, slots=True)
class CancelReservation:
    """Cancel a reservation: the same request in every version."""

    reservation_id: int

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        return "CancelReservation", {"reservationId": self.reservation_id}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[AcceptStatus]:
        return CommandResult(read_status(AcceptStatus, payload), read_status_info(payload))


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(ReserveNow, CancelReservation)


async def reserve_now(
    gateway: StationGateway,
    reservations: ReservationRepository,
    tokens: IdTokenRepository,
    *,
    station_id: str,
    connector_id: int,
    id_token: str,
    expiry_date: datetime,
    now: datetime,
    parent_id_token: str | None = None,
    timeout: float | None = None,
) -> Reservation:
    """Store a reservation and send ReserveNow; without ``parent_id_token`` the token's stored
    parent is sent, so its whole group may use the reservation (1.6 §3.11).

    Returns:
        The reservation with the station's answer as its status (Accepted, Occupied, ...).

    Raises:
        StationNotConnected (nothing stored), and the gateway's errors after the reservation was
        stored: CallTimeout / CallOutcomeUnknown (left Requested), CallFailed, InvalidPayload,
        CommandNotAllowed, StationBusy (marked Rejected).
    """
    negotiated_version(gateway, station_id)  # offline: refused before anything is stored
    token = await tokens.get(id_token)
    if parent_id_token is None:
        parent_id_token = token.parent_id_token if token is not None else None
    reservation = await reservations.create(
        station_id=station_id,
        connector_id=connector_id,
        id_token=id_token,
        parent_id_token=parent_id_token,
        expiry_date=expiry_date,
        now=now,
    )
    try:
        command = ReserveNow(reservation, token.token_type if token is not None else None)
        status = await send(gateway, station_id, command, timeout=timeout)
    except DomainError as error:
        await record_reserve_outcome(reservations, reservation, error, now)
        raise
    return await record_reserve_outcome(reservations, reservation, status, now)


async def record_reserve_outcome(
    reservations: ReservationRepository,
    reservation: Reservation,
    outcome: ReservationStatus | DomainError,
    now: datetime,
) -> Reservation:
    """Keep what became of a stored (Requested) reservation once ReserveNow was sent: the
    station's answer as its status; Rejected after a CALLERROR or a refusal; still Requested
    when the outcome is unknown (timeout, connection lost), since the station may hold it."""
    if isinstance(outcome, CallTimeout | CallOutcomeUnknown):
        return reservation
    status = ReservationStatus.REJECTED if isinstance(outcome, DomainError) else outcome
    await reservations.set_status(reservation.reservation_id, status, now)
    return dataclasses.replace(reservation, status=status, updated_at=now)


@dataclass(frozen=True, slots=True)
class CancelReservationResult:
    """The station's answer (Accepted: it held the reservation and dropped it; Rejected: it
    had none with that id) and the reservation as stored afterwards."""

    status: AcceptStatus
    reservation: Reservation


async def cancel_reservation(
    gateway: StationGateway,
    reservations: ReservationRepository,
    reservation_id: int,
    *,
    now: datetime,
    timeout: float | None = None,
) -> CancelReservationResult:
    """Send CancelReservation to the station holding the reservation; Accepted marks it
    Cancelled.

    Raises:
        UnknownReservation, and the gateway's errors (nothing changes then).
    """
    reservation = await reservations.get(reservation_id, now)
    if reservation is None:
        raise UnknownReservation(str(reservation_id))
    answer = await send(
        gateway, reservation.station_id, CancelReservation(reservation_id), timeout=timeout
    )
    return await record_cancel_answer(reservations, reservation, answer.status, now)


async def record_cancel_answer(
    reservations: ReservationRepository,
    reservation: Reservation,
    status: AcceptStatus,
    now: datetime,
) -> CancelReservationResult:
    """Keep the station's answer to CancelReservation: Accepted marks the reservation Cancelled."""
    if status is AcceptStatus.ACCEPTED:
        await reservations.set_status(reservation.reservation_id, ReservationStatus.CANCELLED, now)
        reservation = dataclasses.replace(
            reservation, status=ReservationStatus.CANCELLED, updated_at=now
        )
    return CancelReservationResult(status, reservation)
