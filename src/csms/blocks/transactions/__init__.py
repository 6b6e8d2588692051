"""E Transactions and J Meter values: MeterValues (1.6 §4.7; 2.0.1 J) and TransactionEvent (2.x E).

1.6 Start/StopTransaction are in :mod:`.v16` (transaction ids issued by the CSMS); MeterValues
(all versions) and 2.x TransactionEvent in :mod:`.handlers`. Everything is stored idempotently and
before it is acknowledged.
"""

from csms.blocks.transactions.handlers import TransactionsBlock
from csms.blocks.transactions.v16 import TransactionsV16Block

__all__ = ["TransactionsBlock", "TransactionsV16Block"]
