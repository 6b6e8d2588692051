"""Composition root: settings → storage → blocks → dispatcher → station gateway + HTTP API.

The only place where concrete classes meet. :class:`Csms` owns every long-lived resource and closes
them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import socket
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import uvicorn
from argon2 import PasswordHasher

from csms import __version__ as csms_version
from csms.api.app import create_app
from csms.api.hosts import default_trusted_hosts
from csms.api.identity import Identity, IdentitySettings
from csms.api.intents.jobs import JobLimits, JobRunner
from csms.api.intents.registry import IntentServices
from csms.api.metrics import MetricsSources
from csms.api.routes.events import EventsApi
from csms.api.routes.files import FilesApi
from csms.api.routes.health import DatabaseProbe
from csms.api.routes.ledger_context import TransactionsApi
from csms.api.routes.tariffs import TariffsApi
from csms.api.routes.tokens import TokensApi
from csms.api.routes.typed_commands import CommandsApi
from csms.blocks.authorization import AuthorizationBlock
from csms.blocks.authorization.cache import COMMANDS as AUTHORIZATION_COMMANDS
from csms.blocks.availability import AvailabilityBlock
from csms.blocks.availability.commands import COMMANDS as AVAILABILITY_COMMANDS
from csms.blocks.datatransfer import DataTransferBlock, DataTransferRegistry
from csms.blocks.datatransfer.commands import COMMANDS as DATA_TRANSFER_COMMANDS
from csms.blocks.datatransfer.loading import build_registry
from csms.blocks.diagnostics import DiagnosticsBlock
from csms.blocks.diagnostics.commands import COMMANDS as DIAGNOSTICS_COMMANDS
from csms.blocks.diagnostics.customer import CustomerInformationBlock
from csms.blocks.diagnostics.monitoring import MonitoringBlock
from csms.blocks.diagnostics.monitoring_commands import COMMANDS as MONITORING_COMMANDS
from csms.blocks.dispatch import Dispatcher, ViolationBudget
from csms.blocks.displaymessage import DisplayMessageBlock
from csms.blocks.displaymessage.commands import COMMANDS as DISPLAY_MESSAGE_COMMANDS
from csms.blocks.file_service import FileService
from csms.blocks.firmware import FirmwareBlock
from csms.blocks.firmware.commands import COMMANDS as FIRMWARE_COMMANDS
from csms.blocks.firmware.publish import PublishFirmwareBlock
from csms.blocks.firmware.publish_commands import COMMANDS as PUBLISH_FIRMWARE_COMMANDS
from csms.blocks.localauthlist import COMMANDS as LOCAL_LIST_COMMANDS
from csms.blocks.provisioning import ProvisioningBlock
from csms.blocks.provisioning.commands import COMMANDS as PROVISIONING_COMMANDS
from csms.blocks.provisioning.device_model import DeviceModelBlock
from csms.blocks.provisioning.network_profile import COMMANDS as NETWORK_PROFILE_COMMANDS
from csms.blocks.provisioning.pacing import BootPacer
from csms.blocks.provisioning.report_commands import COMMANDS as REPORT_COMMANDS
from csms.blocks.remotecontrol.commands import COMMANDS as REMOTE_CONTROL_COMMANDS
from csms.blocks.reservation.commands import COMMANDS as RESERVATION_COMMANDS
from csms.blocks.reservation.handlers import ReservationBlock
from csms.blocks.routing import Router, tagged_actions
from csms.blocks.security import SecurityBlock
from csms.blocks.security.commands import COMMANDS as SECURITY_COMMANDS
from csms.blocks.security.iso15118 import Iso15118CertificateBlock
from csms.blocks.security.iso15118_loading import ProviderConfigError, load_provider
from csms.blocks.security.signer_loading import SignerConfigError, load_signer
from csms.blocks.smartcharging import COMMANDS as SMART_CHARGING_COMMANDS
from csms.blocks.smartcharging.commands import SmartChargingCommands
from csms.blocks.smartcharging.ev_schedule import EvChargingScheduler
from csms.blocks.smartcharging.handlers import SmartChargingReportsBlock
from csms.blocks.smartcharging.report_commands import COMMANDS as CHARGING_PROFILE_REPORT_COMMANDS
from csms.blocks.tariff import COMMANDS as TARIFF_COMMANDS
from csms.blocks.tariff import CostUpdateSender, TariffPricer
from csms.blocks.transactions import TransactionsBlock, TransactionsV16Block
from csms.blocks.transactions.status_command import COMMANDS as TRANSACTION_STATUS_COMMANDS
from csms.config import ApiSettings, Settings, SettingsError, driver_database_url
from csms.dashboard import install_dashboard
from csms.domain.api_credentials import ApiCredentials
from csms.domain.charging_ports import (
    ChargingTransactionRepository,
    IdTokenRepository,
    ReservationRepository,
)
from csms.domain.credentials import hash_password
from csms.domain.devicemodel import DeviceModelRepository
from csms.domain.events import EventPublisher
from csms.domain.files import FileRepository
from csms.domain.iso15118 import Iso15118CertificateProvider
from csms.domain.messagelog import Retention
from csms.domain.metrics import ServerStats
from csms.domain.model import RegistrationStatus, Station
from csms.domain.notifications import NotificationLog
from csms.domain.operator_passwords import OperatorPasswords
from csms.domain.ports import StationGateway, StationRepository, TransactionRepository
from csms.domain.security import CertificateAuthority, SecurityRepository
from csms.domain.smartcharging import ChargingProfileRepository
from csms.domain.tokens import IdToken
from csms.events import (
    EmittingCharging,
    EmittingFiles,
    EmittingSecurity,
    EmittingStations,
    EmittingTransactions,
    EventingGateway,
    InProcessBus,
    MeterSampler,
    WebhookDispatcher,
    WebhookOptions,
)
from csms.log import LogLimiter
from csms.messages import MessageValidator
from csms.pki import (
    BuiltinCertificateAuthority,
    BuiltinIso15118Provider,
    CertificateAuthorityByType,
    PreEncodedExiResponses,
    V2GRootAuthority,
)
from csms.rpc import ALL_VERSIONS, OcppVersion
from csms.server.listener import StationListener
from csms.server.message_log import MessageLogRecorder
from csms.server.registry import ConnectionRegistry
from csms.server.tls import TlsConfigError, server_context
from csms.simulator import FleetOptions, Timing, run_fleet
from csms.soap.app import SoapEndpoint
from csms.soap.gateway import SoapGateway
from csms.soap.outbound import CombinedGateway, SoapStations
from csms.soap.presence import PresenceTable
from csms.storage import (
    DatabaseUnavailable,
    PoolSizing,
    SqlWebhookRepository,
    Store,
    open_store,
)
from csms.storage.api_token_file import ApiTokenFile
from csms.storage.blobs import DiskBlobStore

if TYPE_CHECKING:  # the cluster (and NATS) is imported only by a clustered csms: see _join
    from csms.cluster import ClusterBus, ClusterNode

logger = logging.getLogger(__name__)


class StartupError(Exception):
    """csms cannot start with these settings here: one line naming the setting and what to do.

    The CLI prints it instead of a traceback (issue 7 finding 10).
    """


def _bind_error(exc: OSError, host: str, port: int, settings: tuple[str, str]) -> StartupError:
    """Why ``host:port`` could not be bound, naming the setting (``settings``: the host's and the
    port's, e.g. ``("CSMS_HOST (--host)", "CSMS_PORT (--port)")``) and what to do."""
    host_setting, port_setting = settings
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        text = f"{port_setting}: {where} is already in use (another csms?): stop it or choose another port"
    elif exc.errno == errno.EACCES:
        text = (
            f"{port_setting}: not allowed to listen on {where} (ports below 1024 need privileges)"
        )
    elif exc.errno == errno.EADDRNOTAVAIL:
        text = f"{host_setting}: {host} is not an address of this machine"
    elif isinstance(exc, socket.gaierror):
        text = f"{host_setting}: unknown host name {host!r} ({exc.strerror})"
    else:
        text = f"{host_setting}/{port_setting}: cannot listen on {where}: {exc.strerror or exc}"
    return StartupError(text)


def _check_tls_files(cert: str | None, key: str | None) -> None:
    """Refuse a TLS certificate or key csms cannot read, before the database is opened."""
    for path, name, flag in (
        (cert, "CSMS_TLS_CERT", "--tls-cert"),
        (key, "CSMS_TLS_KEY", "--tls-key"),
    ):
        if path is not None and not os.access(path, os.R_OK):
            reason = "no such file" if not os.path.exists(path) else "not readable"
            raise StartupError(f"{name} ({flag}): {path}: {reason}; give a PEM file csms can read")


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


def build_router(
    stations: StationRepository,
    transactions: TransactionRepository,
    settings: Settings,
    clock: Callable[[], datetime] = utc_now,
    *,
    files: FileRepository | None = None,
    security: SecurityBlock | None = None,
    data_transfer: DataTransferRegistry | None = None,
    tokens: IdTokenRepository | None = None,
    charging: ChargingTransactionRepository | None = None,
    charging_profiles: ChargingProfileRepository | None = None,
    reservations: ReservationRepository | None = None,
    device_model: DeviceModelRepository | None = None,
    notifications: NotificationLog | None = None,
    iso15118_provider: Iso15118CertificateProvider | None = None,
    pricer: TariffPricer | None = None,
    ev_scheduler: EvChargingScheduler | None = None,
) -> Router:
    """Assemble the blocks csms runs.

    Firmware/diagnostics run with ``files``, security with ``security``; ``data_transfer`` is the
    set of vendor handlers of station DataTransfer, by default those configured
    (``CSMS_DATA_TRANSFER_HANDLERS``) and installed (entry points). Authorize runs with
    ``tokens``, 1.6 Start/StopTransaction (and de-duplicated 1.6 MeterValues) with ``charging``;
    a 1.6 StopTransaction ends the EVSE's TxProfiles in ``charging_profiles``; a 2.x
    TransactionEvent naming a reservation uses it up in ``reservations``; 2.x NotifyReport,
    NotifyEvent and NotifyMonitoringReport are stored in ``device_model``; the other 2.x reports
    (charging limits and profiles, EV charging needs, display messages, customer information,
    firmware publication, ISO 15118 certificate requests, reservation updates) in
    ``notifications``, ISO 15118 certificate requests answered by ``iso15118_provider``; with
    ``pricer``, 2.x Authorize and TransactionEvent answers carry tariff texts and costs (block I).
    ``notifications``, ISO 15118 certificate requests answered by ``iso15118_provider``, EV
    charging needs answered with a TxProfile by ``ev_scheduler`` (K15-K17).
    """
    server = settings.server
    extra: list[object] = []
    if files is not None:
        extra += [FirmwareBlock(files, clock=clock), DiagnosticsBlock(files, clock=clock)]
    if security is not None:
        extra.append(security)
    if tokens is not None:
        extra.append(AuthorizationBlock(tokens, clock=clock, pricer=pricer))
    if charging is not None:
        extra.append(TransactionsV16Block(charging, clock=clock, profiles=charging_profiles))
    if device_model is not None:
        extra += [
            DeviceModelBlock(device_model, clock=clock),
            MonitoringBlock(device_model, clock=clock),
        ]
    if notifications is not None:
        extra += [
            SmartChargingReportsBlock(notifications, clock=clock, ev_scheduler=ev_scheduler),
            DisplayMessageBlock(notifications, clock=clock),
            CustomerInformationBlock(notifications, clock=clock),
            PublishFirmwareBlock(notifications, clock=clock, files=files),
            Iso15118CertificateBlock(notifications, clock=clock, provider=iso15118_provider),
        ]
        if reservations is not None:
            extra.append(ReservationBlock(reservations, notifications, clock=clock))
    return Router.from_blocks(
        ProvisioningBlock(
            stations,
            clock=clock,
            heartbeat_interval=server.heartbeat_interval,
            boot_retry_interval=server.boot_retry_interval,
            pacer=BootPacer(server.boot_pacing_rate) if server.boot_pacing_rate > 0 else None,
        ),
        AvailabilityBlock(stations, clock=clock, charging=charging),
        TransactionsBlock(
            transactions,
            charging=charging,
            reservations=reservations,
            clock=clock,
            concurrent_transactions=server.concurrent_transactions,
            pricer=pricer,
        ),
        DataTransferBlock(data_transfer or build_registry(server.data_transfer_handlers)),
        *extra,
    )


def build_security_block(
    security: SecurityRepository,
    gateway: StationGateway,
    settings: Settings,
    *,
    ca: CertificateAuthority | None = None,
    v2g: CertificateAuthority | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> SecurityBlock:
    """The security block with the CSMS_CERTIFICATE_SIGNER signer unless ``ca`` is given.

    V2GCertificate CSRs go to ``v2g`` (default: the built-in V2G root in the data directory).
    """
    if ca is None:
        ca = build_certificate_signer(settings)
    if v2g is None:
        v2g = V2GRootAuthority(Path(settings.files.data_dir) / "v2g")
    return SecurityBlock(
        security,
        gateway,
        ca=CertificateAuthorityByType(ca, v2g),
        clock=clock,
        call_timeout=settings.server.call_timeout,
    )


def build_certificate_signer(settings: Settings) -> CertificateAuthority:
    """The signer of station CSRs ``CSMS_CERTIFICATE_SIGNER`` names (A02/A03): the built-in CA in
    ``<data_dir>/ca`` or an operator's ``module:attribute``.

    Raises:
        SettingsError: a ``module:attribute`` signer cannot be loaded.
    """
    name = settings.server.certificate_signer.strip()
    if name == "builtin":
        return BuiltinCertificateAuthority(Path(settings.files.data_dir) / "ca")
    try:
        return load_signer(name)
    except SignerConfigError as exc:
        raise SettingsError(f"CSMS_CERTIFICATE_SIGNER: {exc}") from exc


async def station_client_ca(settings: Settings, signer: CertificateAuthority) -> str | None:
    """The CAs of station certificates: CSMS_TLS_CLIENT_CA, or under profile 3 the built-in CA's
    certificate (created now if need be), so stations it signed connect (A00.FR.403).

    Raises:
        SettingsError: profile 3 with an external signer and no CSMS_TLS_CLIENT_CA.
    """
    server = settings.server
    if server.tls_client_ca is not None:
        return server.tls_client_ca
    if server.security_profile != 3:
        return None
    if not isinstance(signer, BuiltinCertificateAuthority):
        raise SettingsError(
            "CSMS_TLS_CLIENT_CA: security profile 3 with an external CSMS_CERTIFICATE_SIGNER "
            "needs the PEM bundle of the CAs that issue station certificates"
        )
    await signer.root_certificate_pem()
    return str(signer.certificate_path)


def build_iso15118_provider(
    settings: Settings, v2g: V2GRootAuthority
) -> Iso15118CertificateProvider | None:
    """The provider ``CSMS_ISO15118_PROVIDER`` names (None for ``none``).

    Raises:
        SettingsError: a ``module:attribute`` provider cannot be loaded.
    """
    server = settings.server
    name = server.iso15118_provider.strip()
    if name == "none":
        return None
    if name == "builtin":
        return BuiltinIso15118Provider(v2g, PreEncodedExiResponses(server.iso15118_exi_dir))
    try:
        return load_provider(name)
    except ProviderConfigError as exc:
        raise SettingsError(f"CSMS_ISO15118_PROVIDER: {exc}") from exc


def build_message_log(
    settings: Settings, store: Store, log_limiter: LogLimiter | None = None
) -> MessageLogRecorder | None:
    """The OCPP message log's recorder (issue 9), or None when CSMS_MESSAGE_LOG is off."""
    server = settings.server
    if not server.message_log:
        return None
    return MessageLogRecorder(
        store.message_log,
        retention=Retention(
            max_age=server.message_log_max_age,
            max_rows=server.message_log_max_rows,
            max_bytes=server.message_log_max_bytes,
        ),
        queue_size=server.message_log_queue,
        keep_payloads=server.message_log_payloads,
        # A CALL of csms's is given up after call_timeout: logged unanswered a little later.
        answer_timeout=server.call_timeout + 5.0,
        prune_interval=server.message_log_prune_interval,
        log_limiter=log_limiter,
    )


BLOCKS = (
    ProvisioningBlock,
    AvailabilityBlock,
    TransactionsBlock,
    FirmwareBlock,
    DiagnosticsBlock,
    SecurityBlock,
    DataTransferBlock,
    AuthorizationBlock,
    TransactionsV16Block,
    DeviceModelBlock,
    MonitoringBlock,
    SmartChargingReportsBlock,
    DisplayMessageBlock,
    CustomerInformationBlock,
    PublishFirmwareBlock,
    Iso15118CertificateBlock,
    ReservationBlock,
)

# CSMS-initiated actions sent by typed operator commands (csms/blocks/<block>/commands.py).
SENT_BY_COMMANDS = (
    AVAILABILITY_COMMANDS
    | AUTHORIZATION_COMMANDS
    | DATA_TRANSFER_COMMANDS
    | PROVISIONING_COMMANDS
    | REMOTE_CONTROL_COMMANDS
    | LOCAL_LIST_COMMANDS
    | SMART_CHARGING_COMMANDS
    | RESERVATION_COMMANDS
    | FIRMWARE_COMMANDS
    | DIAGNOSTICS_COMMANDS
    | SECURITY_COMMANDS
    | REPORT_COMMANDS
    | MONITORING_COMMANDS
    | DISPLAY_MESSAGE_COMMANDS
    | CHARGING_PROFILE_REPORT_COMMANDS
    | TRANSACTION_STATUS_COMMANDS
    | TARIFF_COMMANDS
    | PUBLISH_FIRMWARE_COMMANDS
    | NETWORK_PROFILE_COMMANDS
)


def handled_actions() -> frozenset[tuple[OcppVersion, str]]:
    """Every (version, action) csms handles or sends as a typed command, for the support matrix."""
    return tagged_actions(*BLOCKS) | SENT_BY_COMMANDS


def build_dispatcher(
    router: Router,
    *,
    log_limiter: LogLimiter | None = None,
    violation_budget: ViolationBudget | None = None,
) -> Dispatcher:
    """A dispatcher with compiled validators for every version."""
    validators = {version: MessageValidator(version) for version in ALL_VERSIONS}
    for validator in validators.values():
        validator.compile_all()
    return Dispatcher(
        router, validators, log_limiter=log_limiter, violation_budget=violation_budget
    )


# The RFID tags the demo's drivers tap, two per station (one per EVSE, never shared: a tag charging
# elsewhere is ConcurrentTx), at least ten; --demo registers them as Accepted tokens unless the
# token store already knows them (so an operator may block one to see it refused).
def demo_tags(count: int) -> tuple[str, ...]:
    """The demo's tags for ``count`` stations: DEMO-CARD-1 .. DEMO-CARD-max(10, 2 x count)."""
    return tuple(f"DEMO-CARD-{n}" for n in range(1, max(10, 2 * count) + 1))


DEMO_TAGS = demo_tags(0)


def _http_socket(
    host: str, port: int, names: tuple[str, str], *, reuse_port: bool = False
) -> socket.socket:
    """A listening socket for an HTTP endpoint (the API, the SOAP gateway), declared TCP so
    asyncio sets TCP_NODELAY on each accepted connection (it checks the socket's proto, which
    ``socket.create_server`` leaves 0): uvicorn writes a response's head and body separately,
    and Nagle with delayed ACKs would stall such answers ~40 ms. ``reuse_port``: SO_REUSEPORT,
    the port shared with the other workers (CSMS_REUSE_PORT, `csms serve --workers`).

    Raises:
        StartupError: the address cannot be bound (the port is in use, ...); ``names`` are the
            settings to change.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise _bind_error(exc, host, port, names) from exc
    return sock


def _api_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """The API's listening socket (see :func:`_http_socket`)."""
    names = ("CSMS_API_HOST (--api-host)", "CSMS_API_PORT (--api-port)")
    return _http_socket(host, port, names, reuse_port=reuse_port)


def _soap_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """The SOAP endpoint's listening socket (see :func:`_http_socket`)."""
    names = ("CSMS_HOST (--host)", "CSMS_SOAP_PORT (--soap-port)")
    return _http_socket(host, port, names, reuse_port=reuse_port)


def build_identity(store: Store, api: ApiSettings) -> Identity:
    """Operator accounts, tokens, sessions and the audit log over ``store`` (issue 9)."""
    return Identity(
        accounts=store.accounts,
        audit=store.audit,
        passwords=OperatorPasswords(
            PasswordHasher(memory_cost=api.password_hash_memory, time_cost=api.password_hash_time)
        ),
        settings=IdentitySettings(
            login_failures_per_account_address=api.login_failures_per_account_address,
            login_failures_per_address=api.login_failures_per_address,
            login_failure_window=api.login_failure_window,
            session_idle_timeout=api.session_idle_timeout,
            session_lifetime=api.session_lifetime,
            token_lifetime=api.token_lifetime,
            audit_max_rows=api.audit_max_rows,
            audit_max_age=api.audit_max_age,
        ),
    )


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: csms's CLI owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def emit_events(store: Store, bus: EventPublisher, meter_interval: float) -> None:
    """Events (issue 9): wrap the store's repositories so each committed fact is published on
    ``bus`` (:mod:`csms.events.emitting`); everything that reads them from the store after this
    (blocks, listener, API) publishes."""
    sampler = MeterSampler(meter_interval)
    store.stations = EmittingStations(store.stations, bus)
    store.transactions = EmittingTransactions(store.transactions, bus, sampler)
    store.charging = EmittingCharging(store.charging, bus, sampler)
    store.security = EmittingSecurity(store.security, bus)
    store.files = EmittingFiles(store.files, bus)


def webhook_options(settings: Settings) -> WebhookOptions:
    """The CSMS_EVENTS_WEBHOOK_* settings as the dispatcher's options."""
    events = settings.events
    return WebhookOptions(
        max_attempts=events.webhook_max_attempts,
        backoff=events.webhook_backoff,
        max_backoff=events.webhook_max_backoff,
        timeout=events.webhook_timeout,
        disable_after=events.webhook_disable_after,
        allow_http=events.webhook_allow_http,
        block_private=events.webhook_block_private,
        retention=events.webhook_retention,
        log_size=events.webhook_log_size,
    )


def _join(
    settings: Settings, registry: ConnectionRegistry, log_limiter: LogLimiter
) -> tuple[ClusterNode, ClusterBus]:
    """The cluster side of a node (issue 11): its NATS node and its event bus (SSE sees every
    node's events, webhooks this node's own). Imported here, not at the top: a csms without
    CSMS_CLUSTER_URL never loads the cluster layer or the NATS client."""
    from csms.cluster import ClusterBus, ClusterNode, default_node_id  # noqa: PLC0415

    cluster, events = settings.cluster, settings.events
    assert cluster.url is not None
    node_id = cluster.node_id or default_node_id()
    node = ClusterNode(
        cluster.url, node_id, lease=cluster.lease, registry=registry, log_limiter=log_limiter
    )
    node.bus = ClusterBus(
        node_id,
        local=InProcessBus(replay_size=events.replay_size),
        view=InProcessBus(replay_size=events.replay_size, queue_size=events.queue_size),
    )
    return node, node.bus


class Csms:
    """A running csms: storage, the OCPP endpoint and the HTTP API."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        ca: CertificateAuthority | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.ca = ca
        # One limiter for the process: stations, the dispatcher and storage share its budget.
        self.log_limiter = LogLimiter(
            interval=settings.log.rate_interval, burst=settings.log.rate_burst
        )
        self.store: Store | None = None
        self.file_service: FileService | None = None
        self.security_block: SecurityBlock | None = None
        self.ev_scheduler: EvChargingScheduler | None = None
        self.v2g: V2GRootAuthority | None = None
        self.registry = ConnectionRegistry(log_limiter=self.log_limiter)
        # Events (issue 9): committed facts for SSE and webhooks.
        self.events: InProcessBus | ClusterBus = InProcessBus(
            replay_size=settings.events.replay_size, queue_size=settings.events.queue_size
        )
        # The cluster (issue 11): with CSMS_CLUSTER_URL, this node's NATS side and a bus whose
        # SSE view holds every node's events (webhooks read this node's own: each once).
        self.cluster: ClusterNode | None = None
        if settings.cluster.url is not None:
            self.cluster, self.events = _join(settings, self.registry, self.log_limiter)
        self.webhooks: WebhookDispatcher | None = None
        self.listener: StationListener | None = None
        # Operations (issue 9): the message log's recorder (None when CSMS_MESSAGE_LOG=off) and
        # the per-message counters behind /metrics.
        self.message_log: MessageLogRecorder | None = None
        self.stats = ServerStats()
        self._api: _EmbeddedUvicorn | None = None
        self.jobs: JobRunner | None = None  # the typed commands' job runner, with the API
        self._api_task: asyncio.Task[None] | None = None
        self._demo_stop = asyncio.Event()
        self._demo_task: asyncio.Task[object] | None = None
        # Tariffs and cost (block I): the pricer and the CostUpdated rounds' task.
        self.pricer: TariffPricer | None = None
        self._cost_updates: asyncio.Task[None] | None = None
        # The API token generated by this start (first start only), for the CLI to show once.
        self.new_api_token: str | None = None
        # OCPP over SOAP (issue 12): the endpoint and its presence table, when CSMS_SOAP_ENABLED.
        self.soap: SoapEndpoint | None = None
        self.soap_presence: PresenceTable | None = None
        self.soap_stations: SoapStations | None = None  # CSMS-initiated calls to SOAP stations

    @property
    def ocpp_port(self) -> int:
        """The bound OCPP port (an API-only cluster node: the configured one, for the hints)."""
        if self.listener is None and self.settings.cluster.role == "api":
            return self.settings.server.port
        assert self.listener is not None
        return self.listener.port

    def command_gateway(self) -> StationGateway:
        """The gateway of the API and its commands: the WebSocket sessions (in a cluster, any
        node's, issue 11) and, with CSMS_SOAP_ENABLED, the SOAP stations (issue 12; a WebSocket
        session first)."""
        sessions: StationGateway = self.registry
        if self.cluster is not None:
            sessions = self.cluster.gateway(
                self.registry,
                call_timeout=self.settings.server.call_timeout,
                request_margin=self.settings.cluster.request_margin,
            )
        if self.soap_stations is None:
            return sessions
        return CombinedGateway(sessions, self.soap_stations)

    @property
    def soap_port(self) -> int | None:
        """The bound SOAP port, or None if the SOAP endpoint is off."""
        return None if self.soap is None else self.soap.port

    @property
    def api_port(self) -> int | None:
        """The bound API port, or None if the API is disabled."""
        if self._api is None or not self._api.servers:
            return None
        sock = self._api.servers[0].sockets[0]
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        """Open storage, then start the OCPP endpoint and the API.

        Raises:
            StartupError: a port in use, an unreadable TLS file, a database that cannot be opened;
                what was already started is closed again.
        """
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        settings = self.settings
        _check_tls_files(settings.server.tls_cert, settings.server.tls_key)
        url = driver_database_url(settings.database.url)
        if url != settings.database.url:
            logger.info(
                "CSMS_DATABASE_URL: %s:// taken as %s://",
                settings.database.url.partition("://")[0],
                url.partition("://")[0],
            )
        try:
            database = settings.database
            self.store = await open_store(
                url,
                migrate=database.migrate,
                log_limiter=self.log_limiter,
                pool=PoolSizing(*database.pool()),
                sqlite_writer_thread=database.sqlite_writer_thread,
                direct_station_reads=database.direct_station_reads,
            )
        except DatabaseUnavailable as exc:
            raise StartupError(f"CSMS_DATABASE_URL (--database-url): {exc}") from exc
        emit_events(self.store, self.events, settings.events.meter_interval)  # events (issue 9)
        cluster = self.cluster
        self.webhooks = WebhookDispatcher(
            SqlWebhookRepository(self.store.engine),
            self.events if cluster is None or cluster.bus is None else cluster.bus.local,
            webhook_options(settings),
            user_agent=f"csms/{csms_version}",
            sends=cluster.sends_webhooks if cluster is not None else None,
        )
        self.webhooks.start()
        if cluster is not None:
            cluster.webhooks = self.webhooks  # issue 11: join before any station can connect
            from csms.cluster import ClusterError  # noqa: PLC0415 - see _join

            try:
                await cluster.start(serve_calls=settings.cluster.role != "api")
            except ClusterError as exc:
                raise StartupError(f"CSMS_CLUSTER_URL (--cluster-url): {exc}") from exc
        files = settings.files
        self.file_service = FileService(
            self.store.files,
            DiskBlobStore(files.data_dir),
            public_url=files.public_url or self._default_public_url,
            url_ttl=files.url_ttl,
            max_firmware_size=files.max_firmware_size,
            max_upload_size=files.max_upload_size,
            clock=self.clock,
            upload_quota=files.upload_quota,
            station_upload_quota=files.station_upload_share,
            # Profile 2 stations are on TLS: never send them a plain http file URL.
            require_https=settings.server.security_profile >= 2,
        )
        self.v2g = V2GRootAuthority(Path(files.data_dir) / "v2g")
        signer = self.ca if self.ca is not None else build_certificate_signer(settings)
        client_ca = await station_client_ca(settings, signer)
        self.security_block = build_security_block(
            self.store.security, self.registry, settings, ca=signer, v2g=self.v2g, clock=self.clock
        )
        self.pricer = TariffPricer(
            self.store.tariffs,
            charging=self.store.charging,
            tokens=self.store.tokens,
            clock=self.clock,
        )
        router = build_router(
            self.store.stations,
            self.store.transactions,
            settings,
            self.clock,
            files=self.store.files,
            security=self.security_block,
            tokens=self.store.tokens,
            charging=self.store.charging,
            charging_profiles=self.store.charging_profiles,
            reservations=self.store.reservations,
            device_model=self.store.device_model,
            notifications=self.store.notifications,
            iso15118_provider=build_iso15118_provider(settings, self.v2g),
            pricer=self.pricer,
            ev_scheduler=self._ev_scheduler(),
        )
        dispatcher = build_dispatcher(
            router,
            log_limiter=self.log_limiter,
            violation_budget=ViolationBudget(
                settings.server.max_protocol_violations, settings.server.protocol_violation_window
            ),
        )
        self.message_log = build_message_log(settings, self.store, self.log_limiter)
        if self.message_log is not None:
            await self.message_log.start()
        if settings.cluster.role == "api":  # an API-only cluster node holds no station
            await self._start_api()
            return
        self.listener = StationListener(
            settings.server,
            stations=self.store.stations,
            dispatcher=dispatcher,
            registry=self.registry,
            clock=self.clock,
            log_frames=settings.log.frames,
            client_ca=client_ca,
            frame_taps=self.message_log.tap if self.message_log is not None else None,
            stats=self.stats,
        )
        try:
            await self.listener.start()
        except TlsConfigError as exc:  # names the setting and the file already
            raise StartupError(str(exc)) from exc
        except ssl.SSLError as exc:
            raise StartupError(
                f"CSMS_TLS_CERT/CSMS_TLS_KEY (--tls-cert/--tls-key): not a PEM certificate chain "
                f"and its private key ({exc.reason or exc})"
            ) from exc
        except OSError as exc:
            server = settings.server
            names = ("CSMS_HOST (--host)", "CSMS_PORT (--port)")
            raise _bind_error(exc, server.host, server.port, names) from exc
        if settings.server.soap_enabled:
            await self._start_soap(dispatcher)
        if settings.api.enabled and settings.cluster.role != "gateway":
            await self._start_api()
        self._start_cost_updates()

    async def _start_soap(self, dispatcher: Dispatcher) -> None:
        """OCPP over SOAP (issue 12): CentralSystemService 1.5/1.6 on CSMS_SOAP_PORT, TLS and
        Basic auth as on the WebSocket port, the same dispatcher and storage."""
        assert self.store is not None
        server = self.settings.server
        self.soap_presence = PresenceTable(
            timeout=server.heartbeat_interval + server.soap_presence_grace
        )
        taps = self.message_log.tap if self.message_log is not None else None
        gateway = SoapGateway(
            server,
            stations=self.store.stations,
            dispatcher=dispatcher,
            presence=self.soap_presence,
            clock=self.clock,
            log_limiter=self.log_limiter,
            frame_taps=taps,
        )
        context = None
        if server.tls_cert is not None and server.tls_key is not None:
            pairs = [(server.tls_cert, server.tls_key)]
            if server.tls_cert2 is not None and server.tls_key2 is not None:
                pairs.append((server.tls_cert2, server.tls_key2))
            context = server_context(pairs)
        sock = _soap_socket(server.host, server.soap_port, reuse_port=server.reuse_port)
        self.soap = SoapEndpoint(
            gateway,
            sock=sock,
            max_body=server.soap_max_message_size,
            ssl_context=context,
            sweep_interval=min(30.0, max(1.0, server.soap_presence_grace / 2)),
        )
        await self.soap.start()
        self.soap_stations = SoapStations(
            self.soap_presence,
            dispatcher,
            call_timeout=server.call_timeout,
            max_response=server.soap_max_message_size,
            frame_taps=taps,
        )
        logger.info(
            "OCPP over SOAP (1.5, 1.6) listening on %s://%s:%d/ (CentralSystemService)",
            "https" if context is not None else "http",
            server.host,
            self.soap.port,
        )

    def _start_cost_updates(self) -> None:
        """CostUpdated rounds (block I), unless CSMS_COST_UPDATE_INTERVAL is 0."""
        server = self.settings.server
        if server.cost_update_interval <= 0 or self.store is None or self.pricer is None:
            return
        sender = CostUpdateSender(
            self.pricer,
            self.store.charging,
            self.registry,
            interval=server.cost_update_interval,
            clock=self.clock,
            concurrency=server.cost_update_concurrency,
            call_timeout=server.call_timeout,
            log_limiter=self.log_limiter,
        )
        self._cost_updates = asyncio.create_task(sender.run())

    def _ev_scheduler(self) -> EvChargingScheduler:
        """The ISO 15118 smart charging side (K15-K17) over the live connections."""
        assert self.store is not None
        server = self.settings.server
        self.ev_scheduler = EvChargingScheduler(
            SmartChargingCommands(
                self.registry,
                self.store.charging_profiles,
                clock=self.clock,
                call_timeout=server.call_timeout,
            ),
            self.store.charging_profiles,
            self.store.charging,
            clock=self.clock,
            enabled=server.ev_charging_schedules,
            stack_level=server.ev_schedule_stack_level,
        )
        return self.ev_scheduler

    def metrics_sources(self) -> MetricsSources:
        """What /metrics reads at each scrape."""
        store, log = self.store, self.message_log
        return MetricsSources(
            stats=self.stats,
            connections=self.registry.by_version,
            commit_latency=store.commit_latency if store is not None else None,
            committer_pending=(lambda: store.committer_pending) if store is not None else None,
            pool=store.pool_stats if store is not None else None,
            message_log=(
                lambda: {
                    "queued": log.queued,
                    "dropped": log.dropped,
                    "written": log.written,
                    "failed": log.failed,
                    "pruned": log.pruned,
                }
            )
            if log is not None
            else None,
            admission=self.listener.admission if self.listener is not None else None,
        )

    def _default_public_url(self) -> str:
        """Where stations reach the file service when CSMS_FILES_PUBLIC_URL is not set."""
        api = self.settings.api
        scheme = "https" if api.tls_cert is not None else "http"
        host = f"[{api.host}]" if ":" in api.host else api.host
        return f"{scheme}://{host}:{self.api_port}"

    def trusted_hosts(self) -> tuple[str, ...]:
        """CSMS_API_TRUSTED_HOSTS, or loopback, the API bind host and the file service's host."""
        api = self.settings.api
        if api.trusted_hosts is not None:
            return tuple(h.strip() for h in api.trusted_hosts.split(",") if h.strip())
        public = self.settings.files.public_url
        return default_trusted_hosts(api.host, urlsplit(public).hostname if public else None)

    def _api_credentials(self, api: ApiSettings) -> ApiCredentials | None:
        """The generated token's file, created (and remembered for the CLI) on the first start."""
        if api.auth == "none":
            logger.warning(
                "HTTP API authentication is OFF (CSMS_API_AUTH=none): any local user, process or "
                "container that can reach %s:%d can register stations, set their passwords and "
                "send them commands; use it only in a lab",
                api.host,
                api.port,
            )
            return None
        if api.token is not None:
            logger.info("HTTP API credential: the operator's CSMS_API_TOKEN")
            return None
        stored = ApiTokenFile(self.settings.files.data_dir)
        self.new_api_token = stored.ensure()
        if self.new_api_token is None:
            logger.info(
                "HTTP API credential: the token generated at the first start (its digest is in "
                "%s); `csms api-token rotate` prints a new one",
                stored.path,
            )
        return stored

    async def _start_api(self) -> None:
        assert self.store is not None
        api = self.settings.api
        # Events (issue 9): every call the API sends is announced as command.result.
        gateway = EventingGateway(self.command_gateway(), self.events)
        app = create_app(
            stations=self.store.stations,
            gateway=gateway,
            api_token=api.token,
            credentials=self._api_credentials(api),
            auth="none" if api.auth == "none" else "token",
            trusted_hosts=self.trusted_hosts(),
            ocpp_port=self.ocpp_port,
            ocpp_tls=self.settings.server.tls_cert is not None,
            call_timeout=self.settings.server.call_timeout,
            files=FilesApi(
                service=self.file_service,
                security=self.store.security,
                stations=self.store.stations,
                gateway=gateway,
            )
            if self.file_service is not None
            else None,
            device_model=self.store.device_model,
            notifications=self.store.notifications,
            remote_starts=self.store.remote_starts,
            ev_schedules=self.ev_scheduler,
            station_load=self.listener.load if self.listener is not None else None,
            tariffs=(
                TariffsApi(self.pricer, self.store.charging, self.store.ledger)
                if self.pricer
                else None
            ),
            tokens=TokensApi(self.store.token_admin, self.clock),
            transactions=TransactionsApi(ledger=self.store.ledger, charging=self.store.charging),
            commands=await self._start_commands(api, gateway),
            identity=build_identity(self.store, api),
            events=self._events_api(),
            message_log=self.store.message_log,
            metrics=self.metrics_sources(),
            database=DatabaseProbe(
                self.store.ping,
                timeout=self.settings.server.readiness_timeout,
                cache=self.settings.server.readiness_cache,
            ),
            soap=self.soap_presence,
            connection_history=self.store.connection_history,
        )
        install_dashboard(app)  # the operator dashboard at /, a client of the API above
        config = uvicorn.Config(
            app,
            host=api.host,
            port=api.port,
            log_config=None,
            access_log=False,
            lifespan="on",
            ssl_certfile=api.tls_cert,
            ssl_keyfile=api.tls_key,
        )
        sock = _api_socket(
            api.host, api.port, reuse_port=self.settings.server.reuse_port
        )  # bound here: uvicorn would sys.exit on errors
        self._api = _EmbeddedUvicorn(config)
        self._api_task = asyncio.create_task(self._api.serve(sockets=[sock]))
        while not self._api.started:
            if self._api_task.done():
                # uvicorn says its app's lifespan failed with SystemExit; anything else propagates.
                with contextlib.suppress(SystemExit):
                    await self._api_task
                raise StartupError("the HTTP API stopped during start-up (see the log above)")
            await asyncio.sleep(0.01)
        scheme = "https" if api.tls_cert is not None else "http"
        logger.info("HTTP API listening on %s://%s:%d/api/v1", scheme, api.host, self.api_port)
        logger.info("operator dashboard on %s://%s:%d/", scheme, api.host, self.api_port)
        if self.settings.server.security_profile >= 2 and not (
            self.settings.files.public_url or self._default_public_url()
        ).startswith("https://"):
            logger.warning(
                "security profile 2 or 3 but the file service is plain http: firmware, diagnostics "
                "and log commands are refused until CSMS_API_TLS_CERT/CSMS_API_TLS_KEY or an "
                "https:// CSMS_FILES_PUBLIC_URL is set"
            )
        if self.settings.files.public_url is None and api.host in ("0.0.0.0", "::", ""):
            logger.warning(
                "file URLs sent to stations use %s, which stations cannot reach: "
                "set CSMS_FILES_PUBLIC_URL",
                self._default_public_url(),
            )

    async def _start_commands(self, api: ApiSettings, gateway: StationGateway) -> CommandsApi:
        """The typed commands' services and job runner (jobs left running by a previous process
        are marked failed now). ``gateway`` is the API's: its calls are announced as events."""
        assert self.store is not None
        store = self.store
        services = IntentServices(
            gateway=gateway,
            stations=store.stations,
            clock=self.clock,
            configuration=store.configuration,
            device_model=store.device_model,
            desired=store.desired_settings,
            reservations=store.reservations,
            tokens=store.tokens,
            charging_profiles=store.charging_profiles,
            notifications=store.notifications,
            security=store.security,
            files=self.file_service,
            local_lists=store.local_lists,
        )
        limits = JobLimits(
            max_stations=api.command_job_max_stations,
            concurrency=api.command_job_concurrency,
            max_running=api.command_jobs_max_running,
            retention=timedelta(days=api.command_job_retention_days),
            max_kept=api.command_jobs_max_kept,
        )
        self.jobs = JobRunner(
            store.command_jobs,
            services,
            limits=limits,
            default_timeout=self.settings.server.call_timeout,
        )
        await self.jobs.start()
        return CommandsApi(services, self.jobs, call_timeout=self.settings.server.call_timeout)

    def _events_api(self) -> EventsApi:
        """The SSE stream and the webhook routes (events, issue 9)."""
        events = self.settings.events
        assert self.store is not None and self.webhooks is not None
        return EventsApi(
            bus=self.events,
            max_streams=events.max_streams,
            keepalive=events.keepalive,
            webhooks=SqlWebhookRepository(self.store.engine),
            dispatcher=(
                self.cluster.webhook_changes(self.webhooks)
                if self.cluster is not None
                else self.webhooks
            ),
            max_webhooks=events.max_webhooks,
            allow_http=events.webhook_allow_http,
            block_private=events.webhook_block_private,
        )

    async def start_demo(self, count: int, *, prefix: str = "DEMO-") -> None:
        """Register ``count`` accepted stations and run them as simulated stations (``--demo``).

        They get a fresh random password per run (never logged), connect over loopback with the
        three versions in turn and charge now and then, so a first run shows live data at once.
        """
        assert self.store is not None and self.listener is not None
        server = self.settings.server
        password = secrets.token_urlsafe(18)
        digest = hash_password(password.encode())
        for n in range(1, count + 1):
            sid = f"{prefix}{n}"
            if await self.store.stations.get(sid) is None:
                await self.store.stations.add(
                    Station(
                        sid, RegistrationStatus.ACCEPTED, password_hash=digest, created_at=utc_now()
                    )
                )
            else:
                await self.store.stations.set_registration(sid, RegistrationStatus.ACCEPTED)
                await self.store.stations.set_password_hash(sid, digest)
        tags = demo_tags(count)
        for tag in tags:  # unknown tags are Invalid: the demo drivers must be able to charge
            if await self.store.tokens.get(tag) is None:
                await self.store.tokens.put(IdToken(tag), utc_now())
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(server.host, server.host)
        tls = server.tls_cert is not None
        context = None
        if tls:  # our own listener on loopback: its certificate may name another host
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        host = f"[{host}]" if ":" in host else host
        options = FleetOptions(
            url=f"{'wss' if tls else 'ws'}://{host}:{self.ocpp_port}/ocpp/",
            count=count,
            id_prefix=prefix,
            password=password if server.security_profile else None,
            ssl=context,
            meter_interval=10.0,
            timing=Timing(charge=90.0, idle=20.0),
            id_tags=tags,
            ramp=0.5,
        )
        self._demo_task = asyncio.create_task(run_fleet(options, self._demo_stop))
        logger.info("demo: %d simulated stations %s1..%d", count, prefix, count)

    async def close(self) -> None:
        """Stop the API and the endpoint, then flush and close storage."""
        if self._cost_updates is not None:
            self._cost_updates.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cost_updates
            self._cost_updates = None
        if self._demo_task is not None:
            self._demo_stop.set()
            await self._demo_task
            self._demo_task = None
        if self._api is not None and self._api_task is not None:
            self._api.should_exit = True
            with contextlib.suppress(SystemExit):  # an API that failed to start (see _start_api)
                await self._api_task
            self._api = None
        if self.jobs is not None:
            await self.jobs.aclose()
            self.jobs = None
        if self.soap is not None:
            await self.soap.close()
            self.soap = None
        if self.soap_stations is not None:
            await self.soap_stations.aclose()
            self.soap_stations = None
        if self.listener is not None:
            if self.cluster is not None:  # the claims are released together at its aclose
                self.cluster.stopping()
            await self.listener.close()
            self.listener = None
        if self.cluster is not None:  # issue 11: after the listener, so releases are written
            await self.cluster.aclose()
        if self.message_log is not None:
            await self.message_log.aclose()
            self.message_log = None
        if self.security_block is not None:
            await self.security_block.aclose()
            self.security_block = None
        if self.ev_scheduler is not None:
            await self.ev_scheduler.aclose()
            self.ev_scheduler = None
        if self.webhooks is not None:  # events (issue 9)
            await self.webhooks.aclose()
            self.webhooks = None
        if self.store is not None:
            await self.store.aclose()
            self.store = None
