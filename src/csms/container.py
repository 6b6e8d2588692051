"""Composition root: settings → storage → blocks → dispatcher → station gateway + HTTP API.

The only place where concrete classes meet. :class:`Csms` owns every long-lived resource and closes
them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import uvicorn

from csms.api.app import create_app
from csms.blocks.authorization import AuthorizationBlock
from csms.blocks.availability import AvailabilityBlock
from csms.blocks.dispatch import Dispatcher
from csms.blocks.provisioning import ProvisioningBlock
from csms.blocks.routing import Router, tagged_actions
from csms.blocks.transactions import TransactionsBlock, TransactionsV16Block
from csms.config import Settings
from csms.domain.charging_ports import ChargingTransactionRepository, IdTokenRepository
from csms.domain.ports import StationRepository, TransactionRepository
from csms.messages import MessageValidator
from csms.rpc import ALL_VERSIONS, OcppVersion
from csms.server.listener import StationListener
from csms.server.registry import ConnectionRegistry
from csms.storage import Store, open_store

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
    tokens: IdTokenRepository | None = None,
    charging: ChargingTransactionRepository | None = None,
) -> Router:
    """Assemble the blocks csms runs (Authorize and the 1.6 transaction messages only when their
    repositories are given)."""
    server = settings.server
    blocks: list[object] = [
        ProvisioningBlock(
            stations,
            clock=clock,
            heartbeat_interval=server.heartbeat_interval,
            boot_retry_interval=server.boot_retry_interval,
        ),
        AvailabilityBlock(stations, clock=clock),
        TransactionsBlock(transactions, charging=charging, clock=clock),
    ]
    if tokens is not None:
        blocks.append(AuthorizationBlock(tokens, clock=clock))
    if charging is not None:
        blocks.append(TransactionsV16Block(charging, clock=clock))
    return Router.from_blocks(*blocks)


BLOCKS = (
    ProvisioningBlock,
    AvailabilityBlock,
    TransactionsBlock,
    AuthorizationBlock,
    TransactionsV16Block,
)


def handled_actions() -> frozenset[tuple[OcppVersion, str]]:
    """Every (version, action) csms handles, for docs/support-matrix.md."""
    return tagged_actions(*BLOCKS)


def build_dispatcher(router: Router) -> Dispatcher:
    """A dispatcher with compiled validators for every version."""
    validators = {version: MessageValidator(version) for version in ALL_VERSIONS}
    for validator in validators.values():
        validator.compile_all()
    return Dispatcher(router, validators)


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its signal handlers: csms's CLI owns SIGINT/SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Csms:
    """A running csms: storage, the OCPP endpoint and the HTTP API."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.store: Store | None = None
        self.registry = ConnectionRegistry()
        self.listener: StationListener | None = None
        self._api: _EmbeddedUvicorn | None = None
        self._api_task: asyncio.Task[None] | None = None

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
        router = build_router(
            self.store.stations,
            self.store.transactions,
            settings,
            self.clock,
            tokens=self.store.tokens,
            charging=self.store.charging,
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

    async def _start_api(self) -> None:
        assert self.store is not None
        api = self.settings.api
        app = create_app(
            stations=self.store.stations,
            gateway=self.registry,
            api_token=api.token,
            call_timeout=self.settings.server.call_timeout,
        )
        config = uvicorn.Config(
            app, host=api.host, port=api.port, log_config=None, access_log=False, lifespan="on"
        )
        self._api = _EmbeddedUvicorn(config)
        self._api_task = asyncio.create_task(self._api.serve())
        while not self._api.started:
            if self._api_task.done():
                await self._api_task  # raises what stopped it (e.g. port in use)
                raise RuntimeError("the HTTP API stopped during startup")
            await asyncio.sleep(0.01)
        logger.info("HTTP API listening on http://%s:%d/api/v1", api.host, self.api_port)

    async def close(self) -> None:
        """Stop the API and the endpoint, then flush and close storage."""
        if self._api is not None and self._api_task is not None:
            self._api.should_exit = True
            await self._api_task
            self._api = None
        if self.listener is not None:
            await self.listener.close()
            self.listener = None
        if self.store is not None:
            await self.store.aclose()
            self.store = None
