"""secret_write: which CSMS-initiated requests would set the station's password."""

from __future__ import annotations

from typing import Any

import pytest

from csms.domain.configuration import secret_write


@pytest.mark.parametrize(
    ("action", "payload", "secret"),
    [
        ("ChangeConfiguration", {"key": "AuthorizationKey", "value": "v"}, "AuthorizationKey"),
        ("ChangeConfiguration", {"key": "AUTHORIZATIONKEY", "value": "v"}, "AuthorizationKey"),
        ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}, None),
        (
            "SetVariables",
            {
                "setVariableData": [
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "X"}},
                    {
                        "component": {"name": "securityctrlr"},
                        "variable": {"name": "basicauthpassword"},
                    },
                ]
            },
            "BasicAuthPassword",
        ),
        (
            "SetVariables",
            {
                "setVariableData": [
                    {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "A"}}
                ]
            },
            None,
        ),
        ("SetVariables", {"setVariableData": "not a list"}, None),
        ("SetNetworkProfile", {"connectionData": {"basicAuthPassword": "p"}}, "basicAuthPassword"),
        ("SetNetworkProfile", {"connectionData": {"apn": {"apnPassword": "p"}}}, None),
        ("Reset", {"type": "Soft"}, None),
    ],
)
def test_secret_write(action: str, payload: dict[str, Any], secret: str | None) -> None:
    assert secret_write(action, payload) == secret
