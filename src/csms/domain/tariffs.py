"""Tariffs and the cost of a transaction (2.0.1 block I, Tariff and cost; 1.6 through the API).

A tariff prices a transaction by its energy (per kWh), its duration (per hour) and a fixed fee per
session. Prices are **excluding tax**; ``tax_rate`` (percent) is added on top, because 2.0.1
``totalCost`` (TransactionEventResponse, CostUpdatedRequest) is "the total cost ... including
taxes". ``min_cost`` / ``max_cost`` bound that total (what the driver pays, taxes included).

Rounding (one rule, documented in docs/behaviour.md "Tariffs and cost"): every part is computed
exactly with :class:`~decimal.Decimal` (energy in Wh / 1000, duration in seconds / 3600), the tax
is applied to the exact sum, min/max are applied, and only the total is rounded, once, half up to
the currency's minor unit (:data:`MINOR_UNITS`, default 2 decimals). The parts shown beside it are
rounded the same way for display and may not add up to the total by a cent.

Which tariff applies: the assignments of :class:`TariffScope`, most specific first: the driver's
token, the token's group (2.x groupIdToken / 1.6 parentIdTag), the EVSE, the station, the default.
The tariff found when the transaction is first priced is kept with it (a snapshot), so editing or
reassigning tariffs never reprices a running session.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from csms.domain.errors import DomainError

__all__ = [
    "MESSAGE_MAX",
    "MINOR_UNITS",
    "Assignment",
    "CostBreakdown",
    "Tariff",
    "TariffInvalid",
    "TariffRepository",
    "TariffScope",
    "TransactionCost",
    "UnknownTariff",
    "candidate_keys",
    "compute_cost",
    "cost_text",
    "pick",
]

# 2.0.1 MessageContentType.content: string[0..512] (2.1: 1024; the shorter one serves both).
MESSAGE_MAX = 512
TARIFF_ID_MAX = 64
# Minor units of the currencies whose exponent is not 2 (ISO 4217); the rest use 2.
MINOR_UNITS: Mapping[str, int] = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
    "LYD": 3, "OMR": 3, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip
_WH_PER_KWH = Decimal(1000)
_SECONDS_PER_HOUR = Decimal(3600)
_HUNDRED = Decimal(100)
_MAX_PRICE = Decimal(10) ** 9  # a price beyond this is a typo, not a tariff


class TariffInvalid(DomainError):
    """A tariff or an assignment the operator gave is not usable (the reason is the message)."""


class UnknownTariff(DomainError):
    """No tariff with this id exists."""


class TariffScope(enum.StrEnum):
    """What an assignment applies to, most specific first (the precedence order)."""

    TOKEN = "token"  # an idToken, or a group token: applies to every token of the group
    EVSE = "evse"
    STATION = "station"
    DEFAULT = "default"


def _price(name: str, value: Decimal | None, *, optional: bool = False) -> None:
    if value is None:
        if not optional:
            raise TariffInvalid(f"{name} is required")
        return
    if not value.is_finite() or value < 0 or value > _MAX_PRICE:
        raise TariffInvalid(f"{name} must be a number from 0 to {_MAX_PRICE}")


@dataclass(frozen=True, slots=True)
class Tariff:
    """A price list; amounts in ``currency``, excluding tax (see the module docstring)."""

    tariff_id: str
    currency: str  # ISO 4217, e.g. EUR; the station shows totalCost in its own Currency variable
    price_per_kwh: Decimal = Decimal(0)
    price_per_hour: Decimal = Decimal(0)  # over the session's duration, start to end (or now)
    session_fee: Decimal = Decimal(0)  # once per transaction
    tax_rate: Decimal = Decimal(0)  # percent, added to the sum of the parts
    min_cost: Decimal | None = None  # bounds of the total, taxes included
    max_cost: Decimal | None = None
    # The text shown to the driver, per language (RFC 5646 tag → text); the first one is the
    # default when the driver's language has none.
    descriptions: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 0 < len(self.tariff_id) <= TARIFF_ID_MAX or not self.tariff_id.isprintable():
            raise TariffInvalid(f"tariff_id must be 1 to {TARIFF_ID_MAX} printable characters")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise TariffInvalid("currency must be an ISO 4217 code such as EUR")
        for name in ("price_per_kwh", "price_per_hour", "session_fee"):
            _price(name, getattr(self, name))
        _price("min_cost", self.min_cost, optional=True)
        _price("max_cost", self.max_cost, optional=True)
        if not self.tax_rate.is_finite() or not 0 <= self.tax_rate <= _HUNDRED:
            raise TariffInvalid("tax_rate must be a percentage from 0 to 100")
        low, high = self.min_cost, self.max_cost
        if low is not None and high is not None and low > high:
            raise TariffInvalid("min_cost must not exceed max_cost")
        for language, text in self.descriptions.items():
            if not 0 < len(language) <= 8:
                raise TariffInvalid("a description's language is 1 to 8 characters (RFC 5646)")
            if not 0 < len(text) <= MESSAGE_MAX:
                raise TariffInvalid(f"a description is 1 to {MESSAGE_MAX} characters")

    def description(self, language: str | None) -> tuple[str, str] | None:
        """(language, text) for the driver: their language, else its primary subtag, else the
        first description; None without descriptions."""
        if not self.descriptions:
            return None
        if language:
            wanted = language.lower()
            for lang, text in self.descriptions.items():
                if lang.lower() == wanted:
                    return lang, text
            primary = wanted.partition("-")[0]
            for lang, text in self.descriptions.items():
                if lang.lower().partition("-")[0] == primary:
                    return lang, text
        return next(iter(self.descriptions.items()))

    def to_json(self) -> dict[str, Any]:
        """The snapshot kept with a priced transaction (decimals as strings: exact)."""
        return {
            "tariff_id": self.tariff_id,
            "currency": self.currency,
            "price_per_kwh": str(self.price_per_kwh),
            "price_per_hour": str(self.price_per_hour),
            "session_fee": str(self.session_fee),
            "tax_rate": str(self.tax_rate),
            "min_cost": None if self.min_cost is None else str(self.min_cost),
            "max_cost": None if self.max_cost is None else str(self.max_cost),
            "descriptions": dict(self.descriptions),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tariff:
        def dec(name: str) -> Decimal | None:
            raw = data.get(name)
            return None if raw is None else Decimal(str(raw))

        try:
            return cls(
                tariff_id=str(data["tariff_id"]),
                currency=str(data["currency"]),
                price_per_kwh=dec("price_per_kwh") or Decimal(0),
                price_per_hour=dec("price_per_hour") or Decimal(0),
                session_fee=dec("session_fee") or Decimal(0),
                tax_rate=dec("tax_rate") or Decimal(0),
                min_cost=dec("min_cost"),
                max_cost=dec("max_cost"),
                descriptions=dict(data.get("descriptions") or {}),
            )
        except (KeyError, InvalidOperation, TypeError) as exc:
            raise TariffInvalid(f"not a tariff: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Assignment:
    """``tariff_id`` applies to ``scope``: a token (``id_token``), an EVSE (``station_id`` and
    ``evse_id``), a station (``station_id``) or everything (default)."""

    tariff_id: str
    scope: TariffScope
    station_id: str | None = None
    evse_id: int | None = None
    id_token: str | None = None

    def __post_init__(self) -> None:
        needs = {
            TariffScope.TOKEN: (self.id_token is not None, self.station_id, self.evse_id),
            TariffScope.EVSE: (self.station_id is not None and self.evse_id is not None,
                               self.id_token, None),
            TariffScope.STATION: (self.station_id is not None, self.id_token, self.evse_id),
            TariffScope.DEFAULT: (True, self.id_token or self.station_id, self.evse_id),
        }  # fmt: skip
        present, extra, extra2 = needs[self.scope]
        if not present or extra is not None or extra2 is not None:
            raise TariffInvalid(
                f"a {self.scope.value} assignment names "
                + {
                    TariffScope.TOKEN: "id_token only",
                    TariffScope.EVSE: "station_id and evse_id only",
                    TariffScope.STATION: "station_id only",
                    TariffScope.DEFAULT: "nothing else",
                }[self.scope]
            )
        if self.evse_id is not None and self.evse_id < 1:
            raise TariffInvalid("evse_id starts at 1")
        if self.id_token is not None and not self.id_token:
            raise TariffInvalid("id_token must not be empty")

    @property
    def key(self) -> str:
        """The scope as one unique string (one tariff per scope); tokens case-insensitive like
        the token store."""
        match self.scope:
            case TariffScope.TOKEN:
                return f"token:{(self.id_token or '').casefold()}"
            case TariffScope.EVSE:
                return f"evse:{self.evse_id}:{self.station_id}"
            case TariffScope.STATION:
                return f"station:{self.station_id}"
        return "default"


def candidate_keys(
    station_id: str, evse_id: int | None, id_token: str | None, group_id_token: str | None
) -> list[str]:
    """The assignment keys that could price a transaction, in precedence order."""
    keys = []
    if id_token:
        keys.append(f"token:{id_token.casefold()}")
    if group_id_token:
        keys.append(f"token:{group_id_token.casefold()}")
    if evse_id is not None and evse_id > 0:
        keys.append(f"evse:{evse_id}:{station_id}")
    keys += [f"station:{station_id}", "default"]
    return keys


def pick(assigned: Mapping[str, str], keys: Sequence[str]) -> str | None:
    """The tariff id of the first of ``keys`` that has an assignment."""
    for key in keys:
        found = assigned.get(key)
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class CostBreakdown:
    """The cost of a transaction so far; ``total`` is what totalCost carries."""

    currency: str
    energy_wh: int
    duration_s: int
    energy: Decimal
    time: Decimal
    session_fee: Decimal
    tax: Decimal
    total: Decimal


def _round(value: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))
    return value.quantize(exponent, rounding=ROUND_HALF_UP)


def compute_cost(tariff: Tariff, energy_wh: int, duration: timedelta) -> CostBreakdown:
    """The cost of ``energy_wh`` over ``duration`` under ``tariff`` (negative inputs count as 0:
    a meter that ran backwards or a clock that did never earn the driver money)."""
    wh = max(0, energy_wh)
    seconds = max(0, int(duration.total_seconds()))
    energy = tariff.price_per_kwh * Decimal(wh) / _WH_PER_KWH
    time = tariff.price_per_hour * Decimal(seconds) / _SECONDS_PER_HOUR
    net = energy + time + tariff.session_fee
    tax = net * tariff.tax_rate / _HUNDRED
    total = net + tax
    if tariff.min_cost is not None:
        total = max(total, tariff.min_cost)
    if tariff.max_cost is not None:
        total = min(total, tariff.max_cost)
    currency = tariff.currency
    return CostBreakdown(
        currency=currency,
        energy_wh=wh,
        duration_s=seconds,
        energy=_round(energy, currency),
        time=_round(time, currency),
        session_fee=_round(tariff.session_fee, currency),
        tax=_round(tax, currency),
        total=_round(total, currency),
    )


def cost_text(cost: CostBreakdown, *, final: bool) -> str:
    """The running (or final) cost as a short text for the driver (updatedPersonalMessage)."""
    kwh = (Decimal(cost.energy_wh) / _WH_PER_KWH).quantize(Decimal("0.001"))
    word = "Total" if final else "Cost so far"
    return f"{word}: {cost.total} {cost.currency} ({kwh} kWh)"


@dataclass(frozen=True, slots=True)
class TransactionCost:
    """The cost csms last computed for a transaction, kept with it (final once it ended)."""

    station_id: str
    transaction_id: str
    tariff: Tariff  # the snapshot the transaction is priced with
    cost: CostBreakdown
    final: bool
    updated_at: datetime
    # The total last told to the station (TransactionEventResponse or CostUpdated), so
    # CostUpdated is sent only when it changed.
    sent_total: Decimal | None = None


class TariffRepository(Protocol):
    """Tariffs, their assignments and the costs of priced transactions."""

    async def list(self, *, after: str | None = None, limit: int = 50) -> Sequence[Tariff]:
        """Tariffs ordered by id, those after ``after`` (a cursor) only."""
        ...

    async def count(self) -> int:
        """How many tariffs exist."""
        ...

    async def get(self, tariff_id: str) -> Tariff | None:
        """One tariff, or None."""
        ...

    async def create(self, tariff: Tariff, now: datetime) -> Tariff:
        """Store a new tariff. Raises :class:`TariffInvalid` when the id is taken."""
        ...

    async def replace(self, tariff: Tariff, now: datetime) -> Tariff:
        """Replace a tariff's fields. Raises :class:`UnknownTariff`."""
        ...

    async def delete(self, tariff_id: str) -> None:
        """Delete a tariff and its assignments. Raises :class:`UnknownTariff`."""
        ...

    async def assignments(self, tariff_id: str | None = None) -> Sequence[Assignment]:
        """Every assignment, or those of one tariff."""
        ...

    async def set_assignments(
        self, tariff_id: str, assignments: Sequence[Assignment], now: datetime
    ) -> None:
        """Make ``assignments`` the tariff's only ones; a scope assigned to another tariff moves
        to this one. Raises :class:`UnknownTariff`."""
        ...

    async def assignment_map(self) -> Mapping[str, str]:
        """Every assignment as scope key → tariff id (what :func:`pick` reads)."""
        ...

    async def get_cost(self, station_id: str, transaction_id: str) -> TransactionCost | None:
        """The cost kept with a transaction, or None (not priced)."""
        ...

    async def put_cost(self, cost: TransactionCost) -> None:
        """Keep the cost of a transaction (insert or replace)."""
        ...

    async def open_costs(self, *, limit: int = 1000) -> Sequence[TransactionCost]:
        """Costs of transactions not yet ended (final is False), least recently updated first."""
        ...
