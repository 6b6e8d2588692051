"""Operator commands on transactions: find the ones stations left open, and close them.

A station that never reports back (replaced, broken, offline for good) leaves its transaction
open, and an open transaction keeps its idTag in ConcurrentTx. An operator finds them by
inactivity and closes them; the close is billed up to the last register reading and recorded in
the audit trail (ocpp-rules §6 F; landscape §4 #10). If the station's StopTransaction arrives
later after all, its values replace the estimate and the audit trail says so.
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
    transaction_id: int,
    *,
    operator: str,
    reason: str,
    now: datetime,
) -> Transaction:
    """Close an open transaction by the operator's decision, with an audit record.

    Raises:
        UnknownTransaction: no such transaction.
        TransactionNotOpen: it is already closed.
        ValueError: no operator or reason given (the audit trail needs both).
    """
    if not operator.strip() or not reason.strip():
        raise ValueError("closing a transaction needs an operator and a reason")
    return await charging.close(transaction_id, operator=operator, reason=reason, now=now)


async def audit_trail(
    charging: ChargingTransactionRepository, transaction_id: int
) -> Sequence[TransactionAudit]:
    """What operators (and late stations) did to a transaction, oldest first."""
    return await charging.audit_trail(transaction_id)
