"""Reconnect+boot CPU per station: csms beside the raw websockets echo server, in one run.

For each server: start it, connect N stations once (on csms this registers them: unknown stations
accepted, trust on first use of their Basic-auth password), close them, then connect and boot the
same N stations again (``loadgen.py idle --tag`` with the same station ids) and read the server's
CPU time over that second pass: the cost of a *reconnect* of a known station (TCP accept, HTTP
upgrade, authentication, BootNotification and its answer), which is what a reconnect storm pays.
Each pass is repeated ``--repeat`` times and the median is reported, because the machine is shared.

``--profile DIR`` runs csms under cProfile (``benchmarks/profiled.py``), switched on for the
reconnect passes only (SIGUSR1 on, SIGUSR2 off and dump), and writes ``DIR/csms.prof``; read it
with ``python -m pstats``.
``--py-spy DIR`` samples each reconnect pass with py-spy (threads included; ``pip install
py-spy``, not a dependency of csms) into collapsed stacks, ``DIR/<server>-pass<i>.txt``.

Usage::

    python benchmarks/reconnect.py -n 2000 --repeat 3 --json /tmp/reconnect.json
    python benchmarks/reconnect.py -n 2000 --servers csms --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from benchmarks.run import (  # noqa: E402 - after the path is set
    HOST,
    ServerLaunch,
    free_port,
    run_loadgen,
    running_server,
)

DEFAULT_CSMS_ARGS = (
    "serve --host {host} --port {port} --no-api --no-compression "
    "--database-url {database_url} --unknown-stations accept --registration-rate 0 "
    "--log-level WARNING"
)


def launch(name: str, work: Path, extra: list[str], profile: Path | None) -> ServerLaunch:
    """The command line of ``name`` (csms or echo) on a fresh port."""
    port = free_port()
    directory = work / name
    directory.mkdir(parents=True, exist_ok=True)
    python = sys.executable
    if name == "echo":
        argv = [python, str(BENCH_DIR / "echo_server.py"), "--host", HOST, "--port", str(port)]
        return ServerLaunch(name, argv, port, 20.0, directory / "server.log")
    args = DEFAULT_CSMS_ARGS.format(
        host=HOST, port=port, database_url=f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    )
    if profile is not None:
        head = [python, str(BENCH_DIR / "profiled.py"), str(profile / "csms.prof")]
    else:
        head = [str(Path(sys.prefix) / "bin" / "csms")]
    argv = [*head, *shlex.split(args), *extra]
    return ServerLaunch(name, argv, port, 60.0, directory / "server.log")


def sampler(
    directory: Path | None, name: str, index: int, pid: int
) -> subprocess.Popen[bytes] | None:
    """py-spy (if asked for) sampling ``pid`` with its threads into collapsed stacks."""
    if directory is None:
        return None
    out = directory / f"{name}-pass{index}.txt"
    # The venv's py-spy when the venv is not on PATH (``.venv/bin/python benchmarks/...``).
    spy_bin = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    argv = [spy_bin, "record", "--pid", str(pid), "--format", "raw", "--rate", "500"]
    spy = subprocess.Popen(
        [*argv, "--output", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(1.0)  # py-spy attaches
    return spy


def one_server(name: str, opts: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Register the stations, then reconnect+boot them ``repeat`` times; CPU per station."""
    profile = opts.profile if name == "csms" else None
    server = launch(name, work, opts.server_arg if name == "csms" else [], profile)
    url = f"ws://{HOST}:{server.port}/ocpp"
    tag = f"r{os.getpid()}"
    passes: list[dict[str, Any]] = []
    with running_server(server, None) as proc:
        common = ["--url", url, "--server-pid", str(proc.pid), "--tag", tag]
        idle = [
            "idle",
            *common,
            "--connections",
            str(opts.stations),
            "--settle-timeout",
            "3",
            "--connect-concurrency",
            str(opts.concurrency),
        ]
        first = run_loadgen(idle, work / name / "first.json", timeout=600.0)
        for i in range(opts.repeat):
            if profile is not None:
                os.kill(proc.pid, signal.SIGUSR1)
            spy = sampler(opts.py_spy, name, i, proc.pid)
            load_before = os.getloadavg()[0]
            result = run_loadgen(idle, work / name / f"pass{i}.json", timeout=600.0)
            if profile is not None:
                os.kill(proc.pid, signal.SIGUSR2)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            result["load_average"] = load_before
            passes.append(result)
            time.sleep(1.0)
    cpu = [p["server_cpu_ms_per_connection"] for p in passes]
    return {
        "command": shlex.join(server.argv),
        "first_pass_cpu_ms": first["server_cpu_ms_per_connection"],
        "reconnect_cpu_ms": cpu,
        "reconnect_cpu_ms_median": statistics.median(cpu),
        "reconnects_per_s": [round(p["connections_per_s"], 1) for p in passes],
        "kib_per_connection": [round(p["kib_per_connection"], 1) for p in passes],
        "errors": [p["errors_total"] for p in passes],
        "load_average": [round(p["load_average"], 2) for p in passes],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--stations", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50, help="handshakes in flight")
    parser.add_argument("--servers", default="csms,echo")
    parser.add_argument("--server-arg", action="append", default=[], help="extra csms argument")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile csms into DIR")
    parser.add_argument(
        "--py-spy", type=Path, default=None, help="sample each pass with py-spy into DIR"
    )
    parser.add_argument("--json", type=Path, default=None)
    opts = parser.parse_args(argv)
    if opts.py_spy is not None:
        opts.py_spy.mkdir(parents=True, exist_ok=True)
    if opts.profile is not None:
        opts.profile.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"stations": opts.stations}
    with tempfile.TemporaryDirectory(prefix="csms-reconnect-") as tmp:
        for name in opts.servers.split(","):
            results[name] = one_server(name, opts, Path(tmp))
            r = results[name]
            print(
                f"{name}: reconnect+boot {r['reconnect_cpu_ms']} ms CPU/station "
                f"(median {r['reconnect_cpu_ms_median']:.3f}; first pass "
                f"{r['first_pass_cpu_ms']:.3f}), {r['reconnects_per_s']} /s, "
                f"errors {r['errors']}, load {r['load_average']}",
                flush=True,
            )
    if "csms" in results and "echo" in results:
        ratio = (
            results["csms"]["reconnect_cpu_ms_median"] / results["echo"]["reconnect_cpu_ms_median"]
        )
        results["csms_vs_echo"] = round(ratio, 2)
        print(f"csms÷echo: {ratio:.2f}x", flush=True)
    if opts.json is not None:
        opts.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
