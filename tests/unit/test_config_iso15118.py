"""CSMS_ISO15118_PROVIDER / CSMS_ISO15118_EXI_DIR: validated, and turned into a provider."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import ServerSettings, Settings, SettingsError, load_settings
from csms.container import build_iso15118_provider
from csms.pki import BuiltinIso15118Provider, V2GRootAuthority


def test_default_is_none_and_gives_no_provider(tmp_path: Path) -> None:
    settings = load_settings({})
    assert settings.server.iso15118_provider == "none"
    assert build_iso15118_provider(settings, V2GRootAuthority(tmp_path)) is None


def test_builtin_and_module_attribute_are_accepted(tmp_path: Path) -> None:
    builtin = load_settings(
        {"CSMS_ISO15118_PROVIDER": "builtin", "CSMS_ISO15118_EXI_DIR": str(tmp_path)}
    )
    assert builtin.server.iso15118_exi_dir == str(tmp_path)
    provider = build_iso15118_provider(builtin, V2GRootAuthority(tmp_path))
    assert isinstance(provider, BuiltinIso15118Provider)
    target = "tests.unit.blocks.test_iso15118_block:GOOD"
    loaded = load_settings({"CSMS_ISO15118_PROVIDER": target})
    assert build_iso15118_provider(loaded, V2GRootAuthority(tmp_path)) is not None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CSMS_ISO15118_PROVIDER": "hubject"}, "CSMS_ISO15118_PROVIDER: expected none, builtin"),
        ({"CSMS_ISO15118_PROVIDER": "mod:"}, "CSMS_ISO15118_PROVIDER"),
        ({"CSMS_ISO15118_EXI_DIR": "/srv/exi"}, "CSMS_ISO15118_EXI_DIR is used only with"),
    ],
)
def test_bad_values_are_refused_with_one_line(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_an_unloadable_provider_is_a_settings_error(tmp_path: Path) -> None:
    server = dataclasses.replace(ServerSettings(), iso15118_provider="csms.nowhere:Provider")
    with pytest.raises(SettingsError, match="CSMS_ISO15118_PROVIDER: cannot load"):
        build_iso15118_provider(Settings(server=server), V2GRootAuthority(tmp_path))


def test_serve_flag_sets_the_provider() -> None:
    args = build_parser().parse_args(["serve", "--iso15118-provider", "builtin"])
    assert _apply_serve_flags(Settings(), args).server.iso15118_provider == "builtin"
