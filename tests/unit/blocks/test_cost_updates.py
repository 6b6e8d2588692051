"""CostUpdated rounds (blocks/tariff/cost_updates.py) without sockets or storage: only connected 2.x
stations, only totals that changed since the station was last told, never more CALLs in flight
than the concurrency bound, and a failed CALL retried next round."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from csms.blocks.tariff import CostUpdateSender, TariffPricer
from csms.domain.errors import CallTimeout
from csms.domain.tariffs import Tariff, TransactionCost, compute_cost
from csms.domain.transactions import Transaction

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(minutes=30)
TARIFF = Tariff("t", "EUR", price_per_hour=Decimal("6"))  # 0.05 EUR a minute


class Costs:
    """The part of TariffRepository the rounds use, in memory."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str], TransactionCost] = {}

    async def get_cost(self, station_id: str, transaction_id: str) -> TransactionCost | None:
        return self.kept.get((station_id, transaction_id))

    async def put_cost(self, cost: TransactionCost) -> None:
        self.kept[(cost.station_id, cost.transaction_id)] = cost

    async def open_costs(self, *, limit: int = 1000) -> Sequence[TransactionCost]:
        return [c for c in self.kept.values() if not c.final][:limit]

    async def assignment_map(self) -> Mapping[str, str]:
        return {}


class Transactions:
    async def get_v2(self, station_id: str, transaction_id: str) -> Transaction | None:
        return Transaction(transaction_id, station_id, 1, 1, "TAG", started_at=T0)


class Gateway:
    def __init__(self, versions: dict[str, str], *, fail: bool = False) -> None:
        self.versions = versions
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail = fail

    def is_connected(self, station_id: str) -> bool:
        return station_id in self.versions

    def ocpp_version(self, station_id: str) -> str | None:
        return self.versions.get(station_id)

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], *, timeout: float | None
    ) -> dict[str, Any]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        if self.fail:
            raise CallTimeout("no answer")
        self.sent.append((station_id, payload))
        return {}


def _kept(station_id: str, transaction_id: str, told: Decimal | None) -> TransactionCost:
    cost = compute_cost(TARIFF, 0, timedelta(minutes=10))
    return TransactionCost(station_id, transaction_id, TARIFF, cost, False, T0, sent_total=told)


def _sender(costs: Costs, gateway: Gateway, concurrency: int = 2) -> CostUpdateSender:
    pricer = TariffPricer(costs, charging=Transactions(), clock=lambda: NOW)  # type: ignore[arg-type]
    return CostUpdateSender(
        pricer, Transactions(), gateway, interval=60, clock=lambda: NOW,  # type: ignore[arg-type]
        concurrency=concurrency,
    )  # fmt: skip


async def test_only_connected_2x_stations_with_a_changed_total_get_cost_updated() -> None:
    costs = Costs()
    for n in range(6):
        await costs.put_cost(_kept(f"CS{n}", f"tx{n}", Decimal("0.50")))
    await costs.put_cost(_kept("OFFLINE", "tx-off", Decimal("0.50")))
    await costs.put_cost(_kept("OLD", "tx-16", Decimal("0.50")))
    gateway = Gateway({f"CS{n}": "2.0.1" for n in range(6)} | {"OLD": "1.6"})
    sender = _sender(costs, gateway)
    assert await sender.send_round() == 6
    assert gateway.most_in_flight == 2  # the concurrency bound
    assert {(sid, p["totalCost"]) for sid, p in gateway.sent} == {(f"CS{n}", 3.0) for n in range(6)}
    assert all(costs.kept[(f"CS{n}", f"tx{n}")].sent_total == Decimal("3.00") for n in range(6))
    # Nothing changed since: no second flood.
    assert await sender.send_round() == 0 and len(gateway.sent) == 6


async def test_a_failed_cost_updated_is_retried_next_round() -> None:
    costs = Costs()
    await costs.put_cost(_kept("CS1", "tx1", None))
    gateway = Gateway({"CS1": "2.1"}, fail=True)
    sender = _sender(costs, gateway)
    assert await sender.send_round() == 0
    assert costs.kept[("CS1", "tx1")].sent_total is None
    gateway.fail = False
    assert await sender.send_round() == 1
