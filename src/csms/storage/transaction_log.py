"""Store 2.x TransactionEvents once each and assemble transactions from them.

ocpp-rules §3.2: the dedup key is (station, transactionId, seqNo); events need not arrive in order
(OCTT P6-201 §2.1), a duplicate is acknowledged but applied once, and an Ended whose Started was
lost must still be stored (§6 tests 56-60). So:

1. Duplicates inside the batch are dropped (the first submission wins).
2. The rest go to ``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING key`` (one
   multi-row statement per power-of-two chunk, as an executemany returns no rows): the returned
   keys are exactly the new events, decided atomically by the unique constraint, also against
   another CSMS process writing the same PostgreSQL database.
3. Only new events update their ``transactions`` row (created on the first event of any type) via
   :func:`apply_event`, a pure merge that gives the same row whatever the arrival order, and only
   their sampled values go to ``meter_values``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, insert, select, tuple_, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from csms.domain.model import TransactionEventReport
from csms.domain.tokens import IdTokenInfo
from csms.domain.transactions import (
    CLOSED_BY_CSMS,
    CLOSED_BY_OPERATOR,
    CLOSED_BY_STATION,
    TransactionEventOutcome,
    TransactionFlag,
    energy_wh,
    flags_text,
    missing_seq_nos,
    parse_flags,
    parse_seq_ranges,
    reading_wh,
    register_wh,
    seq_nos_with,
)
from csms.storage.dialect import dialect_insert
from csms.storage.rows import INSERT_METER_VALUES, meter_tuples
from csms.storage.statements import (
    Codec,
    Prepared,
    PreparedFamily,
    codec,
    json_text,
    power_of_two_chunks,
)
from csms.storage.tables import transaction_events, transactions
from csms.storage.token_view import TokenView

__all__ = ["TransactionState", "apply_event", "record_transaction_events"]

_Key = tuple[str, str]  # (station_id, transaction_id)
_EventKey = tuple[str, str, int]  # (station_id, transaction_id, seq_no)
# An event, its arrival time, both times converted for the dialect (Codec.timestamp), and the
# status csms answered for its idToken (None without one).
_Converted = tuple[TransactionEventReport, datetime, Any, Any, str | None]

STARTED = "Started"
ENDED = "Ended"


class TransactionState(NamedTuple):
    """The columns of a ``transactions`` row that events determine (a NamedTuple: ``_replace``
    costs a third of ``dataclasses.replace`` on the hot path, and it is the row's tuple)."""

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
    closed_by: str | None = None  # station | operator | csms
    flags: str | None = None  # TransactionFlag values as stored (flags_text)
    id_token_status: str | None = None  # the authorising token's status when it was presented
    meter_start_wh: int | None = None  # the earliest Energy.Active.Import.Register reading
    meter_start_at: datetime | None = None
    meter_stop_wh: int | None = None  # the latest one (the stop reading once Ended came)
    meter_stop_at: datetime | None = None
    energy_wh: int | None = None  # meter_stop_wh - meter_start_wh, never negative
    seq_nos: str | None = None  # the seqNos received (seq_ranges_text)


_STATE_FIELDS = TransactionState._fields
if _STATE_FIELDS != (
    "evse_id",
    "connector_id",
    "id_token",
    "id_token_seq_no",
    "started_at",
    "ended_at",
    "stopped_reason",
    "charging_state",
    "charging_state_seq_no",
    "last_seq_no",
    "closed_by",
    "flags",
    "id_token_status",
    "meter_start_wh",
    "meter_start_at",
    "meter_stop_wh",
    "meter_stop_at",
    "energy_wh",
    "seq_nos",
):  # _state_tuple builds tuples in this order
    raise AssertionError(f"update _state_tuple for TransactionState fields {_STATE_FIELDS}")


def apply_event(
    state: TransactionState, event: TransactionEventReport, token_status: str | None = None
) -> TransactionState:
    """Return ``state`` updated with ``event``; the result does not depend on arrival order.

    * ``id_token`` comes from the lowest seqNo that carries one: the token that authorised the
      transaction, not the one an Ended may carry for who stopped it.
    * ``charging_state`` comes from the highest seqNo that carries one (the latest state).
    * ``started_at`` / ``ended_at`` are the timestamps of the Started / Ended events.
    * EVSE and connector are set by the first event that names them (they do not change).
    * An Ended after an operator or csms closed the transaction (see
      :mod:`csms.storage.charging_closes`) replaces that close: the station's stop is the fact.
    * ``id_token_status`` is ``token_status`` (what csms answered) of the event that set
      ``id_token``.
    * Energy: the earliest and the latest Energy.Active.Import.Register reading of all events
      (by the station's timestamp) are the start and stop readings; ``energy_wh`` is their
      difference, never negative (flagged MeterStopBelowStart).
    * ``seq_nos`` records the seqNos received; once Ended, a hole is flagged SeqNoGap (cleared
      when the missing events still come).
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
        changes.update(id_token=event.id_token, id_token_seq_no=seq, id_token_status=token_status)
    if event.charging_state is not None and (
        state.charging_state_seq_no is None or seq > state.charging_state_seq_no
    ):
        changes.update(charging_state=event.charging_state, charging_state_seq_no=seq)
    if event.event_type == STARTED and (
        state.started_at is None or event.timestamp < state.started_at
    ):
        changes["started_at"] = event.timestamp
    if event.event_type == ENDED and state.closed_by in _CLOSED_FOR_THE_STATION:
        after = _AFTER_CLOSE[state.closed_by]
        changes.update(
            ended_at=event.timestamp,
            stopped_reason=event.stopped_reason,
            closed_by=CLOSED_BY_STATION,
            flags=flags_text({*parse_flags(state.flags), after}),
        )
    elif event.event_type == ENDED and (state.ended_at is None or event.timestamp > state.ended_at):
        changes["ended_at"] = event.timestamp
        changes["stopped_reason"] = event.stopped_reason or state.stopped_reason
        changes["closed_by"] = CLOSED_BY_STATION
    if state.last_seq_no is None or seq > state.last_seq_no:
        changes["last_seq_no"] = seq
    seq_text = seq_nos_with(state.seq_nos, seq)
    if seq_text != state.seq_nos:
        changes["seq_nos"] = seq_text
    metered = _readings(state, event, changes) if event.samples else False
    if metered or "seq_nos" in changes or "ended_at" in changes:
        _derive(state, changes)
    return state._replace(**changes) if changes else state


def _readings(
    state: TransactionState, event: TransactionEventReport, changes: dict[str, Any]
) -> bool:
    """Put the event's register readings into ``changes``; True if start or stop moved."""
    start = (state.meter_start_at, state.meter_start_wh)
    stop = (state.meter_stop_at, state.meter_stop_wh)
    moved = False
    for sample in event.samples:
        register = register_wh(sample)
        if register is None:
            continue
        reading = (sample.timestamp, reading_wh(register))
        if start[0] is None or reading < start:
            start, moved = reading, True
        if stop[0] is None or reading > stop:
            stop, moved = reading, True
    if moved:
        changes.update(
            meter_start_at=start[0], meter_start_wh=start[1],
            meter_stop_at=stop[0], meter_stop_wh=stop[1],
        )  # fmt: skip
    return moved


_DERIVED_FLAGS = frozenset({TransactionFlag.SEQ_NO_GAP, TransactionFlag.METER_STOP_BELOW_START,
                            TransactionFlag.ENERGY_OUT_OF_RANGE})  # fmt: skip


def _derive(state: TransactionState, changes: dict[str, Any]) -> None:
    """The energy and the flags that follow from readings and seqNos (recomputed, so a late
    event that fills a gap clears SeqNoGap)."""
    start = changes.get("meter_start_wh", state.meter_start_wh)
    stop = changes.get("meter_stop_wh", state.meter_stop_wh)
    energy_flags: frozenset[TransactionFlag] = frozenset()
    if start is not None and stop is not None:
        energy, energy_flags = energy_wh(start, stop)
        if energy != state.energy_wh:
            changes["energy_wh"] = energy
    ended = changes.get("ended_at", state.ended_at) is not None
    flags_before = changes.get("flags", state.flags)
    if flags_before is None and not energy_flags and not ended:
        return  # the usual Updated of a running transaction: no flag to set or clear
    flags = (set(parse_flags(flags_before)) - _DERIVED_FLAGS) | energy_flags
    seq_nos = changes.get("seq_nos", state.seq_nos)
    if ended and "," in (seq_nos or "") and missing_seq_nos(parse_seq_ranges(seq_nos)):
        flags.add(TransactionFlag.SEQ_NO_GAP)
    text = flags_text(flags)
    if text != flags_before:
        changes["flags"] = text


# A close the station's own Ended replaces, and the flag that records it.
_AFTER_CLOSE = {
    CLOSED_BY_OPERATOR: TransactionFlag.STOPPED_AFTER_OPERATOR_CLOSE,
    CLOSED_BY_CSMS: TransactionFlag.STOPPED_AFTER_ABANDON,
}
_CLOSED_FOR_THE_STATION = frozenset(_AFTER_CLOSE)

# The columns of transaction_events, in the order _event_tuple gives them.
_EVENT_COLUMNS = (
    "station_id",
    "transaction_id",
    "seq_no",
    "event_type",
    "timestamp",
    "trigger_reason",
    "evse_id",
    "connector_id",
    "charging_state",
    "stopped_reason",
    "id_token",
    "offline",
    "raw",
    "received_at",
)


def _insert_events(dialect: Dialect, count: int) -> ReturningInsert[Any]:
    rows = [
        {
            name: bindparam(f"{name}__{i}", type_=transaction_events.c[name].type)
            for name in _EVENT_COLUMNS
        }
        for i in range(count)
    ]
    return (
        dialect_insert(dialect, transaction_events)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["station_id", "transaction_id", "seq_no"])
        .returning(
            transaction_events.c.station_id,
            transaction_events.c.transaction_id,
            transaction_events.c.seq_no,
        )
    )


