"""SOAP exchanges in the message log, one row each, like OCPP-J exchanges.

The message log (:mod:`csms.server.message_log`) pairs OCPP-J frames into rows and masks secrets
(:func:`csms.domain.messagelog.mask_secrets`). A SOAP exchange is one HTTP request and its answer,
so it is handed to a fresh tap as the OCPP-J frames it stands for: a CALL with the payload csms
read or sent (the 1.6J spelling of the shared model: what the handlers saw), then its CALLRESULT,
or a CALLERROR for a fault (the fault's OCPP error code, else ``FormationViolation`` for a
Sender fault and ``InternalError`` for a Receiver one), or nothing for a call the station never
answered (written unanswered at once). Only authenticated stations' exchanges are logged, as the
WebSocket endpoint logs only admitted connections.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson

from csms.server.connection import FrameHook

Taps = Callable[[str], FrameHook]
_MAX_ID = 36  # OCPP-J message ids are at most 36 characters
_ID_REFUSED = frozenset('"\\')


def log_message_id(soap_message_id: str | None) -> str:
    """An OCPP-J message id for a SOAP MessageID: its UUID when it is a ``urn:uuid:``, the id
    itself when it fits, else a fresh UUID."""
    if soap_message_id:
        text = soap_message_id.removeprefix("urn:uuid:")
        if len(text) <= _MAX_ID and not _ID_REFUSED.intersection(text):
            return text
    return str(uuid.uuid4())


class Exchange:
    """One logged exchange: its CALL was handed to the log; end it with exactly one of
    :meth:`answered`, :meth:`failed` or :meth:`unanswered`."""

    __slots__ = ("_inbound", "_message_id", "_tap")

    def __init__(self, tap: FrameHook | None, inbound: bool, message_id: str) -> None:
        self._tap = tap
        self._inbound = inbound
        self._message_id = message_id

    def answered(self, result: dict[str, Any]) -> None:
        """The CALLRESULT."""
        self._end(orjson.dumps([3, self._message_id, result]))

    def failed(self, code: str, description: str) -> None:
        """A CALLERROR: ``code`` an OCPP-J error code."""
        self._end(orjson.dumps([4, self._message_id, code, description[:512], {}]))

    def unanswered(self) -> None:
        """No answer (timeout, unreachable): the row is written unanswered at once."""
        self._end(None)

    def _end(self, frame: bytes | None) -> None:
        tap, self._tap = self._tap, None
        if tap is None:
            return
        if frame is not None:
            tap.frame(not self._inbound, frame)
        tap.closed()  # one tap per exchange: nothing stays waiting in the log


class ExchangeLog:
    """Hands SOAP exchanges to the message log (a no-op when the log is off)."""

    def __init__(self, taps: Taps | None) -> None:
        self._taps = taps

    def begin(
        self,
        station_id: str,
        *,
        inbound: bool,
        message_id: str | None,
        action: str,
        payload: dict[str, Any],
    ) -> Exchange:
        """Log the CALL of an exchange (``inbound``: the station called csms); ``message_id``
        the SOAP MessageID (see :func:`log_message_id`)."""
        if self._taps is None:
            return Exchange(None, inbound, "")
        tap = self._taps(station_id)
        log_id = log_message_id(message_id)
        tap.frame(inbound, orjson.dumps([2, log_id, action, payload]))
        return Exchange(tap, inbound, log_id)
