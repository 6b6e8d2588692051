"""Run ``csms`` under cProfile, switched on by SIGUSR1 and off (and dumped) by SIGUSR2.

Usage: ``python benchmarks/profiled.py OUT.prof serve ...`` (the arguments of ``csms``). Every
SIGUSR2 writes the statistics gathered so far to OUT.prof, so a benchmark profiles only the
phase it measures (benchmarks/reconnect.py).
"""

from __future__ import annotations

import cProfile
import signal
import sys
from types import FrameType

from csms.cli import main as csms_main


def run(out: str, argv: list[str]) -> int:
    profiler = cProfile.Profile()

    def start(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    return csms_main(argv)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
