"""`csms serve --workers N` (issue 11 item 1): N csms processes on one host behind one port.

The supervisor (this module, in the process the operator started) runs no station and no API: it
starts N workers with the ``spawn`` method (fresh interpreters, nothing inherited but their
settings), each a cluster node of its own (node id ``<base>-w<n>``, ``-<k>`` added at its k-th
start) that binds the OCPP, SOAP and API ports itself with SO_REUSEPORT, so the Linux kernel spreads
new connections over them (docs/deployment.md "Workers on one host"). One machine then uses all its
cores and N processes' open files.

* Start: worker 1 first (it creates what a first start creates: the API token, the built-in CA),
  then the others at once. A worker that cannot start stops them all: one line, exit status 1.
* Running: a worker that dies is started again after a back-off (1 s, doubled at each death in a
  row up to 30 s, back to 1 s after a minute of life), each death and restart logged.
* Stop: SIGTERM or SIGINT is forwarded to every worker as SIGTERM (a graceful stop); a worker still
  running after CSMS_WORKER_STOP_TIMEOUT seconds is killed. Workers ignore SIGINT (a Ctrl-C in a terminal
  reaches the whole process group: the supervisor decides) and get SIGTERM if the supervisor dies.

Migrations are run once by the caller (``csms serve``) before :func:`supervise`; the workers start
with CSMS_DATABASE_MIGRATE off.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import logging
import multiprocessing
import os
import re
import secrets
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType

from csms.config import Settings

__all__ = [
    "RESTART_BACKOFF",
    "RESTART_MAX_BACKOFF",
    "STABLE_AFTER",
    "WorkerTarget",
    "die_with_parent",
    "node_base",
    "restart_delay",
    "supervise",
    "worker_node_id",
    "worker_settings",
]

logger = logging.getLogger("csms.workers")

# Seconds before a dead worker is started again: doubled at each death in a row, capped; a worker
# that lived STABLE_AFTER seconds starts the count again.
RESTART_BACKOFF = 1.0
RESTART_MAX_BACKOFF = 30.0
STABLE_AFTER = 60.0
# Seconds a worker has to start (storage, NATS, ports). The time it has to stop after SIGTERM is
# CSMS_WORKER_STOP_TIMEOUT (ServerSettings.worker_stop_timeout).
START_TIMEOUT = 120.0

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

# What a worker runs: (its settings, its name, the supervisor's pid, the pipe it reports on).
WorkerTarget = Callable[[Settings, str, int, Connection], None]


def node_base(settings: Settings) -> str:
    """The workers' common node id prefix: CSMS_CLUSTER_NODE_ID, else host name, pid and a random
    part (at most 48 characters, so ``-w<n>-<k>`` fits the 64 of a node id)."""
    if settings.cluster.node_id is not None:
        return settings.cluster.node_id
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:30] or "node"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


# A worker's listen backlog is never split below this (a burst still fits).
MIN_WORKER_BACKLOG = 128


def worker_node_id(base: str, index: int, start: int) -> str:
    """Worker ``index``'s node id at its ``start``-th start: a restarted worker is a new node, so
    the claims of the dead one expire with its lease instead of reading as the new one's."""
    return f"{base}-w{index}" if start == 1 else f"{base}-w{index}-{start}"


