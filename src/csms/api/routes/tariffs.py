"""Tariffs, their assignments and the cost of transactions (2.0.1 block I; 1.6 too).

``/tariffs``: list (cursor pagination), create, read, change (PATCH), delete;
``PUT /tariffs/{id}/assignments``: the scopes the tariff applies to (token or token group, EVSE,
station, default; the most specific wins); ``POST /tariffs/{id}/preview``: the cost of an energy
and a duration; ``GET /transactions/{id}/cost``: the cost kept with a 2.x transaction (final once
it ended), or computed now from the stored transaction (1.6, or a transaction no tariff priced
yet). Amounts are decimal strings in responses (exact); requests may send numbers or strings.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter, FastAPI, Path, Query, Request, Response
from pydantic import BaseModel, Field

from csms.api.deps import attach, attached
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.routes.transactions import find_entry
from csms.api.schemas import Problem
from csms.blocks.tariff.pricing import Priced, TariffPricer
from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.ledger import Ledger
from csms.domain.tariffs import (
    Assignment,
    CostBreakdown,
    Tariff,
    TariffInvalid,
    TariffScope,
    UnknownTariff,
    compute_cost,
)
from csms.domain.transactions import Transaction

__all__ = ["TariffsApi", "attach_tariffs", "tariffs_router"]

_STATE_KEY = "csms_tariffs"
UNKNOWN_TARIFF: Final = ProblemKind(404, "unknown-tariff", "Unknown tariff")
INVALID_TARIFF: Final = ProblemKind(422, "invalid-tariff", "Invalid tariff")
TARIFF_EXISTS: Final = ProblemKind(409, "tariff-exists", "Tariff already exists")
UNKNOWN_TRANSACTION: Final = ProblemKind(404, "unknown-transaction", "Unknown transaction")
NOT_PRICED: Final = ProblemKind(404, "no-tariff", "No tariff applies to the transaction")
BAD_CURSOR: Final = ProblemKind(400, "invalid-cursor", "Invalid cursor")


class TariffsApi:
    """What the tariff routes work with."""

    def __init__(
        self,
        pricer: TariffPricer,
        charging: ChargingTransactionRepository,
        ledger: Ledger | None = None,
    ) -> None:
        self.pricer = pricer
        self.charging = charging
        # Resolves the transactions resource's ids (v16-42, v2-7) when the ledger is present.
        self.ledger = ledger


def attach_tariffs(app: FastAPI, api: TariffsApi) -> None:
    """Keep the tariff services on the app, where the routes find them."""
    attach(app, _STATE_KEY, api)


def _api(request: Request) -> TariffsApi:
    return attached(request, _STATE_KEY)  # type: ignore[no-any-return]


Amount = Annotated[Decimal, Field(ge=0, le=10**9, allow_inf_nan=False)]


class AssignmentModel(BaseModel):
    """A scope the tariff applies to: ``token`` (``id_token``: a token or a group token),
    ``evse`` (``station_id`` and ``evse_id``), ``station`` (``station_id``) or ``default``."""

    scope: TariffScope
    station_id: str | None = Field(default=None, min_length=1, max_length=255)
    evse_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    id_token: str | None = Field(default=None, min_length=1, max_length=255)

    def domain(self, tariff_id: str) -> Assignment:
        return Assignment(tariff_id, self.scope, self.station_id, self.evse_id, self.id_token)

    @classmethod
    def of(cls, a: Assignment) -> AssignmentModel:
        return cls(scope=a.scope, station_id=a.station_id, evse_id=a.evse_id, id_token=a.id_token)


class TariffFields(BaseModel):
    """The prices (excluding tax) and texts of a tariff; see docs/api.md "Tariffs and cost"."""

    currency: str | None = Field(default=None, pattern="^[A-Z]{3}$", examples=["EUR"])
    price_per_kwh: Amount | None = None
    price_per_hour: Amount | None = None
    session_fee: Amount | None = None
    tax_rate: Annotated[Decimal, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    min_cost: Amount | None = None
    max_cost: Amount | None = None
    descriptions: dict[str, str] | None = Field(
        default=None, examples=[{"en": "0.30 EUR/kWh", "de": "0,30 EUR/kWh"}]
    )


class TariffIn(TariffFields):
    """A new tariff; ``assignments`` optional (``PUT .../assignments`` sets them later)."""

    tariff_id: str = Field(min_length=1, max_length=64)
    currency: str = Field(pattern="^[A-Z]{3}$", examples=["EUR"])
    assignments: list[AssignmentModel] = Field(default_factory=list, max_length=1000)


class TariffPatch(TariffFields):
    """Fields to change; ``min_cost``/``max_cost`` set to null remove the bound."""


class TariffOut(BaseModel):
    tariff_id: str
    currency: str
    price_per_kwh: Decimal
    price_per_hour: Decimal
    session_fee: Decimal
    tax_rate: Decimal
    min_cost: Decimal | None
    max_cost: Decimal | None
    descriptions: dict[str, str]
    assignments: list[AssignmentModel]
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, tariff: Tariff, assignments: list[Assignment]) -> TariffOut:
        return cls(
            tariff_id=tariff.tariff_id,
            currency=tariff.currency,
            price_per_kwh=tariff.price_per_kwh,
            price_per_hour=tariff.price_per_hour,
            session_fee=tariff.session_fee,
            tax_rate=tariff.tax_rate,
            min_cost=tariff.min_cost,
            max_cost=tariff.max_cost,
            descriptions=dict(tariff.descriptions),
            assignments=[AssignmentModel.of(a) for a in assignments],
            created_at=tariff.created_at,
            updated_at=tariff.updated_at,
        )


class TariffPage(BaseModel):
    items: list[TariffOut]
    next_cursor: str | None
    total: int


class AssignmentsIn(BaseModel):
    assignments: list[AssignmentModel] = Field(max_length=1000)


class PreviewIn(BaseModel):
    energy_wh: int = Field(ge=0, le=2**53)
    duration_s: int = Field(ge=0, le=10**9)


class CostOut(BaseModel):
    """A cost; ``total_cost`` is what 2.x totalCost / CostUpdated carry (taxes included)."""

    tariff_id: str
    currency: str
    energy_wh: int
    duration_s: int
    energy_cost: Decimal
    time_cost: Decimal
    session_fee: Decimal
    tax: Decimal
    total_cost: Decimal

    @classmethod
    def of(cls, tariff_id: str, cost: CostBreakdown) -> CostOut:
        return cls(
            tariff_id=tariff_id,
            currency=cost.currency,
            energy_wh=cost.energy_wh,
            duration_s=cost.duration_s,
            energy_cost=cost.energy,
            time_cost=cost.time,
            session_fee=cost.session_fee,
            tax=cost.tax,
            total_cost=cost.total,
        )


class TransactionCostOut(CostOut):
    station_id: str
    transaction_id: str
    final: bool = Field(description="the transaction ended: this is its final cost")
    source: str = Field(description="stored (kept with the transaction) or computed (now)")
    updated_at: datetime


def _problem(kind: ProblemKind, detail: str) -> ApiProblem:
    return ApiProblem(kind, detail)


def _encode_cursor(tariff_id: str) -> str:
    return base64.urlsafe_b64encode(tariff_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        after = ""
    if not after or _encode_cursor(after) != cursor:
        raise _problem(BAD_CURSOR, "cursor is not one this API returned")
    return after


async def _out(api: TariffsApi, tariff: Tariff) -> TariffOut:
    return TariffOut.of(tariff, list(await api.pricer.tariffs.assignments(tariff.tariff_id)))


def _build(tariff_id: str, fields: TariffFields, base: Tariff | None) -> Tariff:
    given = fields.model_dump(exclude_unset=True, exclude={"tariff_id", "assignments"})
    values: dict[str, object] = {}
    if base is not None:
        values = {
            "currency": base.currency,
            "price_per_kwh": base.price_per_kwh,
            "price_per_hour": base.price_per_hour,
            "session_fee": base.session_fee,
            "tax_rate": base.tax_rate,
            "min_cost": base.min_cost,
            "max_cost": base.max_cost,
            "descriptions": base.descriptions,
        }
    for name, value in given.items():
        if value is None and name not in ("min_cost", "max_cost"):
            continue  # null for a required field: keep it
        values[name] = value
    try:
        return Tariff(tariff_id=tariff_id, **values)  # type: ignore[arg-type]
    except TariffInvalid as exc:
        raise _problem(INVALID_TARIFF, str(exc)) from exc


def _assignments(tariff_id: str, models: list[AssignmentModel]) -> list[Assignment]:
    try:
        return [m.domain(tariff_id) for m in models]
    except TariffInvalid as exc:
        raise _problem(INVALID_TARIFF, str(exc)) from exc


TariffIdPath = Annotated[str, Path(min_length=1, max_length=64, description="Tariff id")]


async def list_tariffs(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TariffPage:
    """Tariffs ordered by id; follow ``next_cursor`` for the next page."""
    api = _api(request)
    after = _decode_cursor(cursor) if cursor is not None else None
    found = list(await api.pricer.tariffs.list(after=after, limit=limit + 1))
    more = len(found) > limit
    items = [await _out(api, t) for t in found[:limit]]
    return TariffPage(
        items=items,
        next_cursor=_encode_cursor(found[limit - 1].tariff_id) if more else None,
        total=await api.pricer.tariffs.count(),
    )


async def create_tariff(request: Request, body: TariffIn, response: Response) -> TariffOut:
    """A new tariff (409 if the id exists), with its assignments if given."""
    api = _api(request)
    tariff = _build(body.tariff_id, body, None)
    assignments = _assignments(body.tariff_id, body.assignments)
    now = datetime.now(UTC)
    try:
        stored = await api.pricer.tariffs.create(tariff, now)
    except TariffInvalid as exc:
        raise _problem(TARIFF_EXISTS, str(exc)) from exc
    if assignments:
        await api.pricer.tariffs.set_assignments(body.tariff_id, assignments, now)
    api.pricer.invalidate()
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/tariffs/{body.tariff_id}"
    return await _out(api, stored)


async def _require(api: TariffsApi, tariff_id: str) -> Tariff:
    tariff = await api.pricer.tariffs.get(tariff_id)
    if tariff is None:
        raise _problem(UNKNOWN_TARIFF, f"no tariff {tariff_id!r}")
    return tariff


async def get_tariff(request: Request, tariff_id: TariffIdPath) -> TariffOut:
    """One tariff and its assignments."""
    api = _api(request)
    return await _out(api, await _require(api, tariff_id))


async def patch_tariff(request: Request, tariff_id: TariffIdPath, body: TariffPatch) -> TariffOut:
    """Change some fields. Running transactions keep the tariff they started with."""
    api = _api(request)
    tariff = _build(tariff_id, body, await _require(api, tariff_id))
    try:
        stored = await api.pricer.tariffs.replace(tariff, datetime.now(UTC))
    except UnknownTariff as exc:
        raise _problem(UNKNOWN_TARIFF, f"no tariff {tariff_id!r}") from exc
    api.pricer.invalidate()
    return await _out(api, stored)


async def delete_tariff(request: Request, tariff_id: TariffIdPath) -> Response:
    """Delete a tariff and its assignments; priced transactions keep their snapshot."""
    api = _api(request)
    try:
        await api.pricer.tariffs.delete(tariff_id)
    except UnknownTariff as exc:
        raise _problem(UNKNOWN_TARIFF, f"no tariff {tariff_id!r}") from exc
    api.pricer.invalidate()
    return Response(status_code=204)


async def put_assignments(
    request: Request, tariff_id: TariffIdPath, body: AssignmentsIn
) -> TariffOut:
    """Make these the tariff's scopes; a scope another tariff had moves to this one."""
    api = _api(request)
    assignments = _assignments(tariff_id, body.assignments)
    try:
        await api.pricer.tariffs.set_assignments(tariff_id, assignments, datetime.now(UTC))
    except UnknownTariff as exc:
        raise _problem(UNKNOWN_TARIFF, f"no tariff {tariff_id!r}") from exc
    api.pricer.invalidate()
    return await _out(api, await _require(api, tariff_id))


