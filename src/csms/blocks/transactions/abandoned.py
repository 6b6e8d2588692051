"""Transactions a station abandoned: closed when the station reports the connector free.

A station that reports a connector Available (1.6 also Preparing: a new driver is there; 2.x
StatusNotification Available) or starts another 2.x transaction on the EVSE has no transaction
running there. After a reboot it reports every connector (1.6 §4.9 after a BootNotification;
2.0.1 B01), so a transaction it lost (csms restarted, the station rebooted and forgot it) would
otherwise stay open here and keep its token in ConcurrentTx forever.

Such a transaction is closed by csms as of its last activity, flagged AbandonedByStation, stop
reason ``Other``, billed (1.6) up to the last register reading, with a log line and (1.6) an
audit record. The close is provisional: a station delivers its queued transaction messages after
reconnecting, and may send a status before them (1.6 §3.7: messages that are not
transaction-related "MAY be delivered immediately without waiting for the queue to be emptied";
2.0.1 E08, E12, and Part 6's general rules: the connector status and queued TransactionEvents
"are allowed to be sent in any order"); its own StopTransaction / TransactionEvent(Ended)
replaces the close and is acknowledged as usual.
"""

from __future__ import annotations

import logging
from datetime import datetime

from csms.domain.charging_ports import ChargingTransactionRepository

__all__ = ["FREE_STATUSES_V2", "FREE_STATUSES_V16", "release_connector"]

# Connector statuses that mean nothing runs on the connector (1.6 §7.7 ChargePointStatus;
# 2.0.1 ConnectorStatusEnumType). 1.6 Preparing comes before a transaction starts.
FREE_STATUSES_V16 = frozenset({"Available", "Preparing"})
FREE_STATUSES_V2 = frozenset({"Available"})


async def release_connector(
    charging: ChargingTransactionRepository,
    log: logging.LoggerAdapter[logging.Logger],
    station_id: str,
    evse_id: int,
    *,
    cause: str,
    now: datetime,
    connector_id: int | None = None,
    keep: str | None = None,
) -> None:
    """Close what the station left open on ``evse_id`` (except the 2.x transaction ``keep``)."""
    if evse_id <= 0:  # connector 0 / no EVSE: the station itself, never a transaction's
        return
    closed = await charging.release_connector(
        station_id, evse_id, connector_id=connector_id, keep=keep, cause=cause, now=now
    )
    for tx in closed:
        log.warning(
            "transaction %s on EVSE %d closed as abandoned on %s, ended as of its last activity "
            "%s: the station reports nothing running there; its own stop, if it still comes, "
            "replaces this close",
            tx.transaction_id,
            evse_id,
            cause,
            tx.ended_at.isoformat() if tx.ended_at else "-",
        )
