"""The README's `csms simulate` recipes, run as written against a `csms serve` process (issue 7
finding 12): the commands are read from README.md, so the recipes and this test cannot drift
apart. Only durations are shortened (appended options override the recipe's) and the port is a
free one; every command runs in a fresh directory, with the default database (./var/csms.db),
as on a fresh clone.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

from tests.integration.harness import free_port

README = Path(__file__).resolve().parents[3] / "README.md"
# Appended to `csms simulate`: a short run of quick sessions (argparse: the last value wins).
QUICK = ["--charge-time", "1", "--idle-time", "0.5", "--meter-interval", "0.5", "--ramp", "0",
         "--duration", "5"]  # fmt: skip


def recipes() -> list[list[str]]:
    """The ``sh`` blocks of the README's "Simulated stations" section, as commands (comments and
    line continuations resolved)."""
    text = README.read_text()
    section = text.split("## Simulated stations", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    out = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        out.append([line for line in joined.splitlines() if line.strip()])
    return out


def _argv(line: str, port: int) -> tuple[dict[str, str], list[str]]:
    """A recipe line as (environment assignments, argv with ``python -m csms``)."""
    words = shlex.split(line, comments=True)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == ".venv/bin/csms", line
    words = [w.replace("127.0.0.1:9000", f"127.0.0.1:{port}") for w in words[1:]]
    return env, [sys.executable, "-m", "csms", *words]


async def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=os.environ | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    text = output.decode(errors="replace")
    assert proc.returncode == 0, f"{shlex.join(argv)}:\n{text}"
    return text


@asynccontextmanager
async def serving(cwd: Path, port: int, *flags: str) -> AsyncIterator[None]:
    """`scripts/run.sh [flags]` without the API (its port may be taken): `csms serve` in ``cwd``."""
    argv = [sys.executable, "-m", "csms", "serve", "--port", str(port), "--no-api", *flags]
    log = (cwd / "serve.log").open("ab")
    proc = await asyncio.create_subprocess_exec(*argv, cwd=cwd, stdout=log, stderr=log)
    try:
        for _ in range(300):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        yield
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=30)
        log.close()


def charged(cwd: Path) -> tuple[dict[str, int], int]:
    """(1.6 transactions per idTag status, 2.x transactions with a Started event)."""
    with closing(sqlite3.connect(cwd / "var" / "csms.db")) as db:
        statuses = dict(
            db.execute(
                "SELECT id_tag_status, count(*) FROM transactions_v16 GROUP BY id_tag_status"
            ).fetchall()
        )
        started = db.execute("SELECT count(*) FROM transactions WHERE started_at IS NOT NULL")
        return statuses, int(started.fetchone()[0])


async def test_the_one_station_recipe_charges(tmp_path: Path) -> None:
    """csms with its defaults (profile 1, unknown stations rejected): station add, token add,
    then simulate -n 1 with the password printed."""
    station_add, token_add, simulate = recipes()[0]
    port = free_port()
    env, argv = _argv(station_add, port)
    printed = await _run(argv, tmp_path, env)
    password = re.search(r"password: (\S+)", printed)
    assert password is not None, printed
    env, argv = _argv(token_add, port)
    await _run(argv, tmp_path, env)
    async with serving(tmp_path, port):
        env, argv = _argv(simulate, port)
        assert env == {"CSMS_SIM_PASSWORD": "..."}
        output = await _run([*argv, *QUICK], tmp_path, {"CSMS_SIM_PASSWORD": password[1]})
    statuses, _ = charged(tmp_path)
    assert statuses.get("Accepted", 0) >= 1 and set(statuses) == {"Accepted"}, (statuses, output)
    assert "refused 0" in output


async def test_the_lab_fleet_recipe_charges_every_station(tmp_path: Path) -> None:
    """A lab csms (profile 0, unknown stations accepted): token add with a pattern, then simulate
    with a tag per station: every session Accepted, none ConcurrentTx. Ten stations, not fifty."""
    token_add, simulate = recipes()[1]
    port = free_port()
    env, argv = _argv(token_add, port)
    assert "SIM-TAG-1 .. SIM-TAG-50 stored (50" in await _run(argv, tmp_path, env)
    async with serving(tmp_path, port, "--security-profile", "0", "--unknown-stations", "accept"):
        env, argv = _argv(simulate, port)
        output = await _run([*argv, *QUICK, "-n", "9"], tmp_path, env)
    statuses, started_2x = charged(tmp_path)
    # 3 stations of each version (round-robin): each 1.6 one charged, with its own tag.
    assert statuses.get("Accepted", 0) >= 3 and set(statuses) == {"Accepted"}, (statuses, output)
    assert started_2x >= 6
    assert "refused 0" in output


async def test_the_soap_recipe_charges_over_both_transports(tmp_path: Path) -> None:
    """SOAP stations beside JSON ones (issue 12): 1.5s, 1.6s, 1.5j and 1.6 stations against a lab
    csms with its SOAP endpoint on; every one of them charges with its own tag."""
    token_add, _ = recipes()[1]
    (simulate,) = recipes()[2]
    port, soap_port = free_port(), free_port()
    env, argv = _argv(token_add, port)
    await _run(argv, tmp_path, env)
    lab = ("--security-profile", "0", "--unknown-stations", "accept")
    async with serving(tmp_path, port, *lab, "--soap", "--soap-port", str(soap_port)):
        for _ in range(300):  # the SOAP endpoint starts beside the WebSocket one
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", soap_port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        env, argv = _argv(simulate, port)
        argv = [w.replace("127.0.0.1:9001", f"127.0.0.1:{soap_port}") for w in argv]
        output = await _run([*argv, *QUICK], tmp_path, env)
    statuses, _ = charged(tmp_path)
    # All four run the 1.6 logic, so each session is a 1.6 transaction whatever its transport.
    assert statuses.get("Accepted", 0) >= 4 and set(statuses) == {"Accepted"}, (statuses, output)
    with closing(sqlite3.connect(tmp_path / "var" / "csms.db")) as db:
        stations = set(db.execute("SELECT DISTINCT station_id FROM transactions_v16").fetchall())
    assert stations == {("SIM-1",), ("SIM-2",), ("SIM-3",), ("SIM-4",)}, output
    assert "refused 0" in output
