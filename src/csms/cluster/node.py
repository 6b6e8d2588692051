"""One csms process in the cluster: its NATS connection, lease, presence and command server.

NATS layout (docs/cluster.md):

* KV ``csms_nodes`` (TTL = the lease): ``<node id>``, put by the node every third of the lease.
  A node killed with -9 stops renewing; the others count its stations offline one lease later.
* KV ``csms_stations`` (no TTL): ``<station key>`` → ``{"node", "version", "session"}``, put when
  a session is registered, deleted (only if still this node's revision) when it ends. A claim by
  another node with a newer revision closes this node's session of the same identity: one
  session per identity cluster-wide. The claims of dead nodes are deleted by any survivor.
* KV ``csms_leases`` (TTL = the lease): ``webhook-sender``, created by one node and renewed by
  it: that node alone sends webhooks from the shared outbox.
* ``csms.node.<id>.call``: request/reply, the commands for the stations the node holds.
* ``csms.events``: every node's events (:mod:`csms.cluster.events`).

The client reconnects forever; after a reconnect the node puts its claims again (the server may
have lost them) and restarts its watchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import nats.errors
import nats.js.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

import nats
from csms.cluster.events import EVENTS_SUBJECT, ClusterBus
from csms.cluster.gateway import ClusterGateway, RequestUndelivered, call_subject
from csms.cluster.mirror import Holder, PresenceMirror, station_from_key, station_key
from csms.cluster.wire import decode_request, encode_error, encode_result
from csms.domain.errors import DomainError, StationNotConnected
from csms.domain.ports import StationGateway
from csms.log import LogLimiter
from csms.server.connection import CLOSE_POLICY_VIOLATION, StationConnection
from csms.server.registry import ConnectionRegistry

__all__ = ["ClusterError", "ClusterNode", "ClusterWebhookChanges", "default_node_id"]

logger = logging.getLogger(__name__)

NODES_BUCKET = "csms_nodes"
STATIONS_BUCKET = "csms_stations"
LEASES_BUCKET = "csms_leases"
WEBHOOK_LEASE = "webhook-sender"
WEBHOOKS_CHANGED_SUBJECT = "csms.webhooks.changed"
# Seconds a stopping node spends deleting its claims one by one after its lease is gone.
RELEASE_BUDGET = 2.0
_ORPHANS_PER_TICK = 1000
_FIRST_CONNECT_S = 10.0
_WRITE_BATCH = 512  # claims and releases written at once
_WRONG_LAST_SEQUENCE = (10071, 10164)  # JetStream's "wrong last sequence" error codes


class ClusterError(Exception):
    """The cluster cannot be joined (NATS unreachable at start, JetStream off)."""


def default_node_id() -> str:
    """Host name, process id and a random part: unique per process, readable in logs."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "node"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


async def _delete_if_last(kv: KeyValue, key: str, revision: int) -> bool:
    """Delete ``key`` if ``revision`` is still its newest; False when a newer write came first
    (another node's claim, or the holder's renewal: it stays)."""
    try:
        await kv.delete(key, last=revision)
    except nats.js.errors.APIError as exc:  # the client does not translate it for a delete
        if exc.err_code in _WRONG_LAST_SEQUENCE:
            return False
        raise
    return True


class WebhookChanges(Protocol):
    """The webhook dispatcher's side: reload the subscriptions."""

    def changed(self) -> None: ...


class ClusterWebhookChanges:
    """Given to the API as its webhook dispatcher: a subscription created, changed or deleted
    through any node's API is reloaded by every node's dispatcher (each node's intake writes its
    own events to the outbox, so each must know every subscription)."""

    def __init__(self, node: ClusterNode, local: WebhookChanges) -> None:
        self._node = node
        self._local = local

    def changed(self) -> None:
        self._local.changed()
        self._node.announce_webhooks_changed()


