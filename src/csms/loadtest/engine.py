"""One process's share of the fleet: ramp-up, connections, reconnect storm, stop, snapshots.

Everything runs on one event loop without a task per station: a station is driven by socket
callbacks and timers; the only tasks are the ramp, the reporter, and one short-lived task per
connection attempt (``loop.create_connection`` is a coroutine).
"""

from __future__ import annotations

import asyncio
import errno
import random
import ssl
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from csms.loadtest.addresses import is_loopback_host, source_address
from csms.loadtest.config import SOAP, LoadConfig, Target, is_charging, version_for
from csms.loadtest.payloads import basic_auth_header, station_password
from csms.loadtest.soap import SOAP_VERSIONS, SoapChannel, SoapStation
from csms.loadtest.station import Channel, SimStation
from csms.loadtest.stats import Episode, RunStats
from csms.loadtest.wsclient import WsClient, handshake_request
from csms.messages.soap.station import StationCodec

Snapshot = dict[str, Any]


class Engine:
    """Runs the stations ``indices`` of a load test on the current event loop."""

    def __init__(
        self, config: LoadConfig, indices: Sequence[int], start_wall: float | None = None
    ) -> None:
        self.config = config
        self.loop = asyncio.get_running_loop()
        # SOAP-only fleets may give an http(s):// URL; the WebSocket target is then unused.
        self.target = Target.parse(config.url if config.has_json else "ws://127.0.0.1/")
        self.rng = random.Random(config.seed * 1_000_003 + (indices[0] if indices else 0))
        self.stats = RunStats(stations=len(indices))
        self.stopping = False
        self.measuring = False
        self._loopback = is_loopback_host(self.target.host)
        self._ssl = self._ssl_context()
        now_wall = time.time()
        start_wall = now_wall if start_wall is None else start_wall
        self.t0 = self.loop.time() + (start_wall - now_wall)
        self.start_wall = start_wall
        self._measure_from: float | None = None
        self._measure_to: float | None = None
        self._end = self.t0 + config.duration
        self._tasks: set[asyncio.Task[None]] = set()
        self.stations = [
            (SoapStation if version in SOAP else SimStation)(
                self, i, config.station_id(i), version, is_charging(i, config.charging)
            )
            for i in indices
            for version in (version_for(i, config.versions),)
        ]
        # SOAP stations: both services of each version compiled once, one HTTP client.
        self._codecs: dict[str, StationCodec] = {}
        self._soap_client: httpx.AsyncClient | None = None

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self.target.scheme != "wss":
            return None
        context = ssl.create_default_context()
        if self.config.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    # ------------------------------------------------------------------ policy

    def retry_delay(self, attempt: int) -> float:
        """2.0.1 RetryBackOff: wait minimum doubled per attempt (up to RepeatTimes) + random."""
        c = self.config
        doublings = max(0, min(attempt - 1, c.retry_repeat))
        return c.retry_wait_min * (1 << doublings) + self.rng.uniform(0.0, c.retry_random_range)

    def retry_after_delay(self, retry_after: float) -> float:
        """The wait after a 503/429 with Retry-After: at least what the server asked, plus
        0..RetryBackOffRandomRange so refused stations do not come back in step; counted."""
        delay = retry_after + self.rng.uniform(0.0, self.config.retry_random_range)
        s = self.stats
        s.retry_after_waits += 1
        s.retry_after_wait_s += delay
        s.retry_after_max_s = max(s.retry_after_max_s, delay)
        return delay

    def password(self, station: SimStation) -> str:
        """The station's Basic-auth password: the pattern, or one derived from its identity."""
        pattern = self.config.password
        if pattern is None:
            return station_password(station.id, self.config.password_secret)
        return pattern.format(id=station.id, n=station.index)

    # ------------------------------------------------------------------ connections

    def open_connection(self, station: SimStation) -> None:
        """Start one connection attempt for ``station``."""
        self.stats.connect.sent += 1
        station.connect_started = time.perf_counter()
        if station.version in SOAP:
            self._open_soap(station)
            return
        task = self.loop.create_task(self._open(station))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _open(self, station: SimStation) -> None:
        c = self.config
        t = self.target
        auth = basic_auth_header(station.id, self.password(station)) if c.auth else None
        request, accept = handshake_request(
            t.host_header, f"{t.path}/{station.id}", station.subprotocol, auth
        )
        source = source_address(station.index, c.per_address, c.source_addresses, self._loopback)

        def factory() -> WsClient:
            client = WsClient(station, request, accept, station.subprotocol, self.rng)
            station.ws = client
            return client

        try:
            async with asyncio.timeout(c.open_timeout):
                await self.loop.create_connection(
                    factory,
                    t.host,
                    t.port,
                    ssl=self._ssl,
                    local_addr=(source, 0) if source else None,
                )
        except TimeoutError:
            self.stats.connect.timeouts += 1
            station.ws_closed()
            return
        except OSError as exc:
            name = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
            self.on_connect_failed(station, name)
            station.ws_closed()
            return
        if station.ws is None or station.opened:
            return  # already gone (ws_closed ran) or upgraded
        remaining = c.open_timeout - (time.perf_counter() - station.connect_started)
        station.watch_upgrade(
            self.loop.call_later(max(0.0, remaining), self._upgrade_deadline, station, station.ws)
        )

    def _open_soap(self, station: SimStation) -> None:
        """A SOAP station has no connection to open: it boots at once (:mod:`.soap`)."""
        codec = self._codecs.get(station.version)
        if codec is None:
            codec = self._codecs[station.version] = StationCodec(SOAP_VERSIONS[station.version])
        station.ws = SoapChannel(self, station, codec, self.config.soap_target())
        self.loop.call_soon(station.ws_open)

    def soap_client(self) -> httpx.AsyncClient:
        """The SOAP stations' HTTP client (keep-alive; Basic auth per request)."""
        if self._soap_client is None:
            soap = sum(1 for s in self.stations if s.version in SOAP)
            self._soap_client = httpx.AsyncClient(
                timeout=self.config.call_timeout + 1.0,
                limits=httpx.Limits(max_connections=soap, max_keepalive_connections=soap),
                verify=not self.config.insecure,
                follow_redirects=False,
                trust_env=False,
            )
        return self._soap_client

    def _upgrade_deadline(self, station: SimStation, client: Channel | None) -> None:
        if client is not None and station.ws is client and not station.opened:
            self.stats.connect.timeouts += 1
            client.abort()

    def on_open(self, station: SimStation) -> None:
        """A WebSocket upgrade succeeded."""
        s = self.stats
        s.connect.answered += 1
        s.open_now += 1
        s.open_peak = max(s.open_peak, s.open_now)
        if self.measuring:
            s.connect.measured += 1
            s.connect.latency.record(time.perf_counter() - station.connect_started)

    def on_connect_failed(self, station: SimStation, reason: str) -> None:
        """A connection attempt failed (refused, HTTP status, bad handshake)."""
        self.stats.connect.errors[reason] += 1

    def on_closed(self, station: SimStation, was_open: bool) -> None:
        """A connection ended."""
        if was_open:
            self.stats.open_now -= 1
            if not self.stopping:
                self.stats.disconnects += 1

    def on_accepted(self, station: SimStation) -> None:
        """A BootNotification was Accepted; closes a recovery episode when the fleet is whole."""
        s = self.stats
        s.accepted_now += 1
        if s.episodes and s.episodes[-1].end is None:
            s.episodes[-1].boots += 1
        if s.accepted_now == len(self.stations):
            now = time.time()
            if s.all_accepted_at is None:
                s.all_accepted_at = now
            if s.episodes and s.episodes[-1].end is None:
                s.episodes[-1].end = now

    def on_unaccepted(self, station: SimStation) -> None:
        """An accepted station lost its connection; opens an episode if the fleet was whole."""
        s = self.stats
        if s.accepted_now == len(self.stations) and not self.stopping:
            s.episodes.append(Episode(time.time()))
        s.accepted_now -= 1

    # ------------------------------------------------------------------ run

    async def _ramp(self) -> None:
        rate = self.config.rate
        for station in self.stations:
            due = self.t0 + station.index / rate
            delay = due - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.stopping:
                return
            station.connect()

    def _storm(self) -> None:
        for station in self.stations:
            station.drop()

    def _start_measuring(self) -> None:
        self.measuring = True
        self._measure_from = self.loop.time()

    def _stop_measuring(self) -> None:
        if self.measuring:
            self._measure_to = self.loop.time()
        self.measuring = False

    def snapshot(self) -> Snapshot:
        """The stats so far, as plain data (crosses process boundaries)."""
        now = self.loop.time()
        start = self._measure_from
        end = self._measure_to if self._measure_to is not None else now
        return {
            "elapsed_s": now - self.t0,
            "measured_s": (end - start) if start is not None else 0.0,
            "stats": self.stats.to_dict(),
        }

    async def run(
        self, report: Callable[[Snapshot], None] | None = None, interval: float = 1.0
    ) -> Snapshot:
        """Ramp up, run until the duration is over, stop; return the final snapshot."""
        c = self.config
        loop = self.loop
        ramp = loop.create_task(self._ramp())
        timers = [loop.call_at(self.t0 + c.warmup, self._start_measuring)]
        if c.measure_for is not None:
            timers.append(loop.call_at(self.t0 + c.warmup + c.measure_for, self._stop_measuring))
        if c.storm_after is not None:
            timers.append(loop.call_at(self.t0 + c.storm_after, self._storm))
        self._end = self.t0 + c.duration
        try:
            while (remaining := self._end - loop.time()) > 0:
                await asyncio.sleep(min(interval, remaining))
                if report is not None:
                    report(self.snapshot())
        finally:
            for timer in timers:
                timer.cancel()
            self._stop_measuring()
            ramp.cancel()
            await asyncio.gather(ramp, return_exceptions=True)
            await self._stop()
        return self.snapshot()

    def finish_early(self) -> None:
        """End the run now (SIGINT/SIGTERM): stop as at the end of the duration, full report."""
        self._end = min(self._end, self.loop.time())

    async def _wait_until(self, done: Callable[[], bool], within: float) -> None:
        """Poll ``done`` every 50 ms for at most ``within`` s (shutdown only, so polling is fine)."""
        deadline = self.loop.time() + within
        while not done() and self.loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    async def _stop(self, grace: float = 5.0) -> None:
        """No new CALLs; wait (briefly) for replies in flight; close every connection."""
        self.stopping = True
        await self._wait_until(
            lambda: not any(s.has_pending for s in self.stations),
            min(grace, self.config.call_timeout),
        )
        for station in self.stations:
            station.stop()
        await self._wait_until(lambda: self.stats.open_now <= 0, 3.0)
        for station in self.stations:
            if station.ws is not None:
                station.ws.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._soap_client is not None:
            await self._soap_client.aclose()
        await asyncio.sleep(0)  # let connection_lost callbacks of aborted transports run
