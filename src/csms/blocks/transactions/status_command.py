"""GetTransactionStatus (2.0.1 E14): are a transaction's messages still queued at the station?

Before closing a transaction the station has not ended, an operator asks whether it is still
running (``ongoingIndicator``, only when a transactionId is given) and whether the station still
holds transaction messages to deliver (``messagesInQueue``), e.g. after an outage.
"""

from __future__ import annotations

from dataclasses import dataclass

from csms.blocks.outbound import Payload, not_in_version, sends, sent_actions
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "GetTransactionStatus", "TransactionStatus"]

V2 = (OcppVersion.V201, OcppVersion.V21)


@dataclass(frozen=True, slots=True)
class TransactionStatus:
    """GetTransactionStatusResponse."""

    messages_in_queue: bool
    ongoing: bool | None  # None: no transactionId was asked about


@sends(V2, "GetTransactionStatus")
@dataclass(frozen=True, slots=True)
class GetTransactionStatus:
    """E14: about one transaction, or (``transaction_id`` None) about any queued messages."""

    transaction_id: str | None = None

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if not version.is_2x:
            raise not_in_version("GetTransactionStatus", version)
        payload: Payload = {}
        if self.transaction_id is not None:
            payload["transactionId"] = self.transaction_id
        return "GetTransactionStatus", payload

    def result(self, version: OcppVersion, payload: Payload) -> TransactionStatus:
        ongoing = payload.get("ongoingIndicator")
        return TransactionStatus(
            messages_in_queue=bool(payload.get("messagesInQueue")),
            ongoing=bool(ongoing) if ongoing is not None else None,
        )


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(GetTransactionStatus)
