"""CostUpdated during the session (2.0.1 I02 "Show EV Driver Running Total Cost During Charging").

Every ``interval`` seconds, the running priced transactions (costs not yet final) of connected
2.x stations are repriced at the CSMS's clock (a time-based price grows without any event) and,
when the total differs from the one the station was last told (in a TransactionEventResponse's
updatedPersonalMessage or a CostUpdated), sent in a CostUpdatedRequest. At most ``concurrency``
CALLs are outstanding at once and at most ``batch`` transactions are looked at per round;
stations that are offline or on 1.6 are skipped (OCPP has no queue for offline stations).
A failed CALL is logged (rate-limited) and retried at the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from csms.blocks.outbound import send
from csms.blocks.tariff.commands import CostUpdated
from csms.blocks.tariff.pricing import TariffPricer
from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.errors import DomainError
from csms.domain.ports import StationGateway
from csms.domain.tariffs import TransactionCost
from csms.log import KindLog, LogLimiter

__all__ = ["CostUpdateSender"]

logger = logging.getLogger("csms.tariff")
_V2 = ("2.0.1", "2.1")


class CostUpdateSender:
    """Sends CostUpdated for running priced transactions, a bounded number at a time."""

    def __init__(
        self,
        pricer: TariffPricer,
        charging: ChargingTransactionRepository,
        gateway: StationGateway,
        *,
        interval: float,
        clock: Callable[[], datetime],
        concurrency: int = 8,
        batch: int = 1000,
        call_timeout: float | None = None,
        log_limiter: LogLimiter | None = None,
    ) -> None:
        if interval <= 0 or concurrency < 1 or batch < 1:
            raise ValueError("interval, concurrency and batch must be positive")
        self._pricer = pricer
        self._charging = charging
        self._gateway = gateway
        self._interval = interval
        self._clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._batch = batch
        self._timeout = call_timeout
        self._log = KindLog(logger, scope="tariff", limiter=log_limiter)

    async def run(self) -> None:
        """Send rounds until cancelled; a round that fails is logged and the next one runs."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.send_round()
            except DomainError as exc:  # storage unavailable: try again next round
                self._log.warning("CostUpdated round failed: %s", exc)
            except Exception as exc:  # a bug must not end the rounds for good
                self._log.log(logging.ERROR, "round", "CostUpdated round failed", exc=exc)

    async def send_round(self) -> int:
        """One round; returns how many CostUpdated the stations accepted."""
        costs = await self._pricer.tariffs.open_costs(limit=self._batch)
        due = [c for c in costs if self._gateway.ocpp_version(c.station_id) in _V2]
        results = await asyncio.gather(*(self._update(c) for c in due))
        return sum(results)

    async def _update(self, kept: TransactionCost) -> bool:
        async with self._slots:
            if not self._gateway.is_connected(kept.station_id):
                return False
            tx = await self._charging.get_v2(kept.station_id, kept.transaction_id)
            if tx is None:
                return False
            priced = await self._pricer.price(tx, self._clock(), told=False, store=False)
            if priced is None or not priced.changed or priced.cost.final:
                return False  # unchanged, or Ended came (its response carried totalCost)
            command = CostUpdated(kept.transaction_id, priced.total)
            try:
                await send(self._gateway, kept.station_id, command, timeout=self._timeout)
            except DomainError as exc:
                self._log.warning(
                    "CostUpdated to %s for %s not delivered: %s",
                    kept.station_id,
                    kept.transaction_id,
                    exc,
                )
                return False
            await self._pricer.mark_sent(priced.cost)
            return True
