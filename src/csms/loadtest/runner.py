"""Run a load test in this process or spread over worker processes, and meter the server.

With ``workers > 1`` each worker is a separate process (``spawn``: no state inherited) running
the stations ``w, w+K, w+2K...`` on its own event loop and sending plain-dict snapshots to the
parent over a queue; the parent merges them, samples the server and draws the progress line. All
workers share one start instant, so the global ramp (station i connects at i / rate) holds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import signal
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from csms.loadtest.addresses import worker_indices
from csms.loadtest.config import LoadConfig
from csms.loadtest.engine import Engine, Snapshot
from csms.loadtest.meter import ServerMeter, raise_nofile_limit
from csms.loadtest.report import build_result, progress_line
from csms.loadtest.stats import RunStats

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _finish_on_signal(engine: Engine) -> None:
    """SIGINT/SIGTERM end the run early, with the report (the duration is then a maximum)."""
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, engine.finish_early)


class LoadTestError(RuntimeError):
    """A worker failed or the server could not be metered."""


def _run_coroutine(main: Callable[[], Coroutine[Any, Any, Snapshot]]) -> Snapshot:
    """Run on uvloop when installed (cheaper sockets), else on asyncio."""
    try:
        import uvloop  # noqa: PLC0415 - optional accelerator

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


def worker_main(
    config: LoadConfig,
    *,
    worker: int,
    workers: int,
    start_wall: float,
    interval: float,
    out: Any,
) -> None:
    """Entry point of a worker process: run its stations, report snapshots on ``out``."""
    raise_nofile_limit()
    indices = worker_indices(config.stations, workers, worker)
    parent = os.getppid()

    def report(snap: Snapshot) -> None:
        if os.getppid() != parent:  # the parent was killed: stop instead of running on orphaned
            raise LoadTestError("parent process gone")
        out.put(("snap", worker, snap))

    try:

        async def main() -> Snapshot:
            engine = Engine(config, indices, start_wall)
            _finish_on_signal(engine)
            return await engine.run(report, interval)

        final = _run_coroutine(main)
        out.put(("final", worker, final))
    except BaseException:
        out.put(("error", worker, traceback.format_exc()))
        raise


@dataclass
class _Progress:
    """Merges worker snapshots; draws progress; meters the server while stations run."""

    config: LoadConfig
    workers: int
    write: Callable[[str], None] | None
    tty: bool
    meter: ServerMeter | None
    latest: dict[int, Snapshot] = field(default_factory=dict)
    open_while_running: int = 0
    accepted_while_running: int = 0
    _fresh: set[int] = field(default_factory=set)
    _last_calls: int = 0
    _last_time: float = 0.0

    def merged(self, snapshots: dict[int, Snapshot]) -> tuple[RunStats, float, float]:
        parts = [RunStats.from_dict(snap["stats"]) for snap in snapshots.values()]
        stats = parts[0] if parts else RunStats()
        for part in parts[1:]:
            stats.merge(part)
        elapsed = max((s["elapsed_s"] for s in snapshots.values()), default=0.0)
        measured = max((s["measured_s"] for s in snapshots.values()), default=0.0)
        return stats, elapsed, measured

    def on_snapshot(self, worker: int, snap: Snapshot) -> None:
        self.latest[worker] = snap
        self._fresh.add(worker)
        if len(self._fresh) < self.workers:
            return  # draw once every worker has reported for this interval
        self._fresh.clear()
        stats, elapsed, measured = self.merged(self.latest)
        self.open_while_running = stats.open_now
        self.accepted_while_running = stats.accepted_now
        server = ""
        if self.meter is not None:
            self.meter.sample()
            if measured > 0:
                self.meter.mark()
            server = (
                f"  server {self.meter.util_now * 100:.0f}% CPU "
                f"{self.meter.rss_now / 2**20:,.0f} MiB"
            )
        now = time.monotonic()
        calls = stats.answered
        rate = (calls - self._last_calls) / (now - self._last_time) if self._last_time else 0.0
        self._last_calls, self._last_time = calls, now
        if self.write is not None:
            self.write(progress_line(elapsed, stats, rate, server, self.tty))


def run_loadtest(
    config: LoadConfig,
    *,
    workers: int = 1,
    server_pid: int | None = None,
    write_progress: Callable[[str], None] | None = None,
    tty: bool = False,
    interval: float = 1.0,
) -> dict[str, Any]:
    """Run the whole test and return the JSON-ready result (see :func:`build_result`)."""
    config.check()
    workers = max(1, min(workers, config.stations))
    raise_nofile_limit()
    meter = ServerMeter(server_pid) if server_pid else None
    if meter is not None:
        try:
            meter.start()
        except RuntimeError as exc:
            raise LoadTestError(str(exc)) from exc
    progress = _Progress(config, workers, write_progress, tty, meter)
    if workers == 1:
        start_wall = time.time()

        async def main() -> Snapshot:
            engine = Engine(config, range(config.stations), start_wall)
            _finish_on_signal(engine)
            return await engine.run(lambda snap: progress.on_snapshot(0, snap), interval)

        finals = {0: _run_coroutine(main)}
    else:
        start_wall, finals = _run_workers(config, workers, interval, progress)
    stats, elapsed, measured = progress.merged(finals)
    measured_calls = sum(a.measured for a in stats.actions.values())
    return build_result(
        config.to_dict(),
        stats,
        elapsed=elapsed,
        measured=measured,
        workers=workers,
        start_wall=start_wall,
        open_while_running=progress.open_while_running,
        accepted_while_running=progress.accepted_while_running,
        server=(
            meter.summary(progress.open_while_running, measured_calls, measured) if meter else None
        ),
    )


def _run_workers(
    config: LoadConfig, workers: int, interval: float, progress: _Progress
) -> tuple[float, dict[int, Snapshot]]:
    ctx = multiprocessing.get_context("spawn")
    out: Any = ctx.Queue()
    # Spawned interpreters need a moment to import; all of them start the ramp at this instant.
    start_wall = time.time() + 2.0 + 0.2 * workers
    procs = [
        ctx.Process(
            target=worker_main,
            args=(config,),
            kwargs={
                "worker": w,
                "workers": workers,
                "start_wall": start_wall,
                "interval": interval,
                "out": out,
            },
            name=f"csms-loadtest-{w}",
            daemon=True,
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()

    def forward(signum: int, _frame: FrameType | None) -> None:
        for proc in procs:  # each worker ends its run and sends its final snapshot
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signal.SIGINT)

    previous = {sig: signal.signal(sig, forward) for sig in _STOP_SIGNALS}
    finals: dict[int, Snapshot] = {}
    deadline = start_wall + config.duration + config.call_timeout + 60.0
    try:
        while len(finals) < workers:
            if time.time() > deadline:
                raise LoadTestError("workers did not finish in time")
            try:
                kind, worker, data = out.get(timeout=0.5)
            except queue.Empty:
                dead = [p.name for w, p in enumerate(procs) if w not in finals and not p.is_alive()]
                if dead and out.empty():
                    raise LoadTestError(f"worker process ended without a result: {dead}") from None
                continue
            if kind == "error":
                raise LoadTestError(f"worker {worker} failed:\n{data}")
            if kind == "final":
                finals[worker] = data
            else:
                progress.on_snapshot(worker, data)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for proc in procs:
            proc.join(timeout=10.0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5.0)
    return start_wall, finals
