"""The ``csms simulate`` options and its run loop (the CLI only parses and calls :func:`simulate`).

On a terminal (isatty) progress is one line redrawn every second and only warnings are logged;
otherwise every station event is a log line and a summary line is written every 10 seconds. A run
in which no station was Accepted, or a connection or a message failed, ends with one line per kind
of problem saying what to do (:func:`diagnose`), and ``csms simulate`` exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import ssl
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from csms.domain.tokens import expand_token_pattern
from csms.rpc.versions import OcppVersion
from csms.simulator.fleet import FleetOptions, run_fleet
from csms.simulator.scenarios import Scenario, Timing
from csms.simulator.station import OCPP15J, SOAP_VERSIONS
from csms.simulator.stats import CONNECT_ERROR, Stats

PASSWORD_ENV = "CSMS_SIM_PASSWORD"

# Why a connection failed, by kind (agent.connect_failure), and what to do about it.
CONNECT_HINTS = {
    "http 401": f"wrong or missing password: set {PASSWORD_ENV} (or --password) to the stations' "
    "password",
    "http 404": "unknown station: register it with `csms station add <id>`, or run csms serve "
    "with --unknown-stations pending",
    "http 409": "a station with that identity is already connected to csms",
    "http 429": "csms throttles this address after failed logins: fix the password, then wait",
    "http 403": "not csms's OCPP endpoint (the HTTP API port?): csms serve listens for stations "
    "on --port, 9000 by default",
    "refused": "nothing listens at that address: is csms serve running, are host and port right?",
    "timeout": "no answer in time: is the host reachable?",
    "tls": "TLS failed: give the CSMS's CA with --ca-file (or --insecure in a lab)",
    "subprotocol": "csms does not speak the OCPP version asked for (--versions)",
}
# What a SOAP refusal means where it differs from a refused handshake.
SOAP_HINTS = {
    "http 403": "the station's minimum security profile is above the request's: use an "
    "https:// --soap-url (profile 2)",
}
# Where csms serves OCPP over SOAP unless told otherwise (CSMS_SOAP_PORT's default).
DEFAULT_SOAP_PORT = 9001
# The slow responder's delay: long enough to be noticed, shorter than the usual 30 s call timeout.
SLOW_DELAY = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``csms simulate``."""
    parser.add_argument(
        "url",
        help="the CSMS endpoint, e.g. ws://127.0.0.1:9000/ocpp (http(s)://... when every station "
        "speaks SOAP)",
    )
    parser.add_argument("-n", "--count", type=int, default=1, help="stations (default 1)")
    parser.add_argument("--id-prefix", default="SIM-", help="identity prefix (default SIM-)")
    parser.add_argument("--first", type=int, default=1, help="number of the first station")
    parser.add_argument(
        "--versions",
        default="1.6,2.0.1,2.1",
        help="version mix, assigned round-robin; repeat one to weight it; 1.5 (or 1.5j) is OCPP "
        "1.5 over JSON, 1.5s and 1.6s OCPP over SOAP (default 1.6,2.0.1,2.1)",
    )
    parser.add_argument(
        "--soap-url",
        help="the CSMS's SOAP endpoint for 1.5s/1.6s stations (default: the URL if it is "
        f"http(s)://, else http(s):// on its host, port {DEFAULT_SOAP_PORT})",
    )
    parser.add_argument(
        "--soap-host",
        default="127.0.0.1",
        help="address the SOAP stations' ChargePointService endpoints listen on and announce as "
        "their WS-Addressing From; it must be reachable from csms (default 127.0.0.1)",
    )
    parser.add_argument("--evses", type=int, default=2, help="EVSEs per station (default 2)")
    parser.add_argument(
        "--scenario",
        choices=[s.value for s in Scenario],
        default=Scenario.CHARGE.value,
        help="what each station does (default charge)",
    )
    parser.add_argument(
        "--heartbeat-interval", type=float, help="seconds; default: what the CSMS says at boot"
    )
    parser.add_argument("--meter-interval", type=float, default=10.0, help="seconds (default 10)")
    parser.add_argument("--charge-time", type=float, default=60.0, help="seconds per session")
    parser.add_argument("--idle-time", type=float, default=30.0, help="seconds between sessions")
    parser.add_argument("--offline-time", type=float, default=20.0, help="offline/outage seconds")
    parser.add_argument(
        "--response-delay",
        type=float,
        help=f"seconds before answering the CSMS (default 0; {SLOW_DELAY:g} for --scenario slow)",
    )
    parser.add_argument(
        "--id-tags",
        default="",
        help="comma-separated RFID tags drivers tap, or patterns with {n} (the station number) "
        "and {evse}, e.g. 'TAG-{n}' (register them: csms token add 'TAG-{n}' --count N); "
        "default: made up per station, unknown to a CSMS",
    )
    parser.add_argument("--ramp", type=float, default=0.05, help="seconds between station starts")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--password",
        help=f"Basic auth password of every station (better: the {PASSWORD_ENV} variable)",
    )
    parser.add_argument("--ca-file", help="PEM CA bundle to verify a wss:// CSMS")
    parser.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    parser.add_argument(
        "--log-level", help="DEBUG, INFO, WARNING (default: INFO, or WARNING on a tty)"
    )


