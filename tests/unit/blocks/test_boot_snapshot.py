"""Reconnect cost (issue 11): the first BootNotification of a connection answers from the
registration status read at the handshake, without reading the station again."""

from __future__ import annotations

from datetime import UTC, datetime

from csms.blocks.context import BOOT_SNAPSHOT_AGE, CallContext
from csms.blocks.provisioning import ProvisioningBlock
from csms.domain.model import RegistrationStatus, Station
from csms.rpc import OcppVersion
from tests.unit.blocks.fakes import MemoryStations

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
BOOT16 = {"chargePointVendor": "V", "chargePointModel": "M"}


class CountingStations(MemoryStations):
    def __init__(self, *stations: Station) -> None:
        super().__init__(*stations)
        self.reads = 0

    async def get(self, station_id: str) -> Station | None:
        self.reads += 1
        return await super().get(station_id)


def block(stations: MemoryStations, monotonic: list[float]) -> ProvisioningBlock:
    return ProvisioningBlock(
        stations,
        clock=lambda: NOW,
        heartbeat_interval=300,
        boot_retry_interval=60,
        monotonic=lambda: monotonic[0],
    )


async def test_the_first_boot_uses_the_handshake_status_and_later_boots_read() -> None:
    stations = CountingStations(Station(id="CS1", registration_status=RegistrationStatus.PENDING))
    now = [100.0]
    provisioning = block(stations, now)
    ctx = CallContext(
        station_id="CS1",
        version=OcppVersion.V16,
        handshake_status=RegistrationStatus.PENDING,
        handshake_at=100.0,
    )
    reply = await provisioning.boot_notification_v16(ctx, BOOT16)
    assert (reply["status"], reply["interval"]) == ("Pending", 60)
    assert stations.reads == 0
    assert stations.boots[0][2] is RegistrationStatus.PENDING  # still stored before the answer
    # The operator accepts the station; its next boot on the same connection reads that.
    stations.stations["CS1"].registration_status = RegistrationStatus.ACCEPTED
    reply = await provisioning.boot_notification_v16(ctx, BOOT16)
    assert (reply["status"], reply["interval"], stations.reads) == ("Accepted", 300, 1)


async def test_a_stale_handshake_status_is_read_again() -> None:
    stations = CountingStations(Station(id="CS1", registration_status=RegistrationStatus.REJECTED))
    now = [100.0 + BOOT_SNAPSHOT_AGE + 0.1]
    ctx = CallContext(
        station_id="CS1",
        version=OcppVersion.V16,
        handshake_status=RegistrationStatus.ACCEPTED,
        handshake_at=100.0,
    )
    reply = await block(stations, now).boot_notification_v16(ctx, BOOT16)
    assert (reply["status"], stations.reads) == ("Rejected", 1)
