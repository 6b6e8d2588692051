"""Every typed, version-neutral operator command: the one table the routes are generated from.

Most intents take the typed command of ``csms.blocks.<block>.commands`` as their body (its fields
are the request schema) and answer its typed result (:func:`typed`). The others need more than a
plain send: they store what was sent and answered (reservations, charging profiles, composite
schedules, configuration, monitors, file transfers, certificates, local lists), or, like ``reset``,
map one operator word to different OCPP values per version.

Not an intent: CertificateSigned, which the security block sends in answer to a station's
SignCertificate (:data:`NOT_OPERATOR_COMMANDS`); the Basic-auth password rotation has its own
route (``/stations/{id}/authorization-key``), because it also changes what csms accepts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from csms.blocks.authorization.cache import ClearCache
from csms.blocks.availability.commands import ChangeAvailability
from csms.blocks.datatransfer.commands import DataTransfer
from csms.blocks.diagnostics.commands import UploadRequest, get_diagnostics, get_log
from csms.blocks.diagnostics.monitoring_commands import (
    ClearVariableMonitoring,
    CustomerInformation,
    GetMonitoringReport,
    SetMonitoringBase,
    SetMonitoringLevel,
    SetVariableMonitoring,
    clear_variable_monitoring,
    set_variable_monitoring,
)
from csms.blocks.displaymessage.commands import (
    ClearDisplayMessage,
    GetDisplayMessages,
    SetDisplayMessage,
)
from csms.blocks.firmware.commands import COMMANDS as FIRMWARE_COMMANDS
from csms.blocks.firmware.commands import FirmwareUpdate, update_firmware
from csms.blocks.firmware.publish_commands import (
    PublishFirmware,
    UnpublishFirmware,
    UnpublishFirmwareStatus,
)
from csms.blocks.firmware.publish_image import publish_firmware, unpublish_firmware
from csms.blocks.localauthlist.commands import LocalListVersionResult, SendLocalListResult
from csms.blocks.outbound import send, sent_actions
from csms.blocks.provisioning.commands import (
    ChangeConfiguration,
    GetConfiguration,
    GetVariables,
    Reset,
    SetVariables,
    get_configuration,
    record_change_answer,
)
from csms.blocks.provisioning.device_model import get_variables, key_of_ref, set_variables
from csms.blocks.provisioning.network_profile import SetNetworkProfile
from csms.blocks.provisioning.report_commands import GetBaseReport, GetReport
from csms.blocks.remotecontrol.commands import (
    ExtendedTriggerMessage,
    RemoteStartTransaction,
    RemoteStopTransaction,
    TriggerMessage,
    UnlockConnector,
)
from csms.blocks.reservation.commands import (
    CancelReservation,
    CancelReservationResult,
    ReserveNow,
    cancel_reservation,
    reserve_now,
)
from csms.blocks.security.commands import (
    InstalledCertificates,
    delete_certificate,
    get_installed_certificate_ids,
    install_certificate,
)
from csms.blocks.smartcharging.commands import (
    ClearChargingProfileResult,
    CompositeScheduleResult,
    SmartChargingCommands,
)
from csms.blocks.smartcharging.report_commands import GetChargingProfiles
from csms.blocks.tariff.commands import CostUpdated
from csms.blocks.transactions.status_command import GetTransactionStatus
from csms.domain.command_jobs import DesiredSetting
from csms.domain.commands import (
    ChangeStatus,
    CommandResult,
    ConfigurationKey,
    ConfigurationStatus,
    ResetType,
    VariableRef,
    VariableResult,
)
from csms.domain.composite import CompositeSchedule
from csms.domain.devicemodel import (
    ClearMonitoringStatus,
    MonitorSetting,
    MonitorSettingResult,
    VariableKey,
)
from csms.domain.errors import (
    CallFailed,
    CallOutcomeUnknown,
    CallTimeout,
    DomainError,
    InvalidPayload,
    NotSupportedByVersion,
    UnknownReservation,
)
from csms.domain.localauth import LocalListEntry, UpdateType
from csms.domain.notifications import StationNotification
from csms.domain.reservations import Reservation
from csms.domain.security import CertificateHashData
from csms.domain.smartcharging import ChargingProfile, ChargingRateUnit, ClearCriteria
from csms.rpc import ALL_VERSIONS, OcppVersion

from .registry import Intent, IntentServices, typed

__all__ = [
    "COMPOSITE_SCHEDULE_ACTION",
    "INTENTS",
    "NOT_OPERATOR_COMMANDS",
    "SENT_WITHOUT_ANSWER",
    "intents_by_name",
    "record_composite_answer",
    "record_desired_variables",
    "record_key_change",
    "variable_name",
]

logger = logging.getLogger(__name__)

V2 = frozenset({OcppVersion.V201, OcppVersion.V21})
EVERY = frozenset(ALL_VERSIONS)
# Sent by csms on its own, never by an operator.
NOT_OPERATOR_COMMANDS = frozenset((v, "CertificateSigned") for v in ALL_VERSIONS)
# The action under which a station's answers to GetCompositeSchedule are kept in the notification
# log (what the station said its composite limits were, per EVSE).
COMPOSITE_SCHEDULE_ACTION = "GetCompositeSchedule"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _actions(versions: frozenset[OcppVersion], *actions: str) -> frozenset[tuple[OcppVersion, str]]:
    return frozenset((v, a) for v in versions for a in actions)


# --- reset -----------------------------------------------------------------------------------


class ResetBody(_Body):
    """``soft``: 1.6 Soft, 2.x OnIdle (once no transaction runs); ``hard``: 1.6 Hard, 2.x
    Immediate. ``evse_id`` resets one EVSE (2.x only)."""

    type: Literal["soft", "hard"] = "soft"
    evse_id: int | None = Field(default=None, ge=1)


async def _reset(
    s: IntentServices, sid: str, version: OcppVersion, body: ResetBody, timeout: float
) -> CommandResult[ChangeStatus]:
    if version is OcppVersion.V16:
        kind = ResetType.SOFT if body.type == "soft" else ResetType.HARD
    else:
        kind = ResetType.ON_IDLE if body.type == "soft" else ResetType.IMMEDIATE
    result: CommandResult[ChangeStatus] = await send(
        s.gateway, sid, Reset(kind, body.evse_id), timeout=timeout
    )
    return result


# --- reservations ----------------------------------------------------------------------------


class ReserveBody(_Body):
    """Reserve an EVSE (1.6 connector) for ``id_token`` until ``expiry_date``; 0 = any."""

    evse_id: int = Field(default=0, ge=0)
    id_token: str = Field(min_length=1, max_length=36)
    expiry_date: datetime
    parent_id_token: str | None = Field(default=None, max_length=36)


async def _reserve(
    s: IntentServices, sid: str, version: OcppVersion, body: ReserveBody, timeout: float
) -> Reservation:
    return await reserve_now(
        s.gateway,
        s.need("reservations"),
        s.need("tokens"),
        station_id=sid,
        connector_id=body.evse_id,
        id_token=body.id_token,
        expiry_date=body.expiry_date,
        now=s.clock(),
        parent_id_token=body.parent_id_token,
        timeout=timeout,
    )


class CancelReservationBody(_Body):
    reservation_id: int = Field(ge=0)


async def _cancel_reservation(
    s: IntentServices, sid: str, version: OcppVersion, body: CancelReservationBody, timeout: float
) -> CancelReservationResult:
    reservation = await s.need("reservations").get(body.reservation_id, s.clock())
    if reservation is None or reservation.station_id != sid:
        raise UnknownReservation(f"no reservation {body.reservation_id} at station {sid!r}")
    return await cancel_reservation(
        s.gateway, s.need("reservations"), body.reservation_id, now=s.clock(), timeout=timeout
    )


# --- smart charging --------------------------------------------------------------------------


def _smart(s: IntentServices, timeout: float) -> SmartChargingCommands:
    return SmartChargingCommands(
        s.gateway, s.need("charging_profiles"), clock=s.clock, call_timeout=timeout
    )


class SetChargingProfileBody(_Body):
    """Install ``profile`` on ``evse_id`` (0: the station as a whole)."""

    evse_id: int = Field(ge=0)
    profile: ChargingProfile


class SetChargingProfileResult(BaseModel):
    status: str


async def _set_profile(
    s: IntentServices, sid: str, version: OcppVersion, body: SetChargingProfileBody, timeout: float
) -> SetChargingProfileResult:
    status = await _smart(s, timeout).set_charging_profile(sid, body.evse_id, body.profile)
    return SetChargingProfileResult(status=status.value)


async def _clear_profile(
    s: IntentServices, sid: str, version: OcppVersion, body: ClearCriteria, timeout: float
) -> ClearChargingProfileResult:
    return await _smart(s, timeout).clear_charging_profile(sid, body)


class CompositeScheduleBody(_Body):
    evse_id: int = Field(ge=0)
    duration: int = Field(gt=0, le=7 * 24 * 3600)
    charging_rate_unit: ChargingRateUnit | None = None


async def _composite(
    s: IntentServices, sid: str, version: OcppVersion, body: CompositeScheduleBody, timeout: float
) -> CompositeScheduleResult:
    result = await _smart(s, timeout).get_composite_schedule(
        sid, body.evse_id, body.duration, body.charging_rate_unit
    )
    await record_composite_answer(s, sid, body.evse_id, result.status.value, result.reported)
    return result


_REPORTED: TypeAdapter[CompositeSchedule | None] = TypeAdapter(CompositeSchedule | None)


async def record_composite_answer(
    s: IntentServices, sid: str, evse_id: int, status: str, reported: CompositeSchedule | None
) -> None:
    """Keep what the station said its composite limits on ``evse_id`` were (tracked state)."""
    log = s.notifications
    if log is not None:
        await log.record(
            StationNotification(
                station_id=sid,
                action=COMPOSITE_SCHEDULE_ACTION,
                payload={
                    "status": status,
                    "schedule": _REPORTED.dump_python(reported, mode="json"),
                },
                received_at=s.clock(),
                evse_id=evse_id,
            )
        )


# --- configuration ---------------------------------------------------------------------------


class GetConfigurationBody(_Body):
    """1.6: ``keys`` (empty: all keys). 2.x: ``variables`` to read (GetVariables)."""

    keys: list[str] = Field(default_factory=list, max_length=500)
    variables: list[VariableRef] = Field(default_factory=list, max_length=500)


class ConfigurationResult(BaseModel):
    """1.6: ``keys`` and ``unknown_keys``; 2.x: ``variables`` (one result per variable)."""

    keys: list[ConfigurationKey] = Field(default_factory=list)
    unknown_keys: list[str] = Field(default_factory=list)
    variables: list[VariableResult] = Field(default_factory=list)


async def _get_configuration(
    s: IntentServices, sid: str, version: OcppVersion, body: GetConfigurationBody, timeout: float
) -> ConfigurationResult:
    if version is OcppVersion.V16:
        if body.variables:
            raise NotSupportedByVersion("device-model variables are 2.x; name 1.6 keys")
        report = await get_configuration(
            s.gateway, s.need("configuration"), sid, body.keys, clock=s.clock, timeout=timeout
        )
        return ConfigurationResult(keys=list(report.keys), unknown_keys=list(report.unknown_keys))
    if body.keys:
        raise NotSupportedByVersion("configuration keys are 1.6; name 2.x variables")
    if not body.variables:
        raise InvalidPayload("name the variables to read (get-base-report reports them all)")
    results = await get_variables(
        s.gateway, s.need("device_model"), sid, body.variables, clock=s.clock, timeout=timeout
    )
    return ConfigurationResult(variables=list(results))


class VariableValue(_Body):
    ref: VariableRef
    value: str = Field(max_length=2500)


class SetConfigurationBody(_Body):
    """1.6: one ``key`` and its ``value`` (ChangeConfiguration). 2.x: ``variables``
    (SetVariables). Passwords are refused: they change through the password rotation."""

    key: str | None = Field(default=None, min_length=1, max_length=50)
    value: str | None = Field(default=None, max_length=500)
    variables: list[VariableValue] = Field(default_factory=list, max_length=500)


class SetConfigurationResult(BaseModel):
    """1.6: ``status``; 2.x: ``variables`` (one result per variable)."""

    status: ConfigurationStatus | None = None
    variables: list[VariableResult] = Field(default_factory=list)


def variable_name(key: VariableKey, attribute_type: str | None) -> str:
    """How a 2.x variable's attribute is named in the desired configuration."""
    kind = attribute_type or "Actual"
    return key.path() if kind == "Actual" else f"{key.path()}@{kind}"


