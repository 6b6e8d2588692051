"""Composition root: settings → storage → blocks → dispatcher → station gateway + HTTP API.

The only place where concrete classes meet. :class:`Csms` owns every long-lived resource and closes
them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from csms.api.app import create_app
from csms.api.routes.files import FilesApi
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
from csms.blocks.dispatch import Dispatcher
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
from csms.blocks.smartcharging import COMMANDS as SMART_CHARGING_COMMANDS
from csms.blocks.smartcharging.handlers import SmartChargingReportsBlock
from csms.blocks.smartcharging.report_commands import COMMANDS as CHARGING_PROFILE_REPORT_COMMANDS
from csms.blocks.tariff import COMMANDS as TARIFF_COMMANDS
from csms.blocks.transactions import TransactionsBlock, TransactionsV16Block
from csms.blocks.transactions.status_command import COMMANDS as TRANSACTION_STATUS_COMMANDS
from csms.config import Settings, SettingsError
from csms.domain.charging_ports import (
    ChargingTransactionRepository,
    IdTokenRepository,
    ReservationRepository,
)
from csms.domain.credentials import hash_password
from csms.domain.devicemodel import DeviceModelRepository
from csms.domain.files import FileRepository
from csms.domain.iso15118 import Iso15118CertificateProvider
from csms.domain.model import RegistrationStatus, Station
from csms.domain.notifications import NotificationLog
from csms.domain.ports import StationGateway, StationRepository, TransactionRepository
from csms.domain.security import CertificateAuthority, SecurityRepository
from csms.domain.smartcharging import ChargingProfileRepository
from csms.domain.tokens import IdToken
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
from csms.server.registry import ConnectionRegistry
from csms.simulator import FleetOptions, Timing, run_fleet
from csms.storage import Store, open_store
from csms.storage.blobs import DiskBlobStore

logger = logging.getLogger(__name__)


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
    ``notifications``, ISO 15118 certificate requests answered by ``iso15118_provider``.
    """
    server = settings.server
    extra: list[object] = []
    if files is not None:
        extra += [FirmwareBlock(files, clock=clock), DiagnosticsBlock(files, clock=clock)]
    if security is not None:
        extra.append(security)
    if tokens is not None:
        extra.append(AuthorizationBlock(tokens, clock=clock))
    if charging is not None:
        extra.append(TransactionsV16Block(charging, clock=clock, profiles=charging_profiles))
    if device_model is not None:
        extra += [
            DeviceModelBlock(device_model, clock=clock),
            MonitoringBlock(device_model, clock=clock),
        ]
    if notifications is not None:
        extra += [
            SmartChargingReportsBlock(notifications, clock=clock),
            DisplayMessageBlock(notifications, clock=clock),
            CustomerInformationBlock(notifications, clock=clock),
            PublishFirmwareBlock(notifications, clock=clock),
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
        AvailabilityBlock(stations, clock=clock),
        TransactionsBlock(transactions, charging=charging, reservations=reservations, clock=clock),
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
    """The security block with the built-in CA in the data directory unless ``ca`` is given.

    V2GCertificate CSRs go to ``v2g`` (default: the built-in V2G root in the data directory).
    """
    if ca is None:
        ca = BuiltinCertificateAuthority(Path(settings.files.data_dir) / "ca")
    if v2g is None:
        v2g = V2GRootAuthority(Path(settings.files.data_dir) / "v2g")
    return SecurityBlock(
        security,
        gateway,
        ca=CertificateAuthorityByType(ca, v2g),
        clock=clock,
        call_timeout=settings.server.call_timeout,
    )


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
)


def handled_actions() -> frozenset[tuple[OcppVersion, str]]:
    """Every (version, action) csms handles or sends as a typed command, for the support matrix."""
    return tagged_actions(*BLOCKS) | SENT_BY_COMMANDS


def build_dispatcher(router: Router) -> Dispatcher:
    """A dispatcher with compiled validators for every version."""
    validators = {version: MessageValidator(version) for version in ALL_VERSIONS}
    for validator in validators.values():
        validator.compile_all()
    return Dispatcher(router, validators)


