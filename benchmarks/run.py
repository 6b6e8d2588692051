"""One-command load benchmark: csms vs. a reference ``ocpp`` server vs. a raw echo server.

Reproduces the setup of docs/design performance-anchors §7: one server process pinned to
CPU 0 and one load-generator process (``loadgen.py``) pinned to CPU 1, over loopback; N
closed-loop stations (one outstanding CALL each), a warm-up then a measured window; and an idle
run that reads the server's resident memory per booted, idle connection.

Servers (each started by this harness on free ports, waited for, and killed at the end):

``csms``
    ``<venv>/bin/csms serve --host 127.0.0.1 --port PORT --api-port APIPORT
    --database-url sqlite+aiosqlite:///<tmpdir>/bench.db --unknown-stations accept
    --registration-rate 0``
    (override with ``--csms-cmd``).
``reference``
    ``reference_server.py``: mobilityhouse ``ocpp`` as its README/examples show.
``echo``
    ``echo_server.py``: python-websockets on uvloop, ``compression=None``, echoes every frame.

For each server: start it, run the idle-memory phase (the RSS baseline is the freshly started
server with zero stations), then each mix, then stop it. A server that cannot be started or
fails is reported and the others still run. Exit status: 0 when every requested server ran
without a single error, 1 otherwise.

Examples::

    python benchmarks/run.py
    python benchmarks/run.py --servers reference,echo --json bench.json --markdown bench.md
    python benchmarks/run.py --quick
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Final

from csms.domain.tokens import IdToken
from csms.storage import open_store

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_ROOT: Final = BENCH_DIR.parent
HOST: Final = "127.0.0.1"

SERVERS: Final[tuple[str, ...]] = ("csms", "reference", "echo")
MIXES: Final[tuple[str, ...]] = (
    "heartbeat16",
    "metervalues16",
    "transactionevent201",
    "chargingsession16",
)
PACKAGES: Final[tuple[str, ...]] = (
    "csms",
    "websockets",
    "uvloop",
    "orjson",
    "ocpp",
    "jsonschema",
    "psutil",
    "jsonschema-rs",
    "sqlalchemy",
    "aiosqlite",
)

DEFAULT_CSMS_CMD: Final = (
    "{venv}/bin/csms serve --host {host} --port {port} --api-port {api_port} "
    "--database-url {database_url} --unknown-stations accept --registration-rate 0"
)


class BenchmarkError(Exception):
    """A server could not be started or a load-generator run failed."""


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """Resolved options of one benchmark run."""

    servers: tuple[str, ...]
    mixes: tuple[str, ...]
    stations: int
    duration: float
    warmup: float
    idle_connections: int
    call_timeout: float
    settle_timeout: float
    rss_interval: float
    pause_after_idle: float
    csms_cmd: str | None
    quick: bool
    json_path: Path | None
    markdown_path: Path | None
    keep_workdir: bool


def _csv(value: str, allowed: Sequence[str], what: str) -> tuple[str, ...]:
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [v for v in items if v not in allowed]
    if unknown or not items:
        raise argparse.ArgumentTypeError(
            f"invalid {what} {', '.join(unknown) or '(none)'}; choose from {', '.join(allowed)}"
        )
    return items


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of the harness."""
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--servers",
        type=lambda v: _csv(v, SERVERS, "server"),
        default=SERVERS,
        help=f"comma-separated subset of {','.join(SERVERS)} (default: all)",
    )
    parser.add_argument(
        "--mixes",
        type=lambda v: _csv(v, MIXES, "mix"),
        default=MIXES,
        help=f"comma-separated subset of {','.join(MIXES)} (default: all)",
    )
    parser.add_argument("--stations", type=int, default=None, help="concurrent stations (200)")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds (10)")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds (3)")
    parser.add_argument(
        "--idle-connections",
        type=int,
        default=None,
        help="idle connections for the memory run, 0 to skip it (2000)",
    )
    parser.add_argument(
        "--call-timeout", type=float, default=None, help="seconds to wait for a reply (30)"
    )
    parser.add_argument(
        "--csms-cmd",
        default=None,
        help=(
            "command that starts csms; placeholders {host} {port} {api_port} {database_url} "
            "{tmpdir} {venv} {python}. Default: " + DEFAULT_CSMS_CMD
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short run for tests: 20 stations, 0.2 s warm-up, 1 s measured, 100 idle",
    )
    parser.add_argument("--json", type=Path, default=None, help="write all figures as JSON")
    parser.add_argument(
        "--markdown", type=Path, default=None, help="write a section for docs/performance.md"
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="keep server logs and databases"
    )
    return parser


def resolve_options(args: argparse.Namespace) -> Options:
    """Apply the defaults (full or ``--quick``) to the options not given explicitly."""
    quick: bool = args.quick

    def pick(value: Any, full: Any, short: Any) -> Any:
        if value is not None:
            return value
        return short if quick else full

    return Options(
        servers=args.servers,
        mixes=args.mixes,
        stations=pick(args.stations, 200, 20),
        duration=pick(args.duration, 10.0, 1.0),
        warmup=pick(args.warmup, 3.0, 0.2),
        idle_connections=pick(args.idle_connections, 2000, 100),
        call_timeout=pick(args.call_timeout, 30.0, 10.0),
        settle_timeout=10.0 if quick else 30.0,
        rss_interval=0.1 if quick else 0.25,
        pause_after_idle=0.2 if quick else 1.0,
        csms_cmd=args.csms_cmd,
        quick=quick,
        json_path=args.json,
        markdown_path=args.markdown,
        keep_workdir=args.keep_workdir,
    )


# --------------------------------------------------------------------------------------------
# Process management
# --------------------------------------------------------------------------------------------


def raise_nofile_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit (inherited by the children)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def choose_cpus() -> tuple[int | None, int | None]:
    """Return ``(server cpu, load-generator cpu)``, or ``(None, None)`` with < 2 CPUs."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return None, None
    return allowed[0], allowed[1]


def pin_process_tree(pid: int, cpu: int | None) -> None:
    """Pin every thread of ``pid`` and of its descendants to ``cpu`` (best effort)."""
    if cpu is None:
        return
    import psutil

    try:
        root = psutil.Process(pid)
        members = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for member in members:
        try:
            thread_ids = [t.id for t in member.threads()]
        except psutil.Error:
            continue
        for tid in thread_ids:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, {cpu})


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(port: int) -> bool:
    """Whether a TCP connection to ``HOST:port`` succeeds."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 15) -> str:
    """Last ``lines`` lines of a log file ('' if missing)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class ServerLaunch:
    """How to start one server."""

    name: str
    argv: list[str]
    port: int
    ready_timeout: float
    log_path: Path


@contextlib.contextmanager
def running_server(launch: ServerLaunch, cpu: int | None) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server in its own process group, wait until it accepts TCP, always stop it.

    Raises :class:`BenchmarkError` if it exits or is not ready within its timeout.
    """
    with launch.log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(
                launch.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        except OSError as exc:
            raise BenchmarkError(f"{launch.name}: cannot start {launch.argv[0]!r}: {exc}") from exc
    try:
        pin_process_tree(proc.pid, cpu)
        deadline = time.monotonic() + launch.ready_timeout
        while not port_accepts(launch.port):
            if proc.poll() is not None:
                raise BenchmarkError(
                    f"{launch.name}: exited with status {proc.returncode} before accepting "
                    f"connections. Command: {shlex.join(launch.argv)}\n"
                    f"--- output (tail) ---\n{log_tail(launch.log_path)}"
                )
            if time.monotonic() > deadline:
                raise BenchmarkError(
                    f"{launch.name}: not accepting connections on port {launch.port} after "
                    f"{launch.ready_timeout:.0f} s. Command: {shlex.join(launch.argv)}\n"
                    f"--- output (tail) ---\n{log_tail(launch.log_path)}"
                )
            time.sleep(0.1)
        time.sleep(0.3)
        pin_process_tree(proc.pid, cpu)
        yield proc
    finally:
        stop_process_group(proc)


def stop_process_group(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it is still there."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # The group may hold children even after the leader exited.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)


def server_launch(name: str, options: Options, workdir: Path) -> ServerLaunch:
    """Build the command line of server ``name`` with fresh ports and a fresh work dir."""
    port = free_port()
    server_dir = workdir / name
    server_dir.mkdir(parents=True, exist_ok=True)
    log_path = server_dir / "server.log"
    python = sys.executable
    if name == "echo":
        argv = [python, str(BENCH_DIR / "echo_server.py"), "--host", HOST, "--port", str(port)]
        return ServerLaunch(name, argv, port, 20.0, log_path)
    if name == "reference":
        argv = [
            python,
            str(BENCH_DIR / "reference_server.py"),
            "--host",
            HOST,
            "--port",
            str(port),
        ]
        return ServerLaunch(name, argv, port, 20.0, log_path)
    api_port = free_port()
    while api_port == port:
        api_port = free_port()
    venv = Path(sys.prefix)
    values = {
        "host": HOST,
        "port": str(port),
        "api_port": str(api_port),
        "database_url": f"sqlite+aiosqlite:///{server_dir / 'bench.db'}",
        "tmpdir": str(server_dir),
        "venv": str(venv),
        "python": python,
    }
    template = options.csms_cmd or DEFAULT_CSMS_CMD
    if options.csms_cmd is None and "chargingsession16" in options.mixes:
        seed_id_tokens(values["database_url"], options.stations)
    argv = [token.format_map(values) for token in shlex.split(template)]
    executable = argv[0]
    if shutil.which(executable) is None and not Path(executable).is_file():
        raise BenchmarkError(
            f"csms: executable {executable!r} not found. The benchmark needs the `csms serve` "
            "CLI (installed into the venv by `pip install -e .`), or pass --csms-cmd."
        )
    return ServerLaunch(name, argv, port, 60.0, log_path)


def seed_id_tokens(database_url: str, count: int) -> None:
    """Register the RFID tags the chargingsession16 stations tap (``T00000``...) as Accepted.

    A real CSMS knows its drivers' tags; csms answers unknown ones Invalid (still with a
    transactionId), which would measure a rarer path.
    """

    async def seed() -> None:
        store = await open_store(database_url)
        try:
            now = dt.datetime.now(dt.UTC)
            await asyncio.gather(
                *(store.tokens.put(IdToken(f"T{i:05d}"), now) for i in range(count))
            )
        finally:
            await store.aclose()

    asyncio.run(seed())


def run_loadgen(args: list[str], out_path: Path, timeout: float) -> dict[str, Any]:
    """Run ``loadgen.py`` with ``args`` and return its JSON result."""
    argv = [sys.executable, str(BENCH_DIR / "loadgen.py"), *args, "--out", str(out_path)]
    try:
        done = subprocess.run(
            argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"load generator did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0 or not out_path.exists():
        raise BenchmarkError(
            f"load generator failed with status {done.returncode}: {shlex.join(argv)}\n"
            f"{done.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    return result


# --------------------------------------------------------------------------------------------
# Benchmark phases
# --------------------------------------------------------------------------------------------


def bench_server(
    name: str, options: Options, workdir: Path, cpus: tuple[int | None, int | None]
) -> dict[str, Any]:
    """Start server ``name``, run the idle phase and every mix, stop it; return its figures."""
    server_cpu, client_cpu = cpus
    result: dict[str, Any] = {"ok": False, "error": None, "idle": None, "mixes": {}}
    try:
        launch = server_launch(name, options, workdir)
        result["command"] = shlex.join(launch.argv)
        url = f"ws://{HOST}:{launch.port}/ocpp"
        common = ["--url", url, "--call-timeout", str(options.call_timeout)]
        if client_cpu is not None:
            common += ["--cpu", str(client_cpu)]
        print(f"[{name}] starting: {result['command']}", flush=True)
        with running_server(launch, server_cpu) as proc:
            common += ["--server-pid", str(proc.pid)]
            if options.idle_connections > 0:
                print(f"[{name}] idle: {options.idle_connections} connections", flush=True)
                idle = run_loadgen(
                    [
                        "idle",
                        *common,
                        "--connections",
                        str(options.idle_connections),
                        "--settle-timeout",
                        str(options.settle_timeout),
                        "--rss-interval",
                        str(options.rss_interval),
                    ],
                    workdir / name / "idle.json",
                    timeout=2 * options.settle_timeout + 240.0,
                )
                result["idle"] = idle
                print(f"[{name}] idle: {format_idle_line(idle)}", flush=True)
                time.sleep(options.pause_after_idle)
            for mix in options.mixes:
                if proc.poll() is not None:
                    raise BenchmarkError(
                        f"{name}: server exited with status {proc.returncode}\n"
                        f"{log_tail(launch.log_path)}"
                    )
                print(f"[{name}] {mix}: {options.stations} stations", flush=True)
                figures = run_loadgen(
                    [
                        "load",
                        *common,
                        "--mix",
                        mix,
                        "--stations",
                        str(options.stations),
                        "--warmup",
                        str(options.warmup),
                        "--duration",
                        str(options.duration),
                    ],
                    workdir / name / f"{mix}.json",
                    timeout=options.warmup + options.duration + 2 * options.call_timeout + 180.0,
                )
                result["mixes"][mix] = figures
                print(f"[{name}] {mix}: {format_load_line(figures)}", flush=True)
        result["ok"] = True
    except BenchmarkError as exc:
        result["error"] = str(exc)
        print(f"[{name}] FAILED: {exc}", file=sys.stderr, flush=True)
    return result


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def format_load_line(figures: dict[str, Any]) -> str:
    """One-line summary of a load run."""
    lat = figures["latency_ms"]
    return (
        f"{_num(figures['calls_per_s'])} calls/s, "
        f"{_num(figures['server_cpu_us_per_call'])} us/call, "
        f"p50 {_num(lat['p50'], 1)} ms, p99 {_num(lat['p99'], 1)} ms, "
        f"errors {figures['errors_total']}"
    )


def format_idle_line(idle: dict[str, Any]) -> str:
    """One-line summary of an idle run."""
    return (
        f"{idle['connections_ok']} connections, "
        f"{_num(idle['kib_per_connection'], 1)} KiB/connection, errors {idle['errors_total']}"
    )


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if numerator is None or denominator in (None, 0):
        return None
    return float(numerator) / float(denominator)


def compute_ratios(servers: dict[str, dict[str, Any]], mixes: Sequence[str]) -> dict[str, Any]:
    """csms vs. reference and echo (and reference vs. echo, the anchors' baseline ratio)."""

    def mix_value(server: str, mix: str, key: str) -> Any:
        return servers.get(server, {}).get("mixes", {}).get(mix, {}).get(key)

    def idle_value(server: str) -> Any:
        idle = servers.get(server, {}).get("idle") or {}
        return idle.get("kib_per_connection")

    ratios: dict[str, Any] = {}
    for a, b in (("csms", "reference"), ("csms", "echo"), ("reference", "echo")):
        ratios[f"{a}_vs_{b}"] = {
            mix: {
                "calls_per_s": _ratio(
                    mix_value(a, mix, "calls_per_s"), mix_value(b, mix, "calls_per_s")
                ),
                "server_cpu_us_per_call": _ratio(
                    mix_value(a, mix, "server_cpu_us_per_call"),
                    mix_value(b, mix, "server_cpu_us_per_call"),
                ),
            }
            for mix in mixes
        }
    ratios["memory_per_idle_connection"] = {
        "kib": {name: idle_value(name) for name in SERVERS},
        "csms_vs_reference": _ratio(idle_value("csms"), idle_value("reference")),
        "csms_vs_echo": _ratio(idle_value("csms"), idle_value("echo")),
    }
    return ratios


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, kernel, Python and package versions."""
    cpu: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model", "cpu MHz") and key not in cpu:
                cpu[key] = value.strip()
    mem_total = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1]) * 1024
    versions: dict[str, str] = {}
    for package in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return {
        "cpu_model": cpu.get("model name", platform.processor() or "unknown"),
        "cpu_family": cpu.get("cpu family"),
        "cpu_model_number": cpu.get("model"),
        "cpu_mhz": cpu.get("cpu MHz"),
        "cores": os.cpu_count(),
        "memory_bytes": mem_total,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": versions,
    }


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool, labels: int = 1
) -> str:
    """Render rows as an aligned text table or a Markdown table.

    The first ``labels`` columns are text (left-aligned), the others numbers (right-aligned).
    """
    if markdown:
        rule = ["---" if i < labels else "--:" for i in range(len(headers))]
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < labels else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, rows)])


def throughput_rows(report: dict[str, Any]) -> list[list[str]]:
    """Rows of the throughput table."""
    rows: list[list[str]] = []
    for name, server in report["servers"].items():
        if not server["ok"] and not server["mixes"]:
            rows.append([name, "FAILED (see below)", *(["-"] * 7)])
            continue
        for mix, fig in server["mixes"].items():
            lat = fig["latency_ms"]
            rows.append(
                [
                    name,
                    mix,
                    _num(fig["calls_per_s"]),
                    _num(fig["server_cpu_us_per_call"]),
                    _num(fig["server_cpu_util"], 2),
                    _num(fig["client_cpu_util"], 2),
                    _num(lat["p50"], 1),
                    _num(lat["p99"], 1),
                    str(fig["errors_total"]),
                ]
            )
    return rows


THROUGHPUT_HEADERS: Final = (
    "server",
    "mix",
    "calls/s",
    "server CPU µs/call",
    "server util",
    "client util",
    "p50 ms",
    "p99 ms",
    "errors",
)
IDLE_HEADERS: Final = (
    "server",
    "idle conns",
    "RSS before MiB",
    "RSS after MiB",
    "KiB/conn",
    "conn+boot/s",
    "server CPU ms/conn",
    "errors",
)
RATIO_HEADERS: Final = (
    "mix",
    "calls/s csms÷reference",
    "calls/s csms÷echo",
    "CPU/call csms÷reference",
    "CPU/call csms÷echo",
    "calls/s reference÷echo",
)


def idle_rows(report: dict[str, Any]) -> list[list[str]]:
    """Rows of the idle-memory table."""
    rows: list[list[str]] = []
    for name, server in report["servers"].items():
        idle = server.get("idle")
        if not idle:
            continue
        stable = "" if idle["rss_stable"] else " (not stable)"
        rows.append(
            [
                name,
                f"{idle['connections_ok']:,}",
                _num(idle["rss_before_bytes"] / 2**20, 1),
                _num(idle["rss_after_bytes"] / 2**20, 1) + stable,
                _num(idle["kib_per_connection"], 1),
                _num(idle["connections_per_s"]),
                _num(idle["server_cpu_ms_per_connection"], 2),
                str(idle["errors_total"]),
            ]
        )
    return rows


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}x"


def ratio_rows(report: dict[str, Any]) -> list[list[str]]:
    """Rows of the ratio table (one per mix)."""
    ratios = report["ratios"]
    return [
        [
            mix,
            _x(ratios["csms_vs_reference"][mix]["calls_per_s"]),
            _x(ratios["csms_vs_echo"][mix]["calls_per_s"]),
            _x(ratios["csms_vs_reference"][mix]["server_cpu_us_per_call"]),
            _x(ratios["csms_vs_echo"][mix]["server_cpu_us_per_call"]),
            _x(ratios["reference_vs_echo"][mix]["calls_per_s"]),
        ]
        for mix in report["options"]["mixes"]
    ]


def memory_ratio_line(report: dict[str, Any]) -> str:
    """The memory-per-idle-connection comparison as one sentence."""
    mem = report["ratios"]["memory_per_idle_connection"]
    kib = mem["kib"]
    return (
        f"memory per idle connection: csms {_num(kib.get('csms'), 1)} KiB, "
        f"reference {_num(kib.get('reference'), 1)} KiB, echo {_num(kib.get('echo'), 1)} KiB; "
        f"csms÷reference {_x(mem['csms_vs_reference'])}, csms÷echo {_x(mem['csms_vs_echo'])}"
    )


FOREIGN_LOAD_LIMIT: Final = 0.05


def measurement_warnings(report: dict[str, Any]) -> list[str]:
    """Warnings about runs whose figures are disturbed or bound by the load generator."""
    warnings: list[str] = []
    for name, server in report["servers"].items():
        for mix, fig in server["mixes"].items():
            seen = fig.get("interference", {})
            foreign = seen.get("foreign_on_server_core")
            if foreign is not None and foreign > FOREIGN_LOAD_LIMIT:
                warnings.append(
                    f"{name}/{mix}: other processes used {foreign:.0%} of the server core "
                    "during the measured window; figures are disturbed"
                )
            steal = seen.get("steal_on_server_core")
            if steal is not None and steal > FOREIGN_LOAD_LIMIT:
                warnings.append(
                    f"{name}/{mix}: the hypervisor stole {steal:.0%} of the server core during "
                    "the measured window; figures are disturbed"
                )
            server_util = fig.get("server_cpu_util") or 0.0
            client_own = fig.get("client_cpu_util") or 0.0
            client_foreign = seen.get("foreign_on_client_core") or 0.0
            if client_own + client_foreign > 0.9 and server_util < 0.9:
                warnings.append(
                    f"{name}/{mix}: the load generator's core was saturated (load generator "
                    f"{client_own:.0%}, other processes {client_foreign:.0%}) while the server "
                    f"used {server_util:.0%} of its core; calls/s is a lower bound, µs/call "
                    "still holds"
                )
    return warnings


def render_text(report: dict[str, Any]) -> str:
    """The console report."""
    parts = [
        "Throughput (closed loop, server on CPU "
        f"{report['layout']['server_cpu']}, load generator on CPU "
        f"{report['layout']['client_cpu']})",
        render_table(THROUGHPUT_HEADERS, throughput_rows(report), markdown=False, labels=2),
    ]
    rows = idle_rows(report)
    if rows:
        parts += ["", "Memory per idle connection", render_table(IDLE_HEADERS, rows, False)]
    parts += ["", "Ratios", render_table(RATIO_HEADERS, ratio_rows(report), False)]
    parts.append(memory_ratio_line(report))
    warnings = measurement_warnings(report)
    if warnings:
        parts += ["", "Warnings:", *(f"* {w}" for w in warnings)]
    failures = [(n, s["error"]) for n, s in report["servers"].items() if s["error"]]
    for name, error in failures:
        parts += ["", f"{name} FAILED:", error]
    return "\n".join(parts)


def render_markdown(report: dict[str, Any]) -> str:
    """A section ready to paste into docs/performance.md."""
    m = report["machine"]
    o = report["options"]
    packages = ", ".join(f"{k} {v}" for k, v in sorted(m["packages"].items()))
    memory = f"{m['memory_bytes'] / 2**30:.0f} GiB RAM" if m["memory_bytes"] else "RAM n/a"
    cpu = m["cpu_model"]
    if m.get("cpu_family"):
        cpu += f" (family {m['cpu_family']}, model {m['cpu_model_number']}"
        cpu += f", {float(m['cpu_mhz']):.0f} MHz)" if m.get("cpu_mhz") else ")"
    layout = report["layout"]
    pinned = (
        f"server pinned to CPU {layout['server_cpu']}, load generator to CPU {layout['client_cpu']}"
        if layout["server_cpu"] is not None
        else "not pinned (fewer than 2 CPUs)"
    )
    lines = [
        f"## Load benchmark ({report['date']})",
        "",
        "Measured with `benchmarks/run.py` on:",
        "",
        "| Item | Value |",
        "|---|---|",
        f"| Machine | {cpu}, {m['cores']} cores, {memory}, {m['kernel']} |",
        f"| Python | {m['python_implementation']} {m['python']} |",
        f"| Packages | {packages} |",
        f"| Layout | one server process and one load-generator process, {pinned}, loopback |",
        f"| Workload | {o['stations']} stations, each a closed loop of one CALL at a time; "
        f"{o['warmup']:g} s warm-up, {o['duration']:g} s measured |",
        f"| Idle run | {o['idle_connections']:,} connections, each booted once with OCPP 1.6 "
        "then idle; RSS delta after it is stable |",
        "",
        "Command:",
        "",
        "```",
        report["command"],
        "```",
        "",
        "### Throughput and server CPU per call",
        "",
        render_table(THROUGHPUT_HEADERS, throughput_rows(report), markdown=True, labels=2),
        "",
    ]
    rows = idle_rows(report)
    if rows:
        lines += [
            "### Memory per idle connection",
            "",
            render_table(IDLE_HEADERS, rows, markdown=True),
            "",
        ]
    lines += [
        "### csms ratios",
        "",
        render_table(RATIO_HEADERS, ratio_rows(report), markdown=True),
        "",
        "M" + memory_ratio_line(report)[1:] + ".",
        "",
        "Servers:",
        "",
    ]
    for name, server in report["servers"].items():
        command = server.get("command", "n/a")
        status = "" if server["ok"] else " — **failed**: " + server["error"].splitlines()[0]
        lines.append(f"* `{name}`: `{command}`{status}")
    lines += [
        "",
        "Notes:",
        "",
        "* `reference` is mobilityhouse `ocpp` used as its README/examples show (asyncio, "
        '`websockets.serve(on_connect, …, subprotocols=["ocpp1.6", "ocpp2.0.1"])`, one '
        "`ChargePoint` subclass per version, library defaults incl. `ASYNC_VALIDATION`), "
        "without the examples' `logging.basicConfig(level=logging.INFO)`, which logs every "
        "frame; `on_connect` takes one argument as websockets ≥ 14 requires.",
        "* `echo` is python-websockets on uvloop with `compression=None`: the transport "
        "ceiling. The load generator offers no permessage-deflate to any server.",
        "* Server CPU µs/call is the CPU time of the server process (all threads, plus "
        "children) over the measured window divided by the calls answered in it; latency "
        "is closed-loop, so it is queueing-dominated at saturation. Any CALLERROR reply "
        "counts as an error.",
        "* Frame sizes: "
        + ", ".join(
            f"{mix} {fig['frame_bytes']} B"
            for mix, fig in next(
                (s["mixes"] for s in report["servers"].values() if s["mixes"]), {}
            ).items()
        )
        + ".",
        *(f"* Warning: {w}." for w in measurement_warnings(report)),
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 if every server ran without errors, else 1."""
    raw_args = sys.argv[1:] if argv is None else argv
    options = resolve_options(build_parser().parse_args(raw_args))
    signal.signal(signal.SIGTERM, _terminate)
    nofile = raise_nofile_limit()
    server_cpu, client_cpu = choose_cpus()
    if client_cpu is not None:
        # The harness mostly sleeps; keep it off the server's core anyway.
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {client_cpu})
    report: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "benchmarks/run.py", *raw_args]),
        "interpreter": sys.executable,
        "machine": machine_info(),
        "layout": {"server_cpu": server_cpu, "client_cpu": client_cpu, "nofile": nofile},
        "options": {
            "servers": list(options.servers),
            "mixes": list(options.mixes),
            "stations": options.stations,
            "warmup": options.warmup,
            "duration": options.duration,
            "idle_connections": options.idle_connections,
            "call_timeout": options.call_timeout,
            "quick": options.quick,
        },
        "servers": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="csms-bench-"))
    try:
        for name in options.servers:
            report["servers"][name] = bench_server(name, options, workdir, (server_cpu, client_cpu))
    finally:
        if options.keep_workdir:
            print(f"server logs and databases kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report["ratios"] = compute_ratios(report["servers"], options.mixes)
    print()
    print(render_text(report))
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if options.markdown_path is not None:
        options.markdown_path.write_text(render_markdown(report), encoding="utf-8")
    failed = [n for n, s in report["servers"].items() if not s["ok"]]
    errors = sum(
        fig["errors_total"]
        for s in report["servers"].values()
        for fig in [*s["mixes"].values(), *([s["idle"]] if s["idle"] else [])]
    )
    if failed or errors:
        print(
            f"\nRESULT: {len(failed)} server(s) failed ({', '.join(failed) or '-'}), "
            f"{errors} error(s) counted",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
