"""Response and request bodies of the transaction and meter-value routes (issue 9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from csms.domain.ledger import LedgerEntry, LedgerEvent, LedgerVersion, MeterPoint, energy_so_far

__all__ = [
    "CloseTransactionBody",
    "MeterSeriesOut",
    "MeterValueOut",
    "TransactionDetailOut",
    "TransactionEventOut",
    "TransactionOut",
    "TransactionPage",
    "public_id",
]

_PREFIX = {LedgerVersion.V16: "v16", LedgerVersion.V2: "v2"}


def public_id(entry: LedgerEntry) -> str:
    """The API's id of a transaction: ``v16-<transactionId>`` (the CSMS issued it, unique) or
    ``v2-<n>`` (the station's transactionId is only unique per station)."""
    return f"{_PREFIX[entry.key.version]}-{entry.key.row_id}"


class TransactionOut(BaseModel):
    """A transaction, 1.6 or 2.x alike."""

    id: str = Field(description="The API's id: v16-<transactionId> or v2-<n>")
    ocpp_version: str = Field(description='"1.6" (the CSMS issued the id) or "2.x"')
    transaction_id: str = Field(description="The OCPP transactionId")
    station_id: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None = Field(description="The authorising 1.6 idTag or 2.x idToken")
    id_token_status: str | None
    started_at: datetime | None = Field(description="null: no Started event received (2.x)")
    ended_at: datetime | None
    open: bool
    meter_start_wh: int | None
    meter_stop_wh: int | None
    energy_wh: int | None = Field(
        description="Energy so far (open) or billed (closed), never negative: 1.6 meterStop - "
        "meterStart (open: highest register reading - meterStart); 2.x last - first "
        "Energy.Active.Import.Register reading of its events"
    )
    duration_s: float | None = Field(description="Start to stop (open: to now), seconds")
    stopped_reason: str | None
    closed_by: str | None = Field(description="station, operator or csms (abandoned)")
    flags: list[str]
    updated_at: datetime | None = Field(description="Last message about it")

    @classmethod
    def of(cls, entry: LedgerEntry, now: datetime) -> TransactionOut:
        return cls(**_fields(entry, now))


def _fields(entry: LedgerEntry, now: datetime) -> dict[str, Any]:
    t = entry.transaction
    end = t.ended_at or now
    duration = (end - t.started_at).total_seconds() if t.started_at is not None else None
    return {
        "id": public_id(entry),
        "ocpp_version": t.ocpp_version,
        "transaction_id": t.transaction_id,
        "station_id": t.station_id,
        "evse_id": t.evse_id,
        "connector_id": t.connector_id,
        "id_token": t.id_token,
        "id_token_status": t.id_token_status,
        "started_at": t.started_at,
        "ended_at": t.ended_at,
        "open": t.open,
        "meter_start_wh": t.meter_start_wh,
        "meter_stop_wh": t.meter_stop_wh,
        "energy_wh": energy_so_far(entry),
        "duration_s": max(0.0, duration) if duration is not None else None,
        "stopped_reason": t.stopped_reason,
        "closed_by": t.closed_by,
        "flags": sorted(f.value for f in t.flags),
        "updated_at": t.updated_at,
    }


class TransactionPage(BaseModel):
    """A page of transactions, newest first."""

    items: list[TransactionOut]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null: last")
    total: int | None = Field(description="All matching transactions; only with total=true")


class TransactionEventOut(BaseModel):
    """One entry of a transaction's history."""

    kind: str = Field(
        description="2.x eventType (Started, Updated, Ended); 1.6 StartTransaction, "
        "MeterValues, StopTransaction; or an operator's action (close, ...)"
    )
    timestamp: datetime
    seq_no: int | None = None
    trigger_reason: str | None = None
    offline: bool = False
    charging_state: str | None = None
    id_token: str | None = None
    stopped_reason: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    meter_wh: int | None = None
    samples: int = 0
    operator: str | None = None

    @classmethod
    def of(cls, event: LedgerEvent) -> TransactionEventOut:
        return cls(
            kind=event.kind,
            timestamp=event.timestamp,
            seq_no=event.seq_no,
            trigger_reason=event.trigger_reason,
            offline=event.offline,
            charging_state=event.charging_state,
            id_token=event.id_token,
            stopped_reason=event.stopped_reason,
            evse_id=event.evse_id,
            connector_id=event.connector_id,
            meter_wh=event.meter_wh,
            samples=event.samples,
            operator=event.operator,
        )


class TransactionDetailOut(TransactionOut):
    """A transaction with its history and what looks wrong about it."""

    stop_id_token: str | None
    reservation_id: int | None
    seq_nos: str | None = Field(description='2.x: the seqNos received, e.g. "0..4,7..9"')
    events: list[TransactionEventOut]
    events_truncated: bool
    warnings: list[str] = Field(
        description="seqNo gaps, meter going backwards, offline events, other flags, in words"
    )


class CloseTransactionBody(BaseModel):
    """An operator's close of a transaction its station will not close."""

    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit trail")


class MeterValueOut(BaseModel):
    """One sampled value as the station sent it (``raw_value`` and ``signed_data`` verbatim)."""

    timestamp: datetime
    measurand: str
    phase: str | None
    unit: str | None
    context: str | None
    location: str | None
    value: float | None
    raw_value: str
    signed_data: str | None
    transaction_id: str | None
    evse_id: int | None
    bucket_samples: int = Field(description="Samples of its bucket it stands for (points=N)")

    @classmethod
    def of(cls, p: MeterPoint) -> MeterValueOut:
        return cls(
            timestamp=p.timestamp,
            measurand=p.measurand,
            phase=p.phase,
            unit=p.unit,
            context=p.context,
            location=p.location,
            value=p.value,
            raw_value=p.raw_value,
            signed_data=p.signed_data,
            transaction_id=p.transaction_id,
            evse_id=p.evse_id,
            bucket_samples=p.bucket_samples,
        )


class MeterSeriesOut(BaseModel):
    """Samples in time order; with ``points`` the last sample of each time bucket per series."""

    items: list[MeterValueOut]
    downsampled_to: int | None = Field(description="points asked for; null: every sample")
    truncated: bool = Field(description="More samples matched than one answer holds")
