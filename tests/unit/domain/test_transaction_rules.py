"""The data-integrity rules of csms.domain.transactions (ocpp-rules.md §3.1, §6 test 53)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from csms.domain.model import MeterSample
from csms.domain.reservations import Reservation, ReservationStatus
from csms.domain.transactions import (
    CLOCK_SKEW,
    RegisterMark,
    TransactionFlag,
    check_registers,
    energy_wh,
    flags_text,
    in_future,
    parse_flags,
    register_wh,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(minutes: float, value: float, **fields: str) -> MeterSample:
    return MeterSample(at(minutes), value, str(value), **fields)  # type: ignore[arg-type]


def test_energy_is_never_negative() -> None:
    assert energy_wh(100, 250) == (150, frozenset())
    assert energy_wh(100, 100) == (0, frozenset())
    assert energy_wh(500, 400) == (0, frozenset({TransactionFlag.METER_STOP_BELOW_START}))


def test_future_means_beyond_the_clock_skew() -> None:
    assert not in_future(T0 + CLOCK_SKEW, T0)
    assert in_future(T0 + CLOCK_SKEW + timedelta(seconds=1), T0)
    assert not in_future(T0 - timedelta(days=3), T0)  # offline replay: old is fine


def test_register_reading_only_for_the_whole_meter_energy_register() -> None:
    assert register_wh(reading(0, 1.5, unit="kWh")) == 1500.0
    assert register_wh(reading(0, 7.0, measurand="Power.Active.Import", unit="kW")) is None
    assert register_wh(reading(0, 500.0, phase="L1")) is None
    assert register_wh(MeterSample(T0, None, "0A1B", signed_data="0A1B")) is None
    assert register_wh(reading(0, 3.0, unit="varh")) is None


def test_a_later_lower_reading_is_a_regression() -> None:
    mark, regressed = check_registers(RegisterMark(100, at(0)), [reading(1, 200), reading(2, 150)])
    assert regressed and mark == RegisterMark(200, at(1))


def test_readings_out_of_order_are_not_a_regression() -> None:
    mark, regressed = check_registers(RegisterMark(100, at(0)), [reading(5, 300)])
    mark, regressed2 = check_registers(mark, [reading(3, 200)])  # queued, arrives late
    assert not regressed and not regressed2 and mark == RegisterMark(300, at(5))


def test_flags_round_trip_sorted() -> None:
    flags = {TransactionFlag.FUTURE_TIMESTAMP, TransactionFlag.CLOSED_BY_OPERATOR}
    text = flags_text(flags)
    assert text == "ClosedByOperator,FutureTimestamp"
    assert parse_flags(text) == flags
    assert flags_text(()) is None and parse_flags(None) == frozenset()


def test_reservation_expires_when_read_after_its_expiry() -> None:
    held = Reservation(1, "CS1", 1, "TAG", at(10), ReservationStatus.ACCEPTED)
    assert held.as_of(at(9)).status is ReservationStatus.ACCEPTED
    assert held.as_of(at(10)).status is ReservationStatus.EXPIRED
    used = Reservation(1, "CS1", 1, "TAG", at(10), ReservationStatus.USED, transaction_id=4)
    assert used.as_of(at(60)).status is ReservationStatus.USED