async def _record_desired(s: IntentServices, setting: DesiredSetting) -> None:
    if s.desired is not None:
        await s.desired.record(setting)


async def _set_configuration(
    s: IntentServices, sid: str, version: OcppVersion, body: SetConfigurationBody, timeout: float
) -> SetConfigurationResult:
    if version is OcppVersion.V16:
        if body.variables or body.key is None or body.value is None:
            raise NotSupportedByVersion("a 1.6 station takes one key and its value")
        command = ChangeConfiguration(body.key, body.value)  # refuses a password: nothing stored
        try:
            result = await send(s.gateway, sid, command, timeout=timeout)
        except SENT_WITHOUT_ANSWER as error:
            await record_key_change(s, sid, command, error)
            raise
        await record_key_change(s, sid, command, result)
        return SetConfigurationResult(status=result.status)
    if body.key is not None:
        raise NotSupportedByVersion("configuration keys are 1.6; name 2.x variables")
    if not body.variables:
        raise InvalidPayload("name the variables to set")
    values = [(v.ref, v.value) for v in body.variables]
    SetVariables(tuple(values))  # refuses a password before anything is sent
    results = await set_variables(
        s.gateway, s.need("device_model"), sid, values, clock=s.clock, timeout=timeout
    )
    await record_desired_variables(s, sid, values, results)
    return SetConfigurationResult(variables=list(results))


