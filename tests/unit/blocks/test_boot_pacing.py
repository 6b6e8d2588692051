"""Boot pacing: BootNotification Pending with a randomised interval spreads a reconnect storm."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from csms.blocks.context import CallContext
from csms.blocks.dispatch import Dispatcher
from csms.blocks.provisioning import ProvisioningBlock
from csms.blocks.provisioning.pacing import BootPacer
from csms.blocks.routing import Router
from csms.config import SettingsError, load_settings
from csms.domain.model import RegistrationStatus, Station
from csms.messages import MessageValidator
from csms.rpc import ALL_VERSIONS, CallErrorReply, ErrorCode, OcppVersion
from tests.unit.blocks.fakes import MemoryStations

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
BOOT16 = {"chargePointVendor": "V", "chargePointModel": "M"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_idle_csms_defers_nobody() -> None:
    clock = Clock()
    pacer = BootPacer(10, clock=clock, rng=lambda: 0.5)
    for _ in range(100):
        clock.now += 0.1  # exactly the rate
        assert pacer.defer() is None


def test_a_storm_beyond_the_rate_is_deferred_with_growing_spread_intervals() -> None:
    clock = Clock()
    pacer = BootPacer(10, min_interval=1, clock=clock, rng=lambda: 0.5)
    answers = [pacer.defer() for _ in range(1_000)]  # 1,000 boots in the same instant
    assert answers[:10] == [None] * 10  # one second's worth at once
    deferred = [a for a in answers if a is not None]
    assert len(deferred) == 990
    # Told to come back after about their place in the queue / rate: 0.1 s ... 99 s.
    assert deferred[0] == 1 and deferred[-1] == 99
    assert deferred == sorted(deferred)
    assert pacer.waiting == 990


def test_the_queue_drains_at_the_rate_and_intervals_are_randomised() -> None:
    clock = Clock()
    draws = iter([0.5] * 198 + [0.0, 1.0])
    pacer = BootPacer(10, min_interval=1, clock=clock, rng=lambda: next(draws))
    answers = [pacer.defer() for _ in range(10 + 198)]
    assert answers.count(None) == 10
    low, high = pacer.defer(), pacer.defer()  # 199 waiting / 10 per s x0.5; 200 / 10 x1.5
    assert (low, high) == (10, 30)
    clock.now += 20.0  # 200 stations have come back; the bucket refilled to one second's worth
    assert pacer.defer() is None
    assert pacer.waiting == 0.0


def test_intervals_are_bounded() -> None:
    clock = Clock()
    pacer = BootPacer(1, min_interval=5, max_interval=60, clock=clock, rng=lambda: 1.0)
    answers = [pacer.defer() for _ in range(500)]
    assert answers[0] is None
    assert min(a for a in answers[1:] if a is not None) == 5
    assert max(a for a in answers[1:] if a is not None) == 60


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="rate"):
        BootPacer(0)
    with pytest.raises(ValueError, match="min_interval"):
        BootPacer(1, min_interval=10, max_interval=5)


@pytest.mark.parametrize("version", list(ALL_VERSIONS))
async def test_a_deferred_boot_is_pending_and_stores_nothing(version: OcppVersion) -> None:
    clock = Clock()
    stations = MemoryStations(Station(id="CS1", registration_status=RegistrationStatus.ACCEPTED))
    pacer = BootPacer(1, min_interval=7, clock=clock, rng=lambda: 0.5)
    router = Router.from_blocks(
        ProvisioningBlock(
            stations, clock=lambda: NOW, heartbeat_interval=300, boot_retry_interval=60, pacer=pacer
        )
    )
    dispatcher = Dispatcher(router, {v: MessageValidator(v) for v in ALL_VERSIONS})
    boot = (
        BOOT16
        if version is OcppVersion.V16
        else {"chargingStation": {"vendorName": "V", "model": "M"}, "reason": "PowerUp"}
    )
    first = CallContext(station_id="CS1", version=version, registration=None)
    assert (await dispatcher.handle_call(first, "BootNotification", boot))["status"] == "Accepted"
    second = CallContext(
        station_id="CS1", version=version, registration=RegistrationStatus.ACCEPTED
    )
    reply = await dispatcher.handle_call(second, "BootNotification", boot)
    assert reply == {"status": "Pending", "currentTime": "2026-12-01T12:00:00.000Z", "interval": 7}
    assert len(stations.boots) == 1  # the deferred boot stored nothing
    # A Pending station may send nothing but BootNotification until accepted (B02.FR.02).
    with pytest.raises(CallErrorReply) as caught:
        await dispatcher.handle_call(second, "Heartbeat", {})
    assert caught.value.code is ErrorCode.SECURITY_ERROR
    clock.now += 1.0
    assert (await dispatcher.handle_call(second, "BootNotification", boot))["status"] == "Accepted"


def test_pacing_setting() -> None:
    assert load_settings({}).server.boot_pacing_rate == 0.0
    assert load_settings({"CSMS_BOOT_PACING_RATE": "150"}).server.boot_pacing_rate == 150.0
    with pytest.raises(SettingsError):
        load_settings({"CSMS_BOOT_PACING_RATE": "-1"})
