"""Refused uploads are logged at a bounded rate, with the number of refusals each line stands for."""

from __future__ import annotations

import logging

import pytest

from csms.log import LogLimiter


def test_refusals_are_logged_once_per_station_and_reason_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = LogLimiter(interval=10.0, burst=1, clock=lambda: now[0])
    files = logging.getLogger("csms.api.routes.files")

    def refused(station: str, reason: str, detail: str) -> None:
        log.log(files, logging.WARNING, station, reason, "[%s] upload refused (%s): %s",
                station, reason, detail)  # fmt: skip

    with caplog.at_level(logging.WARNING, logger="csms.api.routes.files"):
        for _ in range(100):
            refused("CP-A", "slots taken", "full")
        refused("CP-B", "slots taken", "full")
        refused("CP-A", "quota", "no room")
        now[0] = 10.5
        refused("CP-A", "slots taken", "full")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "[CP-A] upload refused (slots taken): full",
        "[CP-B] upload refused (slots taken): full",
        "[CP-A] upload refused (quota): no room",
        "slots taken repeated 99 times in the last 10 s (this station; last: [CP-A] upload refused "
        "(slots taken): full)",
        "[CP-A] upload refused (slots taken): full",
    ]
