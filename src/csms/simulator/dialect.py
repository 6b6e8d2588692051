"""What differs between versions on the station side: the messages it sends and how it answers.

:class:`Dialect` builds the station-initiated requests of one version from the neutral
:mod:`~csms.simulator.state`; :mod:`csms.simulator.v16` and :mod:`csms.simulator.v2` implement it.
Answers to CSMS-initiated CALLs are pure functions returning an :class:`Answer`: the response
payload plus the follow-ups a real station performs after replying (start charging after a remote
start, FirmwareStatusNotification progressions, the message a TriggerMessage asked for...).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from csms.simulator.state import Evse, Transaction
    from csms.simulator.station import SimStation

Payload = dict[str, Any]

VENDOR = "csms-sim"  # chargePointVendor / vendorName; also the vendorId of DataTransfer
MODEL = "SimCharger"


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as the schemas' ``date-time`` format requires."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class StopReason(enum.Enum):
    """Why a transaction ended; spelled per version by the dialect (1.6 Reason; 2.x ReasonEnumType)."""

    LOCAL = "Local"
    REMOTE = "Remote"
    EV_DISCONNECTED = "EVDisconnected"
    HARD_RESET = "HardReset"
    SOFT_RESET = "SoftReset"
    POWER_LOSS = "PowerLoss"
    GROUND_FAULT = "GroundFault"
    UNLOCK = "UnlockCommand"
    REBOOT = "Reboot"
    DEAUTHORIZED = "DeAuthorized"


class BootReason(enum.Enum):
    """Why the station booted (2.x BootReasonEnumType; 1.6 does not say)."""

    POWER_UP = "PowerUp"
    REMOTE_RESET = "RemoteReset"
    FIRMWARE_UPDATE = "FirmwareUpdate"
    TRIGGERED = "Triggered"


# ------------------------------------------------------------------ follow-ups


@dataclass(frozen=True, slots=True)
class StartCharging:
    """Begin a transaction on ``evse_id`` for ``id_tag`` (remote start)."""

    evse_id: int
    id_tag: str
    remote_start_id: int | None = None


@dataclass(frozen=True, slots=True)
class StopCharging:
    """End the transaction on ``evse_id``."""

    evse_id: int
    reason: StopReason


@dataclass(frozen=True, slots=True)
class SendStatus:
    """Report the connector status of ``evse_id`` (after availability or reservation changes)."""

    evse_id: int


@dataclass(frozen=True, slots=True)
class Trigger:
    """Send the message a TriggerMessage asked for; ``message`` is the neutral name below."""

    message: str  # BootNotification, Heartbeat, StatusNotification, MeterValues, ...
    evse_id: int | None = None


@dataclass(frozen=True, slots=True)
class Reboot:
    """Reset: end transactions, drop the connection, come back and boot."""

    hard: bool


@dataclass(frozen=True, slots=True)
class Progress:
    """Send ``action`` once per status, a step apart (firmware, diagnostics and log uploads);
    with ``reboot_after``, reboot and send ``after_boot`` once booted again (2.0.1 L01: Installed
    follows the BootNotification of reason FirmwareUpdate)."""

    action: str
    payloads: tuple[Payload, ...]
    reboot_after: bool = False
    after_boot: tuple[Payload, ...] = ()


@dataclass(frozen=True, slots=True)
class Send:
    """Send one station-initiated request (a report asked for by the CSMS)."""

    action: str
    payload: Payload


Followup = StartCharging | StopCharging | SendStatus | Trigger | Reboot | Progress | Send


@dataclass(frozen=True, slots=True)
class Answer:
    """The CALLRESULT payload of a CSMS-initiated CALL and what the station does afterwards."""

    payload: Payload
    then: tuple[Followup, ...] = field(default=())


Handler = Callable[["SimStation", Payload], Answer]


class Dialect(Protocol):
    """Station-initiated messages of one OCPP version."""

    answers: dict[str, Handler]
    # The requests that must be delivered even across connection loss (1.6 §3.7.1 / §4.8;
    # 2.0.1 E13): queued while offline and replayed in order.
    transaction_actions: frozenset[str]

    def boot(self, station: SimStation, reason: BootReason) -> tuple[str, Payload]:
        """The BootNotification request."""
        ...

    def status(self, station: SimStation, evse: Evse, now: datetime) -> tuple[str, Payload]:
        """A StatusNotification for the EVSE's connector."""
        ...

    def authorize(self, id_tag: str) -> tuple[str, Payload]:
        """An Authorize request for an RFID tag."""
        ...

    def started(
        self, station: SimStation, evse: Evse, tx: Transaction, now: datetime, *, offline: bool
    ) -> tuple[str, Payload]:
        """StartTransaction (1.6) or TransactionEvent Started (2.x)."""
        ...

    def updated(
        self,
        station: SimStation,
        evse: Evse,
        tx: Transaction,
        now: datetime,
        *,
        offline: bool,
        triggered: bool = False,
    ) -> tuple[str, Payload]:
        """Periodic MeterValues (1.6) or TransactionEvent Updated (2.x) during a transaction."""
        ...

    def ended(
        self,
        station: SimStation,
        evse: Evse,
        tx: Transaction,
        reason: StopReason,
        now: datetime,
        *,
        offline: bool,
    ) -> tuple[str, Payload]:
        """StopTransaction (1.6) or TransactionEvent Ended (2.x)."""
        ...

    def meter_values(self, station: SimStation, evse: Evse, now: datetime) -> tuple[str, Payload]:
        """MeterValues outside any transaction (e.g. triggered)."""
        ...

    def wire_status(self, evse: Evse) -> str:
        """The connector status as this version spells it."""
        ...
