"""The upload ledger (sans-I/O): slots and bytes of uploads in flight count against the limits."""

from __future__ import annotations

import pytest

from csms.domain.files import (
    UploadLedger,
    UploadLimits,
    UploadQuotaExceeded,
    UploadSlotsTaken,
    UploadUsage,
)

LIMITS = UploadLimits(max_size=100, files_per_request=2, quota=500, station_quota=250)
NOTHING = UploadUsage(request_files=0, station_bytes=0, total_bytes=0)


def test_in_flight_uploads_take_the_request_slots() -> None:
    ledger = UploadLedger()
    first, _ = ledger.reserve(NOTHING, LIMITS, 1, "A", 10)
    ledger.reserve(NOTHING, LIMITS, 1, "A", 10)
    with pytest.raises(UploadSlotsTaken, match="at most 2 per request"):
        ledger.reserve(NOTHING, LIMITS, 1, "A", 10)
    ledger.reserve(NOTHING, LIMITS, 2, "A", 10)  # another request has its own slots
    ledger.release(first)
    ledger.release(first)  # twice is harmless
    ledger.reserve(NOTHING, LIMITS, 1, "A", 10)
    assert ledger.in_flight == 3


def test_stored_files_and_in_flight_ones_add_up() -> None:
    ledger = UploadLedger()
    ledger.reserve(NOTHING, LIMITS, 1, "A", 10)
    with pytest.raises(UploadSlotsTaken):
        ledger.reserve(UploadUsage(1, 10, 10), LIMITS, 1, "A", 10)


def test_undeclared_uploads_reserve_the_maximum_cut_to_the_room_left() -> None:
    ledger = UploadLedger()
    _, whole = ledger.reserve(NOTHING, LIMITS, 1, "A", None)
    assert whole.size == 100
    _, rest = ledger.reserve(UploadUsage(0, 100, 100), LIMITS, 2, "A", None)
    assert rest.size == 50  # 250 share - 100 stored - 100 in flight
    with pytest.raises(UploadQuotaExceeded, match="station's upload share of 250"):
        ledger.reserve(UploadUsage(0, 100, 100), LIMITS, 3, "A", None)


def test_the_total_quota_counts_every_station() -> None:
    ledger = UploadLedger()
    stored = UploadUsage(request_files=0, station_bytes=0, total_bytes=450)
    with pytest.raises(UploadQuotaExceeded, match="total upload quota of 500"):
        ledger.reserve(stored, LIMITS, 1, "B", 60)
    _, hold = ledger.reserve(stored, LIMITS, 1, "B", 50)
    assert hold.size == 50
    with pytest.raises(UploadQuotaExceeded):
        ledger.reserve(stored, LIMITS, 2, "C", 1)
