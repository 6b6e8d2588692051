"""The API's station gateway in a cluster: this node's sessions first, else the holder by NATS.

Outcomes are today's (docs/behaviour.md "Cluster"): a station no live node holds is not
connected (409); the holder's own outcome comes back as data and is raised here (502 CALLERROR,
504 timeout, ...). No answer from the holder within the call's timeout plus the request margin
means the holder may have sent the CALL and died, or may still be waiting: "outcome unknown"
(502), never silence. "No responders" (the holder's node is gone and nothing was delivered) is
not connected: the CALL never left.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from csms.cluster.mirror import Holder, PresenceMirror
from csms.cluster.wire import decode_outcome, encode_request
from csms.domain.errors import CallOutcomeUnknown, StationNotConnected
from csms.domain.ports import SessionCounters, StationGateway

__all__ = ["ClusterGateway", "RequestUndelivered", "Requester", "call_subject"]


def call_subject(node_id: str) -> str:
    """Where a node serves the commands for the stations it holds."""
    return f"csms.node.{node_id}.call"


# A command nobody received (no responders: the holding node is resubscribing after a NATS
# reconnect, or just stopped) is sent again for up to this long, the station's holder read anew.
UNDELIVERED_RETRY_FOR = 2.0
UNDELIVERED_FIRST_DELAY = 0.05


class RequestUndelivered(Exception):
    """Nothing received the request (no responders, NATS unreachable): the CALL never left."""


class Requester(Protocol):
    """The NATS side: send a request, wait for the reply.

    Raises:
        RequestUndelivered: nobody received it.
        TimeoutError: no reply within ``timeout`` (the request may have been acted on).
    """

    async def request(self, subject: str, payload: bytes, timeout: float) -> bytes: ...


class ClusterGateway:
    """Implements :class:`csms.domain.ports.StationGateway` over the cluster."""

    def __init__(
        self,
        local: StationGateway,
        mirror: PresenceMirror,
        requester: Requester,
        *,
        call_timeout: float,
        request_margin: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._local = local
        self._mirror = mirror
        self._requester = requester
        self._call_timeout = call_timeout
        self._margin = request_margin
        self._clock = clock

    def _remote(self, station_id: str) -> Holder | None:
        holder = self._mirror.holder(station_id, self._clock())
        if holder is None or holder.node == self._mirror.node_id:
            return None  # this node's claims are answered by its own sessions
        return holder

    def is_connected(self, station_id: str) -> bool:
        return self._local.is_connected(station_id) or self._remote(station_id) is not None

    def ocpp_version(self, station_id: str) -> str | None:
        if self._local.is_connected(station_id):
            return self._local.ocpp_version(station_id)
        holder = self._remote(station_id)
        return None if holder is None else holder.version

    def session_counters(self, station_id: str) -> SessionCounters | None:
        """The counters of a session on this node (another node's are not shared: None)."""
        return self._local.session_counters(station_id)

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        if self._local.is_connected(station_id):
            return await self._local.call(
                station_id, action, payload, timeout=timeout, password_rotation=password_rotation
            )
        holder = self._remote(station_id)
        if holder is None:
            raise StationNotConnected(f"station {station_id!r} is not connected")
        wait = (timeout if timeout is not None else self._call_timeout) + self._margin
        request = encode_request(station_id, action, payload, timeout, password_rotation)
        slept, delay = 0.0, UNDELIVERED_FIRST_DELAY
        while True:
            try:
                reply = await self._requester.request(call_subject(holder.node), request, wait)
                break
            except RequestUndelivered:
                # Nothing received it, so it never reached the station: safe to send again while
                # the node resubscribes after a NATS reconnect or the station moves to another.
                retry = self._remote(station_id)
                if retry is None or slept + delay > UNDELIVERED_RETRY_FOR:
                    raise StationNotConnected(
                        f"station {station_id!r} is not connected (its node {holder.node} is "
                        "unreachable)"
                    ) from None
                holder = retry
                await asyncio.sleep(delay)
                slept, delay = slept + delay, delay * 2
            except TimeoutError:
                raise CallOutcomeUnknown(
                    f"no answer from node {holder.node} within {wait:g} s: {action} may have been "
                    "sent to the station"
                ) from None
        return decode_outcome(reply)
