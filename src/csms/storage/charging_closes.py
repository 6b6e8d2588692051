"""Closing transactions the station will not close: by an operator (1.6 and 2.x alike) and by csms
when the station reports the connector free (an abandoned transaction).

A station that reports its connector Available (1.6 also Preparing) or starts another 2.x
transaction on the EVSE has no transaction running there: one still open here was abandoned
(the station rebooted, lost it, or its stop is still queued). It is closed as of its last activity
with :data:`~csms.domain.transactions.ABANDONED_STOP_REASON`, flagged AbandonedByStation,
``closed_by`` csms; 1.6 energy is billed up to the last register reading. The close is
provisional: the station's own StopTransaction / TransactionEvent(Ended), delivered later from its
offline queue (1.6 §3.7; 2.0.1 E08, E12), replaces it (see
:mod:`csms.storage.charging_sessions` and :func:`csms.storage.transaction_log.apply_event`).

The connectors of a batch are looked up with one statement per table; the closes (rare) run one by
one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.transactions import (
    ABANDONED_STOP_REASON,
    CLOSED_BY_CSMS,
    CLOSED_BY_OPERATOR,
    Transaction,
    TransactionAudit,
    TransactionFlag,
    flags_text,
    parse_flags,
)
from csms.storage import charging_rows as rows
from csms.storage.charging_writes import audit, close_v16_values
from csms.storage.statements import power_of_two_chunks
from csms.storage.tables import stations, transactions
from csms.storage.tables_charging import transactions_v16
from csms.storage.writes import BatchWrite

__all__ = ["CloseTransactionV2", "ReleaseConnector", "v2_transaction"]

_T16 = transactions_v16.c
_T2 = transactions.c


def _close_v2_values(
    row: Mapping[str, Any], *, reason: str, closed_by: str, flag: TransactionFlag, now: datetime
) -> dict[str, Any]:
    """The columns that close a 2.x row nobody stopped: ended at its last activity."""
    return {
        "ended_at": row["updated_at"],
        "stopped_reason": reason,
        "closed_by": closed_by,
        "flags": flags_text(parse_flags(row["flags"]) | {flag}),
        "updated_at": now,
    }


def v2_transaction(row: Mapping[Any, Any]) -> Transaction:
    """A ``transactions`` (2.x) row as a version-neutral :class:`Transaction`."""
    return Transaction(
        transaction_id=row["transaction_id"],
        station_id=row["station_id"],
        evse_id=row["evse_id"],
        connector_id=row["connector_id"],
        id_token=row["id_token"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        stopped_reason=row["stopped_reason"],
        meter_start_wh=row["meter_start_wh"],
        meter_stop_wh=row["meter_stop_wh"],
        energy_wh=row["energy_wh"],
        id_token_status=row["id_token_status"],
        flags=parse_flags(row["flags"]),
        closed_by=row["closed_by"],
        updated_at=row["updated_at"],
        ocpp_version="2.x",
        seq_nos=row["seq_nos"],
    )


# --- abandoned ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReleaseConnector(BatchWrite[list[Transaction]]):
    """The station says nothing runs on this EVSE (and connector): close what is open there.

    ``connector_id`` None: the whole EVSE (1.6, where an EVSE is one connector); otherwise only
    2.x transactions on that connector or on none named. ``keep``: a 2.x transaction the message
    is about (a TransactionEvent of it), never closed by it. The result: the transactions closed.

    A 2.x status report (``keep`` None) releases a 2.x transaction only when the station booted
    after the transaction's last activity: in 2.0.1 a transaction outlives its cable (E10: EV-side
    disconnect suspends it; TxStopPoint ParkingBayOccupancy/Authorized end it later), and the
    OCTT's Reusable State EVDisconnected reports the connector Available *before* the Ended (Part
    6 TC_E_14, TC_E_19, TC_E_26), so Available alone does not say the transaction is gone; a
    station that rebooted and still reports nothing there does (B01 after a reboot).
    """

    station_id: str
    evse_id: int
    connector_id: int | None
    keep: str | None
    cause: str  # for the audit record, e.g. "StatusNotification Available"
    now: datetime
    # Before starts: a station's status precedes its next message (one CALL at a time).
    batch_order: ClassVar[int] = 6

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return await _release_all(conn, writes)


async def _release_all(
    conn: AsyncConnection, writes: list[ReleaseConnector]
) -> list[list[Transaction]]:
    keys = sorted({(w.station_id, w.evse_id) for w in writes})
    open16: dict[tuple[str, int], list[dict[str, Any]]] = {}
    open2: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for chunk in power_of_two_chunks(keys):
        found16 = await conn.execute(
            _locked(
                conn,
                select(transactions_v16).where(
                    _T16.ended_at.is_(None), tuple_(_T16.station_id, _T16.evse_id).in_(chunk)
                ),
            )
        )
        for m in found16.mappings():
            open16.setdefault((m["station_id"], m["evse_id"]), []).append(dict(m))
        found2 = await conn.execute(
            _locked(
                conn,
                select(transactions).where(
                    _T2.ended_at.is_(None), tuple_(_T2.station_id, _T2.evse_id).in_(chunk)
                ),
            )
        )
        for m in found2.mappings():
            open2.setdefault((m["station_id"], m["evse_id"]), []).append(dict(m))
    booted = await _last_boots(conn, {w.station_id for w in writes if w.keep is None})
    out: list[list[Transaction]] = []
    for w in writes:
        key = (w.station_id, w.evse_id)
        closed: list[Transaction] = []
        for row in open16.pop(key, []):
            closed.append(await _abandon_v16(conn, row, w))
        remaining: list[dict[str, Any]] = []
        for row in open2.get(key, []):
            other_connector = w.connector_id is not None and row["connector_id"] not in (
                None,
                w.connector_id,
            )
            last_boot = booted.get(w.station_id)
            running = w.keep is None and (last_boot is None or last_boot <= row["updated_at"])
            if other_connector or running or row["transaction_id"] == w.keep:
                remaining.append(row)
                continue
            closed.append(await _abandon_v2(conn, row, w))
        open2[key] = remaining
        out.append(closed)
    return out


async def _last_boots(conn: AsyncConnection, station_ids: set[str]) -> dict[str, datetime]:
    if not station_ids:
        return {}
    s = stations.c
    stmt = select(s.id, s.last_boot_at).where(s.id.in_(sorted(station_ids)))
    return {row[0]: row[1] for row in await conn.execute(stmt) if row[1] is not None}


def _locked(conn: AsyncConnection, stmt: Any) -> Any:
    return stmt.with_for_update() if conn.dialect.name == "postgresql" else stmt


async def _abandon_v16(
    conn: AsyncConnection, row: dict[str, Any], w: ReleaseConnector
) -> Transaction:
    values = close_v16_values(
        row,
        reason=ABANDONED_STOP_REASON,
        closed_by=CLOSED_BY_CSMS,
        flag=TransactionFlag.ABANDONED_BY_STATION,
        now=w.now,
    )
    await conn.execute(update(transactions_v16).where(_T16.id == row["id"]).values(values))
    details = {
        "meter_stop": values["meter_stop"],
        "energy_wh": values["energy_wh"],
        "last_activity": row["updated_at"].isoformat(),
    }
    record = TransactionAudit(
        str(row["id"]), w.station_id, "abandon", CLOSED_BY_CSMS, w.cause, w.now, details
    )
    await audit(conn, record)
    return rows.transaction(row | values)


async def _abandon_v2(
    conn: AsyncConnection, row: dict[str, Any], w: ReleaseConnector
) -> Transaction:
    values = _close_v2_values(
        row,
        reason=ABANDONED_STOP_REASON,
        closed_by=CLOSED_BY_CSMS,
        flag=TransactionFlag.ABANDONED_BY_STATION,
        now=w.now,
    )
    await conn.execute(update(transactions).where(_T2.id == row["id"]).values(values))
    return v2_transaction(row | values)


# --- operator close of a 2.x transaction ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloseTransactionV2(BatchWrite[Transaction | str]):
    """An operator closes an open 2.x transaction; "unknown" / "closed" when there is nothing to
    close. The operator and reason are kept on the row (``close_operator``, ``stopped_reason``)."""

    station_id: str
    transaction_id: str
    operator: str
    reason: str
    now: datetime
    batch_order: ClassVar[int] = 41

    @classmethod
    async def apply_all(cls, conn: AsyncConnection, writes: list[Any]) -> Sequence[object]:
        return [await _close_v2(conn, w) for w in writes]


async def _close_v2(conn: AsyncConnection, w: CloseTransactionV2) -> Transaction | str:
    stmt = select(transactions).where(
        _T2.station_id == w.station_id, _T2.transaction_id == w.transaction_id
    )
    found = (await conn.execute(_locked(conn, stmt))).mappings().first()
    if found is None:
        return "unknown"
    row = dict(found)
    if row["ended_at"] is not None:
        return "closed"
    values = _close_v2_values(
        row,
        reason=w.reason,
        closed_by=CLOSED_BY_OPERATOR,
        flag=TransactionFlag.CLOSED_BY_OPERATOR,
        now=w.now,
    ) | {"close_operator": w.operator}
    await conn.execute(update(transactions).where(_T2.id == row["id"]).values(values))
    return v2_transaction(row | values)
