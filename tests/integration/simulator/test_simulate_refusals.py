"""`csms simulate` against a csms that refuses its stations exits non-zero and says why
(issue 7 finding 10): a wrong password (401) and an unknown station (404)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from pathlib import Path

from csms.cli import build_parser
from csms.loadtest.command import run_command
from csms.simulator.command import PASSWORD_ENV, diagnose
from csms.simulator.stats import CONNECT_ERROR, Stats
from tests.integration.harness import free_port, running_csms, settings_for


async def _simulate(url: str, *argv: str, password: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "csms", "simulate", url, "-n", "1", "--versions", "1.6",
        "--duration", "1.5", *argv,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, PASSWORD_ENV: password},
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_simulate_exits_non_zero_and_says_why_when_csms_refuses(tmp_path: Path) -> None:
    async with running_csms(settings_for(tmp_path, security_profile=1)) as server:
        await server.add_station("SIM-1")  # with the harness's password, not the one below
        wrong_password, unknown = await asyncio.gather(
            _simulate(server.ocpp_url, password="not-the-password-at-all"),
            _simulate(server.ocpp_url, "--id-prefix", "NOBODY-", password="whatever-password-1"),
        )
    status, out, err = wrong_password
    assert status == 1, (out, err)
    assert "Traceback" not in err
    assert "connection(s) failed (http 401)" in err
    assert PASSWORD_ENV in err
    assert "no station was Accepted" in err
    assert "accepted 0" in out and "errors 0" not in out  # the final line counts the failures
    status, out, err = unknown
    assert status == 1, (out, err)
    assert "connection(s) failed (http 404)" in err
    assert "csms station add" in err and "--unknown-stations pending" in err


def test_a_run_without_problems_has_nothing_to_say() -> None:
    assert diagnose(Stats(accepted_total=2)) == []
    assert diagnose(Stats(accepted_total=2, errors=Counter({"Heartbeat:Timeout": 1}))) == [
        "1 message(s) answered with an error: Heartbeat:Timeout x1"
    ]
    refused = diagnose(Stats(errors=Counter({f"{CONNECT_ERROR}refused": 3})))
    assert refused[0].startswith("3 connection(s) failed (refused): nothing listens")
    assert refused[-1] == "no station was Accepted by the CSMS"


def test_loadtest_exits_non_zero_when_no_connection_succeeds() -> None:
    """The README's promise for ``csms loadtest``: exit 0 only without any error."""
    args = build_parser().parse_args(
        ["loadtest", f"ws://127.0.0.1:{free_port()}/ocpp", "-n", "2", "-d", "1", "--warmup", "0",
         "--quiet", "--no-auth", "--workers", "1"]
    )  # fmt: skip
    out: list[str] = []
    assert run_command(args, out=out.append, err=out.append) == 1
    assert any("connect:ECONNREFUSED" in line for line in out), out
