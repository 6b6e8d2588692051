"""Transactions whose id the CSMS issues (1.6), and the data-integrity rules applied to them.

Version-neutral: a 1.6 ``connectorId`` N is EVSE N connector 1 (see :mod:`csms.domain.model`), the
id token is the 1.6 idTag or a 2.x idToken, meter readings are in Wh. The rules (ocpp-rules.md §3.1):

* Transaction messages are never refused for a business reason (1.6 §4.7, §4.8, §4.10: sanity
  checks "SHOULD NOT ever cause the Central System to not respond"); what is odd is *flagged*.
* Energy is never negative: ``max(0, meterStop - meterStart)``, flagged when the meter went back.
  Readings are signed 64-bit (what the schemas allow and csms stores); an energy beyond that range
  is clamped to it and flagged, so the transaction can always be closed.
* A timestamp more than :data:`CLOCK_SKEW` after the message arrived is flagged, not refused.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from csms.domain.model import MeterSample
from csms.domain.tokens import IdTokenInfo

# A station clock this far ahead of ours is still believed without a flag.
CLOCK_SKEW = timedelta(minutes=5)

# 1.6 §4.10 (Reason, §7.36): "If the Reason element is omitted ... the Reason SHOULD be assumed 'Local'".
DEFAULT_STOP_REASON = "Local"

# The range of every stored Wh figure (BIGINT); readings outside it are refused at validation.
WH_MIN = -(2**63)
WH_MAX = 2**63 - 1
# The stop reason of a transaction csms closed because its station reported the connector free
# (1.6 §7.36 Reason and 2.0.1 ReasonEnumType both have "Other"); the station's own stop, if it
# still comes, replaces it.
ABANDONED_STOP_REASON = "Other"

# Who closed a transaction (Transaction.closed_by).
CLOSED_BY_STATION = "station"
CLOSED_BY_OPERATOR = "operator"
CLOSED_BY_CSMS = "csms"  # abandoned: the station reported the connector free

# 1.6 errata 3.18: a station that never got a transactionId uses -1 in later messages.
UNKNOWN_TRANSACTION_ID = -1


class TransactionFlag(enum.StrEnum):
    """Something odd about a transaction, kept for the operator; never a reason to refuse."""

    METER_STOP_BELOW_START = "MeterStopBelowStart"
    NON_MONOTONIC_REGISTER = "NonMonotonicRegister"
    FUTURE_TIMESTAMP = "FutureTimestamp"
    STOP_BEFORE_START = "StopBeforeStart"
    RESERVATION_NOT_FOUND = "ReservationNotFound"
    CLOSED_BY_OPERATOR = "ClosedByOperator"
    STOPPED_AFTER_OPERATOR_CLOSE = "StoppedAfterOperatorClose"
    ENERGY_OUT_OF_RANGE = "EnergyOutOfRange"
    # Closed by csms: the station reported the connector free (see ABANDONED_STOP_REASON).
    ABANDONED_BY_STATION = "AbandonedByStation"
    STOPPED_AFTER_ABANDON = "StoppedAfterAbandon"  # the station's own stop came later and won
    # 2.x: the Ended arrived, yet seqNos between the transaction's lowest and highest are missing
    # (2.0.1 E01.FR.07: seqNo lets the CSMS tell whether it got every event); cleared when the
    # missing events still come (offline queue, out of order).
    SEQ_NO_GAP = "SeqNoGap"


def flags_text(flags: Iterable[TransactionFlag]) -> str | None:
    """Flags as stored: sorted, comma-separated; None when there are none."""
    text = ",".join(sorted({f.value for f in flags}))
    return text or None


def parse_flags(text: str | None) -> frozenset[TransactionFlag]:
    """The inverse of :func:`flags_text`."""
    return frozenset(TransactionFlag(v) for v in text.split(",")) if text else frozenset()


def energy_wh(meter_start_wh: int, meter_stop_wh: int) -> tuple[int, frozenset[TransactionFlag]]:
    """Energy to bill and the flags that go with it: never negative (ocpp-rules §6 test 53), never
    beyond :data:`WH_MAX` (e.g. meterStart -2^63, meterStop 2^63-1: clamped and flagged)."""
    if meter_stop_wh < meter_start_wh:
        return 0, frozenset({TransactionFlag.METER_STOP_BELOW_START})
    energy = meter_stop_wh - meter_start_wh
    if energy > WH_MAX:
        return WH_MAX, frozenset({TransactionFlag.ENERGY_OUT_OF_RANGE})
    return energy, frozenset()


def reading_wh(register: float) -> int:
    """A register reading (a float, see :func:`register_wh`) as a whole Wh figure csms can store:
    rounded down and clamped to :data:`WH_MIN` .. :data:`WH_MAX`."""
    if not math.isfinite(register):
        return WH_MAX if register > 0 else WH_MIN
    return max(WH_MIN, min(WH_MAX, math.floor(register)))


def in_future(timestamp: datetime, received_at: datetime) -> bool:
    """True when the station's ``timestamp`` is ahead of our clock by more than the skew."""
    return timestamp > received_at + CLOCK_SKEW


