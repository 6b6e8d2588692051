"""Instructions per stored TransactionEvent (or MeterValues), per server build and with parts off.

CPU time per call on this shared 2-core machine moves by ±20 % with whatever else runs; the
instructions a server executes for the same work do not. Each server runs under valgrind's
callgrind with instrumentation off; ``loadgen.py``'s transactionevent201 mix runs closed-loop
(``--stations`` in flight: the instrumented server is the bottleneck, so every server commits
batches of about the same size), and instrumentation is switched on for ``--window`` seconds in
the steady state, then for ``--idle`` seconds with the load generator stopped (SIGSTOP: the
stations stay connected, silent). The result is the loaded window's instructions (the whole
process: event loop, SQLite's writer thread) less the idle rate times its length, divided by the
``transaction_events`` rows stored in the window. With ``--mix metervalues16`` the unit is one
1.6 MeterValues call: the ``meter_values`` rows stored in the window divided by the sampled values
per call of that mix (``csms.loadtest.payloads.meter_values_16``).

A server is ``label=python`` (a checkout's interpreter: ``python -m csms serve``) or
``label=python:part,part`` (this checkout's ``benchmarks/parts_off.py`` with those parts off),
optionally followed by ``|serve arguments`` replacing ``--serve-args`` for it (an older build
without a flag)::

    python benchmarks/te_instructions.py \\
        "base=/work/wt-base/.venv/bin/python|" main=.venv/bin/python \\
        no-events=.venv/bin/python:events all-off=.venv/bin/python:events,tariffs,evse-index,metrics

Needs ``valgrind`` (Debian package). About 2.5 minutes per server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import run  # run as a script, like the other benchmarks
from csms.loadtest.payloads import meter_values_16

PARTS_OFF = Path(__file__).resolve().parent / "parts_off.py"
TOKEN = "te-instructions-api-token-0123456789"


# What one call of each mix stores: (table, rows per call).
UNITS = {
    "transactionevent201": ("transaction_events", 1),
    "metervalues16": (
        "meter_values",
        len(meter_values_16(1, 0.0, "2026-01-01T00:00:00Z")["meterValue"][0]["sampledValue"]),
    ),
}


def stored_events(db: Path, mix: str = "transactionevent201") -> float:
    """Calls of ``mix`` stored so far in ``db``."""
    table, rows_per_call = UNITS[mix]
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) / rows_per_call


def callgrind_dumps(out: Path) -> list[int]:
    """Instructions in each dump callgrind wrote on request (``out.1``, ``out.2``, ...)."""
    totals = []
    dumps = sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:]))
    for dump in dumps:
        for line in dump.read_text(errors="replace").splitlines():
            if line.startswith("totals:"):
                totals.append(int(line.split()[1]))
    return totals


def measure(label: str, spec: str, args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    spec, bar, own_args = spec.partition("|")
    python, _, parts = spec.partition(":")
    db = workdir / f"{label}.db"
    out = workdir / f"{label}.callgrind"
    port, api_port = run.free_port(), run.free_port()
    serve = ["serve", "--host", run.HOST, "--port", str(port), "--api-port", str(api_port),
             "--database-url", f"sqlite+aiosqlite:///{db}", "--unknown-stations", "accept",
             *(own_args if bar else args.serve_args).split()]  # fmt: skip
    env = dict(os.environ, CSMS_API_TOKEN=TOKEN, PYTHONMALLOC="malloc")
    if parts:
        env["CSMS_BENCH_OFF"] = parts
        command = [python, str(PARTS_OFF), *serve]
    else:
        command = [python, "-m", "csms", *serve]
    log = (workdir / f"{label}.log").open("wb")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
         *command],
        cwd=run.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    load = None
    try:
        deadline = time.monotonic() + 300
        while not run.port_accepts(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{label}: the server did not start; see {workdir}/{label}.log")
            time.sleep(1)
        load = subprocess.Popen(
            [sys.executable, str(run.BENCH_DIR / "loadgen.py"), "load", "--url",
             f"ws://{run.HOST}:{port}/ocpp", "--mix", args.mix,
             "--stations", str(args.stations), "--pace", str(args.pace), "--warmup", "100000",
             "--duration", "1", "--call-timeout", "120", "--open-timeout", "120",
             "--connect-phase-timeout", "600", "--tag", "TEI"],
            cwd=run.REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(args.settle)
        before = stored_events(db, args.mix)
        loaded = instrumented(server.pid, args.window)
        events = stored_events(db, args.mix) - before
        # The same stations, connected and silent (the load generator stopped): what the server
        # executes per second whatever the load (timers, the last-seen flush, cache refreshes),
        # taken out of the loaded window so that servers running at different speeds under
        # valgrind compare per event.
        load.send_signal(signal.SIGSTOP)
        idle = instrumented(server.pid, args.idle)
        assert idle > 0
    finally:
        if load is not None:
            load.kill()
            load.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    loaded_ir, idle_ir = callgrind_dumps(out)[:2]
    background = idle_ir / idle * loaded
    return {"events": events, "instructions": loaded_ir, "background": background,
            "per_event": (loaded_ir - background) / max(events, 1)}  # fmt: skip


def instrumented(pid: int, seconds: float) -> float:
    """Instrument ``seconds`` of the server's run and dump the counts; the seconds measured."""
    control = ["callgrind_control"]
    subprocess.run([*control, "-i", "on", str(pid)], check=True, capture_output=True)
    started = time.monotonic()
    time.sleep(seconds)
    subprocess.run([*control, "-i", "off", str(pid)], check=True, capture_output=True)
    elapsed = time.monotonic() - started
    subprocess.run([*control, "-d", str(pid)], check=True, capture_output=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="+", help="label=python[:part,part]")
    parser.add_argument("--mix", choices=sorted(UNITS), default="transactionevent201")
    parser.add_argument("--rounds", type=int, default=1, help="each server this many times")
    parser.add_argument("--stations", type=int, default=20)
    parser.add_argument("--pace", type=float, default=0.0, help="s a station waits per reply")
    parser.add_argument("--settle", type=float, default=40.0, help="s before measuring")
    parser.add_argument("--window", type=float, default=60.0, help="s measured under load")
    parser.add_argument("--idle", type=float, default=20.0, help="s measured idle")
    parser.add_argument(
        "--serve-args",
        default="--registration-rate 0 --message-log off",
        help="extra `csms serve` arguments for every server (a build without one of the "
        "flags needs its own run)",
    )
    args = parser.parse_args()
    servers = [s.partition("=")[::2] for s in args.servers]
    results: dict[str, list[float]] = {label: [] for label, _ in servers}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for label, spec in servers:
                figures = measure(label, spec, args, Path(tmp))
                results[label].append(figures["per_event"])
                print(f"{label:24} {figures['events']:6.0f} events  "
                      f"{figures['background'] / figures['instructions']:5.1%} background  "
                      f"{figures['per_event'] / 1e6:7.3f} M instructions/event", flush=True)  # fmt: skip
    first = servers[0][0]
    reference = statistics.median(results[first])
    for label, values in results.items():
        middle = statistics.median(values)
        print(f"{label:24} {middle / 1e6:7.3f} M  ({middle / reference - 1:+.1%} vs {first})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
