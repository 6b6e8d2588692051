"""CostUpdated (2.0.1 I05): tell the station the running total cost of a transaction.

The cost is in the currency the station is configured with (TariffCostCtrlr.Currency); the
station shows it to the driver. The answer carries nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from csms.blocks.outbound import Payload, not_in_version, sends, sent_actions
from csms.domain.errors import InvalidPayload
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "CostUpdated"]

V2 = (OcppVersion.V201, OcppVersion.V21)


@sends(V2, "CostUpdated")
@dataclass(frozen=True, slots=True)
class CostUpdated:
    """I05: the total cost so far of ``transaction_id``, taxes included."""

    transaction_id: str
    total_cost: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.total_cost):
            raise InvalidPayload("total_cost must be a finite number")

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        if not version.is_2x:
            raise not_in_version("CostUpdated", version)
        return "CostUpdated", {"transactionId": self.transaction_id, "totalCost": self.total_cost}

    def result(self, version: OcppVersion, payload: Payload) -> None:
        return None


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(CostUpdated)
