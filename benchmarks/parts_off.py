"""``csms`` with parts of the TransactionEvent path switched off, to measure each part's cost.

Used by ``benchmarks/te_instructions.py`` (never in production): ``CSMS_BENCH_OFF`` names the
parts, comma-separated, and the rest of the command line is ``csms``'s own::

    CSMS_BENCH_OFF=events,tariffs python benchmarks/parts_off.py serve --port 9000 ...

``events``  the repositories are not wrapped to publish events (issue 9's event stream, webhooks)
``tariffs`` no tariff pricer (block I: 2.x answers without running costs)
``evse-index`` the ``meter_values (station_id, evse_id, timestamp)`` index behind the per-EVSE
            meter series is dropped after the migrations (SQLite only)
``metrics`` the per-message counters and latency histograms of ``/metrics`` count nothing
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Any

import csms.container
from csms.cli import main
from csms.domain import metrics

PARTS = ("events", "tariffs", "evse-index", "metrics")


def _nothing(*_: Any, **__: Any) -> None:
    return None


def switch_off(parts: set[str], args: list[str]) -> None:
    unknown = parts - set(PARTS)
    if unknown:
        raise SystemExit(f"CSMS_BENCH_OFF: unknown part(s) {sorted(unknown)}; known: {PARTS}")
    if "events" in parts:
        csms.container.emit_events = _nothing  # type: ignore[assignment]
    if "tariffs" in parts:
        csms.container.TariffPricer = _nothing  # type: ignore[assignment,misc]
    if "metrics" in parts:
        metrics.ServerStats.answered = _nothing  # type: ignore[method-assign]
        metrics.Histogram.observe = _nothing  # type: ignore[method-assign]
    if "evse-index" in parts:
        url = args[args.index("--database-url") + 1]
        if main(["db", "upgrade", "--database-url", url]) != 0:
            raise SystemExit("parts_off: csms db upgrade failed")
        with sqlite3.connect(url.split(":///", 1)[1]) as db:
            db.execute("DROP INDEX ix_meter_values_station_id_evse_id_timestamp")


if __name__ == "__main__":
    argv = sys.argv[1:]
    switch_off({p for p in os.environ.get("CSMS_BENCH_OFF", "").split(",") if p}, argv)
    sys.exit(main(argv))
