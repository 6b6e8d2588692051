"""Which tariff prices a transaction, and its cost so far (2.0.1 I01-I03, I05).

The assignments are read into memory and kept for ``cache_ttl`` seconds (and dropped at once by
:meth:`TariffPricer.invalidate` after an operator's change in this process): with no tariff
configured, a TransactionEvent costs no extra query. A transaction is priced with the tariff found
the first time it is priced (kept as a snapshot with its cost), so changing tariffs never
reprices a running session.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from csms.domain.charging_ports import ChargingTransactionRepository, IdTokenRepository
from csms.domain.tariffs import (
    MESSAGE_MAX,
    Tariff,
    TariffRepository,
    TransactionCost,
    candidate_keys,
    compute_cost,
    cost_text,
    pick,
)
from csms.domain.transactions import Transaction

__all__ = ["Priced", "TariffPricer", "message_content"]

Payload = dict[str, Any]


def message_content(text: str, language: str | None = None) -> Payload:
    """2.x MessageContentType: UTF8 text (cut to the 2.0.1 limit) and its language."""
    out: Payload = {"format": "UTF8", "content": text[:MESSAGE_MAX]}
    if language:
        out["language"] = language
    return out


@dataclass(frozen=True, slots=True)
class Priced:
    """A transaction's cost now; ``changed``: its total differs from the one last told."""

    cost: TransactionCost
    changed: bool

    @property
    def total(self) -> float:
        """totalCost as the schema's JSON number."""
        return float(self.cost.cost.total)


