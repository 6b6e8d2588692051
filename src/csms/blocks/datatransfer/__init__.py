"""P DataTransfer: vendor-specific messages in both directions (1.6 §4.3, §5.6; 2.0.1 P01/P02)."""

from csms.blocks.datatransfer.handlers import DataTransferBlock
from csms.blocks.datatransfer.registry import DataTransferRegistry, VendorMessages

__all__ = ["DataTransferBlock", "DataTransferRegistry", "VendorMessages"]
