"""TariffPricer (blocks/tariff/pricing.py): with no tariff configured a TransactionEvent costs no
query beyond the cached assignment read; a station no assignment covers is not read either; the
snapshot kept with a transaction prices it even after its assignment is gone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from csms.blocks.tariff import TariffPricer
from csms.domain.tariffs import Tariff, TransactionCost
from csms.domain.transactions import Transaction

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TARIFF = Tariff("t", "EUR", price_per_kwh=Decimal("0.5"))


class Repo:
    """A counting in-memory TariffRepository (the part the pricer uses)."""

    def __init__(self, assigned: dict[str, str]) -> None:
        self.assigned = assigned
        self.kept: dict[tuple[str, str], TransactionCost] = {}
        self.reads: list[str] = []

    async def assignment_map(self) -> Mapping[str, str]:
        self.reads.append("assignments")
        return dict(self.assigned)

    async def open_costs(self, *, limit: int = 1000) -> Sequence[TransactionCost]:
        self.reads.append("open_costs")
        return [c for c in self.kept.values() if not c.final][:limit]

    async def get(self, tariff_id: str) -> Tariff | None:
        self.reads.append("tariff")
        return TARIFF if tariff_id == "t" else None

    async def get_cost(self, station_id: str, transaction_id: str) -> TransactionCost | None:
        self.reads.append("cost")
        return self.kept.get((station_id, transaction_id))

    async def put_cost(self, cost: TransactionCost) -> None:
        self.kept[(cost.station_id, cost.transaction_id)] = cost


class Charging:
    def __init__(self) -> None:
        self.reads = 0
        self.energy = 2000

    async def get_v2(self, station_id: str, transaction_id: str) -> Transaction | None:
        self.reads += 1
        return Transaction(
            transaction_id, station_id, 1, 1, None, started_at=T0, energy_wh=self.energy
        )


def _pricer(repo: Repo, charging: Charging) -> TariffPricer:
    return TariffPricer(
        repo,  # type: ignore[arg-type]
        charging=charging,  # type: ignore[arg-type]
        clock=lambda: T0,
        cache_ttl=3600,
    )


async def test_no_tariff_configured_costs_no_query_per_event() -> None:
    repo, charging = Repo({}), Charging()
    pricer = _pricer(repo, charging)
    for seq in range(5):
        assert await pricer.price_v2("CS1", f"tx{seq}", T0) is None
    assert repo.reads == ["assignments", "open_costs"] and charging.reads == 0


async def test_a_station_no_assignment_covers_is_not_read() -> None:
    repo, charging = Repo({"station:CS2": "t", "evse:1:CS3": "t"}), Charging()
    pricer = _pricer(repo, charging)
    assert await pricer.price_v2("CS1", "tx", T0) is None
    assert charging.reads == 0
    priced = await pricer.price_v2("CS3", "tx", T0)
    assert priced is not None and priced.cost.cost.total == Decimal("1.00")


async def test_the_kept_snapshot_prices_the_transaction_after_its_assignment_is_gone() -> None:
    repo, charging = Repo({"default": "t"}), Charging()
    pricer = _pricer(repo, charging)
    assert await pricer.price_v2("CS1", "tx", T0) is not None
    repo.assigned.clear()
    pricer.invalidate()
    charging.energy = 4000
    later = await pricer.price_v2("CS1", "tx", T0 + timedelta(minutes=1))
    assert later is not None and later.changed and later.cost.cost.total == Decimal("2.00")
