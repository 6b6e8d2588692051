"""StatusNotification for 1.6, 2.0.1 and 2.1, stored as current state plus history.

1.6 ``connectorId`` N is EVSE N, connector 1; ``connectorId`` 0 is the charge point itself
(see :mod:`csms.domain.model`). A 1.6 StatusNotification without a timestamp is stamped with the
time it was received (1.6 §6.48: timestamp is optional).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.routing import handles
from csms.blocks.timefmt import station_time
from csms.domain.model import StatusReport
from csms.domain.ports import StationRepository
from csms.rpc import OcppVersion

Payload = dict[str, Any]


class AvailabilityBlock:
    """Handlers of the availability block."""

    def __init__(self, stations: StationRepository, *, clock: Callable[[], datetime]) -> None:
        self._stations = stations
        self._clock = clock

    @handles(OcppVersion.V16, "StatusNotification")
    async def status_notification_v16(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.48 StatusNotification.req."""
        connector = int(payload["connectorId"])
        stamp = payload.get("timestamp")
        report = StatusReport(
            station_id=ctx.station_id,
            evse_id=connector,
            connector_id=1 if connector > 0 else 0,
            status=payload["status"],
            timestamp=station_time(stamp, self._clock()),
            error_code=payload.get("errorCode"),
            info=payload.get("info"),
            vendor_id=payload.get("vendorId"),
            vendor_error_code=payload.get("vendorErrorCode"),
        )
        await self._stations.record_status(report)
        return {}

    @handles((OcppVersion.V201, OcppVersion.V21), "StatusNotification")
    async def status_notification_v2(self, ctx: CallContext, payload: Payload) -> Payload:
        """2.x StatusNotificationRequest: evseId, connectorId, connectorStatus, timestamp."""
        report = StatusReport(
            station_id=ctx.station_id,
            evse_id=int(payload["evseId"]),
            connector_id=int(payload["connectorId"]),
            status=payload["connectorStatus"],
            timestamp=station_time(payload["timestamp"], self._clock()),
        )
        await self._stations.record_status(report)
        return {}