def parse_versions(text: str) -> tuple[str, ...]:
    """``1.6,2.0.1,1.5`` → the versions, in order (``1.5``, or ``1.5j``: OCPP 1.5 over JSON,
    the "ocpp1.5" subprotocol, which the ``ocpp`` package does not speak; ``1.5s`` and ``1.6s``:
    OCPP over SOAP; ``1.6j``, ``2.0.1j``, ``2.1j`` are ``1.6``, ``2.0.1``, ``2.1``).

    Raises:
        ValueError: a version csms does not speak.
    """
    versions: list[str] = []
    for part in text.split(","):
        name = part.strip().lower()
        if name in ("1.5", "1.5j"):
            versions.append(OCPP15J)
            continue
        if name in SOAP_VERSIONS:
            versions.append(name)
            continue
        try:
            versions.append(OcppVersion(name.removesuffix("j")))
        except ValueError:
            raise ValueError(
                f"unknown OCPP version {part.strip()!r} (1.5, 1.5s, 1.6, 1.6s, 2.0.1, 2.1)"
            ) from None
    if not versions:
        raise ValueError("no OCPP version given")
    return tuple(versions)


def client_ssl(url: str, *, ca_file: str | None, insecure: bool) -> ssl.SSLContext | None:
    """The TLS context for a ``wss://`` or ``https://`` URL (None for ``ws://``, ``http://``)."""
    if not url.startswith(("wss://", "https://")):
        return None
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # security profile 2 (2.0.1 A00.FR.318)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _check(args: argparse.Namespace) -> None:
    """Refuse what no station could do, before any station starts.

    Raises:
        ValueError: which option is wrong, and why.
    """
    versions = parse_versions(args.versions)
    if any(v not in SOAP_VERSIONS for v in versions) and not args.url.startswith(
        ("ws://", "wss://")
    ):
        raise ValueError(f"the CSMS URL must start with ws:// or wss://, not {args.url!r}")
    if any(v in SOAP_VERSIONS for v in versions) and not soap_url(args).startswith(
        ("http://", "https://")
    ):
        raise ValueError(f"--soap-url must start with http:// or https://, not {args.soap_url!r}")
    if args.count < 1 or args.evses < 1 or args.first < 0:
        raise ValueError("--count and --evses must be at least 1, --first at least 0")
    positive = {
        "--meter-interval": args.meter_interval,
        "--charge-time": args.charge_time,
        "--heartbeat-interval": args.heartbeat_interval,
        "--duration": args.duration,
    }
    not_negative = {
        "--idle-time": args.idle_time,
        "--offline-time": args.offline_time,
        "--response-delay": args.response_delay,
        "--ramp": args.ramp,
    }
    for name, value in positive.items():
        if value is not None and not value > 0:
            raise ValueError(f"{name} must be more than 0, not {value:g}")
    for name, value in not_negative.items():
        if value is not None and not value >= 0:
            raise ValueError(f"{name} must not be negative, not {value:g}")


