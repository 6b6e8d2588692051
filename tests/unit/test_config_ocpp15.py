"""OCPP 1.5 over JSON setting (issue 12): on by default, CSMS_OCPP15_JSON, `--no-ocpp15-json`."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_ocpp15_json_default_environment_and_flag() -> None:
    assert load_settings({}).server.ocpp15_json is True
    assert load_settings({"CSMS_OCPP15_JSON": "false"}).server.ocpp15_json is False
    with pytest.raises(SettingsError, match="CSMS_OCPP15_JSON"):
        load_settings({"CSMS_OCPP15_JSON": "maybe"})
    args = build_parser().parse_args(["serve", "--no-ocpp15-json"])
    assert _apply_serve_flags(Settings(), args).server.ocpp15_json is False
    default = build_parser().parse_args(["serve"])
    assert _apply_serve_flags(Settings(), default).server.ocpp15_json is True
