"""DataTransfer from the CSMS to a station (1.6 §5.6; 2.0.1 P01)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from csms.blocks.outbound import Payload, read_status, read_status_info, sends, sent_actions
from csms.domain.commands import DataTransferResult, DataTransferStatus
from csms.rpc import ALL_VERSIONS, OcppVersion

__all__ = ["COMMANDS", "DataTransfer"]


@sends(ALL_VERSIONS, "DataTransfer")
@dataclass(frozen=True, slots=True)
class DataTransfer:
    """Send vendor-specific data; for 1.6 a ``data`` that is not a string is sent JSON-encoded."""

    vendor_id: str
    message_id: str | None = None
    data: Any = None

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        payload: Payload = {"vendorId": self.vendor_id}
        if self.message_id is not None:
            payload["messageId"] = self.message_id
        if self.data is not None:
            data = self.data
            if version is OcppVersion.V16 and not isinstance(data, str):
                data = orjson.dumps(data).decode()
            payload["data"] = data
        return "DataTransfer", payload

    def result(self, version: OcppVersion, payload: Payload) -> DataTransferResult:
        return DataTransferResult(
            read_status(DataTransferStatus, payload),
            data=payload.get("data"),
            status_info=read_status_info(payload),
        )


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(DataTransfer)
