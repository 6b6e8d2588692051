"""Operator commands on transactions (1.6 and 2.x): find the ones stations left open, close them.

A station that never reports back (replaced, broken, offline for good) leaves its transaction
open, and an open transaction keeps its idTag in ConcurrentTx (a station that does report back
has it closed for it, see :mod:`.abandoned`). An operator finds them by inactivity and closes them;
a 1.6 close is billed up to the last register reading and recorded in the audit trail
(ocpp-rules §6 F; landscape §4 #10), a 2.x close keeps the operator on the transaction. If the
station's StopTransaction / TransactionEvent(Ended) arrives later after all, its values replace
the estimate (1.6: and the audit trail says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from csms.domain.charging_ports import ChargingTransactionRepository
from csms.domain.transactions import Transaction, TransactionAudit

__all__ = ["audit_trail", "close_transaction", "list_open_transactions"]


async def list_open_transactions(
    charging: ChargingTransactionRepository,
    *,
    now: datetime,
    inactive_for: timedelta | None = None,
    station_id: str | None = None,
    limit: int = 100,
) -> Sequence[Transaction]:
    """Open transactions, least recently active first; ``inactive_for``: only those with no
    message about them for at least that long."""
    since = now - inactive_for if inactive_for is not None else None
    return await charging.list_open(station_id=station_id, inactive_since=since, limit=limit)


async def close_transaction(
    charging: ChargingTransactionRepository,
    transaction_id: int | str,
    *,
    operator: str,
    reason: str,
    now: datetime,
    station_id: str | None = None,
) -> Transaction:
    """Close an open transaction by the operator's decision, with an audit record (1.6) or the
    operator kept on the transaction (2.x).

    ``transaction_id``: a 1.6 transactionId (int or text) or a 2.x transactionId; ``station_id``
    chooses when the text names open transactions of several stations.

    Raises:
        UnknownTransaction: no such transaction.
        TransactionNotOpen: it is already closed.
        AmbiguousTransaction: the id names open transactions of several stations.
        ValueError: no operator or reason given (the audit trail needs both).
    """
    if not operator.strip() or not reason.strip():
        raise ValueError("closing a transaction needs an operator and a reason")
    return await charging.close(
        transaction_id, operator=operator, reason=reason, now=now, station_id=station_id
    )


async def audit_trail(
    charging: ChargingTransactionRepository, transaction_id: int
) -> Sequence[TransactionAudit]:
    """What operators (and late stations) did to a transaction, oldest first."""
    return await charging.audit_trail(transaction_id)
