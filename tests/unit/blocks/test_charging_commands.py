"""Operator commands of authorization, transactions and reservation, with in-memory ports.

The station gateway here is a scripted stand-in for the StationGateway port: it records the CALLs
and answers (or fails) as told. The real gateway and a real ChargePoint are exercised end to end
in tests/integration/test_ocpp16_core_ocpp_package.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from csms.blocks.authorization.commands import add_token, list_tokens, update_token
from csms.blocks.reservation.commands import cancel_reservation, reserve_now
from csms.blocks.transactions.commands import close_transaction
from csms.domain.errors import (
    CallFailed,
    CallTimeout,
    DomainError,
    StationNotConnected,
    UnknownIdToken,
    UnknownReservation,
)
from csms.domain.reservations import Reservation, ReservationStatus
from csms.domain.tokens import AuthorizationStatus, IdToken, IdTokenInfo, evaluate, token_key
from csms.rpc import OcppVersion

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class MemoryTokens:
    def __init__(self) -> None:
        self.tokens: dict[str, IdToken] = {}

    async def get(self, id_token: str) -> IdToken | None:
        return self.tokens.get(token_key(id_token))

    async def put(self, token: IdToken, now: datetime) -> None:
        self.tokens[token_key(token.id_token)] = token

    async def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[IdToken]:
        return [self.tokens[k] for k in sorted(self.tokens)][offset : offset + limit]

    async def authorize(self, id_token: str, now: datetime) -> IdTokenInfo:
        return evaluate(await self.get(id_token), now, in_other_transaction=False)


class MemoryReservations:
    def __init__(self) -> None:
        self.rows: dict[int, Reservation] = {}

    async def create(self, **fields: Any) -> Reservation:
        now = fields.pop("now")
        r = Reservation(
            reservation_id=len(self.rows) + 1,
            status=ReservationStatus.REQUESTED,
            created_at=now,
            updated_at=now,
            **fields,
        )
        self.rows[r.reservation_id] = r
        return r

    async def set_status(
        self, reservation_id: int, status: ReservationStatus, now: datetime
    ) -> None:
        self.rows[reservation_id] = dataclasses.replace(self.rows[reservation_id], status=status)

    async def get(self, reservation_id: int, now: datetime) -> Reservation | None:
        found = self.rows.get(reservation_id)
        return found.as_of(now) if found else None


class ScriptedGateway:
    """Answers each CALL with the next scripted reply (a payload, or an exception to raise)."""

    def __init__(self, version: str | None, *replies: dict[str, Any] | DomainError) -> None:
        self.version = version
        self.replies = list(replies)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def is_connected(self, station_id: str) -> bool:
        return self.version is not None

    def ocpp_version(self, station_id: str) -> str | None:
        return self.version

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        self.calls.append((station_id, action, payload))
        reply = self.replies.pop(0)
        if isinstance(reply, DomainError):
            raise reply
        return reply


async def _reserve(
    gateway: ScriptedGateway, reservations: MemoryReservations, **kw: Any
) -> Reservation:
    tokens = MemoryTokens()
    await add_token(tokens, "TAG", now=NOW, parent_id_token="FLEET")
    fields = {
        "station_id": "CS1",
        "connector_id": 1,
        "id_token": "TAG",
        "expiry_date": NOW + timedelta(hours=1),
        "now": NOW,
    }
    return await reserve_now(gateway, reservations, tokens, **(fields | kw))


async def test_reserve_now_16_payload_uses_the_tokens_group() -> None:
    gateway, reservations = ScriptedGateway("1.6", {"status": "Accepted"}), MemoryReservations()
    made = await _reserve(gateway, reservations)
    assert made.status is ReservationStatus.ACCEPTED
    assert gateway.calls == [
        ("CS1", "ReserveNow", {"connectorId": 1, "expiryDate": "2026-12-01T13:00:00.000Z",
                               "idTag": "TAG", "reservationId": 1, "parentIdTag": "FLEET"}),
    ]  # fmt: skip


async def test_reserve_now_2x_payload() -> None:
    gateway, reservations = ScriptedGateway("2.0.1", {"status": "Occupied"}), MemoryReservations()
    made = await _reserve(gateway, reservations, connector_id=0, parent_id_token="G")
    assert made.status is ReservationStatus.OCCUPIED
    assert gateway.calls[0][2] == {
        "id": 1,
        "expiryDateTime": "2026-12-01T13:00:00.000Z",
        "idToken": {"idToken": "TAG", "type": "Central"},
        "groupIdToken": {"idToken": "G", "type": "Central"},
    }


async def test_reserve_now_2x_sends_the_type_csms_knows_the_token_by() -> None:
    """OCTT's CSMS reservation state checks idToken.type is the token's configured type: a
    station may match a presented ISO14443 card only to an ISO14443 reservation."""
    tokens = MemoryTokens()
    await add_token(tokens, "CARD", now=NOW, token_type="ISO14443")
    gateway, reservations = ScriptedGateway("2.0.1", {"status": "Accepted"}), MemoryReservations()
    await reserve_now(gateway, reservations, tokens, station_id="CS1", connector_id=1,
                      id_token="CARD", expiry_date=NOW + timedelta(hours=1), now=NOW)  # fmt: skip
    assert gateway.calls[0][2]["idToken"] == {"idToken": "CARD", "type": "ISO14443"}


async def test_reserve_now_offline_station_stores_nothing() -> None:
    reservations = MemoryReservations()
    with pytest.raises(StationNotConnected):
        await _reserve(ScriptedGateway(None), reservations)
    assert reservations.rows == {}


async def test_reserve_now_callerror_marks_rejected_timeout_leaves_requested() -> None:
    reservations = MemoryReservations()
    with pytest.raises(CallFailed):
        await _reserve(ScriptedGateway("1.6", CallFailed("NotSupported", "")), reservations)
    with pytest.raises(CallTimeout):
        await _reserve(ScriptedGateway("1.6", CallTimeout("late")), reservations)
    assert [r.status for r in reservations.rows.values()] == [
        ReservationStatus.REJECTED,
        ReservationStatus.REQUESTED,
    ]


async def test_cancel_reservation() -> None:
    reservations = MemoryReservations()
    made = await _reserve(ScriptedGateway("1.6", {"status": "Accepted"}), reservations)
    gateway = ScriptedGateway("1.6", {"status": "Rejected"}, {"status": "Accepted"})
    refused = await cancel_reservation(gateway, reservations, made.reservation_id, now=NOW)
    assert (refused.status, refused.reservation.status) == ("Rejected", ReservationStatus.ACCEPTED)
    done = await cancel_reservation(gateway, reservations, made.reservation_id, now=NOW)
    assert (done.status, done.reservation.status) == ("Accepted", ReservationStatus.CANCELLED)
    assert gateway.calls[0][1:] == ("CancelReservation", {"reservationId": made.reservation_id})
    with pytest.raises(UnknownReservation):
        await cancel_reservation(gateway, reservations, 99, now=NOW)


async def test_token_commands() -> None:
    tokens = MemoryTokens()
    added = await add_token(tokens, "A", now=NOW, expiry_date=NOW + timedelta(days=1))
    blocked = await update_token(tokens, "a", now=NOW, status=AuthorizationStatus.BLOCKED)
    assert (blocked.status, blocked.expiry_date, blocked.created_at) == (
        AuthorizationStatus.BLOCKED, added.expiry_date, NOW,
    )  # fmt: skip
    cleared = await update_token(tokens, "A", now=NOW, expiry_date=None)
    assert cleared.expiry_date is None and cleared.status is AuthorizationStatus.BLOCKED
    assert [t.id_token for t in await list_tokens(tokens)] == ["A"]
    with pytest.raises(UnknownIdToken):
        await update_token(tokens, "B", now=NOW, status=AuthorizationStatus.ACCEPTED)
    with pytest.raises(ValueError, match="derived"):
        await add_token(tokens, "C", now=NOW, status=AuthorizationStatus.CONCURRENT_TX)


async def test_close_transaction_needs_an_operator_and_a_reason() -> None:
    with pytest.raises(ValueError, match="operator and a reason"):
        await close_transaction(None, 1, operator=" ", reason="x", now=NOW)  # type: ignore[arg-type]


async def test_the_token_store_as_a_local_list_source() -> None:
    from csms.blocks.authorization.local_list_source import IdTokenListSource
    from csms.domain.localauth import LocalListEntry

    tokens = MemoryTokens()
    await add_token(tokens, "A", now=NOW, parent_id_token="G")
    await add_token(tokens, "B", now=NOW, status=AuthorizationStatus.BLOCKED)
    await add_token(tokens, "C", now=NOW, expiry_date=NOW - timedelta(days=1))
    entries = await IdTokenListSource(tokens, clock=lambda: NOW).local_list("CS1")
    assert entries == [
        LocalListEntry("A", AuthorizationStatus.ACCEPTED, None, "G"),
        LocalListEntry("B", AuthorizationStatus.BLOCKED),
        LocalListEntry("C", AuthorizationStatus.EXPIRED, NOW - timedelta(days=1)),
    ]


@pytest.mark.parametrize("version", list(OcppVersion))
@pytest.mark.parametrize("connector_id", [0, 2])
def test_reservation_commands_are_schema_valid(version: OcppVersion, connector_id: int) -> None:
    from csms.blocks.reservation.commands import CancelReservation, ReserveNow
    from csms.messages import MessageValidator

    validator = MessageValidator(version)
    reservation = Reservation(
        7, "CS1", connector_id, "TAG", NOW, ReservationStatus.REQUESTED, parent_id_token="G"
    )
    actions = []
    for command in (ReserveNow(reservation), CancelReservation(7)):
        action, payload = command.request(version)
        validator.validate_request(action, payload)  # raises CallErrorReply if invalid
        actions.append(action)
    assert actions == ["ReserveNow", "CancelReservation"]
