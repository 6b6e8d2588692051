"""In-memory stand-ins for the storage ports, for unit tests of the blocks (no database)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from csms.domain.model import (
    BootInfo,
    ConnectorState,
    MeterValuesReport,
    RegistrationStatus,
    Station,
    StatusReport,
    TransactionEventReport,
)
from csms.domain.transactions import TransactionEventOutcome


class MemoryStations:
    def __init__(self, *stations: Station) -> None:
        self.stations = {s.id: s for s in stations}
        self.boots: list[tuple[str, BootInfo, RegistrationStatus]] = []
        self.statuses: list[StatusReport] = []
        self.touched: list[str] = []

    async def get(self, station_id: str) -> Station | None:
        return self.stations.get(station_id)

    async def record_boot(
        self, station_id: str, boot: BootInfo, status: RegistrationStatus, now: datetime
    ) -> None:
        self.boots.append((station_id, boot, status))

    def touch(self, station_id: str, now: datetime) -> None:
        self.touched.append(station_id)

    async def record_status(self, report: StatusReport) -> None:
        self.statuses.append(report)

    async def connector_states(self, station_id: str) -> Sequence[ConnectorState]:
        return []


class MemoryTransactions:
    def __init__(self) -> None:
        self.meter_values: list[MeterValuesReport] = []
        self.events: dict[tuple[str, str, int], TransactionEventReport] = {}

    async def record_meter_values(self, report: MeterValuesReport) -> None:
        self.meter_values.append(report)

    async def record_transaction_event(self, report: TransactionEventReport) -> bool:
        key = (report.station_id, report.transaction_id, report.seq_no)
        if key in self.events:
            return False
        self.events[key] = report
        return True

    async def apply_transaction_event(
        self, report: TransactionEventReport, *, refuse_concurrent: bool = True
    ) -> TransactionEventOutcome:
        """No token store here: idTokenInfo is the storage's (tested in tests/integration)."""
        return TransactionEventOutcome(await self.record_transaction_event(report))
