"""API access settings from the command line and the environment (issue 7 finding 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from csms.cli import main
from csms.config import SettingsError, load_settings
from csms.storage.api_token_file import ApiTokenFile


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "csms.example.com"])
def test_auth_none_is_refused_on_a_non_loopback_bind(
    host: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CSMS_API_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--api-auth", "none", "--api-host", host])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "CSMS_API_AUTH=none is refused" in err and host in err


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_auth_none_is_allowed_on_loopback(host: str) -> None:
    settings = load_settings({"CSMS_API_AUTH": "none", "CSMS_API_HOST": host})
    assert settings.api.auth == "none"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CSMS_API_AUTH": "basic"}, "CSMS_API_AUTH"),
        ({"CSMS_API_TOKEN": "short"}, "CSMS_API_TOKEN: at least 16"),
        ({"CSMS_API_AUTH": "none", "CSMS_API_TOKEN": "x" * 20}, "contradict"),
        ({"CSMS_API_TRUSTED_HOSTS": " , "}, "CSMS_API_TRUSTED_HOSTS"),
    ],
)
def test_bad_api_settings_are_refused_with_the_setting_named(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_the_default_requires_a_token() -> None:
    settings = load_settings({})
    assert settings.api.auth == "token" and settings.api.token is None


def test_api_token_rotate_prints_only_the_new_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CSMS_API_TOKEN", raising=False)
    first = ApiTokenFile(tmp_path).ensure()
    assert first is not None
    assert main(["api-token", "rotate", "--data-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    new = out.strip()
    assert "\n" not in new and len(new) >= 43
    assert "old one stops working" in err and new not in err
    fresh = ApiTokenFile(tmp_path)
    assert fresh.verify(new) and not fresh.verify(first)
