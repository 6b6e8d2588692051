"""Webhook delivery: events → outbox → signed POSTs with retries, backoff and jitter.

Two tasks. The *intake* subscribes to the bus (a queue of its own, caught up from the replay
buffer when it falls behind) and writes each event matching an enabled subscription to the outbox
(:meth:`WebhookRepository.enqueue`), one transaction per batch (at most ``batch_interval``
seconds or ``batch_size`` events). The *sender* takes due deliveries from the outbox, POSTs them
(``concurrency`` at once), and stores each attempt in one transaction per batch. Deliveries are
at least once and may arrive out of order (a retry overtakes nothing, but a later event is not
held back behind a failing one): receivers de-duplicate on the event id and order by it.

What a crash loses: the events published but not yet in the outbox (at most one batch interval,
plus what the intake queue held); everything in the outbox is sent after a restart. An attempt in
flight at the crash is repeated (at least once).

SSRF: the operator (an admin) chooses the URLs. Redirects are never followed (a 3xx is a failed
attempt), https is required except on loopback (or with ``allow_http``), and with
``block_private`` a target resolving to a private, loopback, link-local or otherwise reserved
address is refused at each attempt (checked on csms's own resolution just before the request; a
DNS answer changing between that check and the connection is not covered).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from csms.domain.errors import StorageError
from csms.domain.events import Event, EventBus, EventFilter, EventSubscription, EventType
from csms.domain.webhooks import (
    SIGNATURE_HEADER,
    DeliveryAttempt,
    DeliveryState,
    NewDelivery,
    PendingDelivery,
    WebhookRepository,
    WebhookSubscription,
    sign,
)

__all__ = [
    "InvalidWebhookUrl",
    "WebhookDispatcher",
    "WebhookOptions",
    "check_url",
    "new_secret",
]

logger = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WebhookOptions:
    """How deliveries are attempted (CSMS_EVENTS_WEBHOOK_* settings)."""

    max_attempts: int = 8  # per delivery, then it is failed
    backoff: float = 2.0  # seconds before the first retry, doubled each time, with jitter
    max_backoff: float = 3600.0
    timeout: float = 10.0  # per attempt (connect, write, read)
    disable_after: int = 20  # failed attempts in a row (any delivery) disable the subscription
    allow_http: bool = False  # plain http to non-loopback hosts
    block_private: bool = False  # refuse targets resolving to private/link-local addresses
    retention: float = 7 * 24 * 3600.0  # seconds a delivery is kept in the log
    log_size: int = 1000  # deliveries kept per subscription
    concurrency: int = 16  # attempts in flight
    queue_size: int = 10_000  # events the intake holds before catching up from the replay
    batch_interval: float = 0.05
    batch_size: int = 500
    poll_interval: float = 1.0  # the sender looks for due retries at least this often
    prune_interval: float = 3600.0


class InvalidWebhookUrl(ValueError):
    """A subscription URL csms will not send to; the message says why."""


def new_secret() -> str:
    """A fresh signing secret (shown to the operator once)."""
    return "whsec_" + secrets.token_urlsafe(32)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_url(url: str, *, allow_http: bool, block_private: bool) -> str:
    """Return ``url`` if csms may send to it.

    Raises:
        InvalidWebhookUrl: not http(s), credentials in the URL, http to a non-loopback host
            without ``allow_http``, or a literal private address under ``block_private``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidWebhookUrl("expected an https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("credentials in the URL are refused: verify the signature instead")
    if parts.scheme == "http" and not (allow_http or _is_loopback(host)):
        raise InvalidWebhookUrl(
            "https is required except on loopback (CSMS_EVENTS_WEBHOOK_ALLOW_HTTP allows http)"
        )
    if block_private:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            return url  # a name: its addresses are checked at each attempt
        if _private(literal):
            raise InvalidWebhookUrl(
                "private, loopback and link-local targets are refused "
                "(CSMS_EVENTS_WEBHOOK_BLOCK_PRIVATE)"
            )
    return url


def _wants(subscription: WebhookSubscription, event: Event) -> bool:
    # A subscription gets the events that happened after it was created, even when the intake
    # reads the subscriptions (reload) after an older event was published.
    if event.time < subscription.created_at:
        return False
    if subscription.station_ids and event.station_id not in subscription.station_ids:
        return False
    return not subscription.event_types or event.type.startswith(subscription.event_types)


class WebhookDispatcher:
    """The intake and sender tasks of one process."""

    def __init__(
        self,
        repository: WebhookRepository,
        bus: EventBus,
        options: WebhookOptions,
        *,
        clock: Callable[[], datetime] = _utc_now,
        user_agent: str = "csms",
        transport: httpx.AsyncBaseTransport | None = None,
        sends: Callable[[], bool] | None = None,
    ) -> None:
        # In a cluster (issue 11) every node writes its own events to the shared outbox, but only
        # the node holding the sender lease sends: ``sends`` says whether this one does now.
        self._sends = sends
        self._repository = repository
        self._bus = bus
        self._options = options
        self._clock = clock
        self._user_agent = user_agent
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(options.timeout),
            limits=httpx.Limits(max_connections=options.concurrency),
            transport=transport,
        )
        self._subscriptions: dict[int, WebhookSubscription] = {}
        self._stale = True
        self._reloading = asyncio.Lock()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._limit = asyncio.Semaphore(options.concurrency)
        self.delivered = 0  # successful attempts (benchmarks, tests)

    def start(self) -> None:
        """Start the tasks (the intake subscribes now: events from here on are delivered)."""
        subscription = self._bus.subscribe(EventFilter(), queue_size=self._options.queue_size)
        self._tasks = [
            asyncio.create_task(self._intake(subscription), name="webhook-intake"),
            asyncio.create_task(self._sender(), name="webhook-sender"),
            asyncio.create_task(self._pruner(), name="webhook-pruner"),
        ]

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._client.aclose()

    def changed(self) -> None:
        """Subscriptions changed (API): reload them before the next batch, send what is due."""
        self._stale = True
        self._wake.set()

    async def _reload(self) -> None:
        """Read the subscriptions again if they changed. One reload at a time: a reload that
        began before a change must not overwrite the result of one that began after it."""
        async with self._reloading:
            if not self._stale:
                return
            self._stale = False  # a change from here on makes the next call reload again
            found: dict[int, WebhookSubscription] = {}
            after: int | None = None
            try:
                while True:
                    page = await self._repository.list(after_id=after, limit=500)
                    found.update((s.id, s) for s in page)
                    if len(page) < 500:
                        break
                    after = page[-1].id
            except BaseException:
                self._stale = True
                raise
            self._subscriptions = found

    # --- intake ------------------------------------------------------------------------------

    async def _intake(self, sub: EventSubscription) -> None:
        """Batches: the first event, then what else came within ``batch_interval`` (one sleep per
        batch; awaiting each event with a timeout cost a task and a timer per event, paid by
        every OCPP message that publishes one, with or without webhooks)."""
        size = self._options.batch_size
        try:
            while True:
                first = await sub.next()
                if first is None:
                    continue
                await asyncio.sleep(self._options.batch_interval)
                await self._accept([first, *sub.take_ready(size - 1)])
        finally:
            sub.close()

    async def _accept(self, batch: list[Event]) -> None:
        try:
            await self._reload()
        except StorageError:
            self._stale = True
            logger.warning("webhooks: cannot read the subscriptions; %d events lost", len(batch))
            return
        rows: list[NewDelivery] = []
        for event in batch:
            if event.type == EventType.EVENTS_LOST:
                logger.warning("webhooks: events up to id %d were lost (intake too slow)", event.id)
                continue
            rows.extend(
                NewDelivery(s.id, event.id, event.type, event.station_id, event.wire)
                for s in self._subscriptions.values()
                if s.enabled and _wants(s, event)
            )
        if not rows:
            return
        try:
            await self._repository.enqueue(rows, self._clock())
        except StorageError:
            logger.warning("webhooks: outbox write failed; %d deliveries lost", len(rows))
            await asyncio.sleep(1.0)
            return
        self._wake.set()

    # --- sender ------------------------------------------------------------------------------

    async def _sender(self) -> None:
        while True:
            self._wake.clear()
            if self._sends is not None and not self._sends():
                await asyncio.sleep(self._options.poll_interval)
                continue
            try:
                await self._reload()
                due = await self._repository.due(self._clock(), limit=self._options.concurrency * 8)
            except StorageError:
                self._stale = True
                logger.warning("webhooks: cannot read the outbox; retrying in 1 s")
                await asyncio.sleep(1.0)
                continue
            if not due:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._options.poll_interval)
                continue
            attempts = await asyncio.gather(*(self._attempt(d) for d in due))
            try:
                disabled = await self._repository.record_attempts(
                    [a for a in attempts if a is not None],
                    disable_after=self._options.disable_after,
                )
            except StorageError:
                logger.warning("webhooks: cannot store %d attempts; they will repeat", len(due))
                await asyncio.sleep(1.0)
                continue
            for sid in disabled:
                logger.warning(
                    "webhook subscription %d disabled after %d failed attempts in a row",
                    sid,
                    self._options.disable_after,
                )
                self._stale = True

    async def _attempt(self, delivery: PendingDelivery) -> DeliveryAttempt | None:
        subscription = self._subscriptions.get(delivery.subscription_id)
        if subscription is None or not subscription.enabled:
            return None  # deleted or disabled meanwhile: stays pending (re-enabling sends it)
        async with self._limit:
            started = time.monotonic()
            status, error = await self._post(subscription, delivery)
            latency_ms = round((time.monotonic() - started) * 1000, 3)
        now = self._clock()
        attempts = delivery.attempts + 1
        if error is None:
            self.delivered += 1
            state, next_at = DeliveryState.DELIVERED, None
        elif attempts >= self._options.max_attempts:
            state, next_at = DeliveryState.FAILED, None
        else:
            state, next_at = DeliveryState.PENDING, now + timedelta(seconds=self._delay(attempts))
        return DeliveryAttempt(
            delivery_id=delivery.id,
            subscription_id=delivery.subscription_id,
            state=state,
            attempts=attempts,
            at=now,
            next_attempt_at=next_at,
            status_code=status,
            latency_ms=latency_ms,
            error=error,
        )

    def _delay(self, attempts: int) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        base = min(self._options.max_backoff, self._options.backoff * 2.0 ** (attempts - 1))
        return base / 2 + random.uniform(0, base / 2)

    async def _post(
        self, subscription: WebhookSubscription, delivery: PendingDelivery
    ) -> tuple[int | None, str | None]:
        """POST the delivery; (status code, None) on a 2xx, else (status or None, why)."""
        if self._options.block_private and (why := await self._private_target(subscription.url)):
            return None, why
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self._user_agent,
            SIGNATURE_HEADER: sign(subscription.secret, int(time.time()), body),
            "Csms-Event-Id": str(delivery.event_id),
            "Csms-Event-Type": delivery.event_type,
            "Csms-Delivery-Id": str(delivery.id),
        }
        try:
            request = self._client.build_request(
                "POST", subscription.url, content=body, headers=headers
            )
            response = await self._client.send(request, stream=True)
            await response.aclose()  # the body is not read: a receiver cannot make us buffer
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {str(exc)[:200]}"
        status = response.status_code
        if 200 <= status < 300:
            return status, None
        if 300 <= status < 400:
            return status, f"HTTP {status}: redirects are not followed"
        return status, f"HTTP {status}"

    async def _private_target(self, url: str) -> str | None:
        host = urlsplit(url).hostname or ""
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, None, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            return f"cannot resolve {host}: {exc}"
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if _private(address):
                return f"{host} resolves to {address}: refused (CSMS_EVENTS_WEBHOOK_BLOCK_PRIVATE)"
        return None

    # --- retention ---------------------------------------------------------------------------

    async def _pruner(self) -> None:
        while True:
            try:
                cutoff = self._clock() - timedelta(seconds=self._options.retention)
                removed = await self._repository.prune(cutoff, keep=self._options.log_size)
                if removed:
                    logger.info("webhooks: %d old deliveries pruned", removed)
            except StorageError:
                logger.warning("webhooks: pruning the delivery log failed; next try later")
            await asyncio.sleep(self._options.prune_interval)
