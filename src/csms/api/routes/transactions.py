"""Transactions (1.6 and 2.x as one resource) and their meter values (issue 9, item 3).

* ``GET /transactions``: newest first, filtered, keyset-paged (an opaque cursor; ``total`` only on
  request: a full count is not cheap on a big table); ``?format=csv`` or ``/transactions.csv``
  streams every match as CSV, a page at a time.
* ``GET /transactions/{id}``: with its history (2.x TransactionEvents with seqNo, triggerReason and
  the offline flag; 1.6 start, meter values, stop and operators' actions) and warnings.
* ``POST /transactions/{id}/close``: the operator's close of ``csms transaction close``
  (:func:`csms.blocks.transactions.commands.close_transaction`), reason required.
* Meter series per transaction and per EVSE, downsampled on request (see
  :func:`csms.domain.ledger.downsample`: the last sample of each time bucket).
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from csms.api.cursors import decode_transaction_cursor, encode_transaction_cursor
from csms.api.deps import Context
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.ledger_schemas import (
    CloseTransactionBody,
    MeterSeriesOut,
    MeterValueOut,
    TransactionDetailOut,
    TransactionEventOut,
    TransactionOut,
    TransactionPage,
    public_id,
)
from csms.api.query_types import QueryInstant, QueryText
from csms.api.routes.ledger_context import TransactionsApi, attach_transactions, transactions_api
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import Problem, ValidationProblem
from csms.blocks.transactions.commands import close_transaction
from csms.domain.errors import AmbiguousTransaction, TransactionNotOpen, UnknownTransaction
from csms.domain.ledger import (
    Ledger,
    LedgerEntry,
    LedgerEvent,
    LedgerVersion,
    MeterQuery,
    TransactionQuery,
    downsample,
    energy_so_far,
)
from csms.domain.transactions import (
    TransactionFlag,
    missing_seq_nos,
    parse_seq_ranges,
)

__all__ = [
    "TransactionsApi",
    "attach_transactions",
    "public_id",
    "transactions_router",
    "warnings",
]

logger = logging.getLogger(__name__)

UNKNOWN_TRANSACTION: Final = ProblemKind(404, "unknown-transaction", "Unknown transaction")
NOT_OPEN: Final = ProblemKind(409, "transaction-not-open", "Transaction already closed")
AMBIGUOUS: Final = ProblemKind(409, "transaction-ambiguous", "Transaction id is ambiguous")

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
CSV_PAGE: Final = 1000  # rows read per statement while streaming CSV
MAX_EVENTS: Final = 1000  # history entries in a detail
MAX_SAMPLES: Final = 10_000  # samples in an answer without points=
MAX_DOWNSAMPLE_INPUT: Final = 200_000  # samples read to downsample from
MAX_POINTS: Final = 10_000
_INT64: Final = 2**63 - 1
_ID = re.compile(r"v(16|2)-([0-9]{1,19})")
_VERSIONS: Final = {"v16": LedgerVersion.V16, "v2": LedgerVersion.V2}


TransactionIdPath = Annotated[
    str, Path(description="The API's id of a transaction: v16-<transactionId> or v2-<n>")
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=1024, description="next_cursor of the last page")]
Int64 = Annotated[int | None, Query(ge=0, le=_INT64)]


@dataclass(frozen=True, slots=True)
class _Filters:
    """The filter parameters shared by the listing and the CSV export."""

    station: str | None
    evse: int | None
    id_token: str | None
    started_from: datetime | None
    started_to: datetime | None
    state: str | None
    stop_reason: str | None
    ocpp_version: str | None

    def query(self) -> TransactionQuery:
        version = None
        if self.ocpp_version is not None:
            version = LedgerVersion.V16 if self.ocpp_version == "1.6" else LedgerVersion.V2
        return TransactionQuery(
            station_id=self.station,
            evse_id=self.evse,
            id_token=self.id_token,
            started_from=self.started_from,
            started_to=self.started_to,
            open=None if self.state is None else self.state == "open",
            stop_reason=self.stop_reason,
            version=version,
        )


def _filters(
    *,
    station: Annotated[QueryText | None, Query(max_length=255, description="Station id")] = None,
    evse: Annotated[int | None, Query(ge=0, le=_INT64, description="EVSE id")] = None,
    id_token: Annotated[
        QueryText | None, Query(max_length=255, description="1.6 idTag (any case) or 2.x idToken")
    ] = None,
    started_from: Annotated[QueryInstant | None, Query(description="Started at or after")] = None,
    started_to: Annotated[QueryInstant | None, Query(description="Started before")] = None,
    state: Annotated[Literal["open", "closed"] | None, Query(description="open or closed")] = None,
    stop_reason: Annotated[QueryText | None, Query(max_length=64)] = None,
    ocpp_version: Annotated[Literal["1.6", "2.x"] | None, Query()] = None,
) -> _Filters:
    if started_from is not None and started_to is not None and started_to <= started_from:
        raise ApiProblem(_BAD_RANGE, "started_to must be after started_from")
    return _Filters(
        station, evse, id_token, started_from, started_to, state, stop_reason, ocpp_version
    )


_BAD_RANGE: Final = ProblemKind(422, "bad-time-range", "Empty time range")


async def list_transactions(
    request: Request,
    *,
    filters: Annotated[_Filters, Depends(_filters)],
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    total: Annotated[bool, Query(description="Count all matches (a full count)")] = False,
    format: Annotated[Literal["json", "csv"], Query(description="csv: stream all")] = "json",
) -> Any:
    """List transactions of 1.6 and 2.x stations, newest first."""
    ledger = transactions_api(request).ledger
    query = filters.query()
    after = decode_transaction_cursor(cursor) if cursor is not None else None
    if format == "csv":
        return _csv_response(ledger, query)
    found = await ledger.page(query, after=after, limit=limit + 1)
    now = datetime.now(UTC)
    items = [TransactionOut.of(e, now) for e in found[:limit]]
    next_cursor = encode_transaction_cursor(found[limit - 1].key) if len(found) > limit else None
    return TransactionPage(
        items=items,
        next_cursor=next_cursor,
        total=await ledger.count(query) if total else None,
    )


async def export_transactions(
    request: Request, filters: Annotated[_Filters, Depends(_filters)]
) -> Any:
    """Every matching transaction as CSV, streamed (the columns of the JSON listing)."""
    return _csv_response(transactions_api(request).ledger, filters.query())


_CSV_COLUMNS: Final = (
    "id", "ocpp_version", "transaction_id", "station_id", "evse_id", "connector_id", "id_token",
    "id_token_status", "started_at", "ended_at", "open", "meter_start_wh", "meter_stop_wh",
    "energy_wh", "duration_s", "stopped_reason", "closed_by", "flags", "updated_at",
)  # fmt: skip


def _csv_response(ledger: Ledger, query: TransactionQuery) -> StreamingResponse:
    return StreamingResponse(
        _csv_rows(ledger, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transactions.csv"'},
    )


async def _csv_rows(ledger: Ledger, query: TransactionQuery) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    after = None
    now = datetime.now(UTC)
    while True:
        found = await ledger.page(query, after=after, limit=CSV_PAGE)
        for entry in found:
            writer.writerow(_csv_cells(TransactionOut.of(entry, now)))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(found) < CSV_PAGE:
            return
        after = found[-1].key


def _csv_cells(t: TransactionOut) -> list[str]:
    values = t.model_dump(mode="json")
    values["flags"] = ",".join(t.flags)
    return ["" if values[c] is None else str(values[c]) for c in _CSV_COLUMNS]


async def find_entry(ledger: Ledger, transaction_id: str) -> LedgerEntry | None:
    """The transaction named by the API's id (``v16-42``, ``v2-7``), or None."""
    match = _ID.fullmatch(transaction_id)
    row_id = int(match.group(2)) if match else None
    if match is None or row_id is None or row_id > _INT64:
        return None
    return await ledger.get(_VERSIONS["v" + match.group(1)], row_id)


