"""BootNotification and Heartbeat for 1.6, 2.0.1 and 2.1.

The answer to a BootNotification is the registration status an operator chose for the station
(Accepted, Pending or Rejected). What the station said is committed before the answer is sent. The
interval is the Heartbeat interval when Accepted, and otherwise the minimum wait before the next
BootNotification (1.6 §4.2 "BootNotification"; 2.0.1 B01–B03).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.provisioning.pacing import BootPacer
from csms.blocks.routing import handles
from csms.blocks.timefmt import format_datetime
from csms.domain.model import BootInfo, RegistrationStatus
from csms.domain.ports import StationRepository
from csms.rpc import OcppVersion

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class ProvisioningBlock:
    """Handlers of the provisioning block."""

    def __init__(
        self,
        stations: StationRepository,
        *,
        clock: Callable[[], datetime],
        heartbeat_interval: int,
        boot_retry_interval: int,
        pacer: BootPacer | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pacer = pacer
        self._monotonic = monotonic
        self._stations = stations
        self._clock = clock
        self._heartbeat_interval = heartbeat_interval
        self._boot_retry_interval = boot_retry_interval

    @handles(OcppVersion.V16, "BootNotification")
    async def boot_notification_v16(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.2 BootNotification.req: chargePoint* fields."""
        info = BootInfo(
            vendor_name=payload["chargePointVendor"],
            model=payload["chargePointModel"],
            serial_number=payload.get("chargePointSerialNumber")
            or payload.get("chargeBoxSerialNumber"),
            firmware_version=payload.get("firmwareVersion"),
            iccid=payload.get("iccid"),
            imsi=payload.get("imsi"),
            meter_type=payload.get("meterType"),
            meter_serial_number=payload.get("meterSerialNumber"),
        )
        return await self._boot(ctx, info)

    @handles(V2, "BootNotification")
    async def boot_notification_v2(self, ctx: CallContext, payload: Payload) -> Payload:
        """2.x BootNotificationRequest: chargingStation {vendorName, model, ...} and reason."""
        station = payload["chargingStation"]
        modem = station.get("modem", {})
        info = BootInfo(
            vendor_name=station["vendorName"],
            model=station["model"],
            serial_number=station.get("serialNumber"),
            firmware_version=station.get("firmwareVersion"),
            iccid=modem.get("iccid"),
            imsi=modem.get("imsi"),
            reason=payload.get("reason"),
        )
        return await self._boot(ctx, info)

    async def _boot(self, ctx: CallContext, info: BootInfo) -> Payload:
        now = self._clock()
        if self._pacer is not None and (wait := self._pacer.defer()) is not None:
            ctx.registration = RegistrationStatus.PENDING  # reconnect storm: come back later
            return {"status": "Pending", "currentTime": format_datetime(now), "interval": wait}
        status = ctx.take_handshake_status(self._monotonic())
        if status is None:
            station = await self._stations.get(ctx.station_id)
            status = station.registration_status if station else RegistrationStatus.REJECTED
        await self._stations.record_boot(ctx.station_id, info, status, now)
        ctx.registration = status
        interval = (
            self._heartbeat_interval
            if status is RegistrationStatus.ACCEPTED
            else self._boot_retry_interval
        )
        ctx.log.info("BootNotification from %s %s: %s", info.vendor_name, info.model, status.value)
        return {"status": status.value, "currentTime": format_datetime(now), "interval": interval}

    @handles((OcppVersion.V16, *V2), "Heartbeat")
    async def heartbeat(self, ctx: CallContext, payload: Payload) -> Payload:
        """Answer with the current time in UTC (1.6 §4.6; 2.0.1 G02); nothing durable to commit."""
        now = self._clock()
        self._stations.touch(ctx.station_id, now)
        return {"currentTime": format_datetime(now)}