_REGISTER = "Energy.Active.Import.Register"
_UNIT_FACTOR = {"Wh": 1.0, "kWh": 1000.0}


def register_wh(sample: MeterSample) -> float | None:
    """The total active import energy register of a sample in Wh, or None if it is not one.

    Only the whole-meter value counts (no phase); signed or unreadable values are skipped.
    """
    if sample.measurand != _REGISTER or sample.phase is not None or sample.value is None:
        return None
    factor = _UNIT_FACTOR.get(sample.unit or "Wh")
    if factor is None:
        return None
    wh = sample.value * factor
    return wh if math.isfinite(wh) else None


@dataclass(frozen=True, slots=True)
class RegisterMark:
    """The highest register reading seen for a transaction, and when it was taken."""

    wh: float
    at: datetime


def check_registers(
    mark: RegisterMark, samples: Iterable[MeterSample]
) -> tuple[RegisterMark, bool]:
    """Advance ``mark`` over ``samples``; True if a later reading was below an earlier one.

    Readings may arrive out of order (queued messages), so a lower value is only a regression when
    it was taken *after* the highest one seen (1.6 §3.7: messages are delivered in order, but a
    CSMS cannot rely on it).
    """
    regressed = False
    for sample in sorted(samples, key=lambda s: s.timestamp):
        wh = register_wh(sample)
        if wh is None:
            continue
        if wh < mark.wh and sample.timestamp >= mark.at:
            regressed = True
        elif wh > mark.wh:
            mark = RegisterMark(wh, max(sample.timestamp, mark.at))
    return mark, regressed


@dataclass(slots=True)  # one per message: not frozen (cheaper to build)
class TransactionStart:
    """A 1.6 StartTransaction.req: de-duplicated on (station, EVSE, idTag, timestamp, meterStart)
    so a retry with a new message id gets the same transactionId (ocpp-rules §3.1)."""

    station_id: str
    evse_id: int
    connector_id: int
    id_token: str
    meter_start_wh: int
    timestamp: datetime
    reservation_id: int | None = None


@dataclass(frozen=True, slots=True)
class StartResult:
    """The transactionId issued (or issued before, for a retry) and the token's status."""

    transaction_id: int
    id_token_info: IdTokenInfo
    duplicate: bool = False
    flags: frozenset[TransactionFlag] = frozenset()


class StopOutcome(enum.StrEnum):
    """What a StopTransaction did; every outcome is acknowledged to the station."""

    CLOSED = "Closed"
    ALREADY_CLOSED = "AlreadyClosed"  # a retry: nothing applied twice
    RECONCILED = "Reconciled"  # the station's stop after an operator had closed it
    UNKNOWN = "Unknown"  # -1 or never issued: kept for reconciliation
    FOREIGN = "Foreign"  # issued to another station: that session is left alone


