"""Tariffs and cost computation (domain/tariffs.py): Decimal arithmetic, one rounding of the total,
tax on top, min/max bounds, precedence of assignments, validation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from csms.domain.tariffs import (
    Assignment,
    Tariff,
    TariffInvalid,
    TariffScope,
    candidate_keys,
    compute_cost,
    cost_text,
    pick,
)

D = Decimal


def _tariff(**kw: object) -> Tariff:
    values: dict[str, object] = {"tariff_id": "T", "currency": "EUR"} | kw
    return Tariff(**values)  # type: ignore[arg-type]


def test_energy_time_and_fee_add_up_exactly_then_tax_then_one_rounding() -> None:
    tariff = _tariff(
        price_per_kwh=D("0.35"), price_per_hour=D("1.20"), session_fee=D("0.50"), tax_rate=D("19")
    )
    cost = compute_cost(tariff, 12_345, timedelta(minutes=95))
    # 12.345 kWh * 0.35 = 4.32075; 95 min * 1.20/h = 1.90; + 0.50 = 6.72075; * 1.19 = 7.9976925
    assert cost.total == D("8.00")
    assert (cost.energy, cost.time, cost.session_fee, cost.tax) == (
        D("4.32"), D("1.90"), D("0.50"), D("1.28"),
    )  # fmt: skip
    assert (cost.energy_wh, cost.duration_s, cost.currency) == (12_345, 5700, "EUR")


def test_rounding_is_half_up_on_the_total_only() -> None:
    # 1 Wh at 5.00/kWh = 0.005 → 0.01 (half up), not banker's 0.00
    assert compute_cost(_tariff(price_per_kwh=D("5")), 1, timedelta()).total == D("0.01")
    # three parts of 0.004 each: rounded separately they would be 0.00, the exact sum is 0.012
    tariff = _tariff(price_per_kwh=D("4"), price_per_hour=D("14.4"), session_fee=D("0.004"))
    cost = compute_cost(tariff, 1, timedelta(seconds=1))
    assert cost.total == D("0.01") and cost.energy == D("0.00")


def test_currencies_without_cents_round_to_their_minor_unit() -> None:
    yen = _tariff(currency="JPY", price_per_kwh=D("45.5"))
    assert compute_cost(yen, 1000, timedelta()).total == D("46")
    dinar = _tariff(currency="KWD", price_per_kwh=D("0.0125"))
    assert compute_cost(dinar, 1000, timedelta()).total == D("0.013")


def test_min_and_max_bound_the_total_including_tax() -> None:
    tariff = _tariff(price_per_kwh=D("1"), tax_rate=D("10"), min_cost=D("2"), max_cost=D("5.50"))
    assert compute_cost(tariff, 0, timedelta()).total == D("2.00")
    assert compute_cost(tariff, 3000, timedelta()).total == D("3.30")
    assert compute_cost(tariff, 10_000, timedelta()).total == D("5.50")


def test_a_free_tariff_costs_zero_and_negative_inputs_count_as_zero() -> None:
    cost = compute_cost(_tariff(), 5000, timedelta(hours=2))
    assert cost.total == D("0.00")
    paid = compute_cost(_tariff(price_per_kwh=D("1"), price_per_hour=D("1")), -50, -timedelta(1))
    assert (paid.total, paid.energy_wh, paid.duration_s) == (D("0.00"), 0, 0)


def test_cost_text_names_total_currency_and_energy() -> None:
    cost = compute_cost(_tariff(price_per_kwh=D("0.30")), 2500, timedelta())
    assert cost_text(cost, final=False) == "Cost so far: 0.75 EUR (2.500 kWh)"
    assert cost_text(cost, final=True).startswith("Total: 0.75 EUR")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"currency": "eur"}, "ISO 4217"),
        ({"price_per_kwh": D("-1")}, "price_per_kwh"),
        ({"price_per_hour": D("NaN")}, "price_per_hour"),
        ({"tax_rate": D("101")}, "tax_rate"),
        ({"min_cost": D("5"), "max_cost": D("4")}, "min_cost"),
        ({"descriptions": {"en": "x" * 513}}, "512"),
        ({"descriptions": {"": "x"}}, "language"),
        ({"tariff_id": ""}, "tariff_id"),
    ],
)
def test_invalid_tariffs_are_refused_with_the_reason(kw: dict[str, object], message: str) -> None:
    with pytest.raises(TariffInvalid, match=message):
        _tariff(**kw)


def test_description_in_the_drivers_language_else_primary_subtag_else_first() -> None:
    tariff = _tariff(descriptions={"en": "0.30 EUR/kWh", "de-DE": "0,30 EUR/kWh"})
    assert tariff.description("de-DE") == ("de-DE", "0,30 EUR/kWh")
    assert tariff.description("DE") == ("de-DE", "0,30 EUR/kWh")
    assert tariff.description("fr") == ("en", "0.30 EUR/kWh")
    assert tariff.description(None) == ("en", "0.30 EUR/kWh")
    assert _tariff().description("en") is None


def test_precedence_token_then_group_then_evse_then_station_then_default() -> None:
    assigned = {
        Assignment("t-token", TariffScope.TOKEN, id_token="Driver").key: "t-token",
        Assignment("t-group", TariffScope.TOKEN, id_token="FLEET").key: "t-group",
        Assignment("t-evse", TariffScope.EVSE, station_id="CS1", evse_id=2).key: "t-evse",
        Assignment("t-station", TariffScope.STATION, station_id="CS1").key: "t-station",
        Assignment("t-default", TariffScope.DEFAULT).key: "t-default",
    }
    assert pick(assigned, candidate_keys("CS1", 2, "DRIVER", "fleet")) == "t-token"
    assert pick(assigned, candidate_keys("CS1", 2, "other", "FLEET")) == "t-group"
    assert pick(assigned, candidate_keys("CS1", 2, "other", None)) == "t-evse"
    assert pick(assigned, candidate_keys("CS1", 1, None, None)) == "t-station"
    assert pick(assigned, candidate_keys("CS2", 2, None, None)) == "t-default"
    assert pick({}, candidate_keys("CS1", 1, "x", None)) is None


@pytest.mark.parametrize(
    "kw",
    [
        {"scope": TariffScope.TOKEN},
        {"scope": TariffScope.TOKEN, "id_token": "A", "station_id": "CS1"},
        {"scope": TariffScope.EVSE, "station_id": "CS1"},
        {"scope": TariffScope.EVSE, "station_id": "CS1", "evse_id": 0},
        {"scope": TariffScope.STATION},
        {"scope": TariffScope.DEFAULT, "station_id": "CS1"},
    ],
)
def test_an_assignment_names_exactly_what_its_scope_needs(kw: dict[str, object]) -> None:
    with pytest.raises(TariffInvalid):
        Assignment("T", **kw)  # type: ignore[arg-type]


def test_the_snapshot_round_trips_exactly() -> None:
    tariff = _tariff(
        price_per_kwh=D("0.3333"), min_cost=D("1"), tax_rate=D("7.7"), descriptions={"en": "x"}
    )
    assert Tariff.from_json(tariff.to_json()) == tariff
