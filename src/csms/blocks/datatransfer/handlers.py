"""Station-initiated DataTransfer (1.6 §4.3, §6.15; 2.0.1 P02), answered by vendor handlers.

Unknown vendorId → UnknownVendorId, unknown messageId → UnknownMessageId, both as CALLRESULTs,
never CALLERRORs (OCTT TC_064_CSMS, TC_P_02_CSMS). Only vendorId, messageId and the status are
logged: vendor data may carry anything.
"""

from __future__ import annotations

from typing import Any

import orjson

from csms.blocks.context import CallContext
from csms.blocks.datatransfer.registry import DataTransferRegistry
from csms.blocks.routing import handles
from csms.domain.commands import DataTransferResult
from csms.domain.datatransfer import DataTransferRequest
from csms.rpc import ALL_VERSIONS, OcppVersion

__all__ = ["DataTransferBlock", "encode_result"]

Payload = dict[str, Any]


def encode_result(version: OcppVersion, result: DataTransferResult) -> Payload:
    """The DataTransfer.conf / DataTransferResponse payload for ``result``."""
    payload: Payload = {"status": result.status.value}
    data = result.data
    if data is not None:
        if version is OcppVersion.V16 and not isinstance(data, str):
            data = orjson.dumps(data).decode()  # 1.6 data is text
        payload["data"] = data
    if version.is_2x and result.status_info is not None:
        info: Payload = {"reasonCode": result.status_info.reason_code}
        if result.status_info.additional_info is not None:
            info["additionalInfo"] = result.status_info.additional_info
        payload["statusInfo"] = info
    return payload


class DataTransferBlock:
    """The DataTransfer handler of every version."""

    def __init__(self, registry: DataTransferRegistry) -> None:
        self._registry = registry

    @handles(ALL_VERSIONS, "DataTransfer")
    async def data_transfer(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 DataTransfer.req / 2.x DataTransferRequest: vendorId, messageId?, data?."""
        request = DataTransferRequest(
            station_id=ctx.station_id,
            ocpp_version=ctx.version.value,
            vendor_id=payload["vendorId"],
            message_id=payload.get("messageId"),
            data=payload.get("data"),
        )
        result = await self._registry.dispatch(request, log_limiter=ctx.log_limiter)
        ctx.log.info(
            "DataTransfer %s/%s: %s", request.vendor_id, request.message_id, result.status.value
        )
        return encode_result(ctx.version, result)
