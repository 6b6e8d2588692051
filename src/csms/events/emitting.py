"""Event emitters: the repositories, wrapped so that each committed fact is published.

Each wrapper awaits the wrapped repository's write and publishes only when it returned: the
repositories return after the commit (ocpp-rules §3.3), so an event always describes a stored fact.
A write that raised publishes nothing, and a repeat the repository recognised (a retried
TransactionEvent, StartTransaction or MeterValues) publishes nothing either. Every other method
is passed through unchanged (``__getattr__``), so the blocks, the listener and the API are not
edited: the composition root hands them the wrapped repositories.

Payloads carry identifiers, statuses and meter readings, never passwords, tokens' secrets or
signed meter data.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.connections import Disconnection
from csms.domain.events import EventPublisher, EventType
from csms.domain.files import FileRepository, FileRequest, TransferKind
from csms.domain.model import (
    BootInfo,
    MeterSample,
    MeterValuesReport,
    RegistrationStatus,
    Station,
    StatusReport,
    TransactionEventReport,
)
from csms.domain.ports import StationRepository, TransactionRepository
from csms.domain.security import SecurityEvent, SecurityRepository
from csms.domain.transactions import (
    StartResult,
    StopOutcome,
    StopResult,
    TransactionEventOutcome,
    TransactionStart,
    TransactionStop,
)

__all__ = [
    "EmittingCharging",
    "EmittingFiles",
    "EmittingSecurity",
    "EmittingStations",
    "EmittingTransactions",
    "MeterSampler",
]

R = TypeVar("R")  # the wrapped repository

_ENERGY = "Energy.Active.Import.Register"
_TRANSACTION_TYPES = {
    "Started": EventType.TRANSACTION_STARTED,
    "Updated": EventType.TRANSACTION_UPDATED,
    "Ended": EventType.TRANSACTION_ENDED,
}


def energy_wh(samples: Sequence[MeterSample]) -> float | None:
    """The last energy register reading of ``samples`` in Wh (kWh converted), or None."""
    for sample in reversed(samples):
        if sample.measurand == _ENERGY and sample.value is not None and sample.phase is None:
            return sample.value * 1000 if (sample.unit or "Wh") == "kWh" else sample.value
    return None


def _samples(samples: Sequence[MeterSample]) -> list[dict[str, Any]]:
    """The readings (signed data left out: it is large and belongs to the stored record)."""
    return [
        {
            "timestamp": s.timestamp.isoformat(),
            "measurand": s.measurand,
            "value": s.value,
            "unit": s.unit,
            "phase": s.phase,
            "context": s.context,
        }
        for s in samples
    ]


class MeterSampler:
    """At most one ``meter.values`` event per (station, EVSE) per ``interval`` seconds (0: all).

    Bounded: past ``max_keys`` remembered EVSEs the memory starts afresh (one extra event each).
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._max_keys = max_keys
        self._last: dict[tuple[str, int], float] = {}

    def take(self, station_id: str, evse_id: int) -> bool:
        if self._interval <= 0:
            return True
        now = self._clock()
        key = (station_id, evse_id)
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            return False
        if len(self._last) >= self._max_keys and last is None:
            self._last.clear()
        self._last[key] = now
        return True


def _meter_event(
    publisher: EventPublisher, sampler: MeterSampler, report: MeterValuesReport
) -> None:
    if report.samples and sampler.take(report.station_id, report.evse_id):
        publisher.publish(
            EventType.METER_VALUES,
            report.station_id,
            {
                "evse_id": report.evse_id,
                "transaction_id": report.transaction_id,
                "energy_wh": energy_wh(report.samples),
                "samples": _samples(report.samples),
            },
        )


