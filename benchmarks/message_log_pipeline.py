"""CPU per OCPP exchange of the message log alone, in one process: steadier than calls/s.

``benchmarks/message_log.py`` measures what matters (calls/s with the log on vs off) but on a
shared machine its samples vary by tens of percent. This measures the log's own work without a
server: 200 connections' taps each get a Heartbeat CALL and its CALLRESULT (the frames csms
sees in the heartbeat16 mix), the recorder pairs them and writes the rows into a fresh SQLite
store (WAL, ``synchronous=FULL``, the group committer), and the process CPU time (all threads:
the event loop and the SQLite driver's) is divided by the exchanges. ``--repository null``
leaves out the database (the event loop's share: tap, pairing, masking check)::

    .venv/bin/python benchmarks/message_log_pipeline.py                     # 100,000 exchanges
    .venv/bin/python benchmarks/message_log_pipeline.py --repository null
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "src"))

from csms.domain.messagelog import (  # noqa: E402
    LoggedExchange,
    MessageLogRepository,
    MessageQuery,
    Retention,
)
from csms.server.message_log import MessageLogRecorder  # noqa: E402
from csms.storage import open_store  # noqa: E402

KEEP_ALL = Retention(max_age=1e9, max_rows=10**12, max_bytes=1 << 60)
CALL = '[2,"%d","Heartbeat",{}]'
RESULT = '[3,"%d",{"currentTime":"2026-12-06T10:00:01.511Z"}]'


class NullLog:
    """Takes every batch and keeps nothing."""

    async def append(self, exchanges: Sequence[LoggedExchange]) -> None:
        return None

    async def search(self, query: MessageQuery, limit: int) -> Sequence[LoggedExchange]:
        return []

    async def prune(self, retention: Retention, now: datetime) -> int:
        return 0


async def measure(exchanges: int, repository: str) -> float:
    """CPU microseconds per exchange of one run."""
    with tempfile.TemporaryDirectory() as workdir:
        store = None
        log: MessageLogRepository = NullLog()
        if repository == "sqlite":
            store = await open_store(f"sqlite+aiosqlite:///{workdir}/log.db")
            log = store.message_log
        recorder = MessageLogRecorder(log, retention=KEEP_ALL, queue_size=20_000)
        await recorder.start()
        taps = [recorder.tap(f"CS{n}").frame for n in range(200)]
        calls = [CALL % n for n in range(exchanges)]
        results = [RESULT % n for n in range(exchanges)]
        started = time.process_time()
        for n in range(exchanges):
            tap = taps[n % 200]
            tap(True, calls[n])
            tap(False, results[n])
            if n % 500 == 499:
                await asyncio.sleep(0.005)  # let the writer run, as a server's loop would
        await recorder.aclose()
        cpu = time.process_time() - started
        if store is not None:
            await store.aclose()
        if recorder.written != exchanges or recorder.dropped:
            raise SystemExit(f"written {recorder.written}, dropped {recorder.dropped}")
        return cpu / exchanges * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repository", choices=("sqlite", "null"), default="sqlite")
    args = parser.parse_args()
    samples = [asyncio.run(measure(args.exchanges, args.repository)) for _ in range(args.rounds)]
    print(
        f"{args.repository}: median {statistics.median(samples):.1f} µs CPU per exchange "
        f"(samples {', '.join(f'{s:.1f}' for s in samples)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
