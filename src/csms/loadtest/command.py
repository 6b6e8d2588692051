"""The ``csms loadtest URL`` sub-command: options, progress output, text and JSON reports."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from csms.loadtest.addresses import DEFAULT_STATIONS_PER_ADDRESS
from csms.loadtest.config import ConfigError, LoadConfig, parse_version_mix
from csms.loadtest.report import render_text
from csms.loadtest.runner import LoadTestError, run_loadtest

DESCRIPTION = """\
Simulate N charging stations against any OCPP-J CSMS (URL is the base; the station id is
appended). Stations connect at --rate per second, boot (BootNotification + StatusNotification
per connector), then send Heartbeats; --charging F makes a fraction F run sessions with
MeterValues (1.6) / TransactionEvent (2.x) every --meter-interval s; --storm-after S drops every
connection at S s so the whole fleet reconnects and boots again at once. Versions 1.5s and 1.6s
are OCPP over SOAP: the same 1.6 scenario POSTed to csms's SOAP endpoint (--soap-url), reported
as soap:<action> rows and SOAP CALL/s. Reports throughput, latency p50/p95/p99/max per action,
errors, timeouts, connections held and, with --server-pid, the server's memory and CPU. Exit
status 0 only if there was no error and no timeout."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``loadtest`` on the ``csms`` sub-command parser."""
    p = sub.add_parser(
        "loadtest",
        help="simulate a fleet of stations against a CSMS",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="e.g. ws://127.0.0.1:9000/ocpp (http(s):// for SOAP-only fleets)")
    p.add_argument("-n", "--stations", type=int, default=100)
    p.add_argument("--rate", type=float, default=200.0, help="new stations per second")
    p.add_argument(
        "--versions",
        default="1.6",
        help="OCPP version mix, e.g. 1.6=50,2.0.1=30,2.1=20; 1.5 is 1.5 over JSON, 1.5s and 1.6s "
        "OCPP over SOAP",
    )
    p.add_argument(
        "--soap-url",
        help="csms's SOAP endpoint for 1.5s/1.6s stations (default: the URL if http(s)://, else "
        "http(s):// on its host, port 9001)",
    )
    p.add_argument("--charging", type=float, default=0.0, help="fraction in sessions (0..1)")
    p.add_argument(
        "--heartbeat-interval", type=float, help="seconds (default: the BootNotification's)"
    )
    p.add_argument("--meter-interval", type=float, default=60.0, help="seconds")
    p.add_argument("--session-length", type=float, default=600.0, help="seconds (0: endless)")
    p.add_argument(
        "--no-start-stop",
        action="store_true",
        help="1.6 sessions without StartTransaction/StopTransaction (MeterValues only)",
    )
    p.add_argument("--connectors", type=int, default=1, help="connectors (EVSEs) per station")
    p.add_argument("-d", "--duration", type=float, default=60.0, help="seconds, ramp included")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds before measuring")
    p.add_argument(
        "--measure-for",
        type=float,
        help="seconds the measured window lasts (default: until the end); the run goes on",
    )
    p.add_argument("--storm-after", type=float, help="drop every connection after S seconds")
    p.add_argument("--call-timeout", type=float, default=30.0)
    p.add_argument("--open-timeout", type=float, default=30.0)
    p.add_argument("--retry-wait-min", type=float, default=1.0, help="RetryBackOffWaitMinimum (s)")
    p.add_argument(
        "--retry-random-range", type=float, default=2.0, help="RetryBackOffRandomRange (s)"
    )
    p.add_argument("--retry-repeat", type=int, default=3, help="RetryBackOffRepeatTimes")
    p.add_argument(
        "--honour-retry-after",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after a 503/429 upgrade answer, wait its Retry-After (plus 0..--retry-random-range "
        "s) before the next attempt instead of the back-off (default: on)",
    )
    p.add_argument("--id-pattern", default="lt-{n:06d}", help="station ids; {n} is the index")
    p.add_argument(
        "--password",
        help="Basic-auth password pattern with {id} and {n} (default: derived per station "
        "from --password-secret)",
    )
    p.add_argument("--password-secret", default="csms-bench")
    p.add_argument("--no-auth", action="store_true", help="send no Authorization header")
    p.add_argument(
        "--stations-per-address",
        type=int,
        default=DEFAULT_STATIONS_PER_ADDRESS,
        help="stations per 127.x.y.z source address on loopback",
    )
    p.add_argument(
        "--source-address",
        action="append",
        default=[],
        help="local address to bind (repeat for several; default: automatic on loopback)",
    )
    p.add_argument("--insecure", action="store_true", help="wss:// without certificate checks")
    p.add_argument("--workers", type=int, default=1, help="processes to spread the stations")
    p.add_argument("--server-pid", type=int, help="meter this local server process (psutil)")
    p.add_argument("--json", type=Path, help="write the full result as JSON here")
    p.add_argument("--progress-interval", type=float, help="seconds (default 0.5 tty, 5 else)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=_from_csms_cli)


def _from_csms_cli(args: argparse.Namespace, _settings: object) -> int:
    """``csms`` calls sub-commands with its settings; a load test needs none of them."""
    return run_command(args)


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    """Build and check the configuration (raises ConfigError)."""
    config = LoadConfig(
        url=args.url,
        stations=args.stations,
        rate=args.rate,
        versions=parse_version_mix(args.versions),
        charging=args.charging,
        heartbeat_interval=args.heartbeat_interval,
        meter_interval=args.meter_interval,
        session_length=args.session_length,
        start_stop_16=not args.no_start_stop,
        connectors=args.connectors,
        duration=args.duration,
        warmup=args.warmup,
        measure_for=args.measure_for,
        storm_after=args.storm_after,
        call_timeout=args.call_timeout,
        open_timeout=args.open_timeout,
        retry_wait_min=args.retry_wait_min,
        retry_random_range=args.retry_random_range,
        retry_repeat=args.retry_repeat,
        honour_retry_after=args.honour_retry_after,
        id_pattern=args.id_pattern,
        password=args.password,
        password_secret=args.password_secret,
        auth=not args.no_auth,
        per_address=args.stations_per_address,
        source_addresses=tuple(args.source_address),
        insecure=args.insecure,
        seed=args.seed,
        soap_url=args.soap_url,
    )
    config.check()
    return config


def run_command(
    args: argparse.Namespace,
    out: Callable[[str], None] | None = None,
    err: Callable[[str], None] | None = None,
) -> int:
    """Run ``csms loadtest``; 0 = no errors, 1 = errors or timeouts, 2 = bad options."""
    write_out = out or (lambda text: sys.stdout.write(text + "\n"))
    tty = sys.stderr.isatty()

    def write_err(text: str) -> None:
        if err is not None:
            err(text)
        elif tty:
            sys.stderr.write(text)
            sys.stderr.flush()
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    try:
        config = config_from_args(args)
    except ConfigError as exc:
        write_err(f"error: {exc}")
        return 2
    interval = args.progress_interval or (0.5 if tty else 5.0)
    try:
        result = run_loadtest(
            config,
            workers=args.workers,
            server_pid=args.server_pid,
            write_progress=None if args.quiet else write_err,
            tty=tty and err is None,
            interval=interval,
        )
    except LoadTestError as exc:
        write_err(f"error: {exc}")
        return 1
    if tty and err is None and not args.quiet:
        sys.stderr.write("\n")
    for line in render_text(result):
        write_out(line)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if result["errors_total"] == 0 and result["timeouts_total"] == 0 else 1