class TariffPricer:
    """Finds tariffs for stations, EVSEs and tokens, and prices transactions."""

    def __init__(
        self,
        tariffs: TariffRepository,
        *,
        charging: ChargingTransactionRepository | None = None,
        tokens: IdTokenRepository | None = None,
        clock: Callable[[], datetime],
        cache_ttl: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tariffs = tariffs
        self._charging = charging
        self._tokens = tokens
        self._clock = clock
        self._ttl = cache_ttl
        self._monotonic = monotonic
        self._map: Mapping[str, str] | None = None
        self._by_id: dict[str, Tariff] = {}
        # Station ids with a station or EVSE assignment; "*": a token or default one exists.
        self._scoped: frozenset[str] | None = None
        # Whether a running transaction is priced (read with the assignments): if not, and no
        # assignment could apply, a TransactionEvent costs no query at all.
        self._open_priced = False
        self._read_at = 0.0
        # The one read in flight (every caller awaits it) and the generation it reads for: an
        # invalidate() while it runs makes its result stale, so it is not kept.
        self._refresh: asyncio.Future[Mapping[str, str]] | None = None
        self._generation = 0

    def invalidate(self) -> None:
        """Forget the cached assignments and tariffs (after an operator changed them)."""
        self._map = None
        self._by_id = {}
        self._scoped = None
        self._refresh = None
        self._generation += 1

    async def _assignments(self) -> Mapping[str, str]:
        """The assignments, read again once the cache is ``cache_ttl`` old.

        One read at a time: every TransactionEvent that finds the cache stale awaits the same
        read. Each reading for itself made a herd of 2 queries per event in flight every
        ``cache_ttl`` (15 % of the event loop in the TransactionEvent benchmark under load).
        """
        if self._map is not None and self._monotonic() - self._read_at < self._ttl:
            return self._map
        refresh = self._refresh
        if refresh is None:
            refresh = self._refresh = asyncio.ensure_future(self._read(self._generation))
            refresh.add_done_callback(self._refreshed)
        return await asyncio.shield(refresh)  # a cancelled caller leaves the read to the others

    async def _read(self, generation: int) -> Mapping[str, str]:
        started = self._monotonic()
        assigned = await self.tariffs.assignment_map()
        open_priced = bool(await self.tariffs.open_costs(limit=1))
        if generation == self._generation:
            self._map, self._open_priced = assigned, open_priced
            self._by_id = {}
            self._scoped = None
            self._read_at = started
        return assigned

    def _refreshed(self, refresh: asyncio.Future[Mapping[str, str]]) -> None:
        if self._refresh is refresh:
            self._refresh = None
        if not refresh.cancelled():
            refresh.exception()  # retrieved here: the awaiting callers got it already

    async def _may_apply(self, station_id: str) -> bool:
        """Whether any assignment could price a transaction of the station (token assignments
        could price any)."""
        assigned = await self._assignments()
        scoped_now = self._scoped if assigned is self._map else None
        if scoped_now is None:
            scoped: set[str] = set()
            for key in assigned:
                kind, _, rest = key.partition(":")
                if kind in ("token", "default"):
                    scoped.add("*")
                elif kind == "station":
                    scoped.add(rest)
                elif kind == "evse":
                    scoped.add(rest.partition(":")[2])
            scoped_now = frozenset(scoped)
            if assigned is self._map:  # not a read an invalidate() overtook
                self._scoped = scoped_now
        return "*" in scoped_now or station_id in scoped_now

    async def _tariff(self, tariff_id: str) -> Tariff | None:
        found = self._by_id.get(tariff_id)
        if found is None:
            found = await self.tariffs.get(tariff_id)
            if found is not None:
                self._by_id[tariff_id] = found
        return found

    async def tariff_for(
        self,
        station_id: str,
        evse_id: int | None,
        id_token: str | None,
        group_id_token: str | None = None,
        *,
        look_up_group: bool = True,
    ) -> Tariff | None:
        """The tariff by precedence: token, its group, EVSE, station, default; None if none.
        The group is read from the token store when not given (only if tokens have tariffs)."""
        assigned = await self._assignments()
        if not assigned:
            return None
        if (
            group_id_token is None
            and id_token
            and look_up_group
            and self._tokens is not None
            and any(key.startswith("token:") for key in assigned)
        ):
            token = await self._tokens.get(id_token)
            group_id_token = token.parent_id_token if token is not None else None
        tariff_id = pick(assigned, candidate_keys(station_id, evse_id, id_token, group_id_token))
        return None if tariff_id is None else await self._tariff(tariff_id)

    async def personal_message(
        self,
        station_id: str,
        evse_id: int | None,
        id_token: str,
        group_id_token: str | None,
        language: str | None,
    ) -> Payload | None:
        """I01: idTokenInfo.personalMessage, the tariff's text in the driver's language (the
        caller has the token's group from the token store already)."""
        tariff = await self.tariff_for(
            station_id, evse_id, id_token, group_id_token, look_up_group=False
        )
        if tariff is None:
            return None
        found = tariff.description(language)
        return None if found is None else message_content(found[1], found[0])

    async def price(
        self,
        tx: Transaction,
        at: datetime,
        *,
        group_id_token: str | None = None,
        told: bool = True,
        store: bool = True,
    ) -> Priced | None:
        """The cost of ``tx`` at ``at`` (its end once it ended), kept with it when ``store``;
        ``told``: the total is now being sent to the station. None: no tariff applies."""
        transaction_id = tx.transaction_id
        kept = await self.tariffs.get_cost(tx.station_id, transaction_id)
        if kept is not None and kept.final:
            return Priced(kept, changed=False)
        if kept is not None:
            tariff = kept.tariff
        else:
            found = await self.tariff_for(tx.station_id, tx.evse_id, tx.id_token, group_id_token)
            if found is None:
                return None
            tariff = found
        start = tx.started_at or at
        end = tx.ended_at or at
        duration = end - start
        if kept is not None:  # never less than already counted (station and CSMS clocks differ)
            duration = max(duration, timedelta(seconds=kept.cost.duration_s))
        cost = compute_cost(tariff, tx.energy_wh or 0, duration)
        previous = kept.sent_total if kept is not None else None
        changed = previous != cost.total
        sent: Decimal | None = cost.total if told else previous
        priced = TransactionCost(
            station_id=tx.station_id,
            transaction_id=transaction_id,
            tariff=tariff,
            cost=cost,
            final=not tx.open,
            updated_at=self._clock(),
            sent_total=sent,
        )
        if store:
            await self.tariffs.put_cost(priced)
            self._open_priced = self._open_priced or not priced.final
        return Priced(priced, changed=changed)

    async def mark_sent(self, priced: TransactionCost) -> None:
        """Remember that the station was told ``priced``'s total (CostUpdated answered)."""
        await self.tariffs.put_cost(replace(priced, sent_total=priced.cost.total))

    async def price_v2(
        self,
        station_id: str,
        transaction_id: str,
        at: datetime,
        *,
        group_id_token: str | None = None,
    ) -> Priced | None:
        """:meth:`price` of a stored 2.x transaction (after its event was committed)."""
        if self._charging is None:
            return None
        if not await self._may_apply(station_id) and (
            not self._open_priced or await self.tariffs.get_cost(station_id, transaction_id) is None
        ):
            return None  # no tariff could price it and none did
        tx = await self._charging.get_v2(station_id, transaction_id)
        if tx is None:
            return None
        return await self.price(tx, at, group_id_token=group_id_token)


def running_text(priced: Priced) -> Payload:
    """updatedPersonalMessage: the running (or final) total for the driver."""
    return message_content(cost_text(priced.cost.cost, final=priced.cost.final))
