"""L Firmware management: UpdateFirmware, SignedUpdateFirmware and their status notifications
(1.6 §4.5, §5.16; 1.6 security whitepaper ed. 2 L01; 2.0.1 L01)."""

from csms.blocks.firmware.handlers import FirmwareBlock

__all__ = ["FirmwareBlock"]
