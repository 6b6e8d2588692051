"""The asyncio frontend of one simulated station: connect, boot, heartbeat, charge, reconnect.

:class:`StationAgent` drives a :class:`~csms.simulator.station.SimStation` over a
:class:`~csms.simulator.link.Link`. What a real station does that matters to a CSMS:

* Nothing but BootNotification before it is Accepted (1.6 §4.2; 2.0.1 B02); Pending or Rejected
  retries after the interval the CSMS gave.
* Transaction messages (1.6 Start/StopTransaction and MeterValues of a transaction; 2.x
  TransactionEvent) are queued and delivered in order, also across connection loss, and replayed
  after a reconnect (1.6 §3.7.1 / §4.8; 2.0.1 E12/E13); other messages are not sent while offline.
  A CSMS that answers one with a CALLERROR (e.g. NotImplemented) has it logged and dropped: a
  station never retries forever. A timeout is retried TransactionMessageAttempts times.
* A 1.6 transaction whose StartTransaction got no transactionId continues with transactionId -1
  (1.6 errata v4.0 §4.8), and an Authorize refused by CALLERROR is treated as locally accepted
  (LocalAuthorizeOffline).
* After a lost connection it reconnects with the back-off of :mod:`csms.simulator.backoff` and does
  not boot again unless it lost power or was reset (2.0.1 Part 4 §5.3).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
import ssl
from collections import deque
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from ssl import SSLContext
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Subprotocol

from csms.messages.ocpp15 import SUBPROTOCOL as OCPP15_SUBPROTOCOL
from csms.messages.soap.station import StationCodec
from csms.rpc.errors import CallErrorReply, ErrorCode
from csms.rpc.events import CallReceived
from csms.rpc.session import RpcSession
from csms.rpc.versions import OcppVersion
from csms.simulator import certificates, followups, iso15118
from csms.simulator.backoff import backoff_delays
from csms.simulator.dialect import (
    VENDOR,
    BootReason,
    Payload,
    StopReason,
)
from csms.simulator.events import availability_event
from csms.simulator.link import ABORTED, TIMEOUT, Link, Reply, StationLink
from csms.simulator.soaplink import SoapLink
from csms.simulator.state import Evse, Transaction
from csms.simulator.station import SimStation
from csms.simulator.stats import CONNECT_ERROR, Stats

logger = logging.getLogger(__name__)

# Seconds between two log lines about refused tags from one station.
REFUSAL_LOG_INTERVAL = 60.0


def connect_failure(exc: BaseException) -> str:
    """What kind of connection failure ``exc`` is: ``http 401``, ``refused``, ``tls``..."""
    if isinstance(exc, InvalidStatus):
        return f"http {exc.response.status_code}"
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, OSError):
        return "network"
    return "handshake"


# CALLERRORs that say the CSMS will never take this message: drop it rather than retry.
_FINAL_ERRORS = frozenset(
    {"NotImplemented", "NotSupported", "SecurityError", "FormationViolation", "FormatViolation"}
)


@dataclass(slots=True)
class Queued:
    """A transaction message waiting for delivery; ``tx`` fills in the 1.6 transactionId."""

    action: str
    payload: Payload
    tx: Transaction | None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """How an agent connects and paces itself (times in seconds)."""

    url: str
    password: str | None = None
    ssl: ssl.SSLContext | None = None
    call_timeout: float = 30.0
    # Delay before answering each CSMS CALL (the "slow responder" scenario).
    response_delay: float = 0.0
    # Ignore the CSMS's heartbeat interval and use the station's own (tests, demos).
    fixed_heartbeat: bool = False
    # Time between the steps of firmware/diagnostics progressions and for an EV to leave.
    step_delay: float = 1.0
    charge_time: float = 60.0
    # RFID tags drivers use (e.g. ones registered in the CSMS); empty: made up per station.
    id_tags: tuple[str, ...] = ()
    seed: int | None = None
    # A SOAP station (ocpp1.5s/1.6s) POSTs to this CentralSystemService URL (default: ``url``)
    # and serves its ChargePointService on ``soap_host`` (its WS-Addressing From).
    soap_url: str | None = None
    soap_host: str = "127.0.0.1"
    soap_ssl: SSLContext | None = None  # for an https:// soap_url (else the system's CAs)


class StationAgent:
    """Runs one simulated station against a CSMS."""

    def __init__(self, station: SimStation, options: AgentOptions, stats: Stats | None = None):
        self.station = station
        self.options = options
        self.stats = stats if stats is not None else Stats()
        self.rng = random.Random(options.seed)
        self.link: StationLink | None = None
        self.connected = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.disconnected.set()
        self.accepted = asyncio.Event()
        self.booted = False
        self.boot_reason = BootReason.POWER_UP
        self.queue: deque[Queued] = deque()
        self._queue_ready = asyncio.Event()
        self._queue_empty = asyncio.Event()
        self._queue_empty.set()
        self._allowed_online = asyncio.Event()
        self._allowed_online.set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._meters: dict[int, asyncio.Task[None]] = {}
        self._delays: Iterator[float] = self._new_delays()
        # The waits used before each reconnection attempt, for tests and logs.
        self.backoff_log: list[float] = []
        self.boot_replies: list[Payload] = []
        # Sent once the next boot is Accepted (e.g. FirmwareStatusNotification Installed).
        self.after_boot: list[tuple[str, Payload]] = []
        self._connected_before = False
        self.dropped: list[tuple[str, str]] = []
        # Refused tags are logged once per REFUSAL_LOG_INTERVAL per station, then summed up.
        self._refusal_logged_at: float | None = None
        self._refusals_unlogged = 0

    @property
    def identity(self) -> str:
        """The station's identity (its URL path segment and Basic auth username)."""
        return self.station.identity

    # ------------------------------------------------------------------ connection loop

    def _new_delays(self) -> Iterator[float]:
        cfg = self.station.config
        wait, rand, repeat = self.station.spec.backoff
        if self.station.version.is_2x:
            wait = cfg.get_float("OCPPCommCtrlr", "RetryBackOffWaitMinimum", wait)
            rand = cfg.get_float("OCPPCommCtrlr", "RetryBackOffRandomRange", rand)
            repeat = cfg.get_int("OCPPCommCtrlr", "RetryBackOffRepeatTimes", repeat)
        return backoff_delays(
            self.station.version,
            wait_minimum=wait,
            random_range=rand,
            repeat_times=repeat,
            rng=self.rng,
        )

    def _url(self) -> str:
        return self.options.url.rstrip("/") + "/" + quote(self.identity, safe="")

    def _headers(self) -> dict[str, str]:
        if self.options.password is None:
            return {}
        token = f"{self.identity}:{self.options.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(token).decode()}

    async def run(self) -> None:
        """Keep the station connected until cancelled."""
        self.stats.stations += 1
        try:
            while True:
                await self._allowed_online.wait()
                link = await self._connect()
                if link is None:
                    delay = next(self._delays)
                    self.backoff_log.append(delay)
                    await asyncio.sleep(delay)
                    continue
                self._delays = self._new_delays()
                await self._serve(link)
                if self._allowed_online.is_set():
                    # Lost without being told to go offline: the first back-off step (§5.3).
                    delay = next(self._delays)
                    self.backoff_log.append(delay)
                    await asyncio.sleep(delay)
        finally:
            self.stats.stations -= 1
            await self._cancel_all()

    async def _connect(self) -> StationLink | None:
        if self.station.soap_codec is not None:
            return await self._soap_link(self.station.soap_codec)
        version = self.station.version
        dialect = self.station.ocpp15
        subprotocol = OCPP15_SUBPROTOCOL if dialect is not None else version.subprotocol
        try:
            ws = await connect(
                self._url(),
                subprotocols=[Subprotocol(subprotocol)],
                additional_headers=self._headers(),
                ssl=self.options.ssl,
                compression=None if version is OcppVersion.V16 else "deflate",
                open_timeout=10,
                max_size=2**20,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            self._connect_failed(connect_failure(exc))
            logger.info("%s: connection failed: %s", self.identity, exc)
            return None
        if ws.subprotocol != subprotocol:
            self._connect_failed("subprotocol")
            logger.warning("%s: CSMS did not agree on %s", self.identity, subprotocol)
            await ws.close()
            return None
        session = RpcSession(version, call_timeout=self.options.call_timeout, max_queued_calls=64)
        return Link(ws, session, identity=self.identity, on_call=self._answer, dialect=dialect)

    async def _soap_link(self, codec: StationCodec) -> StationLink | None:
        """SOAP has no connection: "connecting" starts the station's ChargePointService."""
        try:
            return await SoapLink.open(
                host=self.options.soap_host,
                identity=self.identity,
                codec=codec,
                url=self.options.soap_url or self.options.url,
                on_call=self._answer,
                password=self.options.password,
                ssl_context=self.options.soap_ssl,
                call_timeout=self.options.call_timeout,
            )
        except OSError as exc:
            self._connect_failed("listen")
            logger.warning("%s: ChargePointService cannot listen: %s", self.identity, exc)
            return None

    def _connect_failed(self, kind: str) -> None:
        """A failed connection is an error of the run (``csms simulate`` explains each kind)."""
        self.stats.failed_connects += 1
        self.stats.errors[f"{CONNECT_ERROR}{kind}"] += 1

    async def _serve(self, link: StationLink) -> None:
        self.link = link
        if self._connected_before:
            self.stats.reconnects += 1
        self._connected_before = True
        self.stats.connects += 1
        self.stats.connected += 1
        self.connected.set()
        self.disconnected.clear()
        logger.info("%s: connected (OCPP %s)", self.identity, self.station.protocol)
        online = asyncio.create_task(self._online(link))
        try:
            await link.run()
        finally:
            online.cancel()
            (outcome,) = await asyncio.gather(online, return_exceptions=True)
            if isinstance(outcome, Exception):
                logger.error("%s: session task failed", self.identity, exc_info=outcome)
            await link.close()  # stopped from outside: say goodbye (1000) rather than vanish
            self.link = None
            self.connected.clear()
            self.disconnected.set()
            if self.accepted.is_set():
                self.stats.accepted -= 1
            self.accepted.clear()
            self.stats.connected -= 1
            self.station.offline = True
            logger.info("%s: disconnected", self.identity)

    async def _online(self, link: StationLink) -> None:
        if not self.booted:
            await self._boot(link)
        self.accepted.set()
        self.stats.accepted += 1
        self.stats.accepted_total += 1
        self.station.offline = False
        await self.send_statuses()
        while self.after_boot:
            action, payload = self.after_boot.pop(0)
            await self.send(action, payload)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._heartbeats(link))
            group.create_task(self._deliver(link))

    async def _boot(self, link: StationLink) -> None:
        """B01-B03: BootNotification until Accepted, waiting the interval after Pending/Rejected."""
        while True:
            action, payload = self.station.dialect.boot(self.station, self.boot_reason)
            reply = await self._call(link, action, payload)
            if reply.ok and reply.payload is not None:
                self.boot_replies.append(reply.payload)
                status = reply.payload["status"]
                interval = float(reply.payload["interval"])
                logger.info("%s: BootNotification %s", self.identity, status)
                if status == "Accepted":
                    if interval > 0 and not self.options.fixed_heartbeat:
                        self.station.heartbeat_interval = interval
                    for evse in self.station.state.evses.values():
                        evse.reported_availability = None  # reported afresh after each boot
                    self.booted = True
                    return
                await asyncio.sleep(interval or 10.0)
            else:
                logger.warning("%s: BootNotification failed: %s", self.identity, reply.error)
                await asyncio.sleep(next(self._delays))

    async def _heartbeats(self, link: StationLink) -> None:
        while True:
            await asyncio.sleep(max(0.05, self.station.heartbeat_interval))
            await self._call(link, "Heartbeat", {})

    # ------------------------------------------------------------------ sending

    async def _call(self, link: StationLink, action: str, payload: Payload) -> Reply:
        self.station.validator.validate_request(action, payload)  # a bug here is ours
        self.stats.sent[action] += 1
        reply = await link.call(action, payload)
        if not reply.ok:
            self.stats.errors[f"{action}:{reply.error}"] += 1
            if reply.error not in (TIMEOUT, ABORTED):
                logger.info(
                    "%s: CSMS answered %s with %s %s",
                    self.identity,
                    action,
                    reply.error,
                    reply.description,
                )
        return reply

    async def send(self, action: str, payload: Payload) -> Reply | None:
        """Send a non-transaction message now; None when offline (it is not kept)."""
        link = self.link
        if link is None or not self.accepted.is_set():
            return None
        return await self._call(link, action, payload)

    def send_tx(self, action: str, payload: Payload, tx: Transaction | None) -> None:
        """Queue a transaction message; it is delivered in order, now or after a reconnect."""
        self.station.validator.validate_request(action, payload)
        self.queue.append(Queued(action, payload, tx))
        self._queue_changed()
        self._queue_ready.set()

    def _queue_changed(self) -> None:
        if self.queue:
            self._queue_empty.clear()
        else:
            self._queue_empty.set()
        self.stats.queued += len(self.queue) - self.station.messages_in_queue
        self.station.messages_in_queue = len(self.queue)

    async def _deliver(self, link: StationLink) -> None:
        while True:
            if not self.queue:
                self._queue_ready.clear()
                await self._queue_ready.wait()
                continue
            item = self.queue[0]
            if item.tx is not None and "transactionId" in item.payload:
                csms_id = item.tx.csms_id
                item.payload["transactionId"] = -1 if csms_id is None else csms_id
            reply = await self._call(link, item.action, item.payload)
            if reply.error == ABORTED:
                return  # the connection is gone: keep the message for the replay
            if reply.error in (TIMEOUT, "InternalError"):
                item.attempts += 1
                if item.attempts < self._attempts():
                    await asyncio.sleep(self._retry_interval() * item.attempts)
                    continue
            if reply.ok:
                self._delivered(item, reply.payload or {})
            else:
                self.dropped.append((item.action, str(reply.error)))
            self.queue.popleft()
            self._queue_changed()

    def _delivered(self, item: Queued, answer: Payload) -> None:
        if item.action == "StartTransaction" and item.tx is not None:
            item.tx.csms_id = int(answer["transactionId"])
        info = answer.get("idTagInfo") or answer.get("idTokenInfo")
        tx = item.tx
        self._show_cost(item, answer)
        if not info or info.get("status") in (None, "Accepted") or tx is None:
            return
        logger.info(
            "%s: transaction %s not authorised (%s)",
            self.identity,
            tx.transaction_id,
            info["status"],
        )
        evse = self.station.state.evse(tx.evse_id)
        if evse is not None and evse.transaction is tx and self._stop_on_invalid_id():
            # 1.6 StopTransactionOnInvalidId; 2.0.1 TxCtrlr.StopTxOnInvalidId (E05).
            self.spawn(self._deauthorize(evse))

    def _show_cost(self, item: Queued, answer: Payload) -> None:
        """2.x block I: keep what a TransactionEventResponse tells the driver."""
        state = self.station.state
        info = answer.get("idTokenInfo") or {}
        state.show_message(info.get("personalMessage"))
        state.show_message(answer.get("updatedPersonalMessage"))
        total = answer.get("totalCost")
        if total is not None and item.tx is not None:
            state.costs[item.tx.transaction_id] = float(total)
            state.final_costs[item.tx.transaction_id] = float(total)

    async def _deauthorize(self, evse: Evse) -> None:
        await self.stop_session(evse, StopReason.DEAUTHORIZED)
        await self.leave(evse)

    def _stop_on_invalid_id(self) -> bool:
        if self.station.version is OcppVersion.V16:
            return self.station.config.get("", "StopTransactionOnInvalidId") == "true"
        return self.station.config.get("TxCtrlr", "StopTxOnInvalidId") == "true"

    def _attempts(self) -> int:
        if self.station.version is OcppVersion.V16:
            return self.station.config.get_int("", "TransactionMessageAttempts", 3)
        return self.station.config.get_int(
            "OCPPCommCtrlr", "MessageAttempts", 3, instance="TransactionEvent"
        )

    def _retry_interval(self) -> float:
        return min(self.options.call_timeout, 5.0)

    async def send_statuses(self) -> None:
        """StatusNotification for every connector (after boot or reconnect)."""
        for evse in self.station.state.evses.values():
            await self.send_status(evse)

    async def send_status(self, evse: Evse) -> None:
        """StatusNotification for one connector, and on 2.x the NotifyEvent of its
        AvailabilityState when that changed (see :mod:`~csms.simulator.events`)."""
        now = self.station.clock()
        action, payload = self.station.dialect.status(self.station, evse, now)
        if await self.send(action, payload) is None:
            return  # offline: reported after the reconnect
        event = availability_event(self.station, evse, now)
        if event is not None:
            await self.send(*event)

    # ------------------------------------------------------------------ answering the CSMS

    async def _answer(self, link: StationLink, call: CallReceived) -> None:
        if self.options.response_delay:
            await asyncio.sleep(self.options.response_delay)
        self.stats.answered[call.action] += 1
        try:
            answer = self.station.answer(call.action, call.payload)
        except CallErrorReply as exc:
            link.send_error(call.message_id, exc.code, exc.description)
            await link.flush()
            return
        try:
            self.station.validator.validate_response(call.action, answer.payload)
        except CallErrorReply as exc:  # a simulator bug: never send an invalid answer
            logger.error("%s: invalid answer to %s: %s", self.identity, call.action, exc)
            link.send_error(call.message_id, ErrorCode.INTERNAL_ERROR, "simulator bug")
            await link.flush()
            return
        link.send_result(call.message_id, call.action, answer.payload)
        await link.flush()
        logger.info("%s: answered %s: %s", self.identity, call.action, answer.payload.get("status"))
        if answer.then:
            self.spawn(followups.perform_all(self, answer.then))

    # ------------------------------------------------------------------ charging sessions

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def authorize(self, id_tag: str) -> bool:
        """C01 / 1.6 §4.1: ask the CSMS; offline or refused by CALLERROR counts as local accept.
        A refusal is counted and logged with the status the CSMS gave."""
        reply = await self.send(*self.station.dialect.authorize(id_tag))
        if reply is None or not reply.ok or reply.payload is None:
            return True  # LocalAuthorizeOffline, or a CSMS without Authorize
        info = reply.payload.get("idTagInfo") or reply.payload.get("idTokenInfo") or {}
        self.station.state.show_message(info.get("personalMessage"))  # 2.x I01: the tariff
        status = info.get("status")
        if status == "Accepted":
            return True
        self.stats.refused += 1
        self._log_refusal(id_tag, str(status))
        return False

    def _log_refusal(self, id_tag: str, status: str) -> None:
        """INFO, at most once per :data:`REFUSAL_LOG_INTERVAL` per station (a fleet whose tags the
        CSMS does not know would otherwise log every session of every station)."""
        now = self._now()
        last = self._refusal_logged_at
        if last is not None and now - last < REFUSAL_LOG_INTERVAL:
            self._refusals_unlogged += 1
            return
        more = self._refusals_unlogged
        self._refusal_logged_at, self._refusals_unlogged = now, 0
        logger.info(
            "%s: Authorize for tag %s refused: %s%s%s",
            self.identity,
            id_tag,
            status,
            f" ({more} more refusals since the last report)" if more else "",
            " (an unknown tag: register it in the CSMS, e.g. csms token add)"
            if status == "Invalid"
            else "",
        )

    async def start_session(
        self,
        evse: Evse,
        id_tag: str,
        *,
        remote_start_id: int | None = None,
        iso15118: bool = False,
    ) -> Transaction | None:
        """Plug in, authorise (unless remote), start the transaction and the meter samples.

        ``iso15118``: the EV speaks ISO 15118 (2.x only): once the TransactionEvent Started is
        delivered it sends its charging needs (K15.FR.01, :mod:`csms.simulator.iso15118`).
        """
        station = self.station
        station.plug_in(evse)
        await self.send_status(evse)
        if remote_start_id is None and not await self.authorize(id_tag):
            station.settle(evse)
            await self.send_status(evse)
            return None
        tx = station.begin_transaction(evse, id_tag, self._now(), remote_start_id=remote_start_id)
        self.stats.transactions += 1
        self.stats.charging += 1
        now = station.clock()
        action, payload = station.dialect.started(station, evse, tx, now, offline=station.offline)
        self.send_tx(action, payload, tx)
        await self.send_status(evse)
        self._meters[evse.id] = self.spawn(self._sample(evse, tx))
        logger.info("%s: charging on EVSE %d for %s", self.identity, evse.id, id_tag)
        evse.iso15118 = iso15118 and station.version is not OcppVersion.V16
        if evse.iso15118:
            self.spawn(self._charging_needs(evse, tx))
        return tx

    async def _charging_needs(self, evse: Evse, tx: Transaction) -> None:
        """K15.FR.01: after the transaction is known to the CSMS, the EV's needs."""
        await self.drained()
        if evse.transaction is tx:
            payload = iso15118.charging_needs(self.station, evse, self.station.clock())
            await self.send("NotifyEVChargingNeeds", payload)

    async def request_ev_certificates(self) -> tuple[Reply | None, Reply | None]:
        """Plug & Charge (2.x M06, M02): GetCertificateStatus, then Get15118EVCertificate."""
        status = await self.send(
            "GetCertificateStatus", iso15118.certificate_status_request(self.station)
        )
        install = await self.send(
            "Get15118EVCertificate", iso15118.ev_certificate_request(self.station)
        )
        return status, install

    async def sign_certificate(self, certificate_type: str) -> Reply | None:
        """A02/A03: send a SignCertificate with a new CSR (CN = identity); the CSMS answers with
        a CertificateSigned CALL, which installs the chain."""
        csr = certificates.make_csr(self.identity, VENDOR)
        payload: Payload = {"csr": csr}
        if self.station.version is not OcppVersion.V16:
            payload["certificateType"] = certificate_type
        return await self.send("SignCertificate", payload)

    async def _sample(self, evse: Evse, tx: Transaction) -> None:
        station = self.station
        while True:
            interval = station.meter_interval
            await asyncio.sleep(interval if interval > 0 else 3600.0)
            if interval <= 0 or evse.transaction is not tx:
                continue
            before = evse.meter.energy_wh
            evse.meter.advance(self._now())
            self.stats.energy_wh += evse.meter.energy_wh - before
            action, payload = station.dialect.updated(
                station, evse, tx, station.clock(), offline=station.offline
            )
            self.send_tx(action, payload, tx)

    async def stop_later(self, evse: Evse, seconds: float) -> None:
        """End the current transaction on ``evse`` after ``seconds`` (a remote start's session)."""
        tx = evse.transaction
        await asyncio.sleep(seconds)
        if tx is not None and evse.transaction is tx:
            await self.stop_session(evse, StopReason.LOCAL)
            await self.leave(evse)

    async def stop_session(
        self, evse: Evse, reason: StopReason, *, at: datetime | None = None
    ) -> None:
        """End the transaction on ``evse`` (the cable stays in until :meth:`leave`).

        ``at`` is when it ended, if not now (a power loss is reported after the outage).
        """
        station = self.station
        meter = self._meters.pop(evse.id, None)
        if meter is not None:
            meter.cancel()
        if evse.transaction is None:
            return
        before = evse.meter.energy_wh
        evse.meter.advance(self._now())
        self.stats.energy_wh += evse.meter.energy_wh - before
        tx = evse.transaction
        action, payload = station.dialect.ended(
            station, evse, tx, reason, at or station.clock(), offline=station.offline
        )
        station.end_transaction(evse, self._now())
        evse.iso15118 = False
        self.stats.charging -= 1
        self.send_tx(action, payload, tx)
        await self.send_status(evse)
        logger.info("%s: transaction on EVSE %d ended (%s)", self.identity, evse.id, reason.value)

    async def leave(self, evse: Evse) -> None:
        """The driver unplugs and leaves: the connector becomes Available."""
        await asyncio.sleep(min(self.options.step_delay, 1.0))
        self.station.settle(evse)
        await self.send_status(evse)

    async def charge(
        self, evse: Evse, id_tag: str, seconds: float, *, iso15118: bool = False
    ) -> None:
        """One whole session: plug in, authorise, charge ``seconds``, stop, unplug."""
        tx = await self.start_session(evse, id_tag, iso15118=iso15118)
        if tx is None:
            return
        await asyncio.sleep(seconds)
        if evse.transaction is tx:
            await self.stop_session(evse, StopReason.LOCAL)
            await self.leave(evse)

    # ------------------------------------------------------------------ trouble

    async def go_offline(self) -> None:
        """The network goes down: the connection drops and stays down until :meth:`go_online`."""
        self._allowed_online.clear()
        self.station.offline = True
        link = self.link
        if link is not None:
            link.abort()
        await self.disconnected.wait()

    def go_online(self) -> None:
        """The network is back: reconnect (and replay the queue)."""
        self._allowed_online.set()

    async def drop_connection(self) -> None:
        """The connection breaks once; the station reconnects with its back-off."""
        link = self.link
        if link is not None:
            link.abort()
        await self.disconnected.wait()

    async def reboot(self, reason: BootReason) -> None:
        """Reset: close the connection, come back, and boot with ``reason``."""
        for evse in self.station.state.evses.values():
            if evse.transaction is not None:
                await self.stop_session(evse, StopReason.REBOOT)
        self.booted = False
        self.boot_reason = reason
        link = self.link
        if link is not None:
            await link.close()
        logger.info("%s: rebooting (%s)", self.identity, reason.value)

    async def power_loss(self, seconds: float) -> None:
        """Lose power for ``seconds``: connection gone, transactions interrupted, boot on return.

        Transactions interrupted by the outage are ended with reason PowerLoss once the station is
        back (1.6 §3.16 and the StopTransaction reasons; 2.0.1 E03 stoppedReason PowerLoss).
        """
        station = self.station
        for task in self._meters.values():
            task.cancel()
        self._meters.clear()
        interrupted = station.power_cycle()
        lost_at = station.clock()
        self.booted = False
        self.boot_reason = BootReason.POWER_UP
        await self.go_offline()
        logger.info("%s: power lost", self.identity)
        await asyncio.sleep(seconds)
        for evse, _tx in interrupted:
            evse.meter.last = self._now()
            evse.plugged = True
            await self.stop_session(evse, StopReason.POWER_LOSS, at=lost_at)
        self.go_online()

    async def fault(self, evse: Evse, error_code: str = "GroundFailure") -> None:
        """A ground fault: any transaction ends (GroundFault) and the connector is Faulted."""
        if evse.transaction is not None:
            await self.stop_session(evse, StopReason.GROUND_FAULT)
        self.station.fault(evse, error_code)
        await self.send_status(evse)

    async def recover(self, evse: Evse) -> None:
        """The fault cleared: Available again."""
        self.station.recover(evse)
        await self.send_status(evse)

    async def drained(self) -> None:
        """Wait until every queued transaction message was delivered (or dropped)."""
        await self._queue_empty.wait()

    # ------------------------------------------------------------------ tasks

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` as a task the agent owns (cancelled when it stops; failures logged)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: task failed", self.identity, exc_info=task.exception())

    async def _cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