def soap_url(args: argparse.Namespace) -> str:
    """The CentralSystemService URL of the SOAP stations: ``--soap-url``, else the URL if it is
    http(s)://, else the same host over http(s) at csms's default SOAP port."""
    if args.soap_url:
        return str(args.soap_url)
    url = urlsplit(args.url)
    if url.scheme in ("http", "https"):
        return str(args.url)
    scheme = "https" if url.scheme == "wss" else "http"
    host = url.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{DEFAULT_SOAP_PORT}/"


def options_from(args: argparse.Namespace) -> FleetOptions:
    """Build the fleet options from parsed arguments and the environment.

    Raises:
        ValueError: an option no station could run with.
    """
    _check(args)
    password = args.password or os.environ.get(PASSWORD_ENV)
    scenario = Scenario(args.scenario)
    delay = args.response_delay
    if delay is None:
        delay = SLOW_DELAY if scenario is Scenario.SLOW else 0.0
    return FleetOptions(
        url=args.url,
        count=args.count,
        id_prefix=args.id_prefix,
        first=args.first,
        versions=parse_versions(args.versions),
        evses=args.evses,
        heartbeat_interval=args.heartbeat_interval,
        meter_interval=args.meter_interval,
        password=password,
        ssl=client_ssl(args.url, ca_file=args.ca_file, insecure=args.insecure)
        if args.url.startswith("wss://")
        else None,
        scenario=scenario,
        timing=Timing(
            charge=args.charge_time,
            idle=args.idle_time,
            offline=args.offline_time,
            outage=args.offline_time,
        ),
        response_delay=delay,
        ramp=args.ramp,
        id_tags=_id_tags(args.id_tags),
        soap_url=soap_url(args),
        soap_host=args.soap_host,
        soap_ssl=client_ssl(soap_url(args), ca_file=args.ca_file, insecure=args.insecure),
    )


def _id_tags(text: str) -> tuple[str, ...]:
    """``--id-tags``: the tags or patterns, each pattern checked.

    Raises:
        ValueError: a malformed pattern.
    """
    tags = tuple(t.strip() for t in text.split(",") if t.strip())
    for tag in tags:
        expand_token_pattern(tag, n=1)
    return tags


def diagnose(stats: Stats) -> list[str]:
    """What went wrong in a run, one line each; empty when nothing did (``csms simulate`` then
    exits 0)."""
    problems = []
    for kind, count in sorted(stats.connect_errors().items()):
        hint = CONNECT_HINTS.get(kind, "see the log (--log-level INFO) for the cause")
        problems.append(f"{count} connection(s) failed ({kind}): {hint}")
    calls = {k: v for k, v in stats.errors.items() if not k.startswith(CONNECT_ERROR)}
    # A SOAP station has no handshake: the CSMS refuses its requests instead (http 401...).
    refusals: Counter[str] = Counter()
    for key in list(calls):
        kind = key.partition(":")[2]
        if kind.startswith("http "):
            refusals[kind] += calls.pop(key)
    for kind, count in sorted(refusals.items()):
        hint = SOAP_HINTS.get(kind) or CONNECT_HINTS.get(kind, "see the log for the cause")
        problems.append(f"{count} SOAP request(s) refused ({kind}): {hint}")
    if calls:
        top = ", ".join(f"{k} x{v}" for k, v in Counter(calls).most_common(5))
        problems.append(f"{sum(calls.values())} message(s) answered with an error: {top}")
    if stats.accepted_total == 0:
        problems.append("no station was Accepted by the CSMS")
    return problems


async def simulate(
    options: FleetOptions,
    *,
    duration: float | None,
    terminal: bool,
    write: Callable[[str], None],
) -> Stats:
    """Run the fleet until Ctrl-C, SIGTERM or ``duration``; return the final counters."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    ticks = 0

    def report(stats: Stats) -> None:
        nonlocal ticks
        ticks += 1
        if terminal:
            write("\r\x1b[K" + stats.line())
        elif ticks % 10 == 0:
            write(stats.line() + "\n")

    try:
        stats = await run_fleet(options, stop, report=report)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
    write(("\n" if terminal else "") + "final: " + stats.line() + "\n")
    return stats