_INSERT_EVENTS = PreparedFamily(
    _insert_events,
    len(_EVENT_COLUMNS),
    lambda count: [f"{name}__{i}" for i in range(count) for name in _EVENT_COLUMNS],
)


def _select_transactions(_dialect: Dialect, count: int) -> Select[Any]:
    columns = [transactions.c[name] for name in _STATE_FIELDS]
    key = tuple_(transactions.c.station_id, transactions.c.transaction_id)
    return (
        select(
            transactions.c.id, transactions.c.station_id, transactions.c.transaction_id, *columns
        )
        .where(key.in_([("", "")] * count))  # placeholders only: rendered, never bound
        .with_for_update()
    )


_SELECT_TRANSACTIONS = PreparedFamily(_select_transactions, 2)

_TRANSACTION_COLUMNS = ("station_id", "transaction_id", *_STATE_FIELDS, "updated_at")
_INSERT_TRANSACTIONS = Prepared(
    lambda _: insert(transactions), _TRANSACTION_COLUMNS, column_keys=_TRANSACTION_COLUMNS
)


@lru_cache(maxsize=256)
def _update_transactions_of(changed: tuple[int, ...]) -> Prepared:
    """``UPDATE transactions SET <the changed state fields>, updated_at WHERE id = ?``.

    Only the columns an event changed are set: SQLite rewrites the entries of every index whose
    column is in the SET list even when the value is the same, and started_at, id_token and
    ended_at are indexed (the listing's keyset pages, Authorize's open-transaction check). A
    full-row update made each Updated event pay three index rewrites (docs/performance.md).
    At most 2**19 column sets exist; the few an event stream produces are compiled once each.
    """
    names = tuple(_STATE_FIELDS[i] for i in changed)
    return Prepared(
        lambda _: update(transactions).where(
            transactions.c.id == bindparam("b_id", type_=transactions.c.id.type)
        ),
        (*names, "updated_at", "b_id"),
        column_keys=(*names, "updated_at"),
    )


