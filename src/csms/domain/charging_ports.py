"""Ports of authorization, 1.6 transactions and reservations (implemented by ``csms.storage``).

Same durability rule as :mod:`csms.domain.ports`: a coroutine that changes something returns only
once the change is committed, so the handler awaiting it may acknowledge the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from csms.domain.model import MeterValuesReport
from csms.domain.reservations import Reservation, ReservationStatus
from csms.domain.tokens import IdToken, IdTokenInfo
from csms.domain.transactions import (
    StartResult,
    StopResult,
    Transaction,
    TransactionAudit,
    TransactionStart,
    TransactionStop,
    UnmatchedMessage,
)


class IdTokenRepository(Protocol):
    """The id-token store."""

    async def get(self, id_token: str) -> IdToken | None:
        """Return the token (looked up case-insensitively), or None."""
        ...

    async def put(self, token: IdToken, now: datetime) -> None:
        """Add the token, or replace status, expiry and parent of an existing one."""
        ...

    async def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[IdToken]:
        """Return tokens ordered by their key."""
        ...

    async def authorize(
        self, id_token: str, now: datetime, token_type: str | None = None
    ) -> IdTokenInfo:
        """The status of ``id_token`` now: stored state, expiry, and transactions it is in.
        ``token_type`` is the 2.x type presented (None for 1.6; see ``tokens.type_matches``)."""
        ...


class ChargingTransactionRepository(Protocol):
    """Transactions whose id the CSMS issues (1.6), their meter values, and reconciliation."""

    async def start(self, start: TransactionStart, received_at: datetime) -> StartResult:
        """Issue a transactionId (the same one again for a retry) and consume the reservation."""
        ...

    async def stop(self, stop: TransactionStop, received_at: datetime) -> StopResult:
        """Close the station's transaction once; keep anything else for reconciliation."""
        ...

    async def record_meter_values(
        self, report: MeterValuesReport, raw: dict[str, Any], received_at: datetime
    ) -> bool:
        """Store a 1.6 MeterValues once per content of ``raw`` (its payload); False for a
        duplicate. Samples naming a transaction of the station advance its register mark."""
        ...

    async def get(self, transaction_id: int) -> Transaction | None:
        """Return one 1.6 transaction."""
        ...

    async def get_v2(self, station_id: str, transaction_id: str) -> Transaction | None:
        """Return one 2.x transaction (its id is the station's): token status, energy, flags
        (e.g. SeqNoGap) and the seqNos received."""
        ...

    async def list_open(
        self,
        *,
        station_id: str | None = None,
        inactive_since: datetime | None = None,
        limit: int = 100,
    ) -> Sequence[Transaction]:
        """Open 1.6 and 2.x transactions, least recently active first; ``inactive_since``: none
        reported on after that."""
        ...

    async def close(
        self,
        transaction_id: int | str,
        *,
        operator: str,
        reason: str,
        now: datetime,
        station_id: str | None = None,
    ) -> Transaction:
        """Close an open transaction by an operator's decision (1.6: with an audit record).

        An int is a 1.6 transactionId; a str is a 1.6 id or a 2.x transactionId, ``station_id``
        choosing among the open transactions it names.

        Raises:
            UnknownTransaction, TransactionNotOpen, AmbiguousTransaction.
        """
        ...

    async def release_connector(
        self,
        station_id: str,
        evse_id: int,
        *,
        connector_id: int | None = None,
        keep: str | None = None,
        cause: str,
        now: datetime,
    ) -> Sequence[Transaction]:
        """The station reports nothing running on this EVSE (connector): close, as abandoned,
        the transactions still open there, except the 2.x transaction ``keep``; return them."""
        ...

    async def audit_trail(self, transaction_id: int) -> Sequence[TransactionAudit]:
        """The audit records of a transaction, oldest first."""
        ...

    async def unmatched(
        self, *, station_id: str | None = None, limit: int = 100
    ) -> Sequence[UnmatchedMessage]:
        """Messages that named no transaction of their station, newest first."""
        ...


class ReservationRepository(Protocol):
    """Reservations the CSMS made; expiry is applied when read."""

    async def create(
        self,
        *,
        station_id: str,
        connector_id: int,
        id_token: str,
        parent_id_token: str | None,
        expiry_date: datetime,
        now: datetime,
    ) -> Reservation:
        """Store a new reservation (status Requested) with a fresh reservationId."""
        ...

    async def put(self, reservation: Reservation, now: datetime) -> bool:
        """Store a reservation whose id an operator chose (a ReserveNow sent through the generic
        call), status Requested; it replaces this station's reservation with that id, as the
        station does (1.6 §5.13; 2.0.1 H01.FR.02). False (nothing stored) when the id is another
        station's."""
        ...

    async def set_status(
        self, reservation_id: int, status: ReservationStatus, now: datetime
    ) -> None:
        """Record the station's answer, or a cancellation."""
        ...

    async def get(self, reservation_id: int, now: datetime) -> Reservation | None:
        """Return the reservation as of ``now`` (expired if its time has passed)."""
        ...

    async def consume(
        self, station_id: str, reservation_id: int, transaction_id: str, now: datetime
    ) -> bool:
        """Mark the station's reservation Used by ``transaction_id`` (2.x: a TransactionEvent
        that names it; 1.6 StartTransaction does this as part of its own write). True if it is
        this station's and was not used by another transaction; again True for a repeat."""
        ...

    async def list(
        self, now: datetime, *, station_id: str | None = None, active_only: bool = False
    ) -> Sequence[Reservation]:
        """Reservations as of ``now``, newest first."""
        ...