async def preview_cost(request: Request, tariff_id: TariffIdPath, body: PreviewIn) -> CostOut:
    """What ``energy_wh`` over ``duration_s`` costs under this tariff."""
    tariff = await _require(_api(request), tariff_id)
    return CostOut.of(
        tariff_id, compute_cost(tariff, body.energy_wh, timedelta(seconds=body.duration_s))
    )


async def _transaction(api: TariffsApi, transaction_id: str, station_id: str | None) -> Transaction:
    tx = None
    if api.ledger is not None:
        entry = await find_entry(api.ledger, transaction_id)
        if entry is not None and station_id in (None, entry.transaction.station_id):
            tx = entry.transaction
    if tx is None and station_id is not None:
        tx = await api.charging.get_v2(station_id, transaction_id)
    if tx is None and transaction_id.isdigit() and len(transaction_id) < 19:
        found = await api.charging.get(int(transaction_id))
        if found is not None and station_id in (None, found.station_id):
            tx = found
    if tx is None:
        hint = "" if station_id is not None else " (a 2.x transaction needs ?station_id=)"
        raise _problem(UNKNOWN_TRANSACTION, f"no transaction {transaction_id!r}{hint}")
    return tx


async def transaction_cost(
    request: Request,
    transaction_id: Annotated[str, Path(min_length=1, max_length=64)],
    station_id: Annotated[str | None, Query(min_length=1, max_length=255)] = None,
) -> TransactionCostOut:
    """The transaction's cost: kept with it (2.x; final once it ended), else computed now with
    the tariff that applies (1.6; 404 ``no-tariff`` when none does)."""
    api = _api(request)
    tx = await _transaction(api, transaction_id, station_id)
    kept = await api.pricer.tariffs.get_cost(tx.station_id, tx.transaction_id)
    source = "stored"
    if kept is None or not kept.final:
        priced: Priced | None = await api.pricer.price(
            tx, datetime.now(UTC), told=False, store=False
        )
        if priced is None:
            raise _problem(NOT_PRICED, f"no tariff applies to transaction {transaction_id!r}")
        kept, source = priced.cost, "computed"
    base = CostOut.of(kept.tariff.tariff_id, kept.cost)
    return TransactionCostOut(
        **base.model_dump(),
        station_id=tx.station_id,
        transaction_id=tx.transaction_id,
        final=kept.final,
        source=source,
        updated_at=kept.updated_at,
    )


