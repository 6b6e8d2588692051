"""The action catalog agrees with the schema files of the ocpp wheel (ocpp-rules.md §1.5)."""

from __future__ import annotations

import pytest

from csms.messages import ActionInfo, Direction, action_info, actions
from csms.messages.schemas import SchemaKind, schema_actions
from csms.rpc import OcppVersion

BOTH_HALVES = frozenset({SchemaKind.REQUEST, SchemaKind.RESPONSE})


@pytest.mark.parametrize("version", list(OcppVersion))
def test_every_schema_action_has_a_direction_and_vice_versa(version: OcppVersion) -> None:
    from_schemas = schema_actions(version)
    catalog = actions(version)
    assert sorted(from_schemas) == sorted(catalog)
    for name, info in catalog.items():
        assert info.name == name
        assert isinstance(info.direction, Direction)
        expected = frozenset({SchemaKind.REQUEST}) if info.unconfirmed else BOTH_HALVES
        assert from_schemas[name] == expected, name


@pytest.mark.parametrize(
    ("version", "count"), [(OcppVersion.V16, 39), (OcppVersion.V201, 64), (OcppVersion.V21, 91)]
)
def test_action_counts(version: OcppVersion, count: int) -> None:
    assert len(actions(version)) == count


def test_only_notify_periodic_event_stream_is_sent_as_send() -> None:
    for version in OcppVersion:
        unconfirmed = {name for name, info in actions(version).items() if info.unconfirmed}
        assert unconfirmed == (
            {"NotifyPeriodicEventStream"} if version is OcppVersion.V21 else set()
        )
    info = action_info(OcppVersion.V21, "NotifyPeriodicEventStream")
    assert info == ActionInfo("NotifyPeriodicEventStream", Direction.CS_TO_CSMS, unconfirmed=True)


def test_data_transfer_is_the_only_action_both_sides_initiate() -> None:
    for version in OcppVersion:
        both = {name for name, info in actions(version).items() if info.direction is Direction.BOTH}
        assert both == {"DataTransfer"}


def test_security_extension_is_marked_in_1_6_only() -> None:
    marked = {name for name, info in actions(OcppVersion.V16).items() if info.security_extension}
    assert marked == {
        "CertificateSigned",
        "DeleteCertificate",
        "ExtendedTriggerMessage",
        "GetInstalledCertificateIds",
        "GetLog",
        "InstallCertificate",
        "LogStatusNotification",
        "SecurityEventNotification",
        "SignCertificate",
        "SignedFirmwareStatusNotification",
        "SignedUpdateFirmware",
    }
    for version in (OcppVersion.V201, OcppVersion.V21):
        assert not any(info.security_extension for info in actions(version).values())


@pytest.mark.parametrize(
    ("version", "action", "direction"),
    [
        (OcppVersion.V16, "BootNotification", Direction.CS_TO_CSMS),
        (OcppVersion.V16, "StopTransaction", Direction.CS_TO_CSMS),
        (OcppVersion.V16, "SignCertificate", Direction.CS_TO_CSMS),
        (OcppVersion.V16, "RemoteStartTransaction", Direction.CSMS_TO_CS),
        (OcppVersion.V16, "ExtendedTriggerMessage", Direction.CSMS_TO_CS),
        (OcppVersion.V201, "TransactionEvent", Direction.CS_TO_CSMS),
        (OcppVersion.V201, "NotifyReport", Direction.CS_TO_CSMS),
        (OcppVersion.V201, "GetVariables", Direction.CSMS_TO_CS),
        (OcppVersion.V201, "SetChargingProfile", Direction.CSMS_TO_CS),
        (OcppVersion.V21, "BatterySwap", Direction.CS_TO_CSMS),
        (OcppVersion.V21, "RequestBatterySwap", Direction.CSMS_TO_CS),
        (OcppVersion.V21, "NotifyAllowedEnergyTransfer", Direction.CSMS_TO_CS),
        (OcppVersion.V21, "PullDynamicScheduleUpdate", Direction.CS_TO_CSMS),
    ],
)
def test_spot_check_directions(version: OcppVersion, action: str, direction: Direction) -> None:
    info = action_info(version, action)
    assert info is not None
    assert info.direction is direction


def test_2_1_keeps_every_2_0_1_action_and_direction() -> None:
    v201, v21 = actions(OcppVersion.V201), actions(OcppVersion.V21)
    for name, info in v201.items():
        assert v21[name].direction is info.direction


@pytest.mark.parametrize(
    ("version", "name"),
    [
        (OcppVersion.V16, "bootnotification"),
        (OcppVersion.V16, "TransactionEvent"),
        (OcppVersion.V201, "BootNotificationRequest"),
        (OcppVersion.V201, "StartTransaction"),
        (OcppVersion.V201, "NotifyPeriodicEventStream"),
        (OcppVersion.V21, "FooBar"),
    ],
)
def test_unknown_names_are_not_in_the_catalog(version: OcppVersion, name: str) -> None:
    assert action_info(version, name) is None
    assert name not in actions(version)


def test_direction_flags() -> None:
    assert Direction.CS_TO_CSMS.from_station and not Direction.CS_TO_CSMS.to_station
    assert Direction.CSMS_TO_CS.to_station and not Direction.CSMS_TO_CS.from_station
    assert Direction.BOTH.from_station and Direction.BOTH.to_station


def test_catalog_is_read_only() -> None:
    with pytest.raises(TypeError):
        actions(OcppVersion.V16)["Foo"] = ActionInfo("Foo", Direction.BOTH)  # type: ignore[index]