async def record_transaction_events(
    conn: AsyncConnection,
    events: Sequence[tuple[TransactionEventReport, datetime]],
    *,
    refuse_concurrent: Sequence[bool] | None = None,
) -> list[TransactionEventOutcome]:
    """Store ``(event, received_at)`` pairs; return, for each, whether it was new and the
    status of its idToken (:func:`_authorize`; ``refuse_concurrent`` per event, default all)."""
    dialect_codec = codec(conn.dialect)
    timestamp = dialect_codec.timestamp
    infos = await _authorize(conn, events, refuse_concurrent or [True] * len(events))
    first: dict[_EventKey, int] = {}
    for i, (event, _) in enumerate(events):
        first.setdefault((event.station_id, event.transaction_id, event.seq_no), i)
    # Each event with its timestamp and arrival time converted once: they are used up to 3 times.
    unique: list[_Converted] = []
    for i in first.values():
        event, received_at = events[i]
        info = infos[i]
        status = None if info is None else info.status.value
        unique.append(
            (event, received_at, timestamp(received_at), timestamp(event.timestamp), status)
        )
    inserted: set[_EventKey] = set()
    for chunk in power_of_two_chunks(unique):
        params = tuple(chain.from_iterable(_event_tuple(item) for item in chunk))
        returned = await _INSERT_EVENTS(len(chunk)).fetchall(conn, params)
        inserted.update((row[0], row[1], int(row[2])) for row in returned)
    new_positions = {i for key, i in first.items() if key in inserted}
    new = [item for key, item in zip(first, unique, strict=True) if key in inserted]
    if new:
        evse_ids = await _update_transactions(conn, new, dialect_codec)
        samples: list[tuple[Any, ...]] = []
        for event, _, received, stamp, _ in new:
            if event.samples:
                meter_tuples(
                    samples,
                    event.station_id,
                    event.evse_id if event.evse_id is not None else evse_ids[_key(event)],
                    event.transaction_id,
                    event.samples,
                    received_at=received,
                    timestamp=timestamp,
                    known=(event.timestamp, stamp),
                )
        await INSERT_METER_VALUES.executemany(conn, samples)
    return [TransactionEventOutcome(i in new_positions, infos[i]) for i in range(len(events))]