# Errors after which a command was sent but its answer is unknown or a CALLERROR.
SENT_WITHOUT_ANSWER = (CallTimeout, CallOutcomeUnknown, CallFailed)


async def record_key_change(
    s: IntentServices,
    sid: str,
    command: ChangeConfiguration,
    outcome: CommandResult[ConfigurationStatus] | DomainError,
) -> None:
    """Keep a sent 1.6 ChangeConfiguration: the desired value with the station's answer (none
    without an answer), and the value itself once the station applied it."""
    status = None
    if not isinstance(outcome, DomainError):
        await record_change_answer(
            s.need("configuration"), sid, command.key, command.value, outcome, now=s.clock()
        )
        status = outcome.status.value
    await _record_desired(
        s, DesiredSetting(sid, "key", command.key, command.value, s.clock(), status)
    )


async def record_desired_variables(
    s: IntentServices,
    sid: str,
    values: Sequence[tuple[VariableRef, str]],
    results: Sequence[VariableResult],
) -> None:
    """Keep the desired value of each variable of a SetVariables with the station's answer."""
    answers = {variable_name(key_of_ref(r.ref), r.ref.attribute_type): r.status for r in results}
    for ref, value in values:
        name = variable_name(key_of_ref(ref), ref.attribute_type)
        await _record_desired(
            s, DesiredSetting(sid, "variable", name, value, s.clock(), answers.get(name))
        )


