"""Ports: what the blocks, the server and the API need from storage and from the station gateway.

``storage`` implements the repositories and ``server`` implements :class:`StationGateway`; the
composition root (``csms.container``) wires them. Nothing above storage sees a database session.

Durability rule (ocpp-rules.md §3.3): every ``record_*`` coroutine returns only after the change is
committed, so a handler that awaits it may acknowledge the message. :meth:`StationRepository.touch`
is the exception: last-seen times are coalesced and flushed in the background, because a Heartbeat
acknowledges nothing durable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from csms.domain.connections import Disconnection
from csms.domain.ledger import StationQuery, StationSearch
from csms.domain.model import (
    BootInfo,
    ConnectorState,
    MeterValuesReport,
    RegistrationStatus,
    Station,
    StatusReport,
    TransactionEventReport,
)
from csms.domain.transactions import TransactionEventOutcome


class StationRepository(Protocol):
    """Stations, their connection state and connector status."""

    async def get(self, station_id: str) -> Station | None:
        """Return the station, or None if it is not registered."""
        ...

    async def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Station]:
        """Return stations ordered by id."""
        ...

    async def add(self, station: Station) -> None:
        """Register a station (committed on return); an existing id raises StorageError."""
        ...

    async def count(self, *, registration_status: RegistrationStatus | None = None) -> int:
        """Return how many stations are registered (only those in ``registration_status`` if given).

        The listener asks before each self-registration under the ``pending`` policy, to cap the
        stations awaiting an operator (CSMS_MAX_PENDING_REGISTRATIONS).
        """
        ...

    async def set_registration(self, station_id: str, status: RegistrationStatus) -> None:
        """Set the registration status an operator chose (Accepted/Pending/Rejected)."""
        ...

    async def set_password_hash(self, station_id: str, password_hash: str | None) -> None:
        """Store a new salted password hash (never the password); a pending one is dropped."""
        ...

    async def set_pending_password_hash(self, station_id: str, password_hash: str | None) -> None:
        """Store the hash of a password the station takes after its reboot (A01 answered
        RebootRequired); the current one keeps working until the station connects with it."""
        ...

    async def set_lenient(self, station_id: str, lenient: bool) -> None:
        """Choose whether the station's schema violations are logged instead of refused."""
        ...

    async def set_min_security_profile(self, station_id: str, profile: int | None) -> None:
        """Store the lowest security profile the station may connect with (None: the server's)."""
        ...

    async def set_soap_endpoint(self, station_id: str, endpoint: str | None) -> None:
        """Store a SOAP station's ChargePointService address (its latest WS-Addressing From)."""
        ...

    async def search(self, query: StationQuery, *, after: str | None, limit: int) -> StationSearch:
        """Stations matching ``query`` ordered by id, after the id ``after``, and their total."""
        ...

    async def set_decommissioned(self, station_id: str, at: datetime | None) -> None:
        """Decommission the station as of ``at`` (a soft delete), or reactivate it (None)."""
        ...

    async def record_boot(
        self, station_id: str, boot: BootInfo, status: RegistrationStatus, now: datetime
    ) -> None:
        """Store what a BootNotification said and the answer given to it."""
        ...

    async def record_connection(
        self,
        station_id: str,
        *,
        online: bool,
        ocpp_version: str | None,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        """Store that the station connected (with its negotiated version) or disconnected
        (``reason``: why, e.g. the WebSocket close code), in the connection history too."""
        ...

    async def record_disconnections(
        self, disconnections: Sequence[Disconnection], *, at: datetime
    ) -> None:
        """Store the disconnects of a stopping process's sessions, as :meth:`record_connection`
        does for each (offline, ``disconnected_at``, a history row with the reason), in a few
        statements for all; a station that connected again after ``at`` (on another node) is
        left online."""
        ...

    def touch(self, station_id: str, now: datetime) -> None:
        """Note that the station was seen; flushed in the background, not awaited."""
        ...

    async def record_status(self, report: StatusReport) -> None:
        """Store a StatusNotification: the connector's current state and a history row."""
        ...

    async def connector_states(self, station_id: str) -> Sequence[ConnectorState]:
        """Return the current status of each EVSE/connector of the station."""
        ...

    async def status_history(self, station_id: str, *, limit: int = 100) -> Sequence[StatusReport]:
        """Return the station's most recent status reports, newest first."""
        ...


class TransactionRepository(Protocol):
    """Meter values and transaction events."""

    async def record_meter_values(self, report: MeterValuesReport) -> None:
        """Store sampled values (committed on return)."""
        ...

    async def record_transaction_event(self, report: TransactionEventReport) -> bool:
        """Store a 2.x TransactionEvent once; return False if (station, tx, seqNo) was seen before."""
        ...

    async def apply_transaction_event(
        self, report: TransactionEventReport, *, refuse_concurrent: bool = True
    ) -> TransactionEventOutcome:
        """Store a 2.x TransactionEvent once (as :meth:`record_transaction_event`) and, when it
        carries an idToken, evaluate the token in the same group commit (2.0.1 E01.FR.11);
        ``refuse_concurrent``: a Started whose token is in another open transaction is
        ConcurrentTx."""
        ...


@dataclass(frozen=True, slots=True)
class SessionCounters:
    """What a live session counted (since it connected), for operators."""

    protocol_violations: int
    schema_violations: int  # violations a lenient station got away with
    suppressed_log_lines: int


@dataclass(frozen=True, slots=True)
class SoapSession:
    """A station that speaks OCPP over SOAP (issue 12): no connection, only calls it makes."""

    ocpp_version: str  # "1.5" or "1.6"
    endpoint: str | None  # its ChargePointService address: the From of its latest call
    last_call_at: datetime


class SoapPresence(Protocol):
    """Which stations speak OCPP over SOAP and are online (implemented by ``csms.soap``)."""

    def soap_session(self, station_id: str) -> SoapSession | None:
        """The station's SOAP session while online (it called within its heartbeat interval plus
        the grace), else None."""
        ...


class StationGateway(Protocol):
    """Sends CSMS-initiated CALLs to connected stations (implemented by ``csms.server``)."""

    def is_connected(self, station_id: str) -> bool:
        """True while the station has a live OCPP session."""
        ...

    def ocpp_version(self, station_id: str) -> str | None:
        """The negotiated OCPP version of the live session, or None."""
        ...

    def session_counters(self, station_id: str) -> SessionCounters | None:
        """The live session's counters, or None when the station is not connected."""
        ...

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT payload.

        Only the key rotation sets ``password_rotation``: any other request that would set the
        station's password is refused (CommandNotAllowed), typed command or generic call alike.

        Raises:
            StationNotConnected, StationBusy, CommandNotAllowed, InvalidPayload, CallTimeout,
            CallOutcomeUnknown, CallFailed (all from csms.domain.errors).
        """
        ...
