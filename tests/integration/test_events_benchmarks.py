"""Smoke runs of the event benchmarks (benchmarks/events_sse.py, benchmarks/webhooks.py): tiny
loads that must deliver every event, so the benchmarks keep working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *argv: str) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / script), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition(":") for line in result.stdout.splitlines())
    )


def test_sse_benchmark_smoke() -> None:
    out = _run("events_sse.py", "--subscribers", "3", "--duration", "0.5", "--warmup", "0.2")
    assert int(out["received"]) == int(out["expected_in_window"]) > 0
    assert out["lost_markers"] == "0"


def test_webhook_benchmark_smoke() -> None:
    out = _run("webhooks.py", "--events", "30", "--timeout", "30")
    assert out["delivered"] == out["received"] == "30"
