"""Vendor-specific DataTransfer from stations (1.6 §4.3; 2.0.1 P02): what a vendor handler gets
and must implement.

A handler is registered for one vendorId (see ``csms.blocks.datatransfer``); csms answers
``UnknownVendorId`` for a vendorId without a handler and a handler answers ``UnknownMessageId`` for a
messageId it does not know (1.6 §4.3: "the recipient SHALL return status UnknownMessageId").
Handlers never make csms answer with a CALLERROR: an exception in one is logged and answered
``Rejected`` (ocpp-rules §6 test 67).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from csms.domain.commands import DataTransferResult

__all__ = ["DataTransferRequest", "VendorHandler"]


@dataclass(frozen=True, slots=True)
class DataTransferRequest:
    """A DataTransfer a station sent.

    ``data`` is what the station sent: a string in 1.6, any JSON value in 2.x, None if absent.
    """

    station_id: str
    ocpp_version: str
    vendor_id: str
    message_id: str | None = None
    data: Any = None


class VendorHandler(Protocol):
    """Answers the DataTransfers of one vendor.

    ``handle`` runs while the station waits for its answer, in the station's message order: do
    slow work elsewhere. ``data`` in the result may be any JSON value; for a 1.6 station a value
    that is not a string is sent JSON-encoded (1.6 DataTransfer.conf data is text).
    """

    async def handle(self, request: DataTransferRequest) -> DataTransferResult:
        """Return the answer to ``request``."""
        ...
