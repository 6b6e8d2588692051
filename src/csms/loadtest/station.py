"""One simulated charging station: a small state machine driven by callbacks and one timer.

Life of a station: connect (HTTP upgrade with Basic auth) → BootNotification, repeated after the
``interval`` the CSMS gives while it answers Pending or Rejected (1.6 §4.2; 2.0.1 B02/B03) → one
StatusNotification per connector → then, one CALL at a time (OCPP-J allows one outstanding CALL per
direction): Heartbeat every heartbeat interval and, on charging stations, sessions:

* 1.6: StartTransaction → StatusNotification Charging → MeterValues every meter interval →
  StopTransaction → StatusNotification Available;
* 1.5 (OCPP 1.5 over JSON, subprotocol ``ocpp1.5``): the 1.6 session, each payload mapped to 1.5
  by :func:`csms.messages.ocpp15.mapping.to_15` (Charging → Occupied, ``values``, ``Amp``);
* 1.5s / 1.6s (OCPP over SOAP, :mod:`csms.loadtest.soap`): the 1.6 session, each CALL POSTed as a
  SOAP request by the channel standing in for the WebSocket;
* 2.0.1 / 2.1: StatusNotification Occupied → TransactionEvent Started → TransactionEvent Updated
  every meter interval → TransactionEvent Ended → StatusNotification Available.

A lost connection is retried after the 2.0.1 back-off (B.6 "RetryBackOff*": wait minimum doubled
per attempt up to RetryBackOffRepeatTimes, plus a random 0..RetryBackOffRandomRange), except that an
upgrade answered 503/429 with Retry-After is retried after that wait (plus the random range) when
``honour_retry_after`` is on, as many chargers' WebSocket clients do. The station boots again on
every new connection. A transaction-related CALL (StartTransaction, MeterValues, StopTransaction,
TransactionEvent) left unanswered by a lost connection is kept, with its payload unchanged, and sent
again after the next accepted boot, as a charger must (1.6 §4.7 "Transaction-related messages";
2.0.1 E12/FR.03 "offline" queueing); the CSMS recognises the repeat (same content, same seqNo) and
stores it once. CALLs from the CSMS are answered with CALLERROR NotImplemented and counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from csms.loadtest import payloads
from csms.loadtest.stats import ActionStats
from csms.messages.ocpp15.mapping import to_15
from csms.messages.schemas import SchemaKind

if TYPE_CHECKING:
    from csms.loadtest.engine import Engine

CALL, CALLRESULT, CALLERROR = 2, 3, 4

# States
IDLE, CONNECTING, BOOTING, RUNNING, CLOSED = range(5)


class Channel(Protocol):
    """Where a station writes its frames: its WebSocket (:class:`~csms.loadtest.wsclient.WsClient`)
    or, for a SOAP station, a :class:`~csms.loadtest.soap.SoapChannel`."""

    def send(self, data: bytes) -> None:
        """Send one frame."""

    def close(self) -> None:
        """Close cleanly."""

    def abort(self) -> None:
        """Drop at once."""


class SimStation:
    """One station; all its state in slots (tens of thousands live in one process)."""

    __slots__ = (
        "_energy",
        "_in_session",
        "_next_hb",
        "_next_meter",
        "_next_msg",
        "_pending_action",
        "_pending_id",
        "_pending_payload",
        "_pending_sent",
        "_pending_timer",
        "_queue",
        "_resend",
        "_retry_after",
        "_seq_no",
        "_session_end",
        "_timer",
        "_tx2",
        "_tx16",
        "accepted",
        "attempts",
        "charging",
        "connect_started",
        "engine",
        "heartbeat_interval",
        "id",
        "index",
        "opened",
        "state",
        "version",
        "ws",
    )

    def __init__(
        self, engine: Engine, index: int, station_id: str, version: str, charging: bool
    ) -> None:
        self.engine = engine
        self.index = index
        self.id = station_id
        self.version = version
        self.charging = charging
        self.ws: Channel | None = None
        self.state = IDLE
        self.accepted = False
        self.opened = False
        self.attempts = 0
        self.connect_started = 0.0
        self.heartbeat_interval = 300.0
        self._next_msg = 0
        self._pending_id: str | None = None
        self._pending_action = ""
        self._pending_payload: dict[str, Any] | None = None
        self._resend: list[tuple[str, dict[str, Any]]] | None = None  # rare: created when needed
        self._retry_after: float | None = None
        self._pending_sent = 0.0
        self._pending_timer: asyncio.TimerHandle | None = None
        self._queue: deque[str] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._next_hb = 0.0
        self._next_meter = 0.0
        self._session_end = 0.0
        self._in_session = False
        self._tx16 = 0
        self._tx2 = ""
        self._seq_no = 0
        self._energy = 10_000.0 + 10.0 * index

    # ------------------------------------------------------------------ connection

    @property
    def subprotocol(self) -> str:
        """The one subprotocol this station offers."""
        return "ocpp" + self.version

    def connect(self) -> None:
        """Open a connection now (the engine bounds when and how many)."""
        self._cancel_timer()
        self.state = CONNECTING
        self.opened = False
        self.engine.open_connection(self)

    def watch_upgrade(self, deadline: asyncio.TimerHandle) -> None:
        """Hold the engine's upgrade deadline, cancelled as soon as the upgrade is done or the
        connection gone (a storm's attempts would otherwise leave one live timer each)."""
        self._cancel_timer()
        self._timer = deadline

    def ws_open(self) -> None:
        """Upgrade done: count it, then boot."""
        self._cancel_timer()
        self.opened = True
        self.attempts = 0
        self.engine.on_open(self)
        self.state = BOOTING
        # Transaction steps not sent yet stay queued (1.6 §4.7); the rest is rebuilt after boot.
        kept = [step for step in self._queue if _wire_action(step) in TRANSACTION_ACTIONS]
        self._queue.clear()
        self._queue.extend(kept)
        self._pending_id = None
        self._call("BootNotification")

    def ws_failed(self, reason: str, retry_after: float | None = None) -> None:
        """The upgrade was refused or broken; ws_closed follows and schedules the retry (after
        the server's Retry-After when it gave one and the run honours it)."""
        self.engine.on_connect_failed(self, reason)
        if retry_after is not None and self.engine.config.honour_retry_after:
            self._retry_after = retry_after

    def ws_closed(self) -> None:
        """TCP gone: account for it and, unless the run is stopping, reconnect after back-off."""
        self.ws = None
        self._cancel_timer()
        if self._pending_id is not None:
            action, payload = self._pending_action, self._pending_payload
            self._clear_pending()
            self._stats(action).unanswered_at_close += 1
            if payload is not None and _wire_action(action) in TRANSACTION_ACTIONS:
                if self._resend is None:
                    self._resend = []
                self._resend.append((action, payload))
        if self.accepted:
            self.accepted = False
            self.engine.on_unaccepted(self)
        was_open, self.opened = self.opened, False
        self.engine.on_closed(self, was_open)
        if self.engine.stopping:
            self.state = CLOSED
            self._lose_resend()
            return
        self.state = IDLE
        self.attempts += 1
        if self._retry_after is not None:
            delay = self.engine.retry_after_delay(self._retry_after)
            self._retry_after = None
        else:
            delay = self.engine.retry_delay(self.attempts)
        self._timer = self.engine.loop.call_later(delay, self.connect)

    def drop(self) -> None:
        """Lose the connection abruptly (reconnect storm); reconnection follows the back-off."""
        if self.ws is not None:
            self.ws.abort()

    def stop(self) -> None:
        """End of run: no new CALLs, close the connection."""
        self._cancel_timer()
        self._queue.clear()
        self._lose_resend()
        if self.ws is not None:
            self.ws.close()

    def _lose_resend(self) -> None:
        """The run ends with CALLs still to resend: count them lost."""
        if self._resend:
            for action, _ in self._resend:
                self._stats(action).lost += 1
        self._resend = None

    @property
    def has_pending(self) -> bool:
        """True while a CALL of this station waits for its reply."""
        return self._pending_id is not None

    # ------------------------------------------------------------------ CALLs

    def _call(self, action: str, payload: dict[str, Any] | None = None) -> None:
        """Send ``action``: a new payload, or ``payload`` as first sent (a resend, new id)."""
        if self.ws is None or self.engine.stopping:
            return
        if payload is None:
            payload = self._payload(action)
            if self.version == "1.5":  # 1.5J: the 1.6 messages spelled as 1.5 (no validation)
                payload = to_15(_wire_action(action), SchemaKind.REQUEST, payload)
        self._next_msg += 1
        msg_id = str(self._next_msg)
        self._pending_id = msg_id
        self._pending_action = action
        self._pending_payload = payload
        loop = self.engine.loop
        self._pending_sent = time.perf_counter()  # uvloop loop.time() has 1 ms steps
        self._pending_timer = loop.call_later(self.engine.config.call_timeout, self._on_timeout)
        self._stats(action).sent += 1
        self.ws.send(orjson.dumps([CALL, msg_id, _wire_action(action), payload]))

    def _payload(self, action: str) -> dict[str, Any]:
        v16 = self.version in _V16_LOGIC
        if action == "Heartbeat":  # the most frequent CALL: no timestamp to format
            return payloads.heartbeat_16()
        if action == "BootNotification":
            if v16:
                return payloads.boot_notification_16(self.id)
            return payloads.boot_notification_201(self.id)
        now = payloads.utc_timestamp()
        if action.startswith("StatusNotification:"):
            _, connector, status = action.split(":")
            if v16:
                return payloads.status_notification_16(int(connector), status, now)
            status = "Occupied" if status == "Charging" else status
            return payloads.status_notification_201(int(connector), status, now)
        if action == "StartTransaction":
            return payloads.start_transaction_16(1, f"LT{self.index}", int(self._energy), now)
        if action == "StopTransaction":
            return payloads.stop_transaction_16(self._tx16, int(self._energy), now)
        if action == "MeterValues":
            self._energy += 183.3
            return payloads.meter_values_16(self._tx16, self._energy, now)
        if action == "TransactionEvent:Started":
            self._seq_no = 0
            return payloads.transaction_event_started_201(self._tx2, self._energy, now)
        self._seq_no += 1
        if action == "TransactionEvent:Updated":
            self._energy += 183.3
            return payloads.transaction_event_updated_201(
                self._tx2, self._seq_no, self._energy, now
            )
        return payloads.transaction_event_ended_201(self._tx2, self._seq_no, self._energy, now)

    def _stats(self, action: str) -> ActionStats:
        """The counters of ``action`` (a SOAP station keeps its own, :mod:`csms.loadtest.soap`)."""
        return self.engine.stats.action(_wire_action(action))

    def _clear_pending(self) -> None:
        self._pending_id = None
        self._pending_payload = None
        if self._pending_timer is not None:
            self._pending_timer.cancel()
            self._pending_timer = None

    def _on_timeout(self) -> None:
        self._pending_timer = None
        action = self._pending_action
        self._pending_id = None
        self._stats(action).timeouts += 1
        if action == "BootNotification":
            self._after(self.engine.retry_delay(1), self._boot_again)
        else:
            self._next()

    def ws_message(self, data: bytes) -> None:
        """A frame from the CSMS: a reply to our CALL, or a CALL of its own."""
        try:
            msg = orjson.loads(data)
            kind, msg_id = msg[0], msg[1]
        except (orjson.JSONDecodeError, TypeError, IndexError, KeyError):
            self.engine.stats.bad_frames += 1
            return
        if kind == CALL:
            self.engine.stats.server_calls += 1
            if self.ws is not None:
                error = [CALLERROR, msg_id, "NotImplemented", "load test station", {}]
                self.ws.send(orjson.dumps(error))
            return
        if msg_id != self._pending_id or kind not in (CALLRESULT, CALLERROR):
            self.engine.stats.late_replies += 1
            return
        action = self._pending_action
        elapsed = time.perf_counter() - self._pending_sent
        self._clear_pending()
        stats = self._stats(action)
        result: dict[str, Any] | None = None
        if kind == CALLERROR:
            stats.errors[str(msg[2]) if len(msg) > 2 else "?"] += 1
        else:
            stats.answered += 1
            result = msg[2] if len(msg) > 2 and isinstance(msg[2], dict) else {}
        if self.engine.measuring:
            stats.measured += 1
            stats.latency.record(elapsed)
        self._on_reply(action, result)

    def _on_reply(self, action: str, result: dict[str, Any] | None) -> None:
        if action == "BootNotification":
            self._on_boot(result)
            return
        if action == "StartTransaction":
            tx = (result or {}).get("transactionId")
            self._tx16 = tx if isinstance(tx, int) else 900_000_000 + self.index
        self._next()

    def _on_boot(self, result: dict[str, Any] | None) -> None:
        engine = self.engine
        if result is None:
            self._after(engine.retry_delay(1), self._boot_again)
            return
        status = str(result.get("status"))
        engine.stats.boot_status[status] += 1
        interval = result.get("interval", result.get("heartbeatInterval"))  # 1.5: heartbeatInterval
        interval = float(interval) if isinstance(interval, int | float) and interval > 0 else 0.0
        if status != "Accepted":
            self._after(interval or engine.config.boot_retry_default, self._boot_again)
            return
        self.heartbeat_interval = engine.config.heartbeat_interval or interval or 300.0
        self.state = RUNNING
        self.accepted = True
        engine.on_accepted(self)
        now = engine.loop.time()
        self._next_hb = now + self.heartbeat_interval
        for connector in range(1, engine.config.connectors + 1):
            status_now = "Charging" if self._in_session and connector == 1 else "Available"
            self._queue.append(f"StatusNotification:{connector}:{status_now}")
        if self.charging and not self._in_session:
            self._start_session(now)
        self._next()

    def _boot_again(self) -> None:
        self._timer = None
        if self.state == BOOTING and self._pending_id is None:
            self._call("BootNotification")

    # ------------------------------------------------------------------ scenario

    def _start_session(self, now: float) -> None:
        config = self.engine.config
        self._in_session = True
        self._session_end = now + config.session_length if config.session_length else 0.0
        self._next_meter = now + config.meter_interval
        if self.version in _V16_LOGIC:
            if config.start_stop_16:
                self._queue.append("StartTransaction")
            else:
                self._tx16 = 900_000_000 + self.index
            self._queue.append("StatusNotification:1:Charging")
        else:
            self._tx2 = f"{self.id}-t{self._next_msg}"[-36:]
            self._queue.extend(("StatusNotification:1:Charging", "TransactionEvent:Started"))

    def _stop_session(self) -> None:
        self._in_session = False
        if self.version in _V16_LOGIC:
            if self.engine.config.start_stop_16:
                self._queue.append("StopTransaction")
        else:
            self._queue.append("TransactionEvent:Ended")
        self._queue.append("StatusNotification:1:Available")

    def _next(self) -> None:
        """Send the next queued CALL, or arm the timer for the next due one."""
        if self._pending_id is not None or self.ws is None or self.engine.stopping:
            return
        if self._resend:  # the oldest first: what the lost connection left unanswered
            action, payload = self._resend.pop(0)
            if not self._resend:
                self._resend = None
            self._stats(action).resent += 1
            self._call(action, payload)
            return
        if self._queue:
            self._call(self._queue.popleft())
            return
        due = self._next_hb
        if self._in_session:
            due = min(due, self._next_meter)
            if self._session_end:
                due = min(due, self._session_end)
        elif self.charging:
            due = min(due, self._next_meter)
        self._after_at(due, self._tick)

    def _tick(self) -> None:
        self._timer = None
        now = self.engine.loop.time()
        config = self.engine.config
        if self._in_session:
            if self._session_end and now >= self._session_end:
                self._stop_session()
                self._next_meter = now + config.meter_interval  # pause, then a new session
            elif now >= self._next_meter:
                self._next_meter = now + config.meter_interval
                self._queue.append(
                    "MeterValues" if self.version in _V16_LOGIC else "TransactionEvent:Updated"
                )
        elif self.charging and now >= self._next_meter:
            self._start_session(now)
        if now >= self._next_hb:
            self._next_hb = now + self.heartbeat_interval
            self._queue.append("Heartbeat")
        self._next()

    # ------------------------------------------------------------------ timer

    def _after(self, delay: float, callback: Any) -> None:
        self._cancel_timer()
        self._timer = self.engine.loop.call_later(delay, callback)

    def _after_at(self, when: float, callback: Any) -> None:
        self._cancel_timer()
        self._timer = self.engine.loop.call_at(when, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


# The versions that run the 1.6 scenario (1.5 over JSON: the same messages, mapped to 1.5; over
# SOAP, the channel maps them).
_V16_LOGIC = ("1.6", "1.5", "1.6s", "1.5s")
# The transaction-related CALLs a charger must deliver despite a lost connection (1.6 §4.7;
# 2.0.1 E12): an unanswered one is sent again after the next boot.
TRANSACTION_ACTIONS = frozenset(
    ("StartTransaction", "MeterValues", "StopTransaction", "TransactionEvent")
)


def _wire_action(action: str) -> str:
    """The OCPP action of an internal step name (``StatusNotification:1:Available`` → ...)."""
    return action.split(":", 1)[0]