async def _entry(request: Request, transaction_id: str) -> LedgerEntry:
    entry = await find_entry(transactions_api(request).ledger, transaction_id)
    if entry is None:
        raise ApiProblem(
            UNKNOWN_TRANSACTION,
            f"no transaction {transaction_id!r} (ids look like v16-42 or v2-7, as listed)",
        )
    return entry


async def get_transaction(request: Request, transaction_id: TransactionIdPath) -> Any:
    """One transaction with its event history and warnings."""
    entry = await _entry(request, transaction_id)
    return await _detail(request, entry)


async def _detail(request: Request, entry: LedgerEntry) -> TransactionDetailOut:
    events = await transactions_api(request).ledger.events(entry, limit=MAX_EVENTS + 1)
    t = entry.transaction
    base = TransactionOut.of(entry, datetime.now(UTC)).model_dump()
    return TransactionDetailOut(
        **base,
        stop_id_token=t.stop_id_token,
        reservation_id=t.reservation_id,
        seq_nos=t.seq_nos,
        events=[TransactionEventOut.of(e) for e in events[:MAX_EVENTS]],
        events_truncated=len(events) > MAX_EVENTS,
        warnings=warnings(entry, events),
    )


_FLAG_WORDS: Final = {
    TransactionFlag.METER_STOP_BELOW_START: "meter went backwards: meterStop below meterStart "
    "(energy billed as 0)",
    TransactionFlag.NON_MONOTONIC_REGISTER: "meter went backwards: a later energy register "
    "reading was below an earlier one",
    TransactionFlag.FUTURE_TIMESTAMP: "a timestamp was ahead of the CSMS clock",
    TransactionFlag.STOP_BEFORE_START: "stopped before it started (station clock)",
    TransactionFlag.ENERGY_OUT_OF_RANGE: "energy out of range, clamped",
}


