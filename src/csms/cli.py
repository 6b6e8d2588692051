"""The ``csms`` command: ``serve``, ``db upgrade``, ``station add|list``, ``token add|list``,
``transaction open|close``, ``user add|list|disable|enable``, ``api-token rotate|create|list|revoke``
and ``loadtest``.

Settings come from ``CSMS_*`` environment variables (see :mod:`csms.config`); flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import secrets
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from typing import Any

from csms import __version__
from csms.blocks.authorization.commands import add_token
from csms.blocks.transactions.commands import close_transaction, list_open_transactions
from csms.cli_accounts import add_account_parsers
from csms.cli_workers import die_with_parent, supervise
from csms.config import (
    ClusterSettings,
    Settings,
    SettingsError,
    driver_database_url,
    load_settings,
    validate,
)
from csms.container import Csms, StartupError, utc_now
from csms.domain.credentials import WeakPassword, check_password_strength, hash_password
from csms.domain.errors import (
    AmbiguousTransaction,
    StorageError,
    TransactionNotOpen,
    UnknownTransaction,
)
from csms.domain.identity import is_valid_identity
from csms.domain.model import RegistrationStatus, Station, UnknownStationPolicy
from csms.domain.tokens import (
    TOKEN_TYPES,
    UNSTORABLE_TYPES,
    AuthorizationStatus,
    expand_token_pattern,
)
from csms.loadtest.command import add_parser as add_loadtest_parser
from csms.log import configure_logging
from csms.server.gcfreeze import FREEZE_CHECK_INTERVAL, SessionFreezer
from csms.simulator import command as simulator_command
from csms.simulator.stats import Stats
from csms.storage import DatabaseUnavailable, open_store, upgrade
from csms.storage.api_token_file import ApiTokenFile, ApiTokenFileError

# Exit statuses: a setting csms cannot use (argparse uses 2 as well), and what went wrong while
# running with good settings (a port in use, a database that cannot be reached, ...).
EXIT_CONFIGURATION = 2
EXIT_RUNTIME = 1


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fail(message: str, status: int, cause: BaseException | None = None) -> int:
    """One line on stderr instead of a traceback (issue 7 finding 10); return the exit status.

    The traceback of ``cause`` is logged at DEBUG, for ``--log-level DEBUG``.
    """
    if cause is not None:
        logging.getLogger(__name__).debug("what went wrong", exc_info=cause)
    sys.stderr.write(f"csms: error: {message}\n")
    return status


def _run(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run ``main`` on uvloop when available (faster sockets and TLS), else on asyncio."""
    try:
        import uvloop  # noqa: PLC0415 - optional accelerator

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main())


# ---------------------------------------------------------------------------- serve