# --- monitoring (2.x) ------------------------------------------------------------------------


async def _set_monitoring(
    s: IntentServices, sid: str, version: OcppVersion, body: SetVariableMonitoring, timeout: float
) -> tuple[MonitorSettingResult, ...]:
    settings: Sequence[MonitorSetting] = body.settings
    return await set_variable_monitoring(
        s.gateway, s.need("device_model"), sid, settings, clock=s.clock, timeout=timeout
    )


async def _clear_monitoring(
    s: IntentServices,
    sid: str,
    version: OcppVersion,
    body: ClearVariableMonitoring,
    timeout: float,
) -> tuple[tuple[int, ClearMonitoringStatus], ...]:
    return await clear_variable_monitoring(
        s.gateway, s.need("device_model"), sid, body.monitor_ids, timeout=timeout
    )


# --- firmware, diagnostics, logs -------------------------------------------------------------


class UpdateFirmwareBody(_Body):
    """Install a stored image (``firmware_id`` from ``POST /firmware``); signed when both
    ``signing_certificate`` and ``signature`` are given (1.6 SignedUpdateFirmware)."""

    firmware_id: str = Field(min_length=1, max_length=64)
    retrieve_date: datetime
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)
    install_date: datetime | None = None
    signing_certificate: str | None = None
    signature: str | None = None


