"""Vendor handlers for station-initiated DataTransfer, registered by vendorId.

vendorId and messageId are matched case-insensitively: 1.6 types them CiString255/CiString50
(case-insensitive strings, 1.6 §7), and 2.x stations of one vendor often send either spelling.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from csms.domain.commands import DataTransferResult, DataTransferStatus
from csms.domain.datatransfer import DataTransferRequest, VendorHandler
from csms.log import LogLimiter

__all__ = ["DataTransferRegistry", "MessageHandler", "VendorMessages"]

logger = logging.getLogger(__name__)

MessageHandler = Callable[[DataTransferRequest], Awaitable[DataTransferResult]]


class DataTransferRegistry:
    """Maps vendorIds to :class:`~csms.domain.datatransfer.VendorHandler` objects."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[str, VendorHandler]] = {}

    def register(self, vendor_id: str, handler: VendorHandler) -> None:
        """Register ``handler`` for ``vendor_id``; a second one for the same vendor is an error."""
        if not vendor_id:
            raise ValueError("a vendorId must not be empty")
        if not callable(getattr(handler, "handle", None)):
            raise TypeError(f"a DataTransfer handler needs a handle() method, got {handler!r}")
        key = vendor_id.casefold()
        if key in self._handlers:
            raise ValueError(f"two DataTransfer handlers for vendorId {vendor_id!r}")
        self._handlers[key] = (vendor_id, handler)

    def vendors(self) -> list[str]:
        """The registered vendorIds, as registered, sorted."""
        return sorted(vendor for vendor, _ in self._handlers.values())

    async def dispatch(
        self, request: DataTransferRequest, *, log_limiter: LogLimiter | None = None
    ) -> DataTransferResult:
        """Answer ``request``: UnknownVendorId without a handler, Rejected if the handler fails.

        A failing handler is logged through ``log_limiter`` when given (one traceback per error
        class and interval: a station can make a handler fail with every frame).
        """
        entry = self._handlers.get(request.vendor_id.casefold())
        if entry is None:
            return DataTransferResult(DataTransferStatus.UNKNOWN_VENDOR_ID)
        try:
            # object: handlers are third-party code, their result is checked, not trusted.
            result: object = await entry[1].handle(request)
        except Exception as exc:
            _log(
                log_limiter,
                request.station_id,
                "[%s] DataTransfer handler for %r failed; answering Rejected",
                request.station_id,
                entry[0],
                exc=exc,
            )
            return DataTransferResult(DataTransferStatus.REJECTED)
        if not isinstance(result, DataTransferResult):
            _log(
                log_limiter,
                request.station_id,
                "[%s] DataTransfer handler for %r returned %r, not a DataTransferResult",
                request.station_id,
                entry[0],
                type(result).__name__,
            )
            return DataTransferResult(DataTransferStatus.REJECTED)
        return result


class VendorMessages:
    """A :class:`VendorHandler` built from one coroutine per messageId.

    A messageId without a coroutine (or no messageId, unless ``None`` is a key) is answered
    UnknownMessageId, as 1.6 §4.3 requires.
    """

    def __init__(self, messages: Mapping[str | None, MessageHandler]) -> None:
        self._messages = {
            (None if key is None else key.casefold()): handler for key, handler in messages.items()
        }

    async def handle(self, request: DataTransferRequest) -> DataTransferResult:
        """Run the coroutine of ``request.message_id``."""
        key = None if request.message_id is None else request.message_id.casefold()
        handler = self._messages.get(key)
        if handler is None:
            return DataTransferResult(DataTransferStatus.UNKNOWN_MESSAGE_ID)
        return await handler(request)


def _log(
    limiter: LogLimiter | None,
    station_id: str,
    msg: str,
    *args: object,
    exc: BaseException | None = None,
) -> None:
    if limiter is None:
        logger.error(msg, *args, exc_info=exc)
    else:
        limiter.log(logger, logging.ERROR, station_id, "DataTransfer handler", msg, *args, exc=exc)
