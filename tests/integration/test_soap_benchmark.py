"""A smoke run of the SOAP benchmark (benchmarks/soap.py, docs/performance.md): a few calls of
each kind over both transports must succeed, so the benchmark keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_soap_benchmark_smoke() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "soap.py"), "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| SOAP", "| OCPP-J"))]
    assert len(rows) == 6, result.stdout