def _apply_serve_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    server = settings.server
    changes: dict[str, Any] = {}
    for flag, name in (
        ("host", "host"),
        ("port", "port"),
        ("security_profile", "security_profile"),
        ("heartbeat_interval", "heartbeat_interval"),
        ("call_timeout", "call_timeout"),
        ("ping_interval", "ping_interval"),
        ("boot_pacing_rate", "boot_pacing_rate"),
        ("registration_rate", "registration_rate"),
        ("max_pending_registrations", "max_pending_registrations"),
        ("max_connections", "max_connections"),
        ("max_handshakes_per_address", "max_handshakes_per_address"),
        ("iso15118_provider", "iso15118_provider"),
        # security profile 3 (issue 8 block A)
        ("tls_client_ca", "tls_client_ca"),
        ("tls_organization", "tls_organization"),
        ("certificate_signer", "certificate_signer"),
        # tariffs and cost (issue 8 block I)
        ("cost_update_interval", "cost_update_interval"),
        # OCPP over SOAP (issue 12)
        ("soap_port", "soap_port"),
        # per-process cost (issue 11)
        ("max_handshakes", "max_handshakes"),
        ("max_loop_lag", "max_loop_lag"),
        # handshake admission: backpressure before accept (task s12_admission)
        ("max_pending_handshakes", "max_pending_handshakes"),
        ("max_handshake_reads", "max_handshake_reads"),
        # graceful stop (task s13_stop)
        ("stop_close_batch", "stop_close_batch"),
        ("stop_close_timeout", "stop_close_timeout"),
        # workers (issue 11 item 1)
        ("workers", "workers"),
    ):
        value = getattr(args, flag)
        if value is not None:
            changes[name] = value
    changes.update(_tls_flags(args))
    if args.unknown_stations is not None:
        changes["unknown_stations"] = UnknownStationPolicy(args.unknown_stations)
    if args.no_compression:
        changes["compression"] = False
    if args.concurrent_transactions:  # authorization and transactions (issue 8 blocks C/E)
        changes["concurrent_transactions"] = True
    if args.no_ev_charging_schedules:  # ISO 15118 smart charging (issue 8 K15-K17)
        changes["ev_charging_schedules"] = False
    if args.message_log is not None:  # message log (issue 9)
        changes["message_log"] = args.message_log == "on"
    if args.soap:  # OCPP over SOAP (issue 12)
        changes["soap_enabled"] = True
    if args.no_ocpp15_json:  # OCPP 1.5 over JSON (issue 12)
        changes["ocpp15_json"] = False
    if args.no_gc_freeze:  # per-process cost (issue 11)
        changes["gc_freeze"] = False
    api_changes: dict[str, Any] = {}
    if args.api_host is not None:
        api_changes["host"] = args.api_host
    if args.api_port is not None:
        api_changes["port"] = args.api_port
    if args.no_api:
        api_changes["enabled"] = False
    # uploads (issue 7 finding 4): https on the API port (and so the file URLs)
    for flag in ("api_tls_cert", "api_tls_key"):
        if getattr(args, flag) is not None:
            api_changes[flag.removeprefix("api_")] = getattr(args, flag)
    if args.api_auth is not None:
        api_changes["auth"] = args.api_auth
    if args.api_trusted_hosts is not None:
        api_changes["trusted_hosts"] = args.api_trusted_hosts
    # typed commands and jobs (issue 9)
    if args.command_job_max_stations is not None:
        api_changes["command_job_max_stations"] = args.command_job_max_stations
    log_changes: dict[str, Any] = {}
    if args.log_level is not None:
        log_changes["level"] = args.log_level
    if args.log_json:
        log_changes["json"] = True
    if args.log_frames:
        log_changes["frames"] = True
    if args.max_protocol_violations is not None:  # issue 7 finding 5
        changes["max_protocol_violations"] = args.max_protocol_violations
    if args.log_library_level is not None:
        log_changes["library_level"] = args.log_library_level
    db = settings.database
    if args.database_url is not None:
        db = dataclasses.replace(db, url=args.database_url)
    if args.database_pool_size is not None:  # the pool per process (task s12_admission)
        db = dataclasses.replace(db, pool_size=args.database_pool_size)
    files_changes: dict[str, Any] = {}
    if args.data_dir is not None:
        files_changes["data_dir"] = args.data_dir
    if args.files_public_url is not None:
        files_changes["public_url"] = args.files_public_url
    if args.upload_quota is not None:
        files_changes["upload_quota"] = args.upload_quota
    # events (issue 9): the SSE stream and webhooks
    events_changes: dict[str, Any] = {}
    if args.events_max_streams is not None:
        events_changes["max_streams"] = args.events_max_streams
    if args.webhook_allow_http:
        events_changes["webhook_allow_http"] = True
    if args.webhook_block_private:
        events_changes["webhook_block_private"] = True
    result = Settings(
        server=dataclasses.replace(server, **changes),
        database=db,
        api=dataclasses.replace(settings.api, **api_changes),
        log=dataclasses.replace(settings.log, **log_changes),
        files=dataclasses.replace(settings.files, **files_changes),
        events=dataclasses.replace(settings.events, **events_changes),
        cluster=_cluster_flags(settings, args),
    )
    validate(result)
    return result


def _cluster_flags(settings: Settings, args: argparse.Namespace) -> ClusterSettings:
    """--cluster-url, --role, --node-id (issue 11)."""
    changes: dict[str, Any] = {}
    for flag, name in (("cluster_url", "url"), ("role", "role"), ("node_id", "node_id")):
        if getattr(args, flag) is not None:
            changes[name] = getattr(args, flag)
    return dataclasses.replace(settings.cluster, **changes)


def _tls_flags(args: argparse.Namespace) -> dict[str, str]:
    """--tls-cert/--tls-key, given once or twice (an RSA and an ECDSA certificate, A00.FR.317)."""
    certs, keys = args.tls_cert or [], args.tls_key or []
    if len(certs) > 2 or len(keys) > 2:
        raise SettingsError("--tls-cert/--tls-key: at most two (one RSA, one ECDSA)")
    if len(certs) != len(keys):
        raise SettingsError("--tls-cert and --tls-key must be given the same number of times")
    names = (("tls_cert", "tls_key"), ("tls_cert2", "tls_key2"))
    changes: dict[str, str] = {}
    for (cert_name, key_name), cert, key in zip(names, certs, keys, strict=False):
        changes[cert_name], changes[key_name] = cert, key
    return changes