async def _authorize(
    conn: AsyncConnection,
    events: Sequence[tuple[TransactionEventReport, datetime]],
    refuse_concurrent: Sequence[bool],
) -> list[IdTokenInfo | None]:
    """The idTokenInfo of each event that carries an idToken, from the same token store as 1.6
    (read once for the batch), as if the events were applied one after the other.

    A Started whose token is in another open transaction (1.6 or 2.x, any station) is
    ConcurrentTx (2.0.1 AuthorizationStatusEnumType: "for the response to a
    TransactionEventRequest(eventType=Started)"), unless the operator allows a token several
    transactions (CSMS_CONCURRENT_TRANSACTIONS); every other event gets the token's own
    status, so a StopAuthorized with the token of the running transaction is Accepted.
    """
    if not any(event.id_token is not None for event, _ in events):
        return [None] * len(events)
    view = await TokenView.load(
        conn, (event.id_token for event, _ in events if event.id_token is not None)
    )
    out: list[IdTokenInfo | None] = []
    for (event, received_at), refuse in zip(events, refuse_concurrent, strict=True):
        key = (event.station_id, event.transaction_id)
        token, kind = event.id_token, event.id_token_type
        if token is None:
            out.append(None)
        elif event.event_type == STARTED:
            busy = (
                view.info(token, received_at, exclude_v2=key, token_type=kind) if refuse else None
            )
            out.append(busy or view.own_info(token, received_at, kind))
            view.opened_v2(token, key)
        else:
            out.append(view.own_info(token, received_at, kind))
        if event.event_type == ENDED and view.open_v2:
            view.closed_v2(key)
    return out