@dataclass(slots=True)  # one per message
class TransactionStop:
    """A 1.6 StopTransaction.req; ``samples`` are its transactionData, ``raw`` the payload."""

    station_id: str
    transaction_id: int
    meter_stop_wh: int
    timestamp: datetime
    reason: str = DEFAULT_STOP_REASON
    id_token: str | None = None
    samples: tuple[MeterSample, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StopResult:
    outcome: StopOutcome
    id_token_info: IdTokenInfo | None = None
    energy_wh: int | None = None
    flags: frozenset[TransactionFlag] = frozenset()
    evse_id: int | None = None  # the stopped transaction's EVSE (1.6 connectorId)


@dataclass(frozen=True, slots=True)
class TransactionEventOutcome:
    """What storing a 2.x TransactionEvent gave: whether it was new (a repeat of a stored
    (station, transactionId, seqNo) is acknowledged, not applied again) and, when the event
    carries an idToken, the token's status for the response's idTokenInfo (2.0.1 E01.FR.11:
    ConcurrentTx only for a Started)."""

    fresh: bool
    id_token_info: IdTokenInfo | None = None


SeqRanges = tuple[tuple[int, int], ...]  # the seqNos received, as sorted disjoint (lo, hi)


def parse_seq_ranges(text: str | None) -> SeqRanges:
    """``"0..4,7..7"`` → ``((0, 4), (7, 7))``; the stored form of the seqNos a transaction got
    (``..`` because a seqNo a lenient station sends may be negative)."""
    if not text:
        return ()
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("..")
        out.append((int(lo), int(hi)))
    return tuple(out)


def seq_ranges_text(ranges: SeqRanges) -> str | None:
    return ",".join(f"{lo}..{hi}" for lo, hi in ranges) or None


def add_seq_no(ranges: SeqRanges, seq_no: int) -> SeqRanges:
    """``ranges`` with ``seq_no`` in it; idempotent and independent of the order of calls."""
    if ranges and ranges[-1][0] <= seq_no <= ranges[-1][1] + 1:
        lo, hi = ranges[-1]  # the usual case: the next seqNo of a gap-free transaction
        return (*ranges[:-1], (lo, max(hi, seq_no)))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted((*ranges, (seq_no, seq_no))):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def seq_nos_with(text: str | None, seq_no: int) -> str | None:
    """The stored ranges ``text`` with ``seq_no`` added: :func:`add_seq_no` on text, with the usual
    case (the next seqNo of a gap-free transaction) done without parsing the whole text."""
    if text:
        head, _, last = text.rpartition("..")
        if last.lstrip("-").isdigit():
            hi = int(last)
            if seq_no == hi + 1:
                return f"{head}..{seq_no}"
            if seq_no == hi and "," not in head:
                return text
    return seq_ranges_text(add_seq_no(parse_seq_ranges(text), seq_no))


def missing_seq_nos(ranges: SeqRanges) -> int:
    """How many seqNos between the lowest and highest received are missing."""
    return sum(b_lo - a_hi - 1 for (_, a_hi), (b_lo, _) in itertools.pairwise(ranges))


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as operators see it, whatever version the station speaks."""

    transaction_id: str
    station_id: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    started_at: datetime | None
    ended_at: datetime | None = None
    meter_start_wh: int | None = None
    meter_stop_wh: int | None = None
    energy_wh: int | None = None
    stopped_reason: str | None = None
    stop_id_token: str | None = None
    reservation_id: int | None = None
    id_token_status: str | None = None
    flags: frozenset[TransactionFlag] = frozenset()
    closed_by: str | None = None  # CLOSED_BY_STATION, CLOSED_BY_OPERATOR or CLOSED_BY_CSMS
    updated_at: datetime | None = None
    ocpp_version: str = "1.6"  # "1.6": the CSMS issued the id; "2.x": the station did
    # 2.x: the seqNos received ("0..4,7..9"), so a gap (SeqNoGap) says which events are missing.
    seq_nos: str | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True, slots=True)
class TransactionAudit:
    """An operator's action on a transaction (e.g. closing one a station left open)."""

    transaction_id: str
    station_id: str
    action: str
    operator: str
    reason: str
    at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnmatchedMessage:
    """A transaction message naming no transaction of its station (unknown, -1 or another
    station's id), acknowledged and kept whole for reconciliation (1.6 errata 3.18)."""

    station_id: str
    action: str
    transaction_id: int | None
    outcome: StopOutcome
    received_at: datetime
    raw: dict[str, Any] = field(default_factory=dict)
