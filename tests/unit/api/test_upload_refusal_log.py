"""Refused uploads are logged at a bounded rate, with the number of refusals each line stands for."""

from __future__ import annotations

import logging

import pytest

from csms.api.routes.files import RefusalLog


def test_refusals_are_logged_once_per_station_and_reason_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = RefusalLog(10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="csms.api.routes.files"):
        for _ in range(100):
            log.refused("CP-A", "slots taken", "full")
        log.refused("CP-B", "slots taken", "full")
        log.refused("CP-A", "quota", "no room")
        now[0] = 10.5
        log.refused("CP-A", "slots taken", "full")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "[CP-A] upload refused (slots taken): full",
        "[CP-B] upload refused (slots taken): full",
        "[CP-A] upload refused (quota): no room",
        "[CP-A] upload refused (slots taken): full (and 99 more in the last 10 s)",
    ]
