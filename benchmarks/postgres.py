"""csms on PostgreSQL under the load benchmark: ``benchmarks/run.py`` with a durable local server.

Starts a throwaway PostgreSQL (``tests/postgres.py``; installed with apt-get when missing) with its
default durability (fsync, synchronous commit), creates the csms database, registers the RFID tags
of the charging-session stations, and runs ``benchmarks/run.py --servers csms`` against it. The
PostgreSQL processes are not pinned and not counted in "server CPU µs/call" (only csms's own
process tree is), so compare calls/s and latency with the SQLite run, not CPU per call::

    .venv/bin/python benchmarks/postgres.py --markdown /tmp/pg.md --json /tmp/pg.json
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import subprocess
import sys
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.postgres import PostgresServer, running_postgres  # noqa: E402

from csms.domain.tokens import IdToken  # noqa: E402
from csms.storage import open_store  # noqa: E402

MIXES = "heartbeat16,metervalues16,transactionevent201,chargingsession16"


async def prepare(server: PostgresServer, stations: int) -> str:
    """Create the database, migrate it and register the stations' tags; return its URL."""
    admin = await asyncpg.connect(
        host=server.host, port=server.port, user=server.user, database="postgres"
    )
    try:
        await admin.execute("CREATE DATABASE csms_bench")
    finally:
        await admin.close()
    url = server.url("csms_bench")
    store = await open_store(url)
    try:
        now = dt.datetime.now(dt.UTC)
        await asyncio.gather(
            *(store.tokens.put(IdToken(f"T{i:05d}"), now) for i in range(stations))
        )
    finally:
        await store.aclose()
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", help="write the markdown section here")
    parser.add_argument("--json", help="write the JSON result here")
    parser.add_argument("--mixes", default=MIXES)
    args = parser.parse_args()
    with running_postgres(durable=True) as server:
        url = asyncio.run(prepare(server, 200))
        command = (
            "{venv}/bin/csms serve --host {host} --port {port} --api-port {api_port} "
            f"--database-url {url} --unknown-stations accept --registration-rate 0"
        )
        argv = [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "run.py"),
            "--servers", "csms", "--mixes", args.mixes, "--idle-connections", "0",
            "--csms-cmd", command,
        ]  # fmt: skip
        if args.markdown:
            argv += ["--markdown", args.markdown]
        if args.json:
            argv += ["--json", args.json]
        return subprocess.run(argv, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