def warnings(entry: LedgerEntry, events: list[LedgerEvent] | Any) -> list[str]:
    """What looks wrong about a transaction, in words (the flags stay in ``flags``)."""
    t = entry.transaction
    out: list[str] = []
    ranges = parse_seq_ranges(t.seq_nos)
    missing = missing_seq_nos(ranges)
    if missing:
        out.append(f"seqNo gap: {missing} event(s) missing (received {t.seq_nos})")
    elif TransactionFlag.SEQ_NO_GAP in t.flags:
        out.append("seqNo gap reported when the transaction ended")
    if ranges and ranges[0][0] > 0 and entry.key.version is LedgerVersion.V2:
        out.append(f"seqNo gap: the first event received has seqNo {ranges[0][0]}, not 0")
    out += [words for flag, words in _FLAG_WORDS.items() if flag in t.flags]
    offline = sum(1 for e in events if e.offline)
    if offline:
        out.append(f"{offline} event(s) sent offline (queued by the station)")
    if t.open and energy_so_far(entry) is None and entry.key.version is LedgerVersion.V2:
        out.append("no Energy.Active.Import.Register reading yet: energy unknown")
    return out


async def close_transaction_route(
    request: Request, transaction_id: TransactionIdPath, body: CloseTransactionBody
) -> Any:
    """Close a transaction its station will not close (the operator's decision, audited); the
    station's own stop, if it still comes, replaces the close."""
    entry = await _entry(request, transaction_id)
    principal = getattr(request.state, "principal", None)
    operator = str(getattr(principal, "name", None) or "api")
    t = entry.transaction
    ocpp_id: int | str = (
        entry.key.row_id if entry.key.version is LedgerVersion.V16 else (t.transaction_id)
    )
    try:
        await close_transaction(
            transactions_api(request).charging,
            ocpp_id,
            operator=operator,
            reason=body.reason,
            now=datetime.now(UTC),
            station_id=t.station_id,
        )
    except UnknownTransaction:
        raise ApiProblem(UNKNOWN_TRANSACTION, f"no transaction {transaction_id!r}") from None
    except TransactionNotOpen:
        raise ApiProblem(NOT_OPEN, f"transaction {transaction_id} is already closed") from None
    except AmbiguousTransaction as exc:
        raise ApiProblem(AMBIGUOUS, str(exc)) from None
    logger.info("transaction %s of %r closed by %s via the API", transaction_id, t.station_id,
                operator)  # fmt: skip
    return await _detail(request, await _entry(request, transaction_id))


Measurands = Annotated[
    list[QueryText] | None, Query(max_length=50, description="Measurand(s); repeat for several")
]
Phases = Annotated[
    list[QueryText] | None,
    Query(max_length=20, description='Phase(s), e.g. L1, L1-N; "none": samples without one'),
]
Points = Annotated[
    int | None,
    Query(ge=1, le=MAX_POINTS, description="Downsample: at most this many points per series"),
]
From = Annotated[QueryInstant | None, Query(alias="from", description="Sampled at or after")]
To = Annotated[QueryInstant | None, Query(alias="to", description="Sampled before")]


async def _series(request: Request, query: MeterQuery, points: int | None) -> MeterSeriesOut:
    if query.start is not None and query.end is not None and query.end <= query.start:
        raise ApiProblem(_BAD_RANGE, "to must be after from")
    ledger = transactions_api(request).ledger
    cap = MAX_DOWNSAMPLE_INPUT if points is not None else MAX_SAMPLES
    found = list(await ledger.meter_values(query, limit=cap + 1))
    truncated = len(found) > cap
    found = found[:cap]
    if points is not None:
        found = downsample(found, points)
    return MeterSeriesOut(
        items=[MeterValueOut.of(p) for p in found], downsampled_to=points, truncated=truncated
    )


