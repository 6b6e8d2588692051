"""The cost of the OCPP message log: ``benchmarks/run.py``'s csms load with the log on vs off.

Same run, same machine, same harness (one server process pinned to CPU 0, the load generator to
CPU 1, loopback, SQLite): csms is started with ``--message-log off`` and ``--message-log on`` in
turn (and ``on`` with ``CSMS_MESSAGE_LOG_PAYLOADS=off``: metadata only), ``--rounds`` times in
alternating order (off/on/metadata, then the reverse, ...) so drift hits all alike, and each runs
the mixes. The figure is the median calls/s with the log on over the median with it
off, per mix (target: the log costs less than 15 %, i.e. a ratio above 0.85)::

    .venv/bin/python benchmarks/message_log.py                 # 3 mixes, 200 stations, 2 rounds
    .venv/bin/python benchmarks/message_log.py --quick         # a smoke run
    .venv/bin/python benchmarks/message_log.py --markdown /tmp/log.md --json /tmp/log.json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.run import (  # noqa: E402
    DEFAULT_CSMS_CMD,
    BenchmarkError,
    Options,
    bench_server,
    choose_cpus,
    machine_info,
    raise_nofile_limit,
)

MIXES = ("heartbeat16", "metervalues16", "transactionevent201")
STATES = ("off", "on", "metadata")  # metadata: on with CSMS_MESSAGE_LOG_PAYLOADS=off


def _options(args: argparse.Namespace, state: str) -> Options:
    return Options(
        servers=("csms",),
        mixes=tuple(args.mixes.split(",")),
        stations=args.stations or (20 if args.quick else 200),
        duration=args.duration or (1.0 if args.quick else 10.0),
        warmup=args.warmup or (0.2 if args.quick else 3.0),
        idle_connections=0,
        call_timeout=30.0,
        settle_timeout=30.0,
        rss_interval=0.25,
        pause_after_idle=0.0,
        csms_cmd=f"{DEFAULT_CSMS_CMD} --message-log {'off' if state == 'off' else 'on'}",
        quick=args.quick,
        json_path=None,
        markdown_path=None,
        keep_workdir=False,
    )


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every round; return the per-state samples and the ratios."""
    raise_nofile_limit()
    cpus = choose_cpus()
    if cpus[1] is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {cpus[1]})
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in STATES}
    cpu_us: dict[str, dict[str, list[float]]] = {s: {} for s in STATES}
    errors = 0
    workdir = Path(tempfile.mkdtemp(prefix="csms-bench-log-"))
    try:
        for n in range(args.rounds):
            order = STATES if n % 2 == 0 else tuple(reversed(STATES))
            for state in order:
                options = _options(args, state)
                if state == "metadata":
                    os.environ["CSMS_MESSAGE_LOG_PAYLOADS"] = "off"  # inherited by csms serve
                try:
                    result = bench_server("csms", options, workdir / f"{n}-{state}", cpus)
                finally:
                    os.environ.pop("CSMS_MESSAGE_LOG_PAYLOADS", None)
                if not result["ok"]:
                    raise BenchmarkError(result["error"] or "csms failed")
                for mix, figures in result["mixes"].items():
                    samples[state].setdefault(mix, []).append(figures["calls_per_s"])
                    if figures.get("server_cpu_us_per_call") is not None:
                        cpu_us[state].setdefault(mix, []).append(figures["server_cpu_us_per_call"])
                    errors += figures["errors_total"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = {}
    for mix in args.mixes.split(","):
        off = _median(samples["off"].get(mix, []))
        on = _median(samples["on"].get(mix, []))
        metadata = _median(samples["metadata"].get(mix, []))
        rows[mix] = {
            "calls_per_s_off": off,
            "calls_per_s_on": on,
            "calls_per_s_metadata": metadata,
            "ratio": (on / off) if on and off else None,
            "ratio_metadata": (metadata / off) if metadata and off else None,
            "cpu_us_per_call_off": _median(cpu_us["off"].get(mix, [])),
            "cpu_us_per_call_on": _median(cpu_us["on"].get(mix, [])),
            "cpu_us_per_call_metadata": _median(cpu_us["metadata"].get(mix, [])),
            "samples": {s: samples[s].get(mix, []) for s in STATES},
        }
    return {
        "command": " ".join(["python", "benchmarks/message_log.py", *sys.argv[1:]]),
        "machine": machine_info(),
        "options": dataclasses.asdict(_options(args, "on")) | {"rounds": args.rounds},
        "mixes": rows,
        "errors": errors,
    }


def render_markdown(report: dict[str, Any]) -> str:
    """The table for docs/performance.md."""
    lines = [
        "| mix | calls/s log off | log on | on / off | on, payloads off | ratio "
        "| server CPU µs/call off | on | on, payloads off |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mix, row in report["mixes"].items():

        def num(value: Any, digits: int = 0) -> str:
            return "-" if value is None else f"{value:,.{digits}f}"

        lines.append(
            f"| {mix} | {num(row['calls_per_s_off'])} | {num(row['calls_per_s_on'])} | "
            f"{num(row['ratio'], 3)} | {num(row['calls_per_s_metadata'])} | "
            f"{num(row['ratio_metadata'], 3)} | {num(row['cpu_us_per_call_off'])} | "
            f"{num(row['cpu_us_per_call_on'])} | {num(row['cpu_us_per_call_metadata'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixes", default=",".join(MIXES))
    parser.add_argument("--stations", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", type=Path, default=None)
    args = parser.parse_args()
    report = run(args)
    table = render_markdown(report)
    print()
    print(table)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.markdown is not None:
        args.markdown.write_text(table, encoding="utf-8")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