async def _update_firmware(
    s: IntentServices, sid: str, version: OcppVersion, body: UpdateFirmwareBody, timeout: float
) -> FirmwareUpdate:
    return await update_firmware(
        s.gateway,
        s.need("files"),
        sid,
        body.firmware_id,
        retrieve_date=body.retrieve_date,
        retries=body.retries,
        retry_interval=body.retry_interval,
        install_date=body.install_date,
        signing_certificate=body.signing_certificate,
        signature=body.signature,
        timeout=timeout,
    )


class PublishFirmwareBody(_Body):
    firmware_id: str = Field(min_length=1, max_length=64)
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


async def _publish(
    s: IntentServices, sid: str, version: OcppVersion, body: PublishFirmwareBody, timeout: float
) -> FirmwareUpdate:
    return await publish_firmware(
        s.gateway,
        s.need("files"),
        sid,
        body.firmware_id,
        retries=body.retries,
        retry_interval=body.retry_interval,
        timeout=timeout,
    )


class UnpublishFirmwareBody(_Body):
    firmware_id: str = Field(min_length=1, max_length=64)


async def _unpublish(
    s: IntentServices, sid: str, version: OcppVersion, body: UnpublishFirmwareBody, timeout: float
) -> UnpublishFirmwareStatus:
    return await unpublish_firmware(
        s.gateway, s.need("files"), sid, body.firmware_id, timeout=timeout
    )


class DiagnosticsBody(_Body):
    """1.6 GetDiagnostics; 2.x GetLog of the DiagnosticsLog."""

    start_time: datetime | None = None
    stop_time: datetime | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


async def _diagnostics(
    s: IntentServices, sid: str, version: OcppVersion, body: DiagnosticsBody, timeout: float
) -> UploadRequest:
    return await get_diagnostics(
        s.gateway,
        s.need("files"),
        sid,
        start_time=body.start_time,
        stop_time=body.stop_time,
        retries=body.retries,
        retry_interval=body.retry_interval,
        timeout=timeout,
    )


class GetLogBody(_Body):
    """GetLog (1.6 security extension; 2.x N01)."""

    log_type: Literal["DiagnosticsLog", "SecurityLog"] = "DiagnosticsLog"
    oldest: datetime | None = None
    latest: datetime | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


async def _get_log(
    s: IntentServices, sid: str, version: OcppVersion, body: GetLogBody, timeout: float
) -> UploadRequest:
    return await get_log(
        s.gateway,
        s.need("files"),
        sid,
        log_type=body.log_type,
        oldest=body.oldest,
        latest=body.latest,
        retries=body.retries,
        retry_interval=body.retry_interval,
        timeout=timeout,
    )