def _meter_query(
    station_id: str,
    *,
    transaction_id: str | None = None,
    evse_id: int | None = None,
    measurand: list[str] | None,
    phase: list[str] | None,
    start: datetime | None,
    end: datetime | None,
) -> MeterQuery:
    return MeterQuery(
        station_id=station_id,
        transaction_id=transaction_id,
        evse_id=evse_id,
        measurands=frozenset(measurand or ()),
        phases=frozenset(phase or ()),
        start=start,
        end=end,
    )


async def transaction_meter_values(
    request: Request,
    transaction_id: TransactionIdPath,
    *,
    measurand: Measurands = None,
    phase: Phases = None,
    start: From = None,
    end: To = None,
    points: Points = None,
) -> Any:
    """The transaction's samples (1.6 MeterValues and StopTransaction transactionData; 2.x
    TransactionEvent meterValue), in time order."""
    entry = await _entry(request, transaction_id)
    t = entry.transaction
    query = _meter_query(
        t.station_id,
        transaction_id=t.transaction_id,
        measurand=measurand,
        phase=phase,
        start=start,
        end=end,
    )
    return await _series(request, query, points)


async def evse_meter_values(
    context: Context,
    request: Request,
    *,
    station_id: StationIdPath,
    evse_id: Annotated[int, Path(ge=0, le=_INT64, description="EVSE id (1.6 connectorId)")],
    measurand: Measurands = None,
    phase: Phases = None,
    start: From = None,
    end: To = None,
    points: Points = None,
) -> Any:
    """The EVSE's samples, in and outside transactions, in time order."""
    await require_station(context, station_id)
    query = _meter_query(
        station_id, evse_id=evse_id, measurand=measurand, phase=phase, start=start, end=end
    )
    return await _series(request, query, points)


def transactions_router() -> APIRouter:
    """Build the transaction and meter-value routes (a new router per app)."""
    router = APIRouter(tags=["transactions"])
    invalid: dict[int | str, dict[str, Any]] = {
        422: {"model": ValidationProblem, "description": "Invalid request"}
    }
    bad_cursor: dict[int | str, dict[str, Any]] = {
        400: {"model": Problem, "description": "Invalid cursor or Host header"}
    }
    unknown: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown transaction"}
    }
    csv_content: dict[int | str, dict[str, Any]] = {
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "CSV (format=csv)",
        }
    }
    router.add_api_route(
        "/transactions",
        list_transactions,
        methods=["GET"],
        response_model=TransactionPage,
        operation_id="listTransactions",
        summary="List transactions (1.6 and 2.x)",
        responses={**bad_cursor, **invalid, **csv_content},
    )
    router.add_api_route(
        "/transactions.csv",
        export_transactions,
        methods=["GET"],
        response_class=StreamingResponse,
        operation_id="exportTransactions",
        summary="Export transactions as CSV",
        responses={**invalid, **csv_content},
    )
    router.add_api_route(
        "/transactions/{transaction_id}",
        get_transaction,
        methods=["GET"],
        response_model=TransactionDetailOut,
        operation_id="getTransaction",
        summary="Get a transaction with its history",
        responses={**unknown, **invalid},
    )
    router.add_api_route(
        "/transactions/{transaction_id}/close",
        close_transaction_route,
        methods=["POST"],
        response_model=TransactionDetailOut,
        operation_id="closeTransaction",
        summary="Close a transaction (operator)",
        responses={
            **unknown,
            409: {"model": Problem, "description": "Already closed"},
            **invalid,
        },
    )
    router.add_api_route(
        "/transactions/{transaction_id}/meter-values",
        transaction_meter_values,
        methods=["GET"],
        response_model=MeterSeriesOut,
        operation_id="getTransactionMeterValues",
        summary="Meter values of a transaction",
        responses={**unknown, **invalid},
    )
    router.add_api_route(
        "/stations/{station_id}/evses/{evse_id}/meter-values",
        evse_meter_values,
        methods=["GET"],
        response_model=MeterSeriesOut,
        operation_id="getEvseMeterValues",
        summary="Meter values of an EVSE",
        responses={404: {"model": Problem, "description": "Unknown station"}, **invalid},
    )
    return router
