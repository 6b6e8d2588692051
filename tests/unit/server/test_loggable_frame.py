"""--log-frames never writes a password: names are matched in any case."""

from __future__ import annotations

import pytest

from csms.server.connection import loggable_frame


@pytest.mark.parametrize(
    "frame",
    [
        '[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cret"}]',
        '[2,"1","ChangeConfiguration",{"key":"authorizationkey","value":"s3cret"}]',
        '[2,"1","SetNetworkProfile",{"configurationSlot":1,"connectionData":'
        '{"basicAuthPassword":"s3cret"}}]',
        b'[2,"1","SetNetworkProfile",{"connectionData":{"apn":{"apnPassword":"s3cret"}}}]',
    ],
)
def test_frames_naming_a_password_are_withheld(frame: str | bytes) -> None:
    logged = loggable_frame(frame)
    assert isinstance(logged, str) and "withheld" in logged and "s3cret" not in logged


def test_other_frames_are_logged_as_they_are() -> None:
    frame = '[2,"1","Heartbeat",{}]'
    assert loggable_frame(frame) is frame