@dataclass(slots=True)
class _Claim:
    """This node's claim of a station: the session's token, its KV revision once written."""

    conn: StationConnection
    session: str
    revision: int | None = None


class ClusterNode:
    """Joins the cluster at :meth:`start`, leaves it (releasing its stations) at :meth:`aclose`."""

    def __init__(
        self,
        urls: str,
        node_id: str,
        *,
        lease: float,
        registry: ConnectionRegistry,
        log_limiter: LogLimiter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node_id = node_id
        self._servers = [u.strip() for u in urls.split(",") if u.strip()]
        self._lease = lease
        self._registry = registry
        self._limiter = log_limiter
        self._clock = clock
        self.mirror = PresenceMirror(node_id, lease)
        self.bus: ClusterBus | None = None
        self.webhooks: WebhookChanges | None = None  # this node's dispatcher, told of changes
        self._nc: Client | None = None
        self._nodes: KeyValue | None = None
        self._stations: KeyValue | None = None
        self._leases: KeyValue | None = None
        self._claims: dict[str, _Claim] = {}
        # Claims of sessions that ended while the node stops, released together by aclose: the
        # revision, or the claim while its put is in flight (not the session: 14,000 of them
        # kept alive until the exit cost a second of garbage collection).
        self._leaving: dict[str, int | _Claim] | None = None
        self._ops: asyncio.Queue[tuple[str, str, _Claim]] = asyncio.Queue()
        self._unreleased: dict[str, int] = {}  # deletes that failed, retried at each renewal
        self._unclaimed: set[str] = set()  # claims that failed, retried at each renewal
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchers: list[asyncio.Task[None]] = []
        self._started_at = 0.0
        self._webhook_revision: int | None = None
        self._webhook_renewed = 0.0
        self.replaced = 0  # local sessions closed because another node took the station

    # ---------------------------------------------------------------- lifecycle

    async def start(self, *, serve_calls: bool = True) -> None:
        """Connect, create the buckets, announce this node, then watch and serve.

        Raises:
            ClusterError: NATS cannot be reached or has no JetStream.
        """
        # The client retries forever once connected; the first connection is bounded, so a
        # mistyped URL is one clear line at start-up instead of a silent wait.
        connecting = nats.connect(
            servers=self._servers,
            name=f"csms {self.node_id}",
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            # A node ignores its own events and webhook announcements and never sends a command
            # to itself: the server need not deliver this connection's messages back to it.
            no_echo=True,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        try:
            self._nc = await asyncio.wait_for(connecting, _FIRST_CONNECT_S)
        except TimeoutError:
            raise ClusterError(
                f"cannot reach NATS at {', '.join(self._servers)} within {_FIRST_CONNECT_S:g} s"
            ) from None
        except (OSError, nats.errors.Error) as exc:
            raise ClusterError(f"cannot reach NATS at {', '.join(self._servers)}: {exc}") from exc
        try:
            self._nodes = await self._bucket(NODES_BUCKET, ttl=self._lease)
            self._stations = await self._bucket(STATIONS_BUCKET, ttl=None)
            self._leases = await self._bucket(LEASES_BUCKET, ttl=self._lease)
            await self._nodes.put(self.node_id, b"{}")
        except (nats.errors.Error, TimeoutError) as exc:
            await self._nc.close()
            raise ClusterError(
                f"NATS at {', '.join(self._servers)} has no JetStream (start nats-server with -js): "
                f"{exc}"
            ) from exc
        self._started_at = self._clock()
        await self._start_watchers()
        if serve_calls:
            await self._nc.subscribe(call_subject(self.node_id), cb=self._on_call)
        await self._nc.subscribe(EVENTS_SUBJECT, cb=self._on_event)
        await self._nc.subscribe(WEBHOOKS_CHANGED_SUBJECT, cb=self._on_webhooks_changed)
        self._registry.on_register = self._registered
        self._registry.on_unregister = self._unregistered
        self._spawn(self._writer(), "cluster-presence")
        self._spawn(self._renewals(), "cluster-lease")
        if self.bus is not None:
            self.bus.start(self)
        logger.info("cluster: node %s joined (NATS %s)", self.node_id, ", ".join(self._servers))

    def stopping(self) -> None:
        """The process is stopping: sessions that end from now on keep their claims until
        :meth:`aclose` releases them all at once (no NATS write per session as they close)."""
        if self._leaving is None:
            self._leaving = {}

    async def aclose(self) -> None:
        """Write what is queued, release this node's stations and lease, disconnect."""
        self._registry.on_register = None
        self._registry.on_unregister = None
        if self._nc is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ops.join(), 2.0)
        for task in [*self._tasks, *self._watchers]:
            task.cancel()
        for task in [*self._tasks, *self._watchers]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.bus is not None:
            await self.bus.aclose()
        if self._nc.is_connected:
            with contextlib.suppress(Exception):
                # The lease first: once it is gone every peer stops counting this node's claims
                # (a claim counts while its node's lease lives), so the deletes that follow only
                # tidy the bucket, within RELEASE_BUDGET; survivors delete the rest as orphans.
                if self._nodes is not None:
                    await self._nodes.delete(self.node_id)
                if self._webhook_revision is not None and self._leases is not None:
                    await self._leases.delete(WEBHOOK_LEASE, last=self._webhook_revision)
                await self._release_all()
        with contextlib.suppress(Exception):
            await self._nc.drain()
        self._nc = None

    async def _release_all(self) -> None:
        """Delete this node's claims (held and left by stopped sessions), _WRITE_BATCH deletes
        in flight at a time, within RELEASE_BUDGET; a claim another node has since overwritten
        stays (its revision is newer)."""
        kv = self._stations
        if kv is None:
            return
        revisions = [(sid, c.revision) for sid, c in self._claims.items()]
        revisions += [
            (sid, c if isinstance(c, int) else c.revision)
            for sid, c in (self._leaving or {}).items()
        ]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RELEASE_BUDGET
        released = 0
        for start in range(0, len(revisions), _WRITE_BATCH):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            chunk = revisions[start : start + _WRITE_BATCH]
            deletes = (
                _delete_if_last(kv, station_key(sid), rev) for sid, rev in chunk if rev is not None
            )
            try:
                async with asyncio.timeout(remaining):
                    await asyncio.gather(*deletes, return_exceptions=True)
            except TimeoutError:
                break
            released += len(chunk)
        if released < len(revisions):
            logger.info(
                "cluster: %d of %d claims released within %g s; the others expire with this "
                "node's lease (already deleted)",
                released,
                len(revisions),
                RELEASE_BUDGET,
            )

    def gateway(
        self, local: StationGateway, *, call_timeout: float, request_margin: float
    ) -> ClusterGateway:
        """The API's station gateway: ``local`` (this node's sessions) first, else the holder."""
        return ClusterGateway(
            local, self.mirror, self, call_timeout=call_timeout, request_margin=request_margin
        )

    def webhook_changes(self, local: WebhookChanges) -> ClusterWebhookChanges:
        """The API's webhook dispatcher: ``local`` and every other node's reload on a change."""
        return ClusterWebhookChanges(self, local)

    @property
    def connected(self) -> bool:
        """True while the NATS connection is up."""
        return self._nc is not None and self._nc.is_connected

    def sends_webhooks(self) -> bool:
        """True while this node holds the webhook sender lease."""
        return (
            self._webhook_revision is not None
            and self._clock() - self._webhook_renewed < self._lease * 2 / 3
        )

    # ---------------------------------------------------------------- NATS plumbing

    async def _bucket(self, name: str, *, ttl: float | None) -> KeyValue:
        assert self._nc is not None
        js = self._nc.jetstream()
        try:
            return await js.create_key_value(bucket=name, history=1, ttl=ttl)
        except nats.js.errors.BadRequestError:  # exists with another config (another lease)
            return await js.key_value(name)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def publish(self, subject: str, payload: bytes) -> None:
        """The events' publisher (:class:`csms.cluster.events.Publisher`)."""
        if self._nc is None or not self._nc.is_connected:
            raise ConnectionError("NATS is not connected")
        await self._nc.publish(subject, payload)

    async def request(self, subject: str, payload: bytes, timeout: float) -> bytes:
        """The gateway's requester (:class:`csms.cluster.gateway.Requester`)."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise RequestUndelivered("NATS is not connected")
        try:
            msg = await nc.request(subject, payload, timeout=timeout)
        except nats.errors.NoRespondersError:
            raise RequestUndelivered("no responders") from None
        except nats.errors.TimeoutError:
            raise TimeoutError from None
        except (nats.errors.ConnectionClosedError, nats.errors.OutboundBufferLimitError) as exc:
            raise RequestUndelivered(str(exc)) from None
        return msg.data

    async def _on_error(self, exc: Exception) -> None:
        self._limiter.log(
            logger, logging.WARNING, "nats-error", "cluster", "cluster: NATS error: %s", exc
        )

    async def _on_disconnected(self) -> None:
        logger.warning("cluster: disconnected from NATS; reconnecting")

    async def _on_reconnected(self) -> None:
        logger.info("cluster: reconnected to NATS; announcing this node's stations again")
        self._spawn(self._after_reconnect(), "cluster-reconnect")

    async def _after_reconnect(self) -> None:
        for task in self._watchers:
            task.cancel()
        await self._start_watchers()
        for sid, claim in list(self._claims.items()):
            self._ops.put_nowait(("claim", sid, claim))

    # ---------------------------------------------------------------- presence

    def _registered(self, conn: StationConnection) -> None:
        claim = _Claim(conn, secrets.token_hex(8))
        self._claims[conn.station_id] = claim
        self._ops.put_nowait(("claim", conn.station_id, claim))

    def _unregistered(self, conn: StationConnection) -> None:
        claim = self._claims.get(conn.station_id)
        if claim is not None and claim.conn is conn:
            del self._claims[conn.station_id]
            if self._leaving is not None:  # stopping: released with the others by aclose
                revision = claim.revision
                self._leaving[conn.station_id] = claim if revision is None else revision
            else:
                self._ops.put_nowait(("release", conn.station_id, claim))

    async def _writer(self) -> None:
        """Claims and releases in the order each station's sessions came and went: what is
        queued is taken in one batch (a reconnect storm), each station's operations in order,
        different stations' concurrently (one NATS round trip for the batch, not one each)."""
        while True:
            batch = [await self._ops.get()]
            while len(batch) < _WRITE_BATCH and not self._ops.empty():
                batch.append(self._ops.get_nowait())
            chains: dict[str, list[tuple[str, _Claim]]] = {}
            for op, sid, claim in batch:
                chains.setdefault(sid, []).append((op, claim))
            try:
                await asyncio.gather(*(self._write(sid, ops) for sid, ops in chains.items()))
            finally:
                for _ in batch:
                    self._ops.task_done()

    async def _write(self, sid: str, ops: list[tuple[str, _Claim]]) -> None:
        for op, claim in ops:
            try:
                if op == "claim":
                    await self._claim(sid, claim)
                else:
                    await self._release(sid, claim)
            except (nats.errors.Error, TimeoutError, OSError) as exc:
                self._limiter.log(
                    logger,
                    logging.WARNING,
                    "presence",
                    "cluster presence",
                    "cluster: cannot %s station %s in NATS (%s); retried",
                    op,
                    sid,
                    exc,
                )
                if op == "release" and claim.revision is not None:
                    self._unreleased[sid] = claim.revision
                elif op == "claim":
                    self._unclaimed.add(sid)

    async def _claim(self, sid: str, claim: _Claim) -> None:
        assert self._stations is not None
        if self._claims.get(sid) is not claim:
            return  # gone again before it was announced
        value = orjson.dumps(
            {"node": self.node_id, "version": claim.conn.version.value, "session": claim.session}
        )
        revision = await self._stations.put(station_key(sid), value)
        claim.revision = revision
        self._unreleased.pop(sid, None)
        self.mirror.claimed(sid, Holder(self.node_id, claim.conn.version.value, revision))
        newest = self.mirror.entry(sid)
        if newest is not None and newest.node != self.node_id:
            self._replaced(sid, newest.node)  # another node claimed it while ours was in flight

    async def _release(self, sid: str, claim: _Claim) -> None:
        assert self._stations is not None
        if claim.revision is None or sid in self._claims:
            return  # never announced, or a newer local session holds it
        await _delete_if_last(self._stations, station_key(sid), claim.revision)

    def _replaced(self, sid: str, node: str) -> None:
        """Another node holds ``sid`` now: close this node's session of it."""
        claim = self._claims.get(sid)
        if claim is None:
            return
        self.replaced += 1
        self._limiter.log(
            logger,
            logging.WARNING,
            sid,
            "session replaced",
            "[%s] security: a session on node %s replaces this node's",
            sid,
            node,
        )
        # Forgotten first, as a replaced session on one node is: no command reaches it any more,
        # and its end is not recorded as the station going offline (it is online on ``node``).
        self._registry.unregister(claim.conn)
        self._spawn(
            claim.conn.close(CLOSE_POLICY_VIOLATION, "replaced by a session on another node"),
            "cluster-replace",
        )

    async def _start_watchers(self) -> None:
        assert self._nodes is not None and self._stations is not None
        self.mirror.reset()
        nodes_ready = asyncio.Event()
        self._watchers = [
            asyncio.create_task(self._watch(self._nodes, self._node_entry, nodes_ready)),
        ]
        with contextlib.suppress(TimeoutError):  # node leases first: claims are judged by them
            await asyncio.wait_for(nodes_ready.wait(), 5.0)
        stations_ready = asyncio.Event()
        self._watchers.append(
            asyncio.create_task(self._watch(self._stations, self._station_entry, stations_ready))
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stations_ready.wait(), 5.0)

    async def _watch(
        self, kv: KeyValue, handle: Callable[[KeyValue.Entry], None], ready: asyncio.Event
    ) -> None:
        while True:
            watcher: KeyValue.KeyWatcher | None = None
            try:
                watcher = await kv.watchall()
                async for entry in watcher:
                    if entry is None:
                        ready.set()  # the bucket's current contents are in
                        continue
                    handle(entry)
            except asyncio.CancelledError:
                if watcher is not None:  # no consumer left behind on the server
                    with contextlib.suppress(Exception):
                        await asyncio.shield(watcher.stop())  # type: ignore[no-untyped-call]
                raise
            except Exception as exc:
                self._limiter.log(
                    logger, logging.WARNING, "watch", "cluster watch", "cluster: watch: %s", exc
                )
                await asyncio.sleep(1.0)

    def _node_entry(self, entry: KeyValue.Entry) -> None:
        if entry.operation in (KV_DEL, KV_PURGE):
            self.mirror.node_released(entry.key)
        else:
            self.mirror.node_renewed(entry.key, self._clock())

    def _station_entry(self, entry: KeyValue.Entry) -> None:
        try:
            sid = station_from_key(entry.key)
        except ValueError:
            return
        revision = entry.revision or 0
        if entry.operation in (KV_DEL, KV_PURGE):
            self.mirror.released(sid, revision)
            claim = self._claims.get(sid)
            if claim is not None and claim.revision is not None and revision > claim.revision:
                # Another node took this node for dead (its loop stalled past the lease) and
                # deleted the claim of a session that lives here: claim it again.
                self._ops.put_nowait(("claim", sid, claim))
            return
        try:
            doc = orjson.loads(entry.value or b"")
            holder = Holder(str(doc["node"]), str(doc["version"]), revision)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        if not self.mirror.claimed(sid, holder) or holder.node == self.node_id:
            return
        claim = self._claims.get(sid)
        if claim is not None and claim.revision is not None and revision > claim.revision:
            self._replaced(sid, holder.node)

    # ---------------------------------------------------------------- leases

    async def _renewals(self) -> None:
        """Every third of the lease: renew this node's lease and the webhook sender lease, retry
        failed releases, delete the claims of dead nodes."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await self._renew()
            except (nats.errors.Error, TimeoutError, OSError) as exc:
                self._limiter.log(
                    logger, logging.WARNING, "lease", "cluster lease", "cluster: lease: %s", exc
                )

    async def _renew(self) -> None:
        assert self._nodes is not None and self._stations is not None
        await self._nodes.put(self.node_id, b"{}")
        await self._renew_webhook_lease()
        for sid in list(self._unclaimed):
            self._unclaimed.discard(sid)
            claim = self._claims.get(sid)
            if claim is not None:
                self._ops.put_nowait(("claim", sid, claim))
        for sid, revision in list(self._unreleased.items()):
            if sid not in self._claims:
                await _delete_if_last(self._stations, station_key(sid), revision)
            self._unreleased.pop(sid, None)
        now = self._clock()
        if now - self._started_at < 2 * self._lease:
            return  # the watchers may not have seen every live node yet
        for sid, revision in self.mirror.orphans(now)[:_ORPHANS_PER_TICK]:
            await _delete_if_last(self._stations, station_key(sid), revision)

    async def _renew_webhook_lease(self) -> None:
        assert self._leases is not None
        value = self.node_id.encode()
        try:
            if self._webhook_revision is not None:
                self._webhook_revision = await self._leases.update(
                    WEBHOOK_LEASE, value, last=self._webhook_revision
                )
            else:
                self._webhook_revision = await self._leases.create(WEBHOOK_LEASE, value)
                logger.info("cluster: this node sends the webhooks")
            self._webhook_renewed = self._clock()
        except nats.js.errors.KeyWrongLastSequenceError:
            if self._webhook_revision is not None:
                logger.info("cluster: another node sends the webhooks now")
            self._webhook_revision = None

    # ---------------------------------------------------------------- commands and events

    async def _on_call(self, msg: Msg) -> None:
        # One task per request: a CALL may wait for the station up to its timeout.
        self._spawn(self._serve_call(msg), "cluster-call")

    async def _serve_call(self, msg: Msg) -> None:
        try:
            sid, action, payload, timeout, rotation = decode_request(msg.data)
        except (ValueError, KeyError, TypeError):
            self._limiter.log(
                logger, logging.WARNING, "bad-call", "cluster call", "cluster: a malformed request"
            )
            return
        try:
            if not self._registry.is_connected(sid):
                raise StationNotConnected(f"station {sid!r} is not connected")
            result = await self._registry.call(
                sid, action, payload, timeout=timeout, password_rotation=rotation
            )
            answer = encode_result(result)
        except DomainError as exc:
            answer = encode_error(exc)
        with contextlib.suppress(nats.errors.Error):
            await msg.respond(answer)

    def announce_webhooks_changed(self) -> None:
        """Tell the other nodes' dispatchers that the webhook subscriptions changed."""
        self._spawn(
            self.publish(WEBHOOKS_CHANGED_SUBJECT, self.node_id.encode()), "cluster-webhooks"
        )

    async def _on_webhooks_changed(self, msg: Msg) -> None:
        if msg.data != self.node_id.encode() and self.webhooks is not None:
            self.webhooks.changed()

    async def _on_event(self, msg: Msg) -> None:
        if self.bus is not None:
            self.bus.received(msg.data)
