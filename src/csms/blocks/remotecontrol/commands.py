"""Remote start/stop, UnlockConnector and TriggerMessage for 1.6 and 2.x (2.0.1 block F).

=========================== ============================== ===================================
command                     1.6                            2.0.1 / 2.1
=========================== ============================== ===================================
RemoteStartTransaction      RemoteStartTransaction §5.11   RequestStartTransaction F01/F02
RemoteStopTransaction       RemoteStopTransaction §5.12    RequestStopTransaction F03
UnlockConnector             UnlockConnector §5.18          UnlockConnector F05
TriggerMessage              TriggerMessage §5.17, or       TriggerMessage F06
                            ExtendedTriggerMessage for
                            the security-extension triggers
ExtendedTriggerMessage      ExtendedTriggerMessage         TriggerMessage F06
                            (security whitepaper §5.6)
=========================== ============================== ===================================

Neither remote start nor stop may be sent while the station is Pending (1.6 §4.2); the gateway's
dispatcher refuses them (``Dispatcher.check_outbound``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from csms.blocks.outbound import (
    Payload,
    not_in_version,
    read_status,
    read_status_info,
    sends,
    sent_actions,
)
from csms.domain.commands import (
    AcceptStatus,
    CommandResult,
    MessageTrigger,
    RemoteStartResult,
    TriggerStatus,
    UnlockStatus,
)
from csms.domain.errors import InvalidPayload
from csms.rpc import ALL_VERSIONS, OcppVersion

V2 = (OcppVersion.V201, OcppVersion.V21)

__all__ = [
    "COMMANDS",
    "ExtendedTriggerMessage",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "TriggerMessage",
    "UnlockConnector",
]

# 1.6 §5.17 TriggerMessage.req requestedMessage (MessageTrigger).
_V16_CORE_TRIGGERS = frozenset(
    {
        MessageTrigger.BOOT_NOTIFICATION,
        MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION,
        MessageTrigger.FIRMWARE_STATUS_NOTIFICATION,
        MessageTrigger.HEARTBEAT,
        MessageTrigger.METER_VALUES,
        MessageTrigger.STATUS_NOTIFICATION,
    }
)
# 1.6 security whitepaper ed. 2, ExtendedTriggerMessage.req requestedMessage (MessageTriggerEnumType).
_V16_EXTENDED_TRIGGERS = {
    MessageTrigger.BOOT_NOTIFICATION: "BootNotification",
    MessageTrigger.LOG_STATUS_NOTIFICATION: "LogStatusNotification",
    MessageTrigger.FIRMWARE_STATUS_NOTIFICATION: "FirmwareStatusNotification",
    MessageTrigger.HEARTBEAT: "Heartbeat",
    MessageTrigger.METER_VALUES: "MeterValues",
    MessageTrigger.SIGN_CHARGING_STATION_CERTIFICATE: "SignChargePointCertificate",
    MessageTrigger.STATUS_NOTIFICATION: "StatusNotification",
}


def _new_remote_start_id() -> int:
    """A 2.x remoteStartId: any integer; random, so ids of restarted csms processes differ."""
    return secrets.randbelow(2**31 - 1) + 1


def _only_connector_1(connector_id: int | None, version: OcppVersion) -> None:
    # 1.6 connectorId N is EVSE N with its single connector 1 (csms.domain.model).
    if connector_id not in (None, 1):
        raise not_in_version("a connector below a 1.6 connector", version)


@sends(OcppVersion.V16, "RemoteStartTransaction")
@sends(V2, "RequestStartTransaction")
@dataclass(frozen=True, slots=True)
class RemoteStartTransaction:
    """Ask the station to start a transaction for ``id_token``.

    ``charging_profile`` is passed through unchanged in the station's version's format (1.6
    ChargingProfile, 2.x ChargingProfileType); it must have purpose TxProfile (1.6 §5.11; 2.0.1
    F01.FR.08). ``token_type`` is the 2.x IdTokenEnumType (1.6 has idTag only).
    """

    id_token: str
    evse_id: int | None = None
    token_type: str = "Central"
    charging_profile: Payload | None = None
    remote_start_id: int = field(default_factory=_new_remote_start_id)

    def __post_init__(self) -> None:
        # 1.6 RemoteStartTransaction.req: "connectorId SHALL be > 0" (§6.33); a 2.x transaction
        # runs on an EVSE, numbered from 1 (evseId 0 is the whole station, part 1 §7.1).
        if self.evse_id is not None and self.evse_id < 1:
            raise InvalidPayload(
                "evse_id names the EVSE (1.6 connector) to start on, numbered from 1",
                code="PropertyConstraintViolation",
                path="evseId",
            )

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        profile = self.charging_profile
        if profile is not None and profile.get("chargingProfilePurpose") != "TxProfile":
            raise InvalidPayload(
                "a remote start's chargingProfile must have chargingProfilePurpose TxProfile",
                code="PropertyConstraintViolation",
                path="chargingProfile.chargingProfilePurpose",
            )
        if version is OcppVersion.V16:
            payload: Payload = {"idTag": self.id_token}
            if self.evse_id is not None:
                payload["connectorId"] = self.evse_id
            action = "RemoteStartTransaction"
        else:
            payload = {
                "idToken": {"idToken": self.id_token, "type": self.token_type},
                "remoteStartId": self.remote_start_id,
            }
            if self.evse_id is not None:
                payload["evseId"] = self.evse_id
            action = "RequestStartTransaction"
        if profile is not None:
            payload["chargingProfile"] = profile
        return action, payload

    def result(self, version: OcppVersion, payload: Payload) -> RemoteStartResult:
        if version is OcppVersion.V16:
            return RemoteStartResult(read_status(AcceptStatus, payload))
        return RemoteStartResult(
            read_status(AcceptStatus, payload),
            remote_start_id=self.remote_start_id,
            transaction_id=payload.get("transactionId"),
            status_info=read_status_info(payload),
        )


@sends(OcppVersion.V16, "RemoteStopTransaction")
@sends(V2, "RequestStopTransaction")
@dataclass(frozen=True, slots=True)
class RemoteStopTransaction:
    """Ask the station to stop a transaction (1.6 transactionId is an integer, 2.x a string)."""

    transaction_id: str

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version is OcppVersion.V16:
            try:
                number = int(self.transaction_id)
            except ValueError:
                raise InvalidPayload(
                    f"1.6 transaction ids are integers, not {self.transaction_id!r}",
                    code="TypeConstraintViolation",
                    path="transactionId",
                ) from None
            return "RemoteStopTransaction", {"transactionId": number}
        return "RequestStopTransaction", {"transactionId": self.transaction_id}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[AcceptStatus]:
        return CommandResult(read_status(AcceptStatus, payload), read_status_info(payload))


@sends(ALL_VERSIONS, "UnlockConnector")
@dataclass(frozen=True, slots=True)
class UnlockConnector:
    """Unlock a connector (1.6: connector ``evse_id``; 2.x: ``evse_id`` / ``connector_id``).

    Both are numbered from 1: 1.6 UnlockConnector.req requires ``connectorId > 0`` (§6.53), and
    2.x evseId 0 addresses the whole station and connectors are numbered from 1 per EVSE (2.0.1
    part 1 §7.1, §7.2).
    """

    evse_id: int
    connector_id: int = 1

    def __post_init__(self) -> None:
        if self.evse_id < 1 or self.connector_id < 1:
            raise InvalidPayload(
                "unlock names an EVSE (1.6 connector) and a connector, both numbered from 1",
                code="PropertyConstraintViolation",
                path="evseId" if self.evse_id < 1 else "connectorId",
            )

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version is OcppVersion.V16:
            _only_connector_1(self.connector_id, version)
            return "UnlockConnector", {"connectorId": self.evse_id}
        return "UnlockConnector", {"evseId": self.evse_id, "connectorId": self.connector_id}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[UnlockStatus]:
        return CommandResult(read_status(UnlockStatus, payload), read_status_info(payload))


def _check_trigger_target(evse_id: int | None, connector_id: int | None) -> None:
    """A trigger's EVSE is >= 0 and a connector (from 1) is named within its EVSE (from 1);
    otherwise a 2.x TriggerMessage would silently drop the connector (2.0.1 part 1 §7)."""
    if evse_id is not None and evse_id < 0:
        raise InvalidPayload(
            "evse_id is an EVSE, numbered from 1",
            code="PropertyConstraintViolation",
            path="evse.id",
        )
    if connector_id is not None and (connector_id < 1 or evse_id is None or evse_id < 1):
        raise InvalidPayload(
            "connector_id names a connector (numbered from 1) of the EVSE evse_id (from 1)",
            code="PropertyConstraintViolation",
            path="evse.connectorId",
        )


def _v16_connector(evse_id: int | None) -> None:
    # 1.6 TriggerMessage.req (§6.51) and the whitepaper's ExtendedTriggerMessage.req: connectorId > 0.
    if evse_id == 0:
        raise InvalidPayload(
            "a 1.6 trigger names a connector > 0, or none for the whole charge point",
            code="PropertyConstraintViolation",
            path="connectorId",
        )


def _trigger_v2(
    requested: MessageTrigger, evse_id: int | None, connector_id: int | None, version: OcppVersion
) -> tuple[str, Payload]:
    if requested is MessageTrigger.DIAGNOSTICS_STATUS_NOTIFICATION:
        raise not_in_version(f"trigger {requested.value}", version)
    payload: Payload = {"requestedMessage": requested.value}
    if evse_id is not None:
        evse: Payload = {"id": evse_id}
        if connector_id is not None:
            evse["connectorId"] = connector_id
        payload["evse"] = evse
    return "TriggerMessage", payload


def _extended_v16(
    requested: MessageTrigger, evse_id: int | None, connector_id: int | None
) -> tuple[str, Payload]:
    name = _V16_EXTENDED_TRIGGERS.get(requested)
    if name is None:
        raise not_in_version(f"ExtendedTriggerMessage {requested.value}", OcppVersion.V16)
    _only_connector_1(connector_id, OcppVersion.V16)
    _v16_connector(evse_id)
    payload: Payload = {"requestedMessage": name}
    if evse_id is not None:
        payload["connectorId"] = evse_id
    return "ExtendedTriggerMessage", payload


def _trigger_result(payload: Payload) -> CommandResult[TriggerStatus]:
    return CommandResult(read_status(TriggerStatus, payload), read_status_info(payload))


@sends(ALL_VERSIONS, "TriggerMessage")
@sends(OcppVersion.V16, "ExtendedTriggerMessage")
@dataclass(frozen=True, slots=True)
class TriggerMessage:
    """Ask the station to send a message now (1.6 §5.17, Remote Trigger profile; 2.0.1 F06).

    For a 1.6 station, the triggers of the security extension (LogStatusNotification,
    SignChargingStationCertificate) travel as ExtendedTriggerMessage, the only 1.6 request that
    has them. ``evse_id`` is 1.6 ``connectorId`` (for MeterValues and StatusNotification).
    """

    requested: MessageTrigger
    evse_id: int | None = None
    connector_id: int | None = None

    def __post_init__(self) -> None:
        _check_trigger_target(self.evse_id, self.connector_id)

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version.is_2x:
            return _trigger_v2(self.requested, self.evse_id, self.connector_id, version)
        if self.requested not in _V16_CORE_TRIGGERS:
            return _extended_v16(self.requested, self.evse_id, self.connector_id)
        _only_connector_1(self.connector_id, version)
        _v16_connector(self.evse_id)
        payload: Payload = {"requestedMessage": self.requested.value}
        if self.evse_id is not None:
            payload["connectorId"] = self.evse_id
        return "TriggerMessage", payload

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[TriggerStatus]:
        return _trigger_result(payload)


@sends(OcppVersion.V16, "ExtendedTriggerMessage")
@sends(V2, "TriggerMessage")
@dataclass(frozen=True, slots=True)
class ExtendedTriggerMessage:
    """1.6 security extension ExtendedTriggerMessage (whitepaper ed. 2); 2.x TriggerMessage."""

    requested: MessageTrigger
    evse_id: int | None = None
    connector_id: int | None = None

    def __post_init__(self) -> None:
        _check_trigger_target(self.evse_id, self.connector_id)

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if version.is_2x:
            return _trigger_v2(self.requested, self.evse_id, self.connector_id, version)
        return _extended_v16(self.requested, self.evse_id, self.connector_id)

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[TriggerStatus]:
        return _trigger_result(payload)


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(
    RemoteStartTransaction,
    RemoteStopTransaction,
    UnlockConnector,
    TriggerMessage,
    ExtendedTriggerMessage,
)