def _key(event: TransactionEventReport) -> _Key:
    return (event.station_id, event.transaction_id)


def _event_tuple(item: _Converted) -> tuple[Any, ...]:
    """The :data:`_EVENT_COLUMNS` of an event, converted for the dialect."""
    event, _, received, stamp, _ = item
    return (
        event.station_id,
        event.transaction_id,
        event.seq_no,
        event.event_type,
        stamp,
        event.trigger_reason,
        event.evse_id,
        event.connector_id,
        event.charging_state,
        event.stopped_reason,
        event.id_token,
        event.offline,
        json_text(event.raw),
        received,
    )


def _state_tuple(state: TransactionState, dialect_codec: Codec) -> tuple[Any, ...]:
    """The :data:`_STATE_FIELDS` of ``state``, in order, converted for the dialect."""
    timestamp = dialect_codec.optional_timestamp
    return (
        state.evse_id,
        state.connector_id,
        state.id_token,
        state.id_token_seq_no,
        timestamp(state.started_at),
        timestamp(state.ended_at),
        state.stopped_reason,
        state.charging_state,
        state.charging_state_seq_no,
        state.last_seq_no,
        state.closed_by,
        state.flags,
        state.id_token_status,
        state.meter_start_wh,
        timestamp(state.meter_start_at),
        state.meter_stop_wh,
        timestamp(state.meter_stop_at),
        state.energy_wh,
        state.seq_nos,
    )


async def _update_transactions(
    conn: AsyncConnection, new: Iterable[_Converted], dialect_codec: Codec
) -> dict[_Key, int | None]:
    """Merge the new events into their transactions; return each transaction's EVSE id."""
    by_key: dict[_Key, list[_Converted]] = {}
    for item in new:
        by_key.setdefault(_key(item[0]), []).append(item)
    existing = await _load(conn, list(by_key), dialect_codec)
    inserts: list[tuple[Any, ...]] = []
    updates: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}
    evse_ids: dict[_Key, int | None] = {}
    for key, items in by_key.items():
        row_id, before = existing.get(key, (None, _NO_STATE))
        state = before
        for item in items:
            state = apply_event(state, item[0], item[4])
        evse_ids[key] = state.evse_id
        values = _state_tuple(state, dialect_codec)
        updated_at = max(items, key=_received_at)[2]  # the latest arrival, converted
        if row_id is None:
            inserts.append((*key, *values, updated_at))
        else:
            changed = tuple(
                i for i, pair in enumerate(zip(state, before, strict=True)) if pair[0] != pair[1]
            )
            row = (*(values[i] for i in changed), updated_at, row_id)
            updates.setdefault(changed, []).append(row)
    await _INSERT_TRANSACTIONS.executemany(conn, inserts)
    for changed, rows in updates.items():
        await _update_transactions_of(changed).executemany(conn, rows)
    return evse_ids


_received_at = itemgetter(1)
_NO_STATE = TransactionState()
_TIMESTAMPS = tuple(
    _STATE_FIELDS.index(name)
    for name in ("started_at", "ended_at", "meter_start_at", "meter_stop_at")
)


async def _load(
    conn: AsyncConnection, keys: list[_Key], dialect_codec: Codec
) -> Mapping[_Key, tuple[int, TransactionState]]:
    """Read (and on PostgreSQL lock) the existing rows of these transactions."""
    read_timestamp = dialect_codec.read_timestamp
    found: dict[_Key, tuple[int, TransactionState]] = {}
    for chunk in power_of_two_chunks(keys):
        rows = await _SELECT_TRANSACTIONS(len(chunk)).fetchall(
            conn, tuple(chain.from_iterable(chunk))
        )
        for row in rows:
            values: list[Any] = list(row[3:])
            for i in _TIMESTAMPS:
                if values[i] is not None:
                    values[i] = read_timestamp(values[i])
            found[(row[1], row[2])] = (row[0], TransactionState(*values))
    return found