def worker_settings(settings: Settings, node_id: str) -> Settings:
    """One worker's settings: one process, the shared ports, no migrations, its node id, and its
    share of the host's handshake budget: CSMS_MAX_HANDSHAKES is what the host's cores can do at
    once, so N workers each taking all of it let N times as many handshakes in (on 2 cores, 7
    workers x 500 starved every event loop and nothing completed; docs/performance.md
    "Scale-out").

    The listen backlog is split the same way: each worker has its own queue (SO_REUSEPORT), and
    a saturated worker leaves connections there (backpressure before accept); N queues of the
    host's depth held connections longer than a station waits for its upgrade, so a worker served
    stations that had already given up (the 100,000-station storm, docs/performance.md).
    """
    server = settings.server
    handshakes = server.max_handshakes
    if handshakes > 0:
        handshakes = max(1, -(-handshakes // server.workers))  # ceiling: the budget, split
    backlog = max(MIN_WORKER_BACKLOG, -(-server.listen_backlog // server.workers))
    return dataclasses.replace(
        settings,
        server=dataclasses.replace(
            server,
            workers=1,
            reuse_port=True,
            max_handshakes=handshakes,
            listen_backlog=min(backlog, server.listen_backlog),
        ),
        database=dataclasses.replace(settings.database, migrate=False),
        cluster=dataclasses.replace(settings.cluster, node_id=node_id),
    )


def restart_delay(deaths_in_a_row: int) -> float:
    """The back-off before the next start of a worker that died ``deaths_in_a_row`` times
    (1, 2, 3, ...) without living STABLE_AFTER seconds in between."""
    return float(min(RESTART_MAX_BACKOFF, RESTART_BACKOFF * 2 ** max(0, deaths_in_a_row - 1)))


def die_with_parent(parent: int) -> None:
    """In a worker: SIGTERM when the supervisor dies (Linux PR_SET_PDEATHSIG), so no worker is
    left holding the port after a kill -9 of the supervisor; exit at once if it already died."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        raise SystemExit(0)


def _describe(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-exitcode).name}"
    return f"status {exitcode}"


@dataclasses.dataclass(eq=False)
class _Worker:
    index: int
    starts: int = 0
    process: BaseProcess | None = None
    reader: Connection | None = None
    node: str = ""
    started_at: float = 0.0
    ready: bool = False
    error: str | None = None
    deaths: int = 0  # in a row, without a stable run
    restart_at: float | None = None


class _Supervisor:
    def __init__(self, settings: Settings, target: WorkerTarget) -> None:
        self._settings = settings
        self._target = target
        self._context = multiprocessing.get_context("spawn")
        self._base = node_base(settings)
        self._workers = [_Worker(i) for i in range(1, settings.server.workers + 1)]
        self._stopping = False
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    # ---------------------------------------------------------------- signals

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True  # the wakeup fd ends the wait

    def _install_signals(self) -> Callable[[], None]:
        """SIGTERM and SIGINT stop the workers; return what puts the previous handlers back."""
        wakeup = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}

        def restore() -> None:
            signal.set_wakeup_fd(wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    def _drain_wakeups(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_r.recv(512):
                pass

    # ---------------------------------------------------------------- one worker

    def _start(self, worker: _Worker) -> None:
        worker.starts += 1
        worker.node = worker_node_id(self._base, worker.index, worker.starts)
        worker.ready, worker.error, worker.restart_at = False, None, None
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=self._target,
            args=(
                worker_settings(self._settings, worker.node),
                f"w{worker.index}",
                os.getpid(),
                writer,
            ),
            name=f"csms-worker-{worker.index}",
            daemon=False,
        )
        process.start()
        writer.close()
        worker.process, worker.reader, worker.started_at = process, reader, time.monotonic()

    def _read(self, worker: _Worker) -> None:
        """A report of the worker (ready, or why it cannot start), or the pipe's end."""
        assert worker.reader is not None
        try:
            kind, text = worker.reader.recv()
        except (EOFError, OSError):
            worker.reader.close()
            worker.reader = None
            return
        if kind == "ready":
            worker.ready = True
            assert worker.process is not None
            logger.info(
                "worker %d ready: pid %s, node %s", worker.index, worker.process.pid, worker.node
            )
        else:
            worker.error = str(text)

    def _reap(self, worker: _Worker) -> None:
        assert worker.process is not None
        worker.process.join()
        reader = worker.reader
        while reader is not None and reader is worker.reader and reader.poll():
            self._read(worker)  # its last report (why it could not start), or the pipe's end
        if worker.reader is not None:
            worker.reader.close()
            worker.reader = None

    def _died(self, worker: _Worker) -> None:
        """A running worker ended while the supervisor was not stopping: start it again later."""
        assert worker.process is not None
        self._reap(worker)
        now = time.monotonic()
        lived = now - worker.started_at
        worker.deaths = 1 if lived >= STABLE_AFTER else worker.deaths + 1
        delay = restart_delay(worker.deaths)
        logger.warning(
            "worker %d (pid %s, node %s) exited with %s after %.0f s%s; starting it again in %g s",
            worker.index,
            worker.process.pid,
            worker.node,
            _describe(worker.process.exitcode),
            lived,
            f" ({worker.error})" if worker.error else "",
            delay,
        )
        worker.process = None
        worker.restart_at = now + delay

    # ---------------------------------------------------------------- waiting

    def _wait(self, timeout: float | None) -> list[object]:
        handles: list[object] = [self._wake_r]
        for worker in self._workers:
            if worker.process is not None:
                handles.append(worker.process.sentinel)
            if worker.reader is not None:
                handles.append(worker.reader)
        return list(wait(handles, timeout))  # type: ignore[arg-type]

    def _dispatch(self, ready: list[object]) -> list[_Worker]:
        """Handle what woke the wait; return the workers whose process ended."""
        ended: list[_Worker] = []
        if self._wake_r in ready:
            self._drain_wakeups()
        for worker in self._workers:
            if worker.reader is not None and worker.reader in ready:
                self._read(worker)
            process = worker.process
            if process is not None and process.sentinel in ready:
                ended.append(worker)
        return ended

    def _await_ready(self, workers: list[_Worker]) -> str | None:
        """Wait until ``workers`` are ready; the refusal line if one cannot start (or a stop)."""
        deadline = time.monotonic() + START_TIMEOUT
        while not all(w.ready for w in workers):
            if self._stopping:
                return ""
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                late = next(w for w in workers if not w.ready)
                return f"worker {late.index} did not start within {START_TIMEOUT:g} s"
            for worker in self._dispatch(self._wait(remaining)):
                self._reap(worker)
                assert worker.process is not None
                why = worker.error or (
                    f"it exited with {_describe(worker.process.exitcode)} (its log lines above)"
                )
                return f"worker {worker.index} could not start: {why}"
        return None

    # ---------------------------------------------------------------- run and stop

    def run(self) -> tuple[int, str | None]:
        """Supervise until a signal; (exit status, the one error line or None)."""
        restore = self._install_signals()
        try:
            return self._run()
        finally:
            restore()
            self._wake_r.close()
            self._wake_w.close()

    def _run(self) -> tuple[int, str | None]:
        first, rest = self._workers[0], self._workers[1:]
        self._start(first)
        failed = self._await_ready([first])
        if failed is None:
            for worker in rest:
                self._start(worker)
            failed = self._await_ready(rest)
        if failed is not None:
            self._stop_all()
            return (1, failed) if failed else (0, None)
        logger.info(
            "%d workers ready on port %d (SO_REUSEPORT), nodes %s-w1..w%d",
            len(self._workers),
            self._settings.server.port,
            self._base,
            len(self._workers),
        )
        while not self._stopping:
            due = [w.restart_at for w in self._workers if w.restart_at is not None]
            timeout = max(0.0, min(due) - time.monotonic()) if due else None
            for worker in self._dispatch(self._wait(timeout)):
                if not self._stopping:
                    self._died(worker)
            now = time.monotonic()
            for worker in self._workers:
                if (
                    not self._stopping
                    and worker.restart_at is not None
                    and now >= worker.restart_at
                ):
                    self._start(worker)
                    logger.info(
                        "worker %d started again (start %d, node %s)",
                        worker.index,
                        worker.starts,
                        worker.node,
                    )
        logger.info("stopping %d workers", len(self._workers))
        return self._stop_all(), None

    def _stop_all(self) -> int:
        """SIGTERM to every worker, SIGKILL to those alive after CSMS_WORKER_STOP_TIMEOUT; 0 if all
        stopped cleanly."""
        alive = [w for w in self._workers if w.process is not None and w.process.is_alive()]
        for worker in alive:
            assert worker.process is not None and worker.process.pid is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + self._settings.server.worker_stop_timeout
        status = 0
        for worker in alive:
            assert worker.process is not None
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                logger.warning("worker %d did not stop in time: killed", worker.index)
                worker.process.kill()
                worker.process.join()
                status = 1
            elif worker.process.exitcode not in (0, -signal.SIGTERM):
                status = 1
        for worker in self._workers:
            if worker.process is not None:
                worker.process.join()
            if worker.reader is not None:
                worker.reader.close()
                worker.reader = None
        return status


def supervise(settings: Settings, target: WorkerTarget) -> tuple[int, str | None]:
    """Run ``settings.server.workers`` workers running ``target`` until SIGTERM/SIGINT; return the
    exit status and, when the workers could not start, the one line that says why."""
    return _Supervisor(settings, target).run()