# The RFID tags the demo's drivers tap, two per station; --demo registers them as Accepted tokens
# unless the token store already knows them (so an operator may block one to see it refused).
DEMO_TAGS = tuple(f"DEMO-CARD-{n}" for n in range(1, 11))


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: csms's CLI owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


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
        self.store: Store | None = None
        self.file_service: FileService | None = None
        self.security_block: SecurityBlock | None = None
        self.v2g: V2GRootAuthority | None = None
        self.registry = ConnectionRegistry()
        self.listener: StationListener | None = None
        self._api: _EmbeddedUvicorn | None = None
        self._api_task: asyncio.Task[None] | None = None
        self._demo_stop = asyncio.Event()
        self._demo_task: asyncio.Task[object] | None = None

    @property
    def ocpp_port(self) -> int:
        """The bound OCPP port."""
        assert self.listener is not None
        return self.listener.port

    @property
    def api_port(self) -> int | None:
        """The bound API port, or None if the API is disabled."""
        if self._api is None or not self._api.servers:
            return None
        sock = self._api.servers[0].sockets[0]
        return int(sock.getsockname()[1])

    async def start(self) -> None:
        """Open storage, then start the OCPP endpoint and the API."""
        settings = self.settings
        self.store = await open_store(settings.database.url, migrate=settings.database.migrate)
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
            require_https=settings.server.security_profile == 2,
        )
        self.v2g = V2GRootAuthority(Path(files.data_dir) / "v2g")
        self.security_block = build_security_block(
            self.store.security, self.registry, settings, ca=self.ca, v2g=self.v2g, clock=self.clock
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
        )
        dispatcher = build_dispatcher(router)
        self.listener = StationListener(
            settings.server,
            stations=self.store.stations,
            dispatcher=dispatcher,
            registry=self.registry,
            clock=self.clock,
            log_frames=settings.log.frames,
        )
        await self.listener.start()
        if settings.api.enabled:
            await self._start_api()

    def _default_public_url(self) -> str:
        """Where stations reach the file service when CSMS_FILES_PUBLIC_URL is not set."""
        api = self.settings.api
        scheme = "https" if api.tls_cert is not None else "http"
        host = f"[{api.host}]" if ":" in api.host else api.host
        return f"{scheme}://{host}:{self.api_port}"

    async def _start_api(self) -> None:
        assert self.store is not None
        api = self.settings.api
        app = create_app(
            stations=self.store.stations,
            gateway=self.registry,
            api_token=api.token,
            call_timeout=self.settings.server.call_timeout,
            files=FilesApi(
                service=self.file_service,
                security=self.store.security,
                stations=self.store.stations,
                gateway=self.registry,
            )
            if self.file_service is not None
            else None,
            device_model=self.store.device_model,
            notifications=self.store.notifications,
        )
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
        self._api = _EmbeddedUvicorn(config)
        self._api_task = asyncio.create_task(self._api.serve())
        while not self._api.started:
            if self._api_task.done():
                await self._api_task  # raises what stopped it (e.g. port in use)
                raise RuntimeError("the HTTP API stopped during startup")
            await asyncio.sleep(0.01)
        scheme = "https" if api.tls_cert is not None else "http"
        logger.info("HTTP API listening on %s://%s:%d/api/v1", scheme, api.host, self.api_port)
        if self.settings.server.security_profile == 2 and not (
            self.settings.files.public_url or self._default_public_url()
        ).startswith("https://"):
            logger.warning(
                "security profile 2 but the file service is plain http: firmware, diagnostics "
                "and log commands are refused until CSMS_API_TLS_CERT/CSMS_API_TLS_KEY or an "
                "https:// CSMS_FILES_PUBLIC_URL is set"
            )
        if self.settings.files.public_url is None and api.host in ("0.0.0.0", "::", ""):
            logger.warning(
                "file URLs sent to stations use %s, which stations cannot reach: "
                "set CSMS_FILES_PUBLIC_URL",
                self._default_public_url(),
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
        for tag in DEMO_TAGS:  # unknown tags are Invalid: the demo drivers must be able to charge
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
            id_tags=DEMO_TAGS,
            ramp=0.5,
        )
        self._demo_task = asyncio.create_task(run_fleet(options, self._demo_stop))
        logger.info("demo: %d simulated stations %s1..%d", count, prefix, count)

    async def close(self) -> None:
        """Stop the API and the endpoint, then flush and close storage."""
        if self._demo_task is not None:
            self._demo_stop.set()
            await self._demo_task
            self._demo_task = None
        if self._api is not None and self._api_task is not None:
            self._api.should_exit = True
            await self._api_task
            self._api = None
        if self.listener is not None:
            await self.listener.close()
            self.listener = None
        if self.security_block is not None:
            await self.security_block.aclose()
            self.security_block = None
        if self.store is not None:
            await self.store.aclose()
            self.store = None
