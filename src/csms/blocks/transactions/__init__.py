"""E Transactions and J Meter values: MeterValues (1.6 §4.7; 2.0.1 J) and TransactionEvent (2.x E).

The full 1.6 transaction flow (Start/StopTransaction, authorization) lands with the 1.6 profile work;
this block stores what every version reports, idempotently and before acknowledging it.
"""

from csms.blocks.transactions.handlers import TransactionsBlock

__all__ = ["TransactionsBlock"]
