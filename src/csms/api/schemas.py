"""Request and response DTOs of the HTTP API.

These are the published contract (they generate ``/openapi.json``), kept apart from the domain
dataclasses so the domain can change without breaking clients, and so that nothing secret — the
password hash above all — can be serialised by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from csms.api.ledger_schemas import TransactionOut
from csms.domain.identity import check_identity
from csms.domain.model import ConnectorState, RegistrationStatus, StatusReport


def check_station_id(value: str) -> str:
    """Validate a station identity (see :mod:`csms.domain.identity`)."""
    return check_identity(value)


StationId = Annotated[str, AfterValidator(check_station_id)]
# Integers bound to database columns (ids, offsets, request ids) fit a signed 64-bit integer: a
# larger one is a 422, not a driver overflow (500). Found by the OpenAPI fuzz test.
DB_INT_MAX = 2**63 - 1
DB_INT_MIN = -(2**63)


class _Strict(BaseModel):
    """Request bodies refuse unknown members, so a misspelt field is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid")


class StationCreate(_Strict):
    """Register a station. The password is hashed at once and never stored or echoed."""

    id: StationId = Field(
        description="Charging station identity (1..48 characters, no ':')",
        examples=["CS-0001"],
    )
    password: SecretStr | None = Field(
        default=None,
        description="Basic auth password for security profiles 1/2 (16..40 bytes as UTF-8)",
    )
    registration_status: RegistrationStatus = RegistrationStatus.ACCEPTED
    lenient: bool = Field(
        default=False, description="Log schema violations of this station instead of refusing them"
    )


class StationUpdate(_Strict):
    """Change what an operator controls. Absent members are left unchanged; ``password: null``
    removes the password."""

    registration_status: RegistrationStatus | None = None
    password: SecretStr | None = None
    lenient: bool | None = None
    min_security_profile: int | None = Field(
        default=None,
        ge=0,
        le=3,
        description="Lowest security profile the station may connect with (A05.FR.09); null: "
        "the server's CSMS_SECURITY_PROFILE. Raised by csms when the station connects higher",
    )

    @field_validator("registration_status", "lenient", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null; omit the member to leave it unchanged")
        return value


class ConnectorOut(BaseModel):
    """The current status of one EVSE/connector; ids 0 mean the station or EVSE as a whole."""

    evse_id: int
    connector_id: int
    status: str = Field(description="As the station reported it (1.6 and 2.x vocabularies differ)")
    timestamp: datetime
    error_code: str | None = None
    info: str | None = None

    @classmethod
    def of(cls, state: ConnectorState) -> ConnectorOut:
        return cls(
            evse_id=state.evse_id,
            connector_id=state.connector_id,
            status=state.status,
            timestamp=state.timestamp,
            error_code=state.error_code,
            info=state.info,
        )


class StatusReportOut(ConnectorOut):
    """One StatusNotification as received."""

    vendor_id: str | None = None
    vendor_error_code: str | None = None

    @classmethod
    def of_report(cls, report: StatusReport) -> StatusReportOut:
        return cls(
            evse_id=report.evse_id,
            connector_id=report.connector_id,
            status=report.status,
            timestamp=report.timestamp,
            error_code=report.error_code,
            info=report.info,
            vendor_id=report.vendor_id,
            vendor_error_code=report.vendor_error_code,
        )


class StationSummary(BaseModel):
    """A station as listed. ``online`` and ``ocpp_version`` come from the live session if any."""

    id: str
    registration_status: RegistrationStatus
    ocpp_version: str | None
    vendor_name: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    online: bool = Field(description="True while the station has a live OCPP session")
    transport: Literal["json", "soap"] | None = Field(
        default=None,
        description="While online: json (OCPP-J over WebSocket) or soap (OCPP over SOAP, online "
        "while it keeps calling: heartbeat interval plus CSMS_SOAP_PRESENCE_GRACE)",
    )
    last_seen_at: datetime | None
    last_boot_at: datetime | None
    connected_at: datetime | None
    decommissioned_at: datetime | None = Field(
        default=None, description="Set: decommissioned (handshakes refused, history kept)"
    )
    connectors: list[ConnectorOut] | None = Field(
        default=None, description="Each connector's current status (with_connectors=true)"
    )


class StationPage(BaseModel):
    """A page of stations ordered by id."""

    items: list[StationSummary]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: last")
    total: int = Field(description="All stations matching the filters")


class EvseOut(BaseModel):
    """An EVSE (1.6: a connectorId), its connectors' current status and what runs on it."""

    evse_id: int
    status: str | None = Field(
        description="Its connector's status when it has one connector; null otherwise"
    )
    connectors: list[ConnectorOut]
    transaction: TransactionOut | None = Field(description="The open transaction, if any")


class SessionCountersOut(BaseModel):
    """Counters of the live session since it connected (docs/behaviour.md, log rate limits)."""

    protocol_violations: int = Field(
        description="Malformed frames and refused CALLs; the station is closed (1008) after "
        "CSMS_MAX_PROTOCOL_VIOLATIONS of them within CSMS_PROTOCOL_VIOLATION_WINDOW"
    )
    schema_violations: int = Field(description="Schema violations handled anyway (lenient)")
    suppressed_log_lines: int = Field(description="Log lines the rate limit held back")


class StationDetail(StationSummary):
    """One station with its connectors and operator settings (never the password hash)."""

    lenient: bool
    has_password: bool = Field(description="Whether a Basic auth password is set")
    min_security_profile: int | None = Field(
        description="Lowest security profile the station may connect with; null: the server's"
    )
    iccid: str | None
    imsi: str | None
    meter_type: str | None
    meter_serial_number: str | None
    created_at: datetime | None
    disconnected_at: datetime | None
    connectors: list[ConnectorOut]
    evses: list[EvseOut] = Field(
        default_factory=list,
        description="Connectors grouped by EVSE (EVSE 0, the station, left out) with the "
        "transaction running on each",
    )
    session: SessionCountersOut | None = Field(
        default=None, description="Counters of the live session; null while offline"
    )
    soap_endpoint: str | None = Field(
        default=None,
        description="OCPP over SOAP: the station's ChargePointService address (the WS-Addressing "
        "From of its latest call, kept across restarts), where commands are posted; null: none "
        "announced",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="What keeps the station from working as registered, e.g. no password under "
        "security profile 1 or 2",
    )


class Health(BaseModel):
    """Liveness of the API process."""

    status: Literal["ok"] = "ok"
    version: str


class Problem(BaseModel):
    """RFC 9457 problem details; some types add members (see ``CallFailedProblem`` and others)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", examples=["urn:csms:problem:unknown-station"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ValidationProblem(Problem):
    """``urn:csms:problem:validation-error``: where the request is malformed."""

    errors: list[dict[str, Any]] = Field(default_factory=list)


class InvalidPayloadProblem(Problem):
    """``urn:csms:problem:invalid-payload``: the OCPP payload breaks the official schema."""

    code: str | None = None
    path: str | None = None


class CallFailedProblem(Problem):
    """``urn:csms:problem:call-failed`` (CALLERROR) or ``...:call-outcome-unknown`` (no
    ``error_*`` members: the connection dropped while the command was on the wire)."""

    error_code: str | None = None
    error_description: str | None = None
    error_details: dict[str, Any] | None = None
