"""CSMS_CONCURRENT_TRANSACTIONS (issue 8 blocks C/E): read from the environment, validated with
the setting named, and reachable as a `csms serve` flag."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_concurrent_transactions_default_off_and_from_the_environment() -> None:
    assert load_settings({}).server.concurrent_transactions is False
    on = load_settings({"CSMS_CONCURRENT_TRANSACTIONS": "true"})
    assert on.server.concurrent_transactions is True
    with pytest.raises(SettingsError, match="CSMS_CONCURRENT_TRANSACTIONS"):
        load_settings({"CSMS_CONCURRENT_TRANSACTIONS": "sometimes"})


def test_concurrent_transactions_serve_flag() -> None:
    args = build_parser().parse_args(["serve", "--concurrent-transactions"])
    assert _apply_serve_flags(Settings(), args).server.concurrent_transactions is True
    args = build_parser().parse_args(["serve"])
    assert _apply_serve_flags(Settings(), args).server.concurrent_transactions is False
