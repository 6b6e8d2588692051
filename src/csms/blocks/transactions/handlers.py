"""MeterValues (all versions) and TransactionEvent (2.x).

Transaction messages are never answered with a CALLERROR for a business reason: a station retries
and then discards them (1.6 §3.7.1; 2.0.1 E13), so data would be lost (ocpp-rules.md §3). Duplicate
TransactionEvents (same transactionId and seqNo, whatever the message id) are acknowledged and
stored once (ocpp-rules.md §6 test 57).

A TransactionEvent with an idToken is answered with idTokenInfo (2.0.1 E01.FR.11, C12.FR.03,
E05), from the same token store as 1.6 and in the same group commit as the event: Invalid for an
unknown token, the stored Blocked/Invalid, Expired past its expiry date, ConcurrentTx for a
Started whose token is in another open transaction, else Accepted; groupIdToken and
cacheExpiryDateTime go with every known token. The transaction is stored whatever the status (a
station that started offline reports a fact); a station that gets a status other than Accepted
deauthorizes the transaction itself (E05.FR.02/03, TxStopPoint Authorized / StopTxOnInvalidId).

With tariffs (block I, :mod:`csms.blocks.tariff.pricing`), a priced transaction's response carries
``updatedPersonalMessage`` with the running cost, the final ``totalCost`` on Ended only (the
schema: "SHALL only be sent when charging has ended"; I03), and an accepted idToken's
``idTokenInfo.personalMessage`` with the tariff's text in the driver's language (I01).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from csms.blocks.authorization.payloads import id_token_info
from csms.blocks.context import CallContext
from csms.blocks.routing import handles
from csms.blocks.tariff.pricing import TariffPricer, message_content, running_text
from csms.blocks.transactions.abandoned import release_connector
from csms.blocks.transactions.sampled import sample_time, samples_v2, samples_v16
from csms.domain.charging_ports import ChargingTransactionRepository, ReservationRepository
from csms.domain.model import MeterValuesReport, TransactionEventReport
from csms.domain.ports import TransactionRepository
from csms.domain.tokens import AuthorizationStatus, IdTokenInfo
from csms.rpc import OcppVersion

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)


class TransactionsBlock:
    """Handlers of the transactions and meter-values blocks."""

    def __init__(
        self,
        transactions: TransactionRepository,
        *,
        charging: ChargingTransactionRepository | None = None,
        reservations: ReservationRepository | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        concurrent_transactions: bool = False,
        pricer: TariffPricer | None = None,
    ) -> None:
        self._transactions = transactions
        # False: a Started whose token is in another open transaction is ConcurrentTx.
        self._refuse_concurrent = not concurrent_transactions
        # With it, 1.6 MeterValues are stored once per content and advance their transaction's
        # register mark (see blocks/transactions/v16.py); without it, simply stored.
        self._charging = charging
        # A 2.x TransactionEvent naming a reservation uses it up (2.0.1 H01, E reservationId).
        self._reservations = reservations
        self._clock = clock
        # Block I: prices transactions with their tariff (None: no tariff support wired).
        self._pricer = pricer

    @handles(OcppVersion.V16, "MeterValues")
    async def meter_values_v16(self, ctx: CallContext, payload: Payload) -> Payload:
        """1.6 §6.30 MeterValues.req; ``transactionId`` links the samples to a transaction."""
        tx = payload.get("transactionId")
        now = self._clock()
        report = MeterValuesReport(
            station_id=ctx.station_id,
            evse_id=int(payload["connectorId"]),
            transaction_id=None if tx is None else str(tx),
            samples=samples_v16(payload["meterValue"], now),
        )
        if self._charging is None:
            await self._transactions.record_meter_values(report)
        elif not await self._charging.record_meter_values(report, payload, now):
            ctx.log.info("duplicate MeterValues acknowledged again, stored once")
        return {}

    @handles(V2, "MeterValues")
    async def meter_values_v2(self, ctx: CallContext, payload: Payload) -> Payload:
        """2.x MeterValuesRequest: values outside a transaction (2.0.1 J01)."""
        report = MeterValuesReport(
            station_id=ctx.station_id,
            evse_id=int(payload["evseId"]),
            transaction_id=None,
            samples=samples_v2(payload["meterValue"], self._clock()),
        )
        await self._transactions.record_meter_values(report)
        return {}

    @handles(V2, "TransactionEvent")
    async def transaction_event(self, ctx: CallContext, payload: Payload) -> Payload:
        """2.x TransactionEventRequest, stored once per (transactionId, seqNo)."""
        info = payload["transactionInfo"]
        evse = payload.get("evse") or {}
        token = payload.get("idToken")
        now = self._clock()
        report = TransactionEventReport(
            station_id=ctx.station_id,
            transaction_id=info["transactionId"],
            event_type=payload["eventType"],
            seq_no=int(payload["seqNo"]),
            timestamp=sample_time(payload["timestamp"], now),
            trigger_reason=payload["triggerReason"],
            evse_id=evse.get("id"),
            connector_id=evse.get("connectorId"),
            charging_state=info.get("chargingState"),
            stopped_reason=info.get("stoppedReason"),
            id_token=token.get("idToken") if token else None,
            id_token_type=token.get("type") if token else None,
            offline=bool(payload.get("offline", False)),
            samples=samples_v2(payload.get("meterValue", ()), now),
            raw=payload,
        )
        outcome = await self._transactions.apply_transaction_event(
            report, refuse_concurrent=self._refuse_concurrent
        )
        fresh = outcome.fresh
        if fresh and report.event_type == "Started" and self._charging is not None:
            # Another transaction started on this EVSE: whatever was open there was abandoned.
            await release_connector(
                self._charging, ctx.log, ctx.station_id, report.evse_id or 0,
                connector_id=report.connector_id, keep=report.transaction_id,
                cause=f"TransactionEvent Started of {report.transaction_id}", now=now,
            )  # fmt: skip
        reservation_id = payload.get("reservationId")
        if self._reservations is not None and reservation_id is not None:
            # After the event is stored; a repeat (or the station's retry) finds it Used.
            await self._reservations.consume(
                ctx.station_id, int(reservation_id), report.transaction_id, now
            )
        if not fresh:
            ctx.log.info(
                "duplicate TransactionEvent %s seqNo %d acknowledged again",
                report.transaction_id,
                report.seq_no,
            )
        info = outcome.id_token_info
        response: Payload = {}
        if info is not None:
            if info.status is not AuthorizationStatus.ACCEPTED:
                ctx.limited(
                    logging.WARNING,
                    "TransactionEvent token not accepted",
                    "TransactionEvent %s %s: idToken %s",
                    report.transaction_id,
                    report.event_type,
                    info.status.value,
                )
            response["idTokenInfo"] = id_token_info(info)
        if self._pricer is not None:
            await self._price(ctx, report, token, info, response)
        return response

    async def _price(
        self,
        ctx: CallContext,
        report: TransactionEventReport,
        token: Payload | None,
        info: IdTokenInfo | None,
        response: Payload,
    ) -> None:
        """Block I: the cost of the transaction, now that its event is stored."""
        assert self._pricer is not None
        group = info.parent_id_token if info is not None else None
        priced = await self._pricer.price_v2(
            ctx.station_id, report.transaction_id, report.timestamp, group_id_token=group
        )
        if priced is None:
            return
        if report.event_type == "Ended":
            response["totalCost"] = priced.total  # I03: the final cost, 0.00 when free
        response["updatedPersonalMessage"] = running_text(priced)
        if (
            token is not None
            and info is not None
            and info.status is AuthorizationStatus.ACCEPTED
            and report.event_type != "Ended"
        ):
            text = priced.cost.tariff.description(info.language)
            if text is not None:
                response["idTokenInfo"]["personalMessage"] = message_content(text[1], text[0])
