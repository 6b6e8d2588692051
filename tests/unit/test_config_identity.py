"""Identity and access settings (issue 9): read from CSMS_API_*, bad values refused in one line."""

from __future__ import annotations

import pytest

from csms.config import SettingsError, load_settings


def test_defaults_and_overrides() -> None:
    api = load_settings({}).api
    assert (api.login_failures_per_account_address, api.login_failures_per_address) == (5, 20)
    assert (api.session_idle_timeout, api.session_lifetime) == (1800.0, 43200.0)
    assert api.token_lifetime == 90 * 86400.0 and api.audit_max_rows == 1_000_000
    api = load_settings({"CSMS_API_SESSION_IDLE_TIMEOUT": "60", "CSMS_API_TOKEN_LIFETIME": "0"}).api
    assert api.session_idle_timeout == 60.0 and api.token_lifetime == 0.0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSMS_API_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS", "0"),
        ("CSMS_API_LOGIN_FAILURES_PER_ADDRESS", "-1"),
        ("CSMS_API_LOGIN_FAILURE_WINDOW", "0"),
        ("CSMS_API_SESSION_IDLE_TIMEOUT", "0"),
        ("CSMS_API_SESSION_LIFETIME", "-5"),
        ("CSMS_API_TOKEN_LIFETIME", "-1"),
        ("CSMS_API_AUDIT_MAX_ROWS", "0"),
        ("CSMS_API_AUDIT_MAX_AGE", "0"),
        ("CSMS_API_PASSWORD_HASH_MEMORY", "512"),
        ("CSMS_API_PASSWORD_HASH_TIME", "0"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})
