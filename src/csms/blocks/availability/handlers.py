"""StatusNotification for 1.6, 2.0.1 and 2.1, stored as current state plus history.

1.6 ``connectorId`` N is EVSE N, connector 1; ``connectorId`` 0 is the charge point itself
(see :mod:`csms.domain.model`). A 1.6 StatusNotification without a timestamp is stamped with the
time it was received (1.6 §6.48: timestamp is optional). A connector reported free closes the
transactions its station abandoned there (:mod:`csms.blocks.transactions.abandoned`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.routing import handles
from csms.blocks.timefmt import station_time
from csms.blocks.transactions.abandoned import (
    FREE_STATUSES_V2,
    FREE_STATUSES_V16,
    release_connector,
)
from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.model import StatusReport
from csms.domain.ports import StationRepository
from csms.rpc import OcppVersion

Payload = dict[str, Any]


class AvailabilityBlock:
    """Handlers of the availability block."""

    def __init__(
        self,
        stations: StationRepository,
        *,
        clock: Callable[[], datetime],
        charging: ChargingTransactionRepository | None = None,
    ) -> None:
        self._stations = stations
        self._clock = clock
        # With it, a connector reported free closes what its station abandoned there
        # (blocks/transactions/abandoned.py).
        self._charging = charging

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
        await self._record(ctx, report, free=report.status in FREE_STATUSES_V16)
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
        await self._record(
            ctx, report, free=report.status in FREE_STATUSES_V2, connector_id=report.connector_id
        )
        return {}

    async def _record(
        self, ctx: CallContext, report: StatusReport, *, free: bool, connector_id: int | None = None
    ) -> None:
        """Store the status; a connector reported free also releases what was abandoned there,
        submitted together so both land in one group commit (no second wait)."""
        if self._charging is None or not free:
            await self._stations.record_status(report)
            return
        await asyncio.gather(
            self._stations.record_status(report),
            release_connector(
                self._charging, ctx.log, ctx.station_id, report.evse_id,
                connector_id=connector_id, cause=f"StatusNotification {report.status}",
                now=self._clock(),
            ),
        )  # fmt: skip
