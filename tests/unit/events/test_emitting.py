"""The emitters publish only after the wrapped write returned, never for a repeat or a failure;
command.result carries no payload; the meter sampler bounds meter.values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from csms.domain.errors import CallFailed, StorageError
from csms.domain.files import TransferKind
from csms.domain.model import MeterSample, MeterValuesReport, StatusReport, TransactionEventReport
from csms.domain.security import SecurityEvent
from csms.domain.tokens import AuthorizationStatus, IdTokenInfo
from csms.domain.transactions import (
    StopOutcome,
    StopResult,
    TransactionEventOutcome,
    TransactionStart,
    TransactionStop,
)
from csms.domain.webhooks import sign, verify
from csms.events import (
    EmittingCharging,
    EmittingFiles,
    EmittingSecurity,
    EmittingStations,
    EmittingTransactions,
    EventingGateway,
    MeterSampler,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str | None, dict[str, Any]]] = []

    def publish(self, type: str, station_id: str | None, data: Mapping[str, Any]) -> None:
        self.events.append((type, station_id, dict(data)))


class FakeStations:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.lenient: list[bool] = []

    async def record_status(self, report: StatusReport) -> None:
        if self.fail:
            raise StorageError("down")

    async def set_lenient(self, station_id: str, lenient: bool) -> None:
        self.lenient.append(lenient)


class FakeTransactions:
    def __init__(self) -> None:
        self.seen: set[int] = set()

    async def apply_transaction_event(
        self, report: TransactionEventReport, *, refuse_concurrent: bool = True
    ) -> TransactionEventOutcome:
        fresh = report.seq_no not in self.seen
        self.seen.add(report.seq_no)
        return TransactionEventOutcome(fresh=fresh)

    async def record_meter_values(self, report: MeterValuesReport) -> None:
        return None


def _status() -> StatusReport:
    return StatusReport("CS1", 1, 1, "Occupied", NOW)


async def test_status_is_published_after_the_write() -> None:
    events = Recorder()
    stations = EmittingStations(FakeStations(), events)  # type: ignore[arg-type]
    await stations.record_status(_status())
    assert events.events == [
        (
            "station.status",
            "CS1",
            {
                "evse_id": 1,
                "connector_id": 1,
                "status": "Occupied",
                "error_code": None,
                "timestamp": NOW.isoformat(),
            },
        )
    ]


async def test_a_failed_write_publishes_nothing() -> None:
    events = Recorder()
    stations = EmittingStations(FakeStations(fail=True), events)  # type: ignore[arg-type]
    with pytest.raises(StorageError):
        await stations.record_status(_status())
    assert events.events == []


async def test_other_methods_pass_through() -> None:
    inner = FakeStations()
    await EmittingStations(inner, Recorder()).set_lenient("CS1", True)  # type: ignore[arg-type]
    assert inner.lenient == [True]


async def test_a_repeated_transaction_event_is_published_once() -> None:
    events = Recorder()
    sampler = MeterSampler(0)
    transactions = EmittingTransactions(FakeTransactions(), events, sampler)  # type: ignore[arg-type]
    sample = MeterSample(NOW, 1.5, "1.5", unit="kWh")
    report = TransactionEventReport(
        "CS1", "T1", "Ended", 3, NOW, "EVDeparted", evse_id=1, samples=(sample,)
    )
    await transactions.apply_transaction_event(report)
    await transactions.apply_transaction_event(report)
    assert len(events.events) == 1
    kind, station, data = events.events[0]
    assert (kind, station, data["transaction_id"], data["energy_wh"]) == (
        "transaction.ended",
        "CS1",
        "T1",
        1500.0,
    )


async def test_meter_values_are_sampled_per_evse() -> None:
    now = [0.0]
    events = Recorder()
    sampler = MeterSampler(10.0, clock=lambda: now[0])
    transactions = EmittingTransactions(FakeTransactions(), events, sampler)  # type: ignore[arg-type]
    samples = (MeterSample(NOW, 10.0, "10"),)
    for evse in (1, 1, 2):
        await transactions.record_meter_values(MeterValuesReport("CS1", evse, None, samples))
    now[0] = 10.0
    await transactions.record_meter_values(MeterValuesReport("CS1", 1, None, samples))
    assert [e[2]["evse_id"] for e in events.events] == [1, 2, 1]


class FakeGateway:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def call(
        self,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        timeout: float | None = None,
        password_rotation: bool = False,
    ) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {"status": "Accepted", "secret": "s3cr3t"}

    def is_connected(self, station_id: str) -> bool:
        return True


async def test_command_result_names_action_outcome_latency_without_payloads() -> None:
    events = Recorder()
    ticks = iter([1.0, 1.25])
    gateway = EventingGateway(FakeGateway(), events, clock=lambda: next(ticks))  # type: ignore[arg-type]
    await gateway.call("CS1", "SetVariables", {"setVariableData": [{"attributeValue": "pw"}]})
    assert events.events == [
        (
            "command.result",
            "CS1",
            {
                "action": "SetVariables",
                "latency_ms": 250.0,
                "outcome": "result",
                "status": "Accepted",
            },
        )
    ]
    assert "pw" not in repr(events.events) and "s3cr3t" not in repr(events.events)
    assert gateway.is_connected("CS1")


async def test_command_errors_are_announced_and_raised() -> None:
    events = Recorder()
    failing = FakeGateway(CallFailed("InternalError", "boom", {}))
    gateway = EventingGateway(failing, events)  # type: ignore[arg-type]
    with pytest.raises(CallFailed):
        await gateway.call("CS1", "Reset", {"type": "Immediate"})
    data = events.events[0][2]
    assert (data["outcome"], data["error"], data["error_code"]) == (
        "error",
        "CallFailed",
        "InternalError",
    )


def test_signature_round_trip_and_replay_window() -> None:
    header = sign("whsec_x", 1_700_000_000, b'{"id":1}')
    assert header.startswith("t=1700000000,v1=")
    assert verify("whsec_x", header, b'{"id":1}', 1_700_000_100)
    assert not verify("whsec_y", header, b'{"id":1}', 1_700_000_100)  # wrong secret
    assert not verify("whsec_x", header, b'{"id":2}', 1_700_000_100)  # altered body
    assert not verify("whsec_x", header, b'{"id":1}', 1_700_001_000)  # too old: a replay
    assert not verify("whsec_x", "garbage", b'{"id":1}', 1_700_000_000)


class FakeCharging:
    async def start(self, start: Any, received_at: datetime) -> Any:
        from csms.domain.transactions import StartResult

        return StartResult(
            42, IdTokenInfo(AuthorizationStatus.ACCEPTED), duplicate=start.meter_start_wh == 1
        )

    async def stop(self, stop: Any, received_at: datetime) -> Any:
        outcome = StopOutcome.CLOSED if stop.transaction_id == 42 else StopOutcome.ALREADY_CLOSED
        return StopResult(outcome, energy_wh=500, evse_id=1)


async def test_1_6_transactions_once_each() -> None:
    events = Recorder()
    charging = EmittingCharging(FakeCharging(), events, MeterSampler(0))  # type: ignore[arg-type]
    await charging.start(TransactionStart("CS1", 1, 1, "TAG", 0, NOW), NOW)
    await charging.start(TransactionStart("CS1", 1, 1, "TAG", 1, NOW), NOW)  # a retry
    await charging.stop(TransactionStop("CS1", 42, 500, NOW, reason="Local"), NOW)
    await charging.stop(TransactionStop("CS1", 42 + 1, 500, NOW), NOW)  # nothing closed
    assert [(e[0], e[2]["transaction_id"]) for e in events.events] == [
        ("transaction.started", "42"),
        ("transaction.ended", "42"),
    ]
    assert events.events[1][2]["energy_wh"] == 500


class FakeFilesAndSecurity:
    async def record_notification(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def record_event(self, event: SecurityEvent) -> None:
        return None


async def test_firmware_log_and_security_notifications() -> None:
    events = Recorder()
    inner = FakeFilesAndSecurity()
    files = EmittingFiles(inner, events)  # type: ignore[arg-type]
    await files.record_notification("CS1", (TransferKind.FIRMWARE,), 7, "Installed", NOW)
    await files.record_notification("CS1", (TransferKind.LOG,), None, "Uploaded", NOW)
    security = EmittingSecurity(inner, events)  # type: ignore[arg-type]
    await security.record_event(SecurityEvent("CS1", "FirmwareUpdated", NOW, True, NOW))
    assert [(e[0], e[2].get("status") or e[2].get("type")) for e in events.events] == [
        ("firmware.status", "Installed"),
        ("log.status", "Uploaded"),
        ("security.event", "FirmwareUpdated"),
    ]
