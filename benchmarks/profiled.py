"""Run ``csms`` under cProfile, switched on by SIGUSR1 and off (and dumped) by SIGUSR2.

Usage: ``python benchmarks/profiled.py OUT.prof serve ...`` (the arguments of ``csms``). Every
SIGUSR2 writes the statistics gathered so far to OUT.prof, so a benchmark profiles only the
phase it measures (benchmarks/reconnect.py). SIGQUIT appends the stacks the event loop's tasks
wait at, counted, to OUT.prof.tasks (what holds a storm's handshakes).
"""

from __future__ import annotations

import asyncio
import collections
import cProfile
import signal
import sys
from types import FrameType

from csms.cli import main as csms_main


def _awaiting(coro: object) -> list[str]:
    """The chain of coroutines a task waits in, outermost first (``cr_await``)."""
    chain = []
    while coro is not None and len(chain) < 40:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            chain.append(f"{frame.f_code.co_name}:{frame.f_lineno}")
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return chain


def run(out: str, argv: list[str]) -> int:
    profiler = cProfile.Profile()

    def start(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    def tasks(_signum: int, _frame: FrameType | None) -> None:
        counts: collections.Counter[str] = collections.Counter()
        for task in asyncio.all_tasks():
            counts[" -> ".join(_awaiting(task.get_coro()))] += 1
        with open(out + ".tasks", "a", encoding="utf-8") as file:
            for stack, count in counts.most_common(15):
                file.write(f"{count:6d}  {stack}\n")
            file.write("--\n")

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    signal.signal(signal.SIGQUIT, tasks)  # where the event loop's tasks wait, by stack
    return csms_main(argv)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