class _Emitting(Generic[R]):
    """A repository wrapper: what it does not override passes through to ``inner``."""

    def __init__(
        self, inner: R, publisher: EventPublisher, sampler: MeterSampler | None = None
    ) -> None:
        self._inner = inner
        self._publisher = publisher
        self._sampler = sampler or MeterSampler(0.0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class EmittingStations(_Emitting[StationRepository]):
    """StationRepository publishing connected/disconnected, boot, status and registration."""

    async def add(self, station: Station) -> None:
        await self._inner.add(station)
        self._publisher.publish(
            EventType.STATION_REGISTRATION,
            station.id,
            {"registration_status": station.registration_status.value, "created": True},
        )

    async def set_registration(self, station_id: str, status: RegistrationStatus) -> None:
        await self._inner.set_registration(station_id, status)
        self._publisher.publish(
            EventType.STATION_REGISTRATION,
            station_id,
            {"registration_status": status.value, "created": False},
        )

    async def record_boot(
        self, station_id: str, boot: BootInfo, status: RegistrationStatus, now: datetime
    ) -> None:
        await self._inner.record_boot(station_id, boot, status, now)
        self._publisher.publish(
            EventType.STATION_BOOT,
            station_id,
            {
                "vendor_name": boot.vendor_name,
                "model": boot.model,
                "serial_number": boot.serial_number,
                "firmware_version": boot.firmware_version,
                "reason": boot.reason,
                "registration_status": status.value,
            },
        )

    async def record_connection(
        self,
        station_id: str,
        *,
        online: bool,
        ocpp_version: str | None,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        await self._inner.record_connection(
            station_id, online=online, ocpp_version=ocpp_version, now=now, reason=reason
        )
        data: dict[str, Any] = {"ocpp_version": ocpp_version}
        if reason is not None:
            data["reason"] = reason
        self._publisher.publish(
            EventType.STATION_CONNECTED if online else EventType.STATION_DISCONNECTED,
            station_id,
            data,
        )

    async def record_disconnections(
        self, disconnections: Sequence[Disconnection], *, at: datetime
    ) -> None:
        await self._inner.record_disconnections(disconnections, at=at)
        for d in disconnections:
            self._publisher.publish(
                EventType.STATION_DISCONNECTED,
                d.station_id,
                {"ocpp_version": d.ocpp_version, "reason": d.reason},
            )

    async def record_status(self, report: StatusReport) -> None:
        await self._inner.record_status(report)
        self._publisher.publish(
            EventType.STATION_STATUS,
            report.station_id,
            {
                "evse_id": report.evse_id,
                "connector_id": report.connector_id,
                "status": report.status,
                "error_code": report.error_code,
                "timestamp": report.timestamp.isoformat(),
            },
        )


class EmittingTransactions(_Emitting[TransactionRepository]):
    """TransactionRepository publishing 2.x transaction events and sampled meter values."""

    async def record_meter_values(self, report: MeterValuesReport) -> None:
        await self._inner.record_meter_values(report)
        _meter_event(self._publisher, self._sampler, report)

    async def record_transaction_event(self, report: TransactionEventReport) -> bool:
        fresh = await self._inner.record_transaction_event(report)
        if fresh:
            self._transaction_event(report)
        return fresh

    async def apply_transaction_event(
        self, report: TransactionEventReport, *, refuse_concurrent: bool = True
    ) -> TransactionEventOutcome:
        outcome = await self._inner.apply_transaction_event(
            report, refuse_concurrent=refuse_concurrent
        )
        if outcome.fresh:
            self._transaction_event(report)
        return outcome

    def _transaction_event(self, report: TransactionEventReport) -> None:
        kind = _TRANSACTION_TYPES.get(report.event_type)
        if kind is None:
            return
        self._publisher.publish(
            kind,
            report.station_id,
            {
                "transaction_id": report.transaction_id,
                "seq_no": report.seq_no,
                "timestamp": report.timestamp.isoformat(),
                "trigger_reason": report.trigger_reason,
                "evse_id": report.evse_id,
                "connector_id": report.connector_id,
                "charging_state": report.charging_state,
                "stopped_reason": report.stopped_reason,
                "id_token": report.id_token,
                "offline": report.offline,
                "energy_wh": energy_wh(report.samples),
            },
        )


class EmittingCharging(_Emitting[ChargingTransactionRepository]):
    """ChargingTransactionRepository publishing 1.6 transactions and sampled meter values."""

    async def start(self, start: TransactionStart, received_at: datetime) -> StartResult:
        result = await self._inner.start(start, received_at)
        if not result.duplicate:
            self._publisher.publish(
                EventType.TRANSACTION_STARTED,
                start.station_id,
                {
                    "transaction_id": str(result.transaction_id),
                    "timestamp": start.timestamp.isoformat(),
                    "evse_id": start.evse_id,
                    "connector_id": start.connector_id,
                    "id_token": start.id_token,
                    "id_token_status": str(result.id_token_info.status),
                    "meter_start_wh": start.meter_start_wh,
                    "reservation_id": start.reservation_id,
                },
            )
        return result

    async def stop(self, stop: TransactionStop, received_at: datetime) -> StopResult:
        result = await self._inner.stop(stop, received_at)
        if result.outcome in (StopOutcome.CLOSED, StopOutcome.RECONCILED):
            self._publisher.publish(
                EventType.TRANSACTION_ENDED,
                stop.station_id,
                {
                    "transaction_id": str(stop.transaction_id),
                    "timestamp": stop.timestamp.isoformat(),
                    "evse_id": result.evse_id,
                    "stopped_reason": stop.reason,
                    "meter_stop_wh": stop.meter_stop_wh,
                    "energy_wh": result.energy_wh,
                    "outcome": result.outcome.value,
                },
            )
        return result

    async def record_meter_values(
        self, report: MeterValuesReport, raw: dict[str, Any], received_at: datetime
    ) -> bool:
        fresh = await self._inner.record_meter_values(report, raw, received_at)
        if fresh:
            if report.transaction_id is not None:
                self._publisher.publish(
                    EventType.TRANSACTION_UPDATED,
                    report.station_id,
                    {
                        "transaction_id": report.transaction_id,
                        "evse_id": report.evse_id,
                        "trigger_reason": "MeterValues",
                        "energy_wh": energy_wh(report.samples),
                    },
                )
            _meter_event(self._publisher, self._sampler, report)
        return fresh


class EmittingSecurity(_Emitting[SecurityRepository]):
    """SecurityRepository publishing each stored SecurityEventNotification."""

    async def record_event(self, event: SecurityEvent) -> None:
        await self._inner.record_event(event)
        self._publisher.publish(
            EventType.SECURITY_EVENT,
            event.station_id,
            {
                "type": event.type,
                "critical": event.critical,
                "timestamp": event.timestamp.isoformat(),
                "tech_info": event.tech_info,
            },
        )


class EmittingFiles(_Emitting[FileRepository]):
    """FileRepository publishing firmware and log/diagnostics status notifications."""

    async def record_notification(
        self,
        station_id: str,
        kinds: Sequence[TransferKind],
        request_id: int | None,
        status: str,
        now: datetime,
        *,
        attach: bool = True,
    ) -> FileRequest | None:
        request = await self._inner.record_notification(
            station_id, kinds, request_id, status, now, attach=attach
        )
        firmware = TransferKind.FIRMWARE in kinds
        self._publisher.publish(
            EventType.FIRMWARE_STATUS if firmware else EventType.LOG_STATUS,
            station_id,
            {
                "status": status,
                "request_id": request_id,
                "file_request_id": request.id if request is not None else None,
            },
        )
        return request
