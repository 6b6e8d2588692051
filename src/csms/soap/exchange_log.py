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


class ExchangeLog:
    """Hands SOAP exchanges to the message log (a no-op when the log is off)."""

    def __init__(self, taps: Taps | None) -> None:
        self._taps = taps

    @property
    def enabled(self) -> bool:
        """True when the message log is on."""
        return self._taps is not None

    def exchange(
        self,
        station_id: str,
        *,
        inbound: bool,
        message_id: str,
        action: str,
        payload: dict[str, Any],
        result: dict[str, Any] | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        """Log one exchange: ``inbound`` (the station called csms) or not; ``result`` or
        ``error`` (code, description), or neither for an unanswered call."""
        if self._taps is None:
            return
        tap = self._taps(station_id)
        tap.frame(inbound, orjson.dumps([2, message_id, action, payload]))
        if result is not None:
            tap.frame(not inbound, orjson.dumps([3, message_id, result]))
        elif error is not None:
            tap.frame(not inbound, orjson.dumps([4, message_id, error[0], error[1][:512], {}]))
        tap.closed()  # one tap per exchange: nothing stays waiting in the log
