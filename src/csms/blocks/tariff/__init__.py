"""I Tariff and cost (2.0.1 I01-I06): tariffs, the cost of a transaction and CostUpdated."""

from csms.blocks.tariff.commands import COMMANDS, CostUpdated
from csms.blocks.tariff.cost_updates import CostUpdateSender
from csms.blocks.tariff.pricing import Priced, TariffPricer

__all__ = ["COMMANDS", "CostUpdateSender", "CostUpdated", "Priced", "TariffPricer"]
