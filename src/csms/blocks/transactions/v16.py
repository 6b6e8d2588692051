"""1.6 transactions: StartTransaction (§4.8), StopTransaction (§4.10); MeterValues (§4.7) is in
:mod:`.handlers`, with the repository of this block for de-duplication.

Every message is answered with its .conf, whatever it contains: the spec says sanity checks
"SHOULD NOT ever cause the Central System to not respond", and a CALLERROR makes the station
retry and finally discard the message (§3.7.1; ocpp-rules.md §3.1). Only a storage failure is
answered with InternalError (raised as StorageError by the repository), because then nothing was
stored and the retry is wanted.

* StartTransaction: a transactionId from a persistent sequence unique across stations; a retry
  with a new message id and the same content gets the same id; the idTag is verified again
  (§4.8: it may have been authorized offline from a stale cache), and the transaction is started
  whatever its status (an offline start is a fact, §3.5.4); the reservation it names is consumed.
* StopTransaction: closes the station's transaction once; a retry is acknowledged and changes
  nothing; -1, unknown ids and other stations' ids are acknowledged (with idTagInfo when an idTag
  is given, errata 3.18) and kept for reconciliation, never applied to any session.
* MeterValues: every sampled value kept with all its attributes (signed data verbatim), linked
  by transactionId, stored once per content.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.authorization.payloads import id_tag_info
from csms.blocks.context import CallContext
from csms.blocks.routing import handles
from csms.blocks.timefmt import station_time
from csms.blocks.transactions.sampled import samples_v16
from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.smartcharging import ChargingProfileRepository
from csms.domain.transactions import (
    DEFAULT_STOP_REASON,
    StopOutcome,
    TransactionStart,
    TransactionStop,
)
from csms.rpc import OcppVersion

Payload = dict[str, Any]


class TransactionsV16Block:
    """Handlers of the 1.6 transaction messages (block E/J for 1.6)."""

    def __init__(
        self,
        charging: ChargingTransactionRepository,
        *,
        clock: Callable[[], datetime],
        profiles: ChargingProfileRepository | None = None,
    ) -> None:
        self._charging = charging
        self._clock = clock
        # TxProfiles end with their transaction (1.6 §3.13.1): uninstalled when it stops.
        self._profiles = profiles

    @handles(OcppVersion.V16, "StartTransaction")
    async def start_transaction(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.45 StartTransaction.req → transactionId and idTagInfo."""
        now = self._clock()
        connector = int(payload["connectorId"])
        start = TransactionStart(
            station_id=ctx.station_id,
            evse_id=connector,
            connector_id=1 if connector > 0 else 0,
            id_token=payload["idTag"],
            meter_start_wh=int(payload["meterStart"]),
            timestamp=_timestamp(payload, now),
            reservation_id=payload.get("reservationId"),
        )
        result = await self._charging.start(start, now)
        if result.duplicate:
            ctx.log.info("StartTransaction retried: transaction %d again", result.transaction_id)
        if result.flags:
            ctx.limited(
                logging.WARNING,
                "transaction flagged",
                "transaction %d flagged: %s",
                result.transaction_id,
                sorted(result.flags),
            )
        return {
            "transactionId": result.transaction_id,
            "idTagInfo": id_tag_info(result.id_token_info),
        }

    @handles(OcppVersion.V16, "StopTransaction")
    async def stop_transaction(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.49 StopTransaction.req → idTagInfo when an idTag was given."""
        now = self._clock()
        stop = TransactionStop(
            station_id=ctx.station_id,
            transaction_id=int(payload["transactionId"]),
            meter_stop_wh=int(payload["meterStop"]),
            timestamp=_timestamp(payload, now),
            reason=payload.get("reason") or DEFAULT_STOP_REASON,
            id_token=payload.get("idTag"),
            samples=samples_v16(payload.get("transactionData", ()), now),
            raw=payload,
        )
        result = await self._charging.stop(stop, now)
        if result.outcome is not StopOutcome.CLOSED:
            ctx.limited(
                logging.WARNING,
                "StopTransaction not closing",
                "StopTransaction for transaction %d: %s",
                stop.transaction_id,
                result.outcome.value,
            )
        if self._profiles is not None and result.evse_id is not None:
            # Also for a retry: if this failed the first time, the retry finishes it.
            await self._profiles.end_transaction(ctx.station_id, result.evse_id, now)
        if result.id_token_info is None:
            return {}
        return {"idTagInfo": id_tag_info(result.id_token_info)}


def _timestamp(payload: Payload, now: datetime) -> datetime:
    """The message's timestamp; a lenient station's unreadable one is replaced by ``now``
    rather than refusing a transaction message."""
    return station_time(payload.get("timestamp"), now)
