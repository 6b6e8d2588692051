"""The state of a simulated station: EVSEs with one connector each, transactions, reservations,
charging profiles, the local authorization list and installed certificates.

Plain data, no I/O and no clock: the caller passes ``now`` (loop seconds) for the meter and a UTC
``datetime`` for timestamps. Statuses are version-neutral here and spelled per version by
:mod:`csms.simulator.v16` and :mod:`csms.simulator.v2` (1.6 ChargePointStatus has Preparing,
Charging, Finishing...; 2.x ConnectorStatusEnumType only Available/Occupied/Reserved/Unavailable/
Faulted, the charging state going into TransactionEvent).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from csms.simulator.meter import Meter, amps_to_watts


class Status(enum.Enum):
    """What the connector is doing."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"  # plugged in (or authorised), no energy yet
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"  # EV full: plugged in, transaction running, no power
    FINISHING = "Finishing"  # transaction stopped, cable still plugged in
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


@dataclass(slots=True)
class Transaction:
    """A transaction as the station keeps it.

    ``transaction_id`` is the station's id (2.x, a UUID-like string); ``csms_id`` the 1.6
    transactionId the CSMS gave in StartTransaction.conf, or -1 when none ever came (1.6 errata
    v4.0 §4.8). ``seq_no`` numbers the 2.x TransactionEvents of this transaction from 0.
    """

    transaction_id: str
    evse_id: int
    id_tag: str
    started_at: datetime
    meter_start_wh: int
    remote_start_id: int | None = None
    csms_id: int | None = None
    seq_no: int = 0
    offline_started: bool = False

    def next_seq(self) -> int:
        """The seqNo of the next TransactionEvent (2.0.1 E01: incremented per message)."""
        value = self.seq_no
        self.seq_no += 1
        return value


@dataclass(slots=True)
class Reservation:
    """A reservation made by ReserveNow (1.6 §5.13; 2.0.1 H01)."""

    reservation_id: int
    evse_id: int
    id_tag: str
    expires_at: str


@dataclass(slots=True)
class Evse:
    """One EVSE with its single connector (1.6 connectorId == evse id)."""

    id: int
    max_power_w: float
    meter: Meter = field(default_factory=Meter)
    status: Status = Status.AVAILABLE
    operative: bool = True
    # ChangeAvailability to Inoperative during a transaction takes effect when it ends.
    pending_inoperative: bool = False
    plugged: bool = False
    transaction: Transaction | None = None
    reservation: Reservation | None = None
    error_code: str | None = None
    # Charging profiles by id, as the CSMS sent them (version-specific payloads).
    profiles: dict[int, dict[str, Any]] = field(default_factory=dict)
    limit_w: float | None = None
    # The connector's AvailabilityState last sent in a NotifyEvent (2.x); None: none since boot.
    reported_availability: str | None = None
    # The EV of the running transaction speaks ISO 15118 (2.x): it sent its charging needs and
    # reports the schedule it adopts from a TxProfile (csms.simulator.iso15118).
    iso15118: bool = False

    def effective_power(self) -> float:
        """The power the EV draws while charging: the station's maximum, capped by the limit."""
        if self.limit_w is None:
            return self.max_power_w
        return min(self.max_power_w, self.limit_w)

    def apply_profiles(self) -> None:
        """Take the limit of the first period of the highest-stack-level profile (K01 stacking)."""
        best: tuple[int, float] | None = None
        for profile in self.profiles.values():
            level = int(profile.get("stackLevel", 0))
            limit = profile_limit_w(profile)
            if limit is not None and (best is None or level >= best[0]):
                best = (level, limit)
        self.limit_w = None if best is None else best[1]


def profile_limit_w(profile: dict[str, Any]) -> float | None:
    """The first period's limit of a 1.6 or 2.x charging profile, in W."""
    schedule = profile.get("chargingSchedule")
    if isinstance(schedule, list):  # 2.x: a list of schedules
        schedule = schedule[0] if schedule else None
    if not isinstance(schedule, dict):
        return None
    periods = schedule.get("chargingSchedulePeriod") or []
    if not periods:
        return None
    limit = periods[0].get("limit")
    if limit is None:
        return None
    unit = schedule.get("chargingRateUnit", "W")
    return float(limit) if unit == "W" else amps_to_watts(float(limit))


@dataclass(slots=True)
class Certificate:
    """An installed certificate and the hash data that names it (2.0.1 CertificateHashDataType)."""

    certificate_type: str
    pem: str
    hash_data: dict[str, str]


@dataclass(slots=True)
class StationState:
    """Everything the station knows; kept across reconnects, partly lost on power loss."""

    identity: str
    evses: dict[int, Evse]
    local_list_version: int = 0
    local_list: dict[str, dict[str, Any]] = field(default_factory=dict)
    certificates: list[Certificate] = field(default_factory=list)
    display_messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    monitors: dict[int, dict[str, Any]] = field(default_factory=dict)
    tariffs: dict[str, dict[str, Any]] = field(default_factory=dict)
    firmware_version: str = "1.0.0"
    next_monitor_id: int = 1
    # A Delta monitor's reference value: its variable's value when set or when it last tripped.
    monitor_baselines: dict[int, str] = field(default_factory=dict)
    next_event_id: int = 1  # NotifyEvent eventId
    # What the CSMS told the driver (2.x block I): the last total cost per transaction (from
    # CostUpdated or the final totalCost of an Ended), every CostUpdated received, and the
    # personal messages (idTokenInfo.personalMessage, updatedPersonalMessage), newest last.
    costs: dict[str, float] = field(default_factory=dict)
    final_costs: dict[str, float] = field(default_factory=dict)
    cost_updates: list[tuple[str, float]] = field(default_factory=list)
    personal_messages: list[str] = field(default_factory=list)

    def show_message(self, content: dict[str, Any] | None) -> None:
        """Show a MessageContentType to the driver (kept: the last 100)."""
        if content and isinstance(content.get("content"), str):
            self.personal_messages.append(content["content"])
            del self.personal_messages[:-100]

    # N03 SetMonitoringBase (All, FactoryDefault, HardWiredOnly) and N05 SetMonitoringLevel: only
    # monitors of severity <= the level report events (0 Danger ... 9 Debug).
    monitoring_base: str = "All"
    monitoring_level: int = 9

    def evse(self, evse_id: int) -> Evse | None:
        """The EVSE with this id, or None (0 is the station itself, never an EVSE)."""
        return self.evses.get(evse_id)

    def free_evse(self) -> Evse | None:
        """The first operative EVSE with no transaction, no fault and no foreign reservation."""
        for evse in self.evses.values():
            if (
                evse.operative
                and evse.transaction is None
                and evse.status in (Status.AVAILABLE, Status.PREPARING)
            ):
                return evse
        return None

    def transaction(self, transaction_id: str) -> Transaction | None:
        """The running transaction with this station id (2.x) or CSMS id (1.6), or None."""
        for evse in self.evses.values():
            tx = evse.transaction
            if tx is not None and (
                tx.transaction_id == transaction_id or str(tx.csms_id) == transaction_id
            ):
                return tx
        return None

    def transactions(self) -> list[Transaction]:
        """Every running transaction."""
        return [e.transaction for e in self.evses.values() if e.transaction is not None]