def tariffs_router() -> APIRouter:
    """Build the tariff routes (a new router per app: routers are mutable)."""
    router = APIRouter(tags=["tariffs"])
    unknown: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown tariff"}
    }
    invalid: dict[int | str, dict[str, Any]] = {
        422: {"model": Problem, "description": "Invalid tariff"}
    }
    router.add_api_route(
        "/tariffs", list_tariffs, methods=["GET"], operation_id="listTariffs",
        responses={400: {"model": Problem, "description": "Invalid cursor"}},
    )  # fmt: skip
    router.add_api_route(
        "/tariffs", create_tariff, methods=["POST"], status_code=201,
        operation_id="createTariff",
        responses={409: {"model": Problem, "description": "Tariff exists"}, **invalid},
    )  # fmt: skip
    router.add_api_route(
        "/tariffs/{tariff_id}", get_tariff, methods=["GET"], operation_id="getTariff",
        responses=unknown,
    )  # fmt: skip
    router.add_api_route(
        "/tariffs/{tariff_id}", patch_tariff, methods=["PATCH"], operation_id="patchTariff",
        responses={**unknown, **invalid},
    )  # fmt: skip
    router.add_api_route(
        "/tariffs/{tariff_id}", delete_tariff, methods=["DELETE"], status_code=204,
        operation_id="deleteTariff", responses=unknown, response_class=Response,
    )  # fmt: skip
    router.add_api_route(
        "/tariffs/{tariff_id}/assignments", put_assignments, methods=["PUT"],
        operation_id="putTariffAssignments", responses={**unknown, **invalid},
    )  # fmt: skip
    router.add_api_route(
        "/tariffs/{tariff_id}/preview", preview_cost, methods=["POST"],
        operation_id="previewTariffCost", responses=unknown,
    )  # fmt: skip
    router.add_api_route(
        "/transactions/{transaction_id}/cost", transaction_cost, methods=["GET"],
        operation_id="getTransactionCost", tags=["tariffs"],
        responses={404: {"model": Problem, "description": "Unknown transaction or no tariff"}},
    )  # fmt: skip
    return router
