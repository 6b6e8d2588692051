"""SetNetworkProfile (2.0.1 B09): spelled per version, never below csms's security profile, never a
basicAuthPassword (2.1)."""

from __future__ import annotations

from typing import Any

import pytest

from csms.blocks.outbound import send, sent_actions
from csms.blocks.provisioning.network_profile import SetNetworkProfile, SetNetworkProfileStatus
from csms.container import SENT_BY_COMMANDS
from csms.domain.commands import StatusInfo
from csms.domain.errors import CommandNotAllowed, InvalidPayload
from csms.rpc import OcppVersion
from tests.unit.blocks.gateway import ScriptedGateway

PROFILE: dict[str, Any] = {
    "ocppCsmsUrl": "wss://csms.example.com/ocpp/",
    "ocppInterface": "Wired0",
    "ocppTransport": "JSON",
    "messageTimeout": 30,
    "securityProfile": 2,
}


@pytest.mark.parametrize("version", [OcppVersion.V201, OcppVersion.V21])
async def test_sent_in_the_stations_version(version: OcppVersion) -> None:
    gw = ScriptedGateway(
        version,
        {"SetNetworkProfile": {"status": "Failed", "statusInfo": {"reasonCode": "NoSlot"}}},
    )
    result = await send(gw, "CS1", SetNetworkProfile(1, PROFILE, required_security_profile=1))
    assert (result.status, result.status_info) == (
        SetNetworkProfileStatus.FAILED,
        StatusInfo("NoSlot"),
    )
    expected = dict(PROFILE, ocppVersion="OCPP20") if version is OcppVersion.V201 else PROFILE
    assert gw.sent == [("SetNetworkProfile", {"configurationSlot": 1, "connectionData": expected})]
    assert (version, "SetNetworkProfile") in sent_actions(SetNetworkProfile)
    assert (version, "SetNetworkProfile") in SENT_BY_COMMANDS


def test_not_in_1_6() -> None:
    command = SetNetworkProfile(1, PROFILE, required_security_profile=1)
    with pytest.raises(InvalidPayload) as raised:
        command.request(OcppVersion.V16)
    assert raised.value.code == "NotSupported"


def test_never_below_the_security_profile_csms_requires() -> None:
    SetNetworkProfile(1, PROFILE, required_security_profile=2)  # equal: fine
    with pytest.raises(CommandNotAllowed, match="CSMS_SECURITY_PROFILE"):
        SetNetworkProfile(
            1,
            dict(PROFILE, securityProfile=1, ocppCsmsUrl="ws://x/"),
            required_security_profile=2,
        )


def test_the_url_scheme_fits_the_security_profile() -> None:
    with pytest.raises(InvalidPayload, match="wss://"):
        SetNetworkProfile(1, dict(PROFILE, ocppCsmsUrl="ws://x/"), required_security_profile=1)
    with pytest.raises(InvalidPayload, match="ws://"):
        SetNetworkProfile(
            1,
            dict(PROFILE, securityProfile=1, ocppCsmsUrl="wss://x/"),
            required_security_profile=1,
        )
    with pytest.raises(InvalidPayload, match="integer"):
        SetNetworkProfile(1, dict(PROFILE, securityProfile="2"), required_security_profile=1)


def test_basic_auth_password_is_refused_and_data_never_shown() -> None:
    with pytest.raises(CommandNotAllowed, match="password rotation"):
        SetNetworkProfile(
            1, dict(PROFILE, basicAuthPassword="s3cret-s3cret-s3cret"), required_security_profile=1
        )
    vpn = {"server": "v", "user": "u", "password": "vpn-secret", "key": "k", "type": "IPSec"}
    command = SetNetworkProfile(1, dict(PROFILE, vpn=vpn), required_security_profile=1)
    assert "vpn-secret" not in repr(command)
