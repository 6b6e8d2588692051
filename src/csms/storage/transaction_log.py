"""Store 2.x TransactionEvents once each and assemble transactions from them.

ocpp-rules §3.2: the dedup key is (station, transactionId, seqNo); events need not arrive in order
(OCTT P6-201 §2.1), a duplicate is acknowledged but applied once, and an Ended whose Started was
lost must still be stored (§6 tests 56-60). So:

1. Duplicates inside the batch are dropped (the first submission wins).
2. The rest go to ``INSERT ... ON CONFLICT DO NOTHING RETURNING key`` in one executemany: the
   returned keys are exactly the new events, decided atomically by the unique constraint, also
   against another CSMS process writing the same PostgreSQL database.
3. Only new events update their ``transactions`` row (created on the first event of any type) via
   :func:`apply_event`, a pure merge that gives the same row whatever the arrival order, and only
   their sampled values go to ``meter_values``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from csms.domain.model import TransactionEventReport
from csms.storage.dialect import dialect_insert
from csms.storage.rows import meter_rows
from csms.storage.tables import meter_values, transaction_events, transactions

__all__ = ["TransactionState", "apply_event", "record_transaction_events"]

_Key = tuple[str, str]  # (station_id, transaction_id)
_EventKey = tuple[str, str, int]  # (station_id, transaction_id, seq_no)

STARTED = "Started"
ENDED = "Ended"


@dataclass(frozen=True, slots=True)
class TransactionState:
    """The columns of a ``transactions`` row that events determine."""

    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None
    id_token_seq_no: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    stopped_reason: str | None = None
    charging_state: str | None = None
    charging_state_seq_no: int | None = None
    last_seq_no: int | None = None


_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(TransactionState))


def apply_event(state: TransactionState, event: TransactionEventReport) -> TransactionState:
    """Return ``state`` updated with ``event``; the result does not depend on arrival order.

    * ``id_token`` comes from the lowest seqNo that carries one: the token that authorised the
      transaction, not the one an Ended may carry for who stopped it.
    * ``charging_state`` comes from the highest seqNo that carries one (the latest state).
    * ``started_at`` / ``ended_at`` are the timestamps of the Started / Ended events.
    * EVSE and connector are set by the first event that names them (they do not change).
    """
    seq = event.seq_no
    changes: dict[str, Any] = {}
    if state.evse_id is None and event.evse_id is not None:
        changes["evse_id"] = event.evse_id
    if state.connector_id is None and event.connector_id is not None:
        changes["connector_id"] = event.connector_id
    if event.id_token is not None and (
        state.id_token_seq_no is None or seq < state.id_token_seq_no
    ):
        changes.update(id_token=event.id_token, id_token_seq_no=seq)
    if event.charging_state is not None and (
        state.charging_state_seq_no is None or seq > state.charging_state_seq_no
    ):
        changes.update(charging_state=event.charging_state, charging_state_seq_no=seq)
    if event.event_type == STARTED and (
        state.started_at is None or event.timestamp < state.started_at
    ):
        changes["started_at"] = event.timestamp
    if event.event_type == ENDED and (state.ended_at is None or event.timestamp > state.ended_at):
        changes["ended_at"] = event.timestamp
        changes["stopped_reason"] = event.stopped_reason or state.stopped_reason
    if state.last_seq_no is None or seq > state.last_seq_no:
        changes["last_seq_no"] = seq
    return dataclasses.replace(state, **changes) if changes else state


async def record_transaction_events(
    conn: AsyncConnection, events: Sequence[tuple[TransactionEventReport, datetime]]
) -> list[bool]:
    """Store ``(event, received_at)`` pairs; return, for each, whether it was new."""
    first: dict[_EventKey, int] = {}
    for i, (event, _) in enumerate(events):
        first.setdefault((event.station_id, event.transaction_id, event.seq_no), i)
    stmt = (
        dialect_insert(conn, transaction_events)
        .on_conflict_do_nothing(index_elements=["station_id", "transaction_id", "seq_no"])
        .returning(
            transaction_events.c.station_id,
            transaction_events.c.transaction_id,
            transaction_events.c.seq_no,
        )
    )
    result = await conn.execute(stmt, [_event_row(*events[i]) for i in first.values()])
    inserted = {(row[0], row[1], int(row[2])) for row in result}
    new_positions = {i for key, i in first.items() if key in inserted}
    new = [events[i] for i in sorted(new_positions)]
    if new:
        evse_ids = await _update_transactions(conn, new)
        samples = [
            row
            for event, received_at in new
            for row in meter_rows(
                event.station_id,
                event.evse_id if event.evse_id is not None else evse_ids[_key(event)],
                event.transaction_id,
                event.samples,
                received_at,
            )
        ]
        if samples:
            await conn.execute(insert(meter_values), samples)
    return [i in new_positions for i in range(len(events))]


def _key(event: TransactionEventReport) -> _Key:
    return (event.station_id, event.transaction_id)


def _event_row(event: TransactionEventReport, received_at: datetime) -> dict[str, Any]:
    return {
        "station_id": event.station_id,
        "transaction_id": event.transaction_id,
        "seq_no": event.seq_no,
        "event_type": event.event_type,
        "timestamp": event.timestamp,
        "trigger_reason": event.trigger_reason,
        "evse_id": event.evse_id,
        "connector_id": event.connector_id,
        "charging_state": event.charging_state,
        "stopped_reason": event.stopped_reason,
        "id_token": event.id_token,
        "offline": event.offline,
        "raw": event.raw,
        "received_at": received_at,
    }


async def _update_transactions(
    conn: AsyncConnection, new: Iterable[tuple[TransactionEventReport, datetime]]
) -> dict[_Key, int | None]:
    """Merge the new events into their transactions; return each transaction's EVSE id."""
    by_key: dict[_Key, list[tuple[TransactionEventReport, datetime]]] = {}
    for item in new:
        by_key.setdefault(_key(item[0]), []).append(item)
    existing = await _load(conn, by_key.keys())
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    evse_ids: dict[_Key, int | None] = {}
    for key, items in by_key.items():
        row_id, state = existing.get(key, (None, TransactionState()))
        for event, _ in items:
            state = apply_event(state, event)
        evse_ids[key] = state.evse_id
        values = {name: getattr(state, name) for name in _STATE_FIELDS}
        updated_at = max(received_at for _, received_at in items)
        if row_id is None:
            inserts.append(
                {"station_id": key[0], "transaction_id": key[1], "updated_at": updated_at} | values
            )
        else:
            updates.append({"b_id": row_id, "updated_at": updated_at} | values)
    if inserts:
        await conn.execute(insert(transactions), inserts)
    if updates:
        stmt = update(transactions).where(transactions.c.id == bindparam("b_id"))
        await conn.execute(stmt, updates)
    return evse_ids


async def _load(
    conn: AsyncConnection, keys: Iterable[_Key]
) -> Mapping[_Key, tuple[int, TransactionState]]:
    """Read (and on PostgreSQL lock) the existing rows of these transactions."""
    columns = [transactions.c[name] for name in _STATE_FIELDS]
    stmt = (
        select(
            transactions.c.id, transactions.c.station_id, transactions.c.transaction_id, *columns
        )
        .where(tuple_(transactions.c.station_id, transactions.c.transaction_id).in_(list(keys)))
        .with_for_update()
    )
    rows = (await conn.execute(stmt)).mappings()
    return {
        (row["station_id"], row["transaction_id"]): (
            row["id"],
            TransactionState(**{name: row[name] for name in _STATE_FIELDS}),
        )
        for row in rows
    }
