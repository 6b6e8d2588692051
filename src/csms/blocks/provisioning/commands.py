"""Provisioning commands: Reset, 1.6 configuration keys, 2.x variables, and accepting a Pending
station (1.6 §4.2, §5.3, §5.8, §5.14; 2.0.1 B02, B05–B07, B11/B12).

What a station reports through GetConfiguration is stored per station (readonly flag, read time,
unknown keys) by :func:`get_configuration`; a value a station accepted through ChangeConfiguration
by :func:`change_configuration`. The AuthorizationKey (2.x BasicAuthPassword) is write-only: its
value is masked before it is stored, logged or returned, and it cannot be changed here, because the
station's password must change with it (see the security block's key rotation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from csms.blocks.outbound import (
    Payload,
    not_in_version,
    read_status,
    read_status_info,
    require_2x,
    send,
    sends,
    sent_actions,
)
from csms.blocks.remotecontrol.commands import TriggerMessage
from csms.domain.commands import (
    ChangeStatus,
    CommandResult,
    ConfigurationKey,
    ConfigurationReport,
    ConfigurationStatus,
    MessageTrigger,
    ResetType,
    TriggerStatus,
    VariableRef,
    VariableResult,
)
from csms.domain.configuration import ConfigurationRepository, is_secret, masked
from csms.domain.devicemodel import VariableKey
from csms.domain.errors import CallFailed, CommandNotAllowed, DomainError, InvalidPayload
from csms.domain.model import RegistrationStatus
from csms.domain.ports import StationGateway
from csms.rpc import ALL_VERSIONS, OcppVersion

V2 = (OcppVersion.V201, OcppVersion.V21)

__all__ = [
    "COMMANDS",
    "ChangeConfiguration",
    "GetConfiguration",
    "GetVariables",
    "Reset",
    "SetVariables",
    "change_configuration",
    "get_configuration",
    "notify_registration_change",
    "record_change_answer",
    "record_configuration_report",
]

logger = logging.getLogger(__name__)

_RESET_V16 = {ResetType.HARD: "Hard", ResetType.SOFT: "Soft", ResetType.IMMEDIATE: "Hard"}
_RESET_V2 = {
    ResetType.HARD: "Immediate",
    ResetType.SOFT: "Immediate",
    ResetType.IMMEDIATE: "Immediate",
    ResetType.ON_IDLE: "OnIdle",
}


@sends(ALL_VERSIONS, "Reset")
@dataclass(frozen=True, slots=True)
class Reset:
    """Reset the station (1.6 §5.14), or in 2.x also one EVSE (B11/B12; see :class:`ResetType`)."""

    type: ResetType
    evse_id: int | None = None

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version is OcppVersion.V16:
            if self.evse_id is not None:
                raise not_in_version("resetting one connector", version)
            if self.type not in _RESET_V16:
                raise not_in_version(f"Reset {self.type.value}", version)
            return "Reset", {"type": _RESET_V16[self.type]}
        payload: Payload = {"type": _RESET_V2[self.type]}
        if self.evse_id is not None:
            payload["evseId"] = self.evse_id
        return "Reset", payload

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[ChangeStatus]:
        return CommandResult(read_status(ChangeStatus, payload), read_status_info(payload))


@sends(OcppVersion.V16, "GetConfiguration")
@dataclass(frozen=True, slots=True)
class GetConfiguration:
    """1.6 GetConfiguration (§5.8): the given keys, or all of them when ``keys`` is empty.

    The result's secret values are already masked.
    """

    keys: tuple[str, ...] = ()

    @classmethod
    def from_request(cls, payload: Payload) -> GetConfiguration:
        """The command a GetConfiguration payload spells (the inverse of :meth:`request`)."""
        return cls(tuple(str(key) for key in payload.get("key", ())))

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version is not OcppVersion.V16:
            raise not_in_version("GetConfiguration (use GetVariables)", version)
        return "GetConfiguration", ({"key": list(self.keys)} if self.keys else {})

    def result(self, version: OcppVersion, payload: Payload) -> ConfigurationReport:
        keys = tuple(
            ConfigurationKey(
                key=entry["key"],
                value=masked(entry["key"], entry.get("value")),
                readonly=bool(entry.get("readonly", False)),
            )
            for entry in payload.get("configurationKey", ())
            if isinstance(entry, dict) and isinstance(entry.get("key"), str)  # lenient stations
        )
        return ConfigurationReport(keys, tuple(payload.get("unknownKey", ())))


@sends(OcppVersion.V16, "ChangeConfiguration")
@dataclass(frozen=True, slots=True)
class ChangeConfiguration:
    """1.6 ChangeConfiguration (§5.3) of one key; never of the AuthorizationKey (see module)."""

    key: str
    value: str

    def __post_init__(self) -> None:
        if is_secret(self.key):
            raise CommandNotAllowed(
                f"{self.key} is changed by the AuthorizationKey rotation, which also updates the "
                "password csms expects"
            )

    @classmethod
    def from_request(cls, payload: Payload) -> ChangeConfiguration:
        """The command a ChangeConfiguration payload spells; refuses a secret key."""
        return cls(str(payload["key"]), str(payload["value"]))

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version is not OcppVersion.V16:
            raise not_in_version("ChangeConfiguration (use SetVariables)", version)
        return "ChangeConfiguration", {"key": self.key, "value": self.value}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[ConfigurationStatus]:
        return CommandResult(read_status(ConfigurationStatus, payload))

    def __repr__(self) -> str:  # a value is never logged by accident
        return f"ChangeConfiguration(key={self.key!r})"


def variable_payloads(ref: VariableRef | VariableKey) -> Payload:
    """A ComponentVariableType (``component`` + ``variable``) for a ref or a device-model key."""
    component: Payload = {"name": ref.component}
    if ref.component_instance is not None:
        component["instance"] = ref.component_instance
    if ref.evse_id is not None:
        evse: Payload = {"id": ref.evse_id}
        if ref.connector_id is not None:
            evse["connectorId"] = ref.connector_id
        component["evse"] = evse
    variable: Payload = {"name": ref.variable}
    if ref.variable_instance is not None:
        variable["instance"] = ref.variable_instance
    return {"component": component, "variable": variable}


def _ref(entry: Payload) -> VariableRef:
    component = entry.get("component", {})
    variable = entry.get("variable", {})
    evse = component.get("evse") or {}
    return VariableRef(
        component=component.get("name", ""),
        variable=variable.get("name", ""),
        component_instance=component.get("instance"),
        variable_instance=variable.get("instance"),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
        attribute_type=entry.get("attributeType"),
    )


@sends(V2, "GetVariables")
@dataclass(frozen=True, slots=True)
class GetVariables:
    """2.x GetVariables (B06): read device-model variables; secret values come back masked."""

    refs: tuple[VariableRef, ...]

    @classmethod
    def from_request(cls, payload: Payload) -> GetVariables:
        """The command a GetVariables payload spells (the inverse of :meth:`request`)."""
        return cls(tuple(_ref(entry) for entry in payload["getVariableData"]))

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("GetVariables (use GetConfiguration)", version)
        data = []
        for ref in self.refs:
            entry: Payload = variable_payloads(ref)
            if ref.attribute_type is not None:
                entry["attributeType"] = ref.attribute_type
            data.append(entry)
        return "GetVariables", {"getVariableData": data}

    def result(self, version: OcppVersion, payload: Payload) -> tuple[VariableResult, ...]:
        results = []
        for entry in payload.get("getVariableResult", ()):
            ref = _ref(entry)
            results.append(
                VariableResult(
                    ref=ref,
                    status=str(entry.get("attributeStatus")),
                    value=masked(ref.variable, entry.get("attributeValue")),
                    status_info=read_status_info({"statusInfo": entry.get("attributeStatusInfo")}),
                )
            )
        return tuple(results)


@sends(V2, "SetVariables")
@dataclass(frozen=True, slots=True)
class SetVariables:
    """2.x SetVariables (B05): set device-model variables; never BasicAuthPassword (see module)."""

    values: tuple[tuple[VariableRef, str], ...]

    def __post_init__(self) -> None:
        for ref, _ in self.values:
            if is_secret(ref.variable):
                raise CommandNotAllowed(
                    f"{ref.variable} is changed by the password rotation, which also updates the "
                    "password csms expects"
                )

    @classmethod
    def from_request(cls, payload: Payload) -> SetVariables:
        """The command a SetVariables payload spells (the inverse of :meth:`request`); refuses
        a secret like the constructor."""
        return cls(
            tuple(
                (_ref(entry), str(entry["attributeValue"])) for entry in payload["setVariableData"]
            )
        )

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("SetVariables (use ChangeConfiguration)", version)
        data = []
        for ref, value in self.values:
            entry: Payload = {"attributeValue": value, **variable_payloads(ref)}
            if ref.attribute_type is not None:
                entry["attributeType"] = ref.attribute_type
            data.append(entry)
        return "SetVariables", {"setVariableData": data}

    def result(self, version: OcppVersion, payload: Payload) -> tuple[VariableResult, ...]:
        return tuple(
            VariableResult(
                ref=_ref(entry),
                status=str(entry.get("attributeStatus")),
                status_info=read_status_info({"statusInfo": entry.get("attributeStatusInfo")}),
            )
            for entry in payload.get("setVariableResult", ())
        )

    def __repr__(self) -> str:  # values are never logged by accident
        return f"SetVariables({[ref for ref, _ in self.values]!r})"


async def get_configuration(
    gateway: StationGateway,
    configuration: ConfigurationRepository,
    station_id: str,
    keys: Sequence[str] = (),
    *,
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> ConfigurationReport:
    """Ask a 1.6 station for its configuration and store what it reported (committed on return).

    Stamped with the time the answer arrived, as ``read_at``.
    """
    report = await send(gateway, station_id, GetConfiguration(tuple(keys)), timeout=timeout)
    return await record_configuration_report(configuration, station_id, report, clock())


async def record_configuration_report(
    configuration: ConfigurationRepository,
    station_id: str,
    report: ConfigurationReport,
    now: datetime,
) -> ConfigurationReport:
    """Store what a 1.6 station reported to GetConfiguration, stamped ``now`` as ``read_at``."""
    await configuration.record_read(station_id, report.keys, report.unknown_keys, now)
    stamped = tuple(ConfigurationKey(k.key, k.value, k.readonly, read_at=now) for k in report.keys)
    logger.info(
        "[%s] GetConfiguration: %d keys, %d unknown",
        station_id,
        len(stamped),
        len(report.unknown_keys),
    )
    return ConfigurationReport(stamped, report.unknown_keys)


async def change_configuration(
    gateway: StationGateway,
    configuration: ConfigurationRepository,
    station_id: str,
    key: str,
    value: str,
    *,
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> CommandResult[ConfigurationStatus]:
    """Change one key of a 1.6 station; a value it accepts (now or after reboot) is stored."""
    result = await send(gateway, station_id, ChangeConfiguration(key, value), timeout=timeout)
    await record_change_answer(configuration, station_id, key, value, result, now=clock())
    return result


async def record_change_answer(
    configuration: ConfigurationRepository,
    station_id: str,
    key: str,
    value: str,
    result: CommandResult[ConfigurationStatus],
    *,
    now: datetime,
) -> None:
    """Store a value the station accepted (now or after reboot) for ``key``."""
    if result.status.applied:
        await configuration.record_change(station_id, key, value, now)
    logger.info("[%s] ChangeConfiguration %s: %s", station_id, key, result.status.value)


async def notify_registration_change(
    gateway: StationGateway,
    station_id: str,
    previous: RegistrationStatus,
    new: RegistrationStatus,
    *,
    timeout: float | None = None,
) -> TriggerStatus | None:
    """After an operator accepted a station, tell a connected one to boot again.

    A station answered Pending waits for the retry interval before its next BootNotification; the
    CSMS may make it send one now with TriggerMessage(BootNotification) (1.6 §4.2, §5.17; 2.0.1
    B02), and that BootNotification is answered Accepted. A 1.6 station that was Rejected
    does not answer anything (1.6 §4.2), so it is left to its own retry; a 2.x one may still be
    triggered (B03.FR.08).

    Returns:
        The station's answer, or None when nothing was sent (not newly Accepted, not connected,
        or the trigger failed; failures are logged, the registration change stands regardless).
    """
    if new is not RegistrationStatus.ACCEPTED or previous is RegistrationStatus.ACCEPTED:
        return None
    if not gateway.is_connected(station_id):
        return None
    try:
        result = await send(
            gateway,
            station_id,
            TriggerMessage(MessageTrigger.BOOT_NOTIFICATION),
            timeout=timeout,
        )
    except (CommandNotAllowed, InvalidPayload, CallFailed) as exc:
        logger.info("[%s] accepted; not triggering a BootNotification: %s", station_id, exc)
        return None
    except DomainError as exc:  # timeouts, disconnects: the station boots on its own schedule
        logger.warning(
            "[%s] accepted; TriggerMessage(BootNotification) failed: %r", station_id, exc
        )
        return None
    logger.info("[%s] accepted; TriggerMessage(BootNotification): %s", station_id, result.status)
    return result.status


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(Reset, GetConfiguration, ChangeConfiguration, GetVariables, SetVariables)
