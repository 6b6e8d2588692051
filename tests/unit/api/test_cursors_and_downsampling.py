"""Page cursors (opaque, refused cleanly when tampered with) and meter-series downsampling."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csms.api.cursors import (
    decode_station_cursor,
    decode_transaction_cursor,
    encode_station_cursor,
    encode_transaction_cursor,
)
from csms.api.errors import ApiProblem
from csms.domain.identity import MAX_IDENTITY_LENGTH, is_valid_identity
from csms.domain.ledger import LedgerKey, LedgerVersion, MeterPoint, downsample

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@given(
    started=st.none() | st.datetimes(timezones=st.just(UTC)),
    version=st.sampled_from(LedgerVersion),
    row_id=st.integers(min_value=0, max_value=2**63 - 1),
)
def test_transaction_cursor_round_trips(
    started: datetime | None, version: LedgerVersion, row_id: int
) -> None:
    key = LedgerKey(started, version, row_id)
    cursor = encode_transaction_cursor(key)
    assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_transaction_cursor(cursor) == key


@given(st.text(min_size=1, max_size=MAX_IDENTITY_LENGTH).filter(is_valid_identity))
def test_station_cursor_round_trips(station_id: str) -> None:
    assert decode_station_cursor(encode_station_cursor(station_id)) == station_id


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "a",
        _b64("not json"),
        _b64("[1, 2]"),
        _b64('{"k": "st", "i": "CS-1"}'),  # another listing's cursor
        _b64('{"k": "tx", "s": null, "v": 1}'),  # no row id
        _b64('{"k": "tx", "s": null, "v": 7, "i": 1}'),  # no such version
        _b64('{"k": "tx", "s": "2026-01-01T00:00:00", "v": 0, "i": 1}'),  # naive
        _b64('{"k": "tx", "s": "yesterday", "v": 0, "i": 1}'),
        _b64('{"k": "tx", "s": null, "v": 0, "i": true}'),
        _b64('{"k": "tx", "s": 5, "v": 0, "i": 1}'),
        _b64('{"k": "tx", "s": "0001-01-01T00:00:00+01:00", "v": 0, "i": 1}'),  # year 0 in UTC
        _b64('{"k": "tx", "s": null, "v": 0, "i": -1}'),
        _b64('{"k": "tx", "s": null, "v": 0, "i": 9223372036854775808}'),
        "A" * 2000,
    ],
)
def test_a_bad_transaction_cursor_is_a_400_problem(cursor: str) -> None:
    with pytest.raises(ApiProblem) as refused:
        decode_transaction_cursor(cursor)
    assert refused.value.kind.status == 400
    assert refused.value.kind.slug == "bad-cursor"


@given(st.binary(max_size=64))
def test_no_bytes_make_the_decoder_fail_otherwise(raw: bytes) -> None:
    cursor = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    try:
        decode_transaction_cursor(cursor)
    except ApiProblem as exc:
        assert exc.kind.status == 400


def _point(seconds: float, value: float, measurand: str = "Power.Active.Import") -> MeterPoint:
    return MeterPoint(
        timestamp=T0 + timedelta(seconds=seconds),
        measurand=measurand,
        phase=None,
        unit="W",
        context=None,
        location=None,
        value=value,
        raw_value=str(value),
        signed_data=None,
    )


def test_downsampling_keeps_the_last_sample_of_each_time_bucket() -> None:
    points = [_point(s, float(s)) for s in range(100)]  # 0..99 s
    kept = downsample(points, 10)
    assert [p.value for p in kept] == [9, 19, 29, 39, 49, 59, 69, 79, 89, 99]
    assert sum(p.bucket_samples for p in kept) == 100


def test_downsampling_is_per_series_and_leaves_short_series_alone() -> None:
    power = [_point(s, s) for s in range(0, 60, 1)]
    energy = [_point(s, 1000 + s, "Energy.Active.Import.Register") for s in (0, 30)]
    kept = downsample(sorted(power + energy, key=lambda p: p.timestamp), 3)
    assert [p.value for p in kept if p.measurand == "Power.Active.Import"] == [19, 39, 59]
    assert [p.value for p in kept if p.measurand != "Power.Active.Import"] == [1000, 1030]
    assert [p.timestamp for p in kept] == sorted(p.timestamp for p in kept)


def test_downsampling_samples_at_one_instant_fall_in_one_bucket() -> None:
    kept = downsample([_point(0, 1), _point(0, 2), _point(0, 3)], 2)
    assert [(p.value, p.bucket_samples) for p in kept] == [(3, 3)]


def test_downsampling_refuses_zero_buckets() -> None:
    with pytest.raises(ValueError, match="buckets"):
        downsample([], 0)


def test_a_station_cursor_naming_nul_is_refused() -> None:
    with pytest.raises(ApiProblem):
        decode_station_cursor(_b64('{"k": "st", "i": "a\\u0000b"}'))