async def _serve(
    settings: Settings,
    demo: int = 0,
    *,
    on_ready: Callable[[], None] | None = None,
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> int:
    csms = Csms(settings)
    stop = asyncio.Event()
    freezer: asyncio.Task[None] | None = None
    loop = asyncio.get_running_loop()
    for sig in signals:
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await csms.start()
        except ApiTokenFileError as exc:
            sys.stderr.write(f"error: API token: {exc} (CSMS_FILES_DATA_DIR, --data-dir)\n")
            return 1
        _show_api_access(csms)
        if settings.server.gc_freeze:
            _freeze_start_up()
            freezer = asyncio.create_task(_freeze_after_bursts(csms))
        if demo:
            await csms.start_demo(demo)
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        if freezer is not None:
            freezer.cancel()
        await csms.close()
    return 0


def _freeze_start_up() -> None:
    """Per-process cost (issue 11): collect once, then move every object alive after start-up
    (modules, schemas, routes, SQLAlchemy's caches) into the permanent generation, so that each
    full collection walks the stations' objects only. Start-up objects live as long as the
    process, so nothing is kept that would otherwise be freed (docs/performance.md)."""
    gc.collect()
    gc.freeze()
    logging.getLogger(__name__).info(
        "garbage collector: %d start-up objects frozen", gc.get_freeze_count()
    )


async def _freeze_after_bursts(csms: Csms) -> None:
    """Per-process cost (issue 11): freeze the sessions' objects once a burst of connections is
    over, so full collections stop walking the fleet (:mod:`csms.server.gcfreeze`)."""
    registry = csms.registry

    def freeze() -> None:
        gc.freeze()
        registry.frozen()

    freezer = SessionFreezer(lambda: len(registry), lambda: registry.ended_frozen, freeze=freeze)
    while True:
        await asyncio.sleep(FREEZE_CHECK_INTERVAL)
        freezer.check()


def _show_api_access(csms: Csms) -> None:
    """Show a newly generated API token once, on the terminal (stderr), never in the log."""
    token, csms.new_api_token = csms.new_api_token, None
    if token is None or csms.api_port is None:
        return
    api = csms.settings.api
    host = "127.0.0.1" if api.host in ("0.0.0.0", "", "*") else api.host
    host = "[::1]" if host == "::" else f"[{host}]" if ":" in host else host
    path = ApiTokenFile(csms.settings.files.data_dir).path
    sys.stderr.write(
        "\n"
        f"  HTTP API token (shown this once; only its digest is kept, in {path}):\n\n"
        f"      {token}\n\n"
        f"  export TOKEN={token}\n"
        f'  curl -H "Authorization: Bearer $TOKEN" http://{host}:{csms.api_port}/api/v1/stations\n'
        "  Lost it? `csms api-token rotate` prints a new one (the old one stops working).\n"
        "  It is the bootstrap admin credential: create accounts with `csms user add` (docs/api.md).\n\n"
    )
    sys.stderr.flush()


def _count(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    settings = _apply_serve_flags(settings, args)
    configure_logging(settings.log)
    if settings.server.workers > 1:
        return _serve_workers(settings, args.demo)
    if args.demo:
        logging.getLogger("csms.simulator").setLevel(logging.WARNING)
    return _run(lambda: _serve(settings, args.demo))


# ---------------------------------------------------------------------------- serve --workers


def _serve_workers(settings: Settings, demo: int) -> int:
    """`csms serve --workers N` (issue 11 item 1): migrate once, then supervise N workers
    (:mod:`csms.cli_workers`)."""
    if sys.platform != "linux":
        raise SettingsError(
            "CSMS_WORKERS (--workers): more than one worker needs Linux (SO_REUSEPORT spreads "
            "connections over processes there only); run one csms per port elsewhere"
        )
    if demo:
        raise SettingsError("--demo runs with one process only, not with CSMS_WORKERS (--workers)")
    if settings.database.migrate:
        url = driver_database_url(settings.database.url)

        async def migrate() -> int:
            await upgrade(url)
            return 0

        _run(migrate)
    status, error = supervise(settings, _worker_main)
    return _fail(error, EXIT_RUNTIME) if error is not None else status


def _worker_main(settings: Settings, name: str, parent: int, report: Connection) -> None:
    """One worker of `csms serve --workers` (a spawned process): serve until SIGTERM; tell the
    supervisor on ``report`` when it is ready, or why it cannot start."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides what a Ctrl-C does
    die_with_parent(parent)
    configure_logging(settings.log)
    _tag_log_lines(name, settings)

    def ready() -> None:
        report.send(("ready", ""))

    try:
        status = _run(lambda: _serve(settings, on_ready=ready, signals=(signal.SIGTERM,)))
    except (StartupError, DatabaseUnavailable, SettingsError) as exc:
        with contextlib.suppress(OSError):
            report.send(("error", str(exc)))
        logging.getLogger(__name__).debug("what went wrong", exc_info=exc)
        status = EXIT_RUNTIME
    finally:
        report.close()
    raise SystemExit(status)


def _tag_log_lines(name: str, settings: Settings) -> None:
    """Plain log lines of a worker say which one wrote them (JSON lines: the node id in the
    cluster's own lines)."""
    if settings.log.json:
        return
    for handler in logging.getLogger().handlers:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)-7s [{name}] %(name)s: %(message)s")
        )


# ---------------------------------------------------------------------------- simulate


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _cmd_simulate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        options = simulator_command.options_from(args)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    terminal = sys.stdout.isatty()
    level = args.log_level or ("WARNING" if terminal else "INFO")
    configure_logging(dataclasses.replace(settings.log, level=level))
    return _run(
        lambda: _simulated(
            simulator_command.simulate(
                options, duration=args.duration, terminal=terminal, write=_write
            )
        )
    )


async def _simulated(run: Coroutine[Any, Any, Stats]) -> int:
    """0 if the run went well; else each problem on stderr and EXIT_RUNTIME."""
    problems = simulator_command.diagnose(await run)
    for problem in problems:
        sys.stderr.write(f"csms simulate: {problem}\n")
    return EXIT_RUNTIME if problems else 0


# ---------------------------------------------------------------------------- db / station


def _database_url(args: argparse.Namespace, settings: Settings) -> str:
    """The URL to open: ``--database-url`` or CSMS_DATABASE_URL, ``postgres://`` taken as
    ``postgresql+asyncpg://`` (said on stderr); raises SettingsError for a URL csms cannot open."""
    given = str(args.database_url or settings.database.url)
    url = driver_database_url(given)
    if url != given:
        sys.stderr.write(
            f"note: CSMS_DATABASE_URL: {given.partition('://')[0]}:// taken as "
            f"{url.partition('://')[0]}://\n"
        )
    return url


def _cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    url = _database_url(args, settings)

    async def main() -> int:
        await upgrade(url)
        return 0

    code = _run(main)
    _out("database is at the latest schema")
    return code


def _cmd_station_add(args: argparse.Namespace, settings: Settings) -> int:
    if not is_valid_identity(args.station_id):
        sys.stderr.write("error: a station id is 1 to 48 printable characters without ':' or '/'\n")
        return 2
    password: bytes | None = None
    if args.password_stdin:
        password = sys.stdin.buffer.readline().rstrip(b"\r\n")
    elif args.generate_password:
        password = secrets.token_urlsafe(18).encode()
    if password is not None:
        try:
            check_password_strength(password)
        except WeakPassword as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
    station = Station(
        id=args.station_id,
        registration_status=RegistrationStatus(args.status.capitalize()),
        password_hash=hash_password(password) if password is not None else None,
        created_at=utc_now(),
    )
    url = _database_url(args, settings)

    async def main() -> int:
        store = await open_store(url)
        try:
            await store.stations.add(station)
        except StorageError:
            sys.stderr.write(f"error: station {station.id!r} already exists\n")
            return 1
        finally:
            await store.aclose()
        return 0

    code = _run(main)
    if code == 0:
        _out(f"station {station.id} added ({station.registration_status.value})")
        if args.generate_password and password is not None:
            _out(f"password: {password.decode()}")
        if password is None:
            sys.stderr.write(
                f"warning: station {station.id} has no password: it cannot connect while csms "
                "runs with security profile 1 or 2 (1 is the default); set one with PATCH "
                f'/api/v1/stations/{station.id} {{"password": ...}} (or register stations '
                "with --generate-password or --password-stdin)\n"
            )
    return code


def _cmd_station_list(args: argparse.Namespace, settings: Settings) -> int:
    url = _database_url(args, settings)

    async def main() -> int:
        store = await open_store(url)
        try:
            for s in await store.stations.list(limit=10_000):
                seen = s.last_seen_at.isoformat() if s.last_seen_at else "-"
                _out(
                    f"{s.id}\t{s.registration_status.value}\t{s.ocpp_version or '-'}\t"
                    f"{'online' if s.online else 'offline'}\t{seen}"
                )
        finally:
            await store.aclose()
        return 0

    return _run(main)


# ---------------------------------------------------------------------------- token / transaction


def _cmd_token_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        expiry = datetime.fromisoformat(args.expiry) if args.expiry else None
    except ValueError:
        sys.stderr.write("error: --expiry must be an ISO 8601 date-time with an offset\n")
        return 2
    if expiry is not None and expiry.tzinfo is None:
        sys.stderr.write("error: --expiry needs an offset, e.g. 2027-01-01T00:00:00Z\n")
        return 2
    url = _database_url(args, settings)

    try:
        names = _token_names(args.id_token, args.count, args.first)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2

    async def main() -> int:
        store = await open_store(url)
        try:
            for name in names:
                token = await add_token(
                    store.tokens,
                    name,
                    now=utc_now(),
                    status=AuthorizationStatus(args.status.capitalize()),
                    expiry_date=expiry,
                    parent_id_token=args.parent,
                    language=args.language,
                    evse_ids=tuple(args.evse or ()),
                    token_type=args.type,
                )
                if len(names) == 1:
                    _out(f"token {token.id_token} stored ({token.status.value})")
        except ValueError as exc:
            sys.stderr.write(f"error: {exc}\n")
            return 2
        finally:
            await store.aclose()
        if len(names) > 1:
            _out(f"tokens {names[0]} .. {names[-1]} stored ({len(names)}, {args.status})")
        return 0

    return _run(main)


def _token_names(pattern: str, count: int | None, first: int) -> list[str]:
    """The tokens ``csms token add`` stores: one, or ``count`` from a ``{n}`` pattern.

    Raises:
        ValueError: --count without a pattern (or a pattern without --count), a bad count.
    """
    expand_token_pattern(pattern, n=first)  # refuses a malformed pattern
    patterned = "{n}" in pattern
    if count is None:
        if patterned:
            raise ValueError(f"{pattern!r} is a pattern: give --count (and --first)")
        return [pattern]
    if not patterned:
        raise ValueError("--count needs a pattern with {n}, e.g. 'TAG-{n}'")
    if not 1 <= count <= 100_000 or first < 0:
        raise ValueError("--count must be 1..100000 and --first at least 0")
    return [expand_token_pattern(pattern, n=n) for n in range(first, first + count)]


def _cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    url = _database_url(args, settings)

    async def main() -> int:
        store = await open_store(url)
        try:
            for t in await store.tokens.list(limit=100_000):
                expiry = t.expiry_date.isoformat() if t.expiry_date else "-"
                _out(f"{t.id_token}\t{t.status.value}\t{expiry}\t{t.parent_id_token or '-'}")
        finally:
            await store.aclose()
        return 0

    return _run(main)


# The columns of ``csms transaction open``, tab-separated (one line of headers first).
# energy_wh: so far, from the register readings received (2.x; "-" for 1.6 until its stop).
_OPEN_COLUMNS = ("transaction", "version", "station", "evse/connector", "id_token", "started",
                 "last_activity", "energy_wh")  # fmt: skip


def _cmd_transaction_open(args: argparse.Namespace, settings: Settings) -> int:
    url = _database_url(args, settings)
    inactive = timedelta(hours=args.inactive_hours) if args.inactive_hours is not None else None

    async def main() -> int:
        store = await open_store(url)
        try:
            found = await list_open_transactions(
                store.charging,
                now=utc_now(),
                inactive_for=inactive,
                station_id=args.station,
                limit=100_000,
            )
        finally:
            await store.aclose()
        _out("\t".join(_OPEN_COLUMNS))
        for t in found:
            where = f"{_or_dash(t.evse_id)}/{_or_dash(t.connector_id)}"
            started = t.started_at.isoformat() if t.started_at else "-"
            last = t.updated_at.isoformat() if t.updated_at else "-"
            cells = (t.transaction_id, t.ocpp_version, t.station_id, where,
                     t.id_token or "-", started, last, _or_dash(t.energy_wh))  # fmt: skip
            _out("\t".join(cells))
        return 0

    return _run(main)


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


def _cmd_transaction_close(args: argparse.Namespace, settings: Settings) -> int:
    url = _database_url(args, settings)

    async def main() -> int:
        store = await open_store(url)
        try:
            closed = await close_transaction(
                store.charging,
                args.transaction_id,
                operator=args.operator,
                reason=args.reason,
                now=utc_now(),
                station_id=args.station,
            )
        except (UnknownTransaction, TransactionNotOpen, AmbiguousTransaction, ValueError) as exc:
            sys.stderr.write(f"error: {type(exc).__name__}: {exc}\n")
            return 1
        finally:
            await store.aclose()
        energy = "" if closed.energy_wh is None else f", {closed.energy_wh} Wh"
        _out(
            f"transaction {closed.transaction_id} of {closed.station_id} closed "
            f"(OCPP {closed.ocpp_version}{energy})"
        )
        return 0

    return _run(main)


# ---------------------------------------------------------------------------- api-token


def _cmd_api_token_rotate(args: argparse.Namespace, settings: Settings) -> int:
    data_dir = args.data_dir or settings.files.data_dir
    stored = ApiTokenFile(data_dir)
    try:
        token = stored.rotate()
    except ApiTokenFileError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    _out(token)  # alone on stdout, so TOKEN=$(csms api-token rotate) works
    sys.stderr.write(
        f"new API token stored (digest in {stored.path}); the old one stops working at once, "
        "and within 1 s for a running csms\n"
    )
    if settings.api.token is not None:
        sys.stderr.write(
            "note: CSMS_API_TOKEN is set here; a csms started with it uses that token instead\n"
        )
    return 0


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``csms`` command."""
    parser = argparse.ArgumentParser(prog="csms", description="OCPP 1.6J / 2.0.1 / 2.1 CSMS")
    parser.add_argument("--version", action="version", version=f"csms {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the OCPP endpoint and the HTTP API")
    serve.add_argument("--host", help="OCPP bind address (CSMS_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="OCPP port (CSMS_PORT, default 9000)")
    serve.add_argument(
        "--soap",
        action="store_true",
        help="also serve ocpp1.5s/ocpp1.6s stations over SOAP (CSMS_SOAP_ENABLED)",
    )
    serve.add_argument(
        "--soap-port", type=int, help="OCPP over SOAP port (CSMS_SOAP_PORT, default 9001)"
    )
    serve.add_argument(
        "--no-ocpp15-json",
        action="store_true",
        help='refuse the unofficial "ocpp1.5" WebSocket subprotocol (CSMS_OCPP15_JSON=false)',
    )
    serve.add_argument("--api-host", help="API bind address (CSMS_API_HOST, default 127.0.0.1)")
    serve.add_argument("--api-port", type=int, help="API port (CSMS_API_PORT, default 8080)")
    serve.add_argument("--no-api", action="store_true", help="do not start the HTTP API")
    # cluster (issue 11)
    serve.add_argument(
        "--cluster-url",
        help="NATS URL(s) of the cluster, comma-separated (CSMS_CLUSTER_URL; default: one process)",
    )
    serve.add_argument(
        "--role",
        choices=("all", "gateway", "api"),
        help="cluster role: stations and API, stations only, API only (CSMS_CLUSTER_ROLE, all)",
    )
    serve.add_argument("--node-id", help="this process's cluster name (CSMS_CLUSTER_NODE_ID)")
    # workers (issue 11 item 1)
    serve.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="N csms processes behind the ports, SO_REUSEPORT, Linux; needs --cluster-url and "
        "PostgreSQL; each worker has its own database pool (--database-pool-size) "
        "(CSMS_WORKERS, default 1)",
    )
    serve.add_argument(
        "--api-auth",
        choices=("token", "none"),
        help="token (default): bearer token on every API route; none: no auth (loopback labs)",
    )
    serve.add_argument(
        "--api-trusted-hosts",
        metavar="HOSTS",
        help="Host headers the API answers, comma-separated (CSMS_API_TRUSTED_HOSTS)",
    )
    serve.add_argument(
        "--command-job-max-stations",
        type=int,
        metavar="N",
        help="stations one command job (fan-out) may target "
        "(CSMS_API_COMMAND_JOB_MAX_STATIONS, default 1000)",
    )
    serve.add_argument("--database-url", help="SQLAlchemy URL (CSMS_DATABASE_URL)")
    serve.add_argument(
        "--database-pool-size",
        type=int,
        metavar="N",
        help="pooled database connections per process, i.e. per --workers worker "
        "(CSMS_DATABASE_POOL_SIZE; default PostgreSQL 5 + CSMS_DATABASE_MAX_OVERFLOW 10, SQLite 8)",
    )
    serve.add_argument(
        "--unknown-stations",
        choices=[p.value for p in UnknownStationPolicy],
        help="unknown identities: reject (404, default), pending or accept",
    )
    serve.add_argument(
        "--security-profile",
        type=int,
        choices=(0, 1, 2, 3),
        help="0 none (trusted networks only), 1 Basic auth (default), 2 TLS + Basic auth, "
        "3 TLS with client certificates",
    )
    serve.add_argument(
        "--tls-cert",
        action="append",
        help="PEM certificate chain for wss:// (profile 2); twice for an RSA and an ECDSA one",
    )
    serve.add_argument(
        "--tls-key", action="append", help="PEM private key for wss://, one per --tls-cert"
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        help="station connections at once (CSMS_MAX_CONNECTIONS; 0: from the open-files limit)",
    )
    serve.add_argument(
        "--max-handshakes-per-address",
        type=int,
        help="handshakes in progress per address or IPv6 /64 (default 32)",
    )
    # per-process cost (issue 11): handshake admission under load, gc.freeze
    serve.add_argument(
        "--max-handshakes",
        type=int,
        help="handshakes in progress before new ones get 503 Retry-After (default 500, 0: off)",
    )
    serve.add_argument(
        "--max-loop-lag",
        type=float,
        help="event-loop lag in seconds above which handshakes get 503 (default 2, 0: off)",
    )
    serve.add_argument(
        "--max-pending-handshakes",
        type=int,
        metavar="N",
        help="connections accepted and not yet upgraded before accept() waits, leaving new ones "
        "in the listen backlog (CSMS_MAX_PENDING_HANDSHAKES; default 0: 2 x --max-handshakes)",
    )
    serve.add_argument(
        "--max-handshake-reads",
        type=int,
        metavar="N",
        help="handshakes waiting in the station read (database pool) counted as saturation "
        "(CSMS_MAX_HANDSHAKE_READS; default 32, 0: off)",
    )
    serve.add_argument(
        "--stop-close-batch",
        type=int,
        metavar="N",
        help="sessions closed at once when stopping (CSMS_STOP_CLOSE_BATCH; default 1000)",
    )
    serve.add_argument(
        "--stop-close-timeout",
        type=float,
        metavar="S",
        help="seconds a station has to answer the close frame when stopping, then it is aborted "
        "(CSMS_STOP_CLOSE_TIMEOUT; default 1)",
    )
    serve.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="do not gc.freeze() after start-up and after bursts of connections",
    )
    serve.add_argument("--heartbeat-interval", type=int, help="seconds (default 300)")
    serve.add_argument("--call-timeout", type=float, help="seconds to wait for a station's reply")
    serve.add_argument("--ping-interval", type=float, help="seconds between server pings")
    serve.add_argument(
        "--boot-pacing-rate", type=float, help="BootNotifications accepted per second (0: all)"
    )
    serve.add_argument(
        "--registration-rate",
        type=float,
        help="self-registrations of unknown stations per second (CSMS_REGISTRATION_RATE, default "
        "2; 0: no pacing, for load tests on a lab csms)",
    )
    serve.add_argument(
        "--max-pending-registrations",
        type=int,
        help="stations in Pending at most before self-registration gets 503 "
        "(CSMS_MAX_PENDING_REGISTRATIONS, default 1000)",
    )
    serve.add_argument(
        "--iso15118-provider",
        help="answers Get15118EVCertificate/GetCertificateStatus: none (default), builtin or "
        "module:attribute (CSMS_ISO15118_PROVIDER)",
    )
    # ISO 15118 smart charging (issue 8 K15-K17)
    serve.add_argument(
        "--no-ev-charging-schedules",
        action="store_true",
        help="answer NotifyEVChargingNeeds Rejected instead of with a TxProfile planned within the "
        "EVSE's limits (CSMS_EV_CHARGING_SCHEDULES=false)",
    )
    # security profile 3 (issue 8 block A)
    serve.add_argument(
        "--tls-client-ca",
        help="PEM bundle of the CAs of station certificates: required under profile 3 (default the "
        "built-in CA), optional (mixed mode) under profile 2 (CSMS_TLS_CLIENT_CA)",
    )
    serve.add_argument(
        "--tls-organization",
        help="the O a station certificate must carry (A00.FR.404; CSMS_TLS_ORGANIZATION)",
    )
    serve.add_argument(
        "--certificate-signer",
        help="signs station CSRs: builtin (default) or module:attribute (CSMS_CERTIFICATE_SIGNER)",
    )
    serve.add_argument("--no-compression", action="store_true", help="do not offer deflate")
    serve.add_argument(
        "--concurrent-transactions",
        action="store_true",
        help="a token may run several 2.x transactions at once: a TransactionEvent Started is "
        "never ConcurrentTx (CSMS_CONCURRENT_TRANSACTIONS)",
    )
    # events (issue 9): the SSE stream and webhooks
    serve.add_argument(
        "--events-max-streams",
        type=int,
        help="concurrent SSE streams on /api/v1/events; more get 503 (CSMS_EVENTS_MAX_STREAMS)",
    )
    serve.add_argument(
        "--webhook-allow-http",
        action="store_true",
        help="allow http:// webhook URLs on hosts other than loopback "
        "(CSMS_EVENTS_WEBHOOK_ALLOW_HTTP)",
    )
    serve.add_argument(
        "--webhook-block-private",
        action="store_true",
        help="refuse webhook targets resolving to private, loopback or link-local addresses "
        "(CSMS_EVENTS_WEBHOOK_BLOCK_PRIVATE)",
    )
    serve.add_argument(
        "--cost-update-interval",
        type=float,
        help="seconds between CostUpdated rounds to 2.x stations charging on a tariff, 0: none "
        "(default 60; CSMS_COST_UPDATE_INTERVAL)",
    )
    serve.add_argument(
        "--message-log",
        choices=("on", "off"),
        help="keep every OCPP frame, searchable at /api/v1/messages (CSMS_MESSAGE_LOG, default on)",
    )
    serve.add_argument(
        "--log-level", help="csms's loggers: DEBUG, INFO (default), WARNING, ERROR (CSMS_LOG_LEVEL)"
    )
    serve.add_argument(
        "--log-library-level",
        help="SQLAlchemy, websockets, uvicorn...: WARNING (default), INFO, DEBUG "
        "(CSMS_LOG_LIBRARY_LEVEL)",
    )
    serve.add_argument("--log-json", action="store_true", help="log JSON lines")
    serve.add_argument(
        "--log-frames",
        action="store_true",
        help="log every OCPP frame at INFO on csms.frames, whatever --log-level (CSMS_LOG_FRAMES)",
    )
    serve.add_argument(
        "--max-protocol-violations",
        type=int,
        help="close a station after this many violations per CSMS_PROTOCOL_VIOLATION_WINDOW"
        " (CSMS_MAX_PROTOCOL_VIOLATIONS, default 50)",
    )
    serve.add_argument(
        "--data-dir", help="firmware, uploads and CA key (CSMS_FILES_DATA_DIR, default ./var)"
    )
    serve.add_argument(
        "--files-public-url",
        help="base URL stations use for file transfers (CSMS_FILES_PUBLIC_URL)",
    )
    # uploads (issue 7 finding 4)
    serve.add_argument(
        "--api-tls-cert", help="PEM certificate chain: serve the API and /files over https"
    )
    serve.add_argument("--api-tls-key", help="PEM private key for --api-tls-cert")
    serve.add_argument(
        "--upload-quota",
        type=int,
        help="bytes all stations' uploads may take (CSMS_FILES_UPLOAD_QUOTA, default 10 GiB)",
    )
    serve.add_argument(
        "--demo",
        type=_count,
        default=0,
        metavar="N",
        help="also run N simulated stations (DEMO-n)",
    )
    serve.set_defaults(func=_cmd_serve)

    simulate = sub.add_parser("simulate", help="run simulated charging stations against a CSMS")
    simulator_command.add_arguments(simulate)
    simulate.set_defaults(func=_cmd_simulate)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply all migrations")
    up.add_argument("--database-url")
    up.set_defaults(func=_cmd_db_upgrade)

    station = sub.add_parser("station", help="manage registered stations")
    st_sub = station.add_subparsers(dest="station_command", required=True)
    add = st_sub.add_parser("add", help="register a station")
    add.add_argument("station_id")
    add.add_argument("--status", choices=("accepted", "pending", "rejected"), default="accepted")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true", help="read the password")
    secret.add_argument("--generate-password", action="store_true", help="generate and print one")
    add.add_argument("--database-url")
    add.set_defaults(func=_cmd_station_add)
    ls = st_sub.add_parser("list", help="list stations")
    ls.add_argument("--database-url")
    ls.set_defaults(func=_cmd_station_list)

    token = sub.add_parser("token", help="manage id tokens (1.6 idTag, 2.x idToken)")
    tk_sub = token.add_subparsers(dest="token_command", required=True)
    tk_add = tk_sub.add_parser("add", help="add a token, or replace what is stored for it")
    tk_add.add_argument("id_token", help="the token, or a pattern with {n} and --count")
    tk_add.add_argument(
        "--count", type=int, help="store this many tokens from the {n} pattern, e.g. 'TAG-{n}'"
    )
    tk_add.add_argument("--first", type=int, default=1, help="the first {n} (default 1)")
    tk_add.add_argument("--status", choices=("accepted", "blocked", "invalid"), default="accepted")
    tk_add.add_argument("--expiry", help="ISO 8601 date-time with offset; Expired after it")
    tk_add.add_argument("--parent", help="parent (group) token")
    tk_add.add_argument(
        "--type",
        choices=sorted(TOKEN_TYPES - UNSTORABLE_TYPES),
        help="2.x IdTokenEnumType; default none: a 1.6 idTag, matched whatever type is presented",
    )
    tk_add.add_argument(
        "--language", help="the driver's language (2.x idTokenInfo language1, e.g. 'de')"
    )
    tk_add.add_argument(
        "--evse",
        type=int,
        action="append",
        help="valid only at this EVSE (repeat for several; 2.x idTokenInfo evseId); default: all",
    )
    tk_add.add_argument("--database-url")
    tk_add.set_defaults(func=_cmd_token_add)
    tk_ls = tk_sub.add_parser("list", help="list tokens")
    tk_ls.add_argument("--database-url")
    tk_ls.set_defaults(func=_cmd_token_list)

    tx = sub.add_parser("transaction", help="find and close transactions left open (1.6 and 2.x)")
    tx_sub = tx.add_subparsers(dest="transaction_command", required=True)
    tx_open = tx_sub.add_parser("open", help="list open transactions, least recently active first")
    tx_open.add_argument("--inactive-hours", type=float, help="only those silent this long")
    tx_open.add_argument("--station", help="only this station's")
    tx_open.add_argument("--database-url")
    tx_open.set_defaults(func=_cmd_transaction_open)
    tx_close = tx_sub.add_parser("close", help="close an open transaction (audited)")
    tx_close.add_argument(
        "transaction_id", help="a 1.6 transactionId (a number) or a 2.x transactionId (text)"
    )
    tx_close.add_argument("--operator", required=True)
    tx_close.add_argument("--reason", required=True)
    tx_close.add_argument("--station", help="the station, when the id is open on several")
    tx_close.add_argument("--database-url")
    tx_close.set_defaults(func=_cmd_transaction_close)
    api_token = sub.add_parser("api-token", help="manage HTTP API tokens")
    at_sub = api_token.add_subparsers(dest="api_token_command", required=True)
    rotate = at_sub.add_parser("rotate", help="replace the API token and print the new one")
    rotate.add_argument("--data-dir", help="csms's data directory (CSMS_FILES_DATA_DIR, ./var)")
    rotate.set_defaults(func=_cmd_api_token_rotate)
    add_account_parsers(sub, at_sub)  # user add|list|disable, api-token create|list|revoke
    add_loadtest_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``csms`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(os.environ)
        return int(args.func(args, settings))
    except SettingsError as exc:  # a value csms cannot use: like argparse's errors, SystemExit(2)
        raise SystemExit(_fail(str(exc), EXIT_CONFIGURATION)) from None
    except StartupError as exc:  # the settings are fine, the machine is not (port in use, ...)
        return _fail(str(exc), EXIT_RUNTIME, exc)
    except DatabaseUnavailable as exc:  # db upgrade, station/token/transaction commands
        return _fail(f"CSMS_DATABASE_URL (--database-url): {exc}", EXIT_RUNTIME, exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
