"""The domain model shared by OCPP 1.6, 2.0.1 and 2.1.

Topology: a station has EVSEs, each with connectors (2.0.1 Part 1 §3). A 1.6 ``connectorId`` N ≥ 1 is
an EVSE N with one connector 1 (in 1.6 each connector charges on its own, which is what a 2.x EVSE
does); 1.6 ``connectorId`` 0 and 2.x ``evseId`` 0 mean the station as a whole. Status strings are
kept as the station reported them: 1.6 ChargePointStatus and 2.x ConnectorStatusEnumType differ, and
operators want to see what the station said.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class RegistrationStatus(enum.StrEnum):
    """BootNotification outcome (1.6 RegistrationStatus; 2.x RegistrationStatusEnumType)."""

    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


class UnknownStationPolicy(enum.StrEnum):
    """What to do when an identity that is not registered connects.

    ``reject`` answers the handshake with HTTP 404 (1.6 §3.2; 2.0.1 Part 4 §3.2); ``pending`` registers
    it and answers its BootNotification with Pending until an operator accepts it; ``accept``
    registers and accepts it (for labs only).
    """

    REJECT = "reject"
    PENDING = "pending"
    ACCEPT = "accept"


@dataclass(slots=True)
class Station:
    """A registered charging station and what it last told us about itself."""

    id: str
    registration_status: RegistrationStatus = RegistrationStatus.PENDING
    # Set once a BootNotification was accepted; a reconnect without Boot is then served from here.
    accepted: bool = False
    ocpp_version: str | None = None
    vendor_name: str | None = None
    model: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None
    # Salted hash of the Basic auth password (security profile 1/2); None: no password set.
    password_hash: str | None = None
    # Log and count schema violations instead of answering them with CALLERROR.
    lenient: bool = False
    online: bool = False
    created_at: datetime | None = None
    last_boot_at: datetime | None = None
    last_seen_at: datetime | None = None
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None
    # The lowest security profile the station may connect with (2.0.1 A05.FR.09 / 1.6 whitepaper
    # A05.FR.09: no downgrade once it connected on a higher one); None: the server's profile.
    min_security_profile: int | None = None
    # Salted hash of a new password the station answered RebootRequired to (A01): it takes effect
    # after the station's reboot, so both are accepted until it connects with this one.
    pending_password_hash: str | None = None
    # Decommissioned (a soft delete): its handshakes are refused, its history kept; None: active.
    decommissioned_at: datetime | None = None
    # OCPP over SOAP (issue 12): the ChargePointService address the station last announced (its
    # WS-Addressing From); kept across restarts so commands reach it before its next call.
    soap_endpoint: str | None = None


@dataclass(frozen=True, slots=True)
class BootInfo:
    """What a BootNotification says about the station (1.6 fields; 2.x chargingStation/modem)."""

    vendor_name: str
    model: str
    serial_number: str | None = None
    firmware_version: str | None = None
    iccid: str | None = None
    imsi: str | None = None
    meter_type: str | None = None
    meter_serial_number: str | None = None
    reason: str | None = None  # 2.x BootReasonEnumType


@dataclass(slots=True)  # one per message: not frozen, whose __init__ is ~2x slower
class StatusReport:
    """One StatusNotification, normalised to (evse_id, connector_id)."""

    station_id: str
    evse_id: int
    connector_id: int
    status: str
    timestamp: datetime
    error_code: str | None = None
    info: str | None = None
    vendor_id: str | None = None
    vendor_error_code: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectorState:
    """The current status of one connector (or of the station/EVSE when ids are 0)."""

    evse_id: int
    connector_id: int
    status: str
    timestamp: datetime
    error_code: str | None = None
    info: str | None = None


class MeterSample(NamedTuple):
    """One sampled value (1.6 SampledValue; 2.x SampledValueType), with the station's raw value kept.

    ``signed_data`` holds signed meter data verbatim; it must never be reformatted. A NamedTuple,
    not a frozen dataclass: a MeterValues message carries many samples, and a frozen dataclass costs
    ~4 µs each to build (``object.__setattr__`` per field) where a tuple costs a fraction of that.
    """

    timestamp: datetime
    value: float | None
    raw_value: str
    measurand: str = "Energy.Active.Import.Register"
    phase: str | None = None
    unit: str | None = None
    context: str | None = None
    location: str | None = None
    signed_data: str | None = None


@dataclass(slots=True)  # one per message: not frozen, whose __init__ is ~2x slower
class MeterValuesReport:
    """A MeterValues message (or the meter values of a 2.x TransactionEvent)."""

    station_id: str
    evse_id: int
    transaction_id: str | None
    samples: tuple[MeterSample, ...]


@dataclass(slots=True)  # one per message: not frozen, whose __init__ is ~2x slower
class TransactionEventReport:
    """A 2.x TransactionEvent; de-duplicated on (station, transaction_id, seq_no) (ocpp-rules §3.2)."""

    station_id: str
    transaction_id: str
    event_type: str  # Started | Updated | Ended
    seq_no: int
    timestamp: datetime
    trigger_reason: str
    evse_id: int | None = None
    connector_id: int | None = None
    charging_state: str | None = None
    stopped_reason: str | None = None
    id_token: str | None = None
    id_token_type: str | None = None  # IdTokenType.type (see domain.tokens.type_matches)
    offline: bool = False
    samples: tuple[MeterSample, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