# --- certificates ----------------------------------------------------------------------------


class InstallCertificateBody(_Body):
    """Install a root certificate (M05); ``certificate_type`` in 2.x names (e.g.
    CSMSRootCertificate, ManufacturerRootCertificate, V2GRootCertificate)."""

    certificate_type: str = Field(min_length=1, max_length=64)
    certificate: str = Field(min_length=1, max_length=10_000)


class CertificateStatusResult(BaseModel):
    status: str


async def _install_certificate(
    s: IntentServices, sid: str, version: OcppVersion, body: InstallCertificateBody, timeout: float
) -> CertificateStatusResult:
    status = await install_certificate(
        s.gateway, sid, body.certificate_type, body.certificate, timeout=timeout
    )
    return CertificateStatusResult(status=status)


async def _delete_certificate(
    s: IntentServices, sid: str, version: OcppVersion, body: CertificateHashData, timeout: float
) -> CertificateStatusResult:
    status = await delete_certificate(s.gateway, s.need("security"), sid, body, timeout=timeout)
    return CertificateStatusResult(status=status)


class InstalledCertificatesBody(_Body):
    certificate_types: list[str] = Field(default_factory=list, max_length=16)


async def _installed_certificates(
    s: IntentServices,
    sid: str,
    version: OcppVersion,
    body: InstalledCertificatesBody,
    timeout: float,
) -> InstalledCertificates:
    return await get_installed_certificate_ids(
        s.gateway,
        s.need("security"),
        sid,
        body.certificate_types,
        timeout=timeout,
        clock=s.clock,
    )


# --- local authorization list ----------------------------------------------------------------


class EmptyBody(_Body):
    """No parameters."""


async def _local_list_version(
    s: IntentServices, sid: str, version: OcppVersion, body: EmptyBody, timeout: float
) -> LocalListVersionResult:
    return await s.local_list_commands().get_local_list_version(sid)


class SendLocalListBody(_Body):
    """Full: the whole list. Differential: the changes; an entry without ``status`` removes it."""

    entries: list[LocalListEntry] = Field(max_length=10_000)
    update_type: UpdateType = UpdateType.FULL


async def _send_local_list(
    s: IntentServices, sid: str, version: OcppVersion, body: SendLocalListBody, timeout: float
) -> SendLocalListResult:
    return await s.local_list_commands().send_local_list(sid, body.entries, body.update_type)


_COMPOSITE = Intent(
    name="get-composite-schedule",
    summary="Ask for the composite schedule of an EVSE and compare it with the expected one",
    body=CompositeScheduleBody,
    result=CompositeScheduleResult,
    versions=EVERY,
    sends=_actions(EVERY, "GetCompositeSchedule"),
    run=_composite,
    needs=("charging_profiles",),
)


def _custom(
    name: str,
    summary: str,
    body: Any,
    result: Any,
    run: Any,
    *,
    versions: frozenset[OcppVersion] = EVERY,
    sends: frozenset[tuple[OcppVersion, str]],
    covers: tuple[type, ...] = (),
    needs: tuple[str, ...] = (),
) -> Intent:
    return Intent(
        name=name,
        summary=summary,
        body=body,
        result=result,
        versions=versions,
        sends=sends,
        run=run,
        covers=covers,
        needs=needs,
        description=(getattr(body, "__doc__", None) or "").strip(),
    )


