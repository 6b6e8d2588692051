"""OCPP over SOAP settings (issue 12): off by default, read from the environment, validated with
the setting named; `csms serve --soap --soap-port`."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_soap_settings_defaults_and_environment() -> None:
    server = load_settings({}).server
    assert (server.soap_enabled, server.soap_port) == (False, 9001)
    assert (server.soap_max_message_size, server.soap_presence_grace) == (65536, 60.0)
    changed = load_settings(
        {
            "CSMS_SOAP_ENABLED": "true",
            "CSMS_SOAP_PORT": "8443",
            "CSMS_SOAP_MAX_MESSAGE_SIZE": "8192",
            "CSMS_SOAP_PRESENCE_GRACE": "0",
        }
    ).server
    assert (changed.soap_enabled, changed.soap_port) == (True, 8443)
    assert (changed.soap_max_message_size, changed.soap_presence_grace) == (8192, 0.0)


@pytest.mark.parametrize(
    ("environ", "name"),
    [
        ({"CSMS_SOAP_PORT": "70000"}, "CSMS_SOAP_PORT"),
        ({"CSMS_SOAP_ENABLED": "true", "CSMS_SOAP_PORT": "9000"}, "CSMS_SOAP_PORT"),
        ({"CSMS_SOAP_MAX_MESSAGE_SIZE": "100"}, "CSMS_SOAP_MAX_MESSAGE_SIZE"),
        ({"CSMS_SOAP_PRESENCE_GRACE": "-1"}, "CSMS_SOAP_PRESENCE_GRACE"),
        ({"CSMS_SOAP_PRESENCE_GRACE": "nan"}, "CSMS_SOAP_PRESENCE_GRACE"),
        ({"CSMS_SOAP_ENABLED": "maybe"}, "CSMS_SOAP_ENABLED"),
    ],
)
def test_bad_soap_settings_are_refused_naming_the_setting(
    environ: dict[str, str], name: str
) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(environ)


def test_soap_serve_flags() -> None:
    args = build_parser().parse_args(["serve", "--soap", "--soap-port", "9100"])
    server = _apply_serve_flags(Settings(), args).server
    assert (server.soap_enabled, server.soap_port) == (True, 9100)
