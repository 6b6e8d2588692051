"""I Tariff and cost (2.0.1 I01-I06): running cost shown to the driver (CostUpdated)."""

from csms.blocks.tariff.commands import COMMANDS, CostUpdated

__all__ = ["COMMANDS", "CostUpdated"]