INTENTS: tuple[Intent, ...] = (
    # Remote control (1.6 §5.11-5.18; 2.0.1 F)
    typed("start", RemoteStartTransaction, "Start a transaction (RemoteStart / RequestStart)"),
    typed("stop", RemoteStopTransaction, "Stop a transaction (RemoteStop / RequestStop)"),
    _custom(
        "reset",
        "Reset the station: soft (1.6 Soft, 2.x OnIdle) or hard (1.6 Hard, 2.x Immediate)",
        ResetBody,
        CommandResult[ChangeStatus],
        _reset,
        sends=sent_actions(Reset),
        covers=(Reset,),
    ),
    typed("unlock", UnlockConnector, "Unlock a connector"),
    typed("change-availability", ChangeAvailability, "Make the station or an EVSE (in)operative"),
    typed("trigger", TriggerMessage, "Ask the station to send a message now"),
    typed("extended-trigger", ExtendedTriggerMessage, "1.6 ExtendedTriggerMessage / 2.x Trigger"),
    typed("clear-cache", ClearCache, "Clear the station's authorization cache"),
    typed("data-transfer", DataTransfer, "Send a vendor-specific DataTransfer"),
    typed("get-transaction-status", GetTransactionStatus, "Ask about queued transaction messages"),
    typed("cost-updated", CostUpdated, "Tell the station the running cost of a transaction"),
    # Reservations (1.6 §5.13/§5.1; 2.0.1 H)
    _custom(
        "reserve",
        "Reserve an EVSE for an id token (stored; listed under /reservations)",
        ReserveBody,
        Reservation,
        _reserve,
        sends=sent_actions(ReserveNow),
        covers=(ReserveNow,),
        needs=("reservations", "tokens"),
    ),
    _custom(
        "cancel-reservation",
        "Cancel a reservation of this station",
        CancelReservationBody,
        CancelReservationResult,
        _cancel_reservation,
        sends=sent_actions(CancelReservation),
        covers=(CancelReservation,),
        needs=("reservations",),
    ),
    # Smart charging (1.6 §3.13; 2.0.1 K)
    _custom(
        "set-charging-profile",
        "Install a charging profile (stored with the station's answer)",
        SetChargingProfileBody,
        SetChargingProfileResult,
        _set_profile,
        sends=_actions(EVERY, "SetChargingProfile"),
        needs=("charging_profiles",),
    ),
    _custom(
        "clear-charging-profile",
        "Clear charging profiles by id or by EVSE/purpose/stack level",
        ClearCriteria,
        ClearChargingProfileResult,
        _clear_profile,
        sends=_actions(EVERY, "ClearChargingProfile"),
        needs=("charging_profiles",),
    ),
    _COMPOSITE,
    typed("get-charging-profiles", GetChargingProfiles, "Ask a 2.x station to report profiles"),
    # Configuration: 1.6 keys, 2.x device model (1.6 §5.3/§5.8; 2.0.1 B05-B08)
    _custom(
        "get-configuration",
        "Read configuration: 1.6 keys (GetConfiguration) or 2.x variables (GetVariables)",
        GetConfigurationBody,
        ConfigurationResult,
        _get_configuration,
        sends=sent_actions(GetConfiguration, GetVariables),
        covers=(GetConfiguration, GetVariables),
        needs=("configuration", "device_model"),
    ),
    _custom(
        "set-configuration",
        "Change configuration: a 1.6 key (ChangeConfiguration) or 2.x variables (SetVariables)",
        SetConfigurationBody,
        SetConfigurationResult,
        _set_configuration,
        sends=sent_actions(ChangeConfiguration, SetVariables),
        covers=(ChangeConfiguration, SetVariables),
        needs=("configuration", "device_model"),
    ),
    typed("get-base-report", GetBaseReport, "Ask a 2.x station for a predefined report"),
    typed("get-report", GetReport, "Ask a 2.x station for a report of chosen components"),
    typed("set-network-profile", SetNetworkProfile, "Set a 2.x network connection profile"),
    # Monitoring and customer information (2.0.1 N)
    typed(
        "set-variable-monitoring",
        SetVariableMonitoring,
        "Set monitors (stored once accepted)",
        run=_set_monitoring,
        needs=("device_model",),
    ),
    typed(
        "clear-variable-monitoring",
        ClearVariableMonitoring,
        "Clear monitors",
        run=_clear_monitoring,
        needs=("device_model",),
    ),
    typed("set-monitoring-base", SetMonitoringBase, "Activate a monitoring base"),
    typed("set-monitoring-level", SetMonitoringLevel, "Set the monitoring severity level"),
    typed("get-monitoring-report", GetMonitoringReport, "Ask for a monitoring report"),
    typed("customer-information", CustomerInformation, "Ask for or clear customer information"),
    # Display messages (2.0.1 O)
    typed("set-display-message", SetDisplayMessage, "Show a message on the station"),
    typed("get-display-messages", GetDisplayMessages, "Ask which messages the station shows"),
    typed("clear-display-message", ClearDisplayMessage, "Remove a message"),
    # Firmware, diagnostics, logs (1.6 §5.7/§5.19; whitepaper; 2.0.1 L, N)
    _custom(
        "update-firmware",
        "Install a stored firmware image (signed when a certificate and signature are given)",
        UpdateFirmwareBody,
        FirmwareUpdate,
        _update_firmware,
        sends=FIRMWARE_COMMANDS,
        needs=("files",),
    ),
    _custom(
        "publish-firmware",
        "Ask a 2.x local controller to publish a stored image",
        PublishFirmwareBody,
        FirmwareUpdate,
        _publish,
        versions=V2,
        sends=sent_actions(PublishFirmware),
        covers=(PublishFirmware,),
        needs=("files",),
    ),
    _custom(
        "unpublish-firmware",
        "Ask a 2.x local controller to stop publishing an image",
        UnpublishFirmwareBody,
        UnpublishFirmwareStatus,
        _unpublish,
        versions=V2,
        sends=sent_actions(UnpublishFirmware),
        covers=(UnpublishFirmware,),
        needs=("files",),
    ),
    _custom(
        "get-diagnostics",
        "Ask for a diagnostics upload (1.6 GetDiagnostics, 2.x GetLog DiagnosticsLog)",
        DiagnosticsBody,
        UploadRequest,
        _diagnostics,
        sends=_actions(frozenset({OcppVersion.V16}), "GetDiagnostics") | _actions(EVERY, "GetLog"),
        needs=("files",),
    ),
    _custom(
        "get-log",
        "Ask for a log upload (GetLog)",
        GetLogBody,
        UploadRequest,
        _get_log,
        sends=_actions(EVERY, "GetLog"),
        needs=("files",),
    ),
    # Certificates (1.6 security whitepaper; 2.0.1 M)
    _custom(
        "install-certificate",
        "Install a root certificate",
        InstallCertificateBody,
        CertificateStatusResult,
        _install_certificate,
        sends=_actions(EVERY, "InstallCertificate"),
    ),
    _custom(
        "delete-certificate",
        "Delete an installed certificate",
        CertificateHashData,
        CertificateStatusResult,
        _delete_certificate,
        sends=_actions(EVERY, "DeleteCertificate"),
        needs=("security",),
    ),
    _custom(
        "get-installed-certificate-ids",
        "Ask which certificates are installed (stored)",
        InstalledCertificatesBody,
        InstalledCertificates,
        _installed_certificates,
        sends=_actions(EVERY, "GetInstalledCertificateIds"),
        needs=("security",),
    ),
    # Local authorization list (1.6 §5.10/§5.15; 2.0.1 D)
    _custom(
        "get-local-list-version",
        "Ask for the version of the station's local list",
        EmptyBody,
        LocalListVersionResult,
        _local_list_version,
        sends=_actions(EVERY, "GetLocalListVersion"),
        needs=("local_lists",),
    ),
    _custom(
        "send-local-list",
        "Send the local list (full or differential), split to the station's limits",
        SendLocalListBody,
        SendLocalListResult,
        _send_local_list,
        sends=_actions(EVERY, "SendLocalList")
        | _actions(frozenset({OcppVersion.V16}), "GetConfiguration")
        | _actions(V2, "GetVariables"),
        needs=("local_lists",),
    ),
)


def intents_by_name() -> dict[str, Intent]:
    return {intent.name: intent for intent in INTENTS}
