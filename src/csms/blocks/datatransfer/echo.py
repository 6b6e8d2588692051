"""A built-in example DataTransfer handler: messageId ``Echo`` answers Accepted with the data sent.

Useful to check a station's DataTransfer path end to end. Not registered by default; enable it for
any vendorId, e.g. ``CSMS_DATA_TRANSFER_HANDLERS="org.example.echo=csms.blocks.datatransfer.echo:
EchoHandler"``.
"""

from __future__ import annotations

from csms.blocks.datatransfer.registry import VendorMessages
from csms.domain.commands import DataTransferResult, DataTransferStatus
from csms.domain.datatransfer import DataTransferRequest

__all__ = ["EchoHandler"]


async def _echo(request: DataTransferRequest) -> DataTransferResult:
    return DataTransferResult(DataTransferStatus.ACCEPTED, data=request.data)


class EchoHandler(VendorMessages):
    """Answers ``Echo`` with the request's data; any other messageId with UnknownMessageId."""

    def __init__(self) -> None:
        super().__init__({"Echo": _echo})
