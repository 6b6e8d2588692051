"""K Smart Charging: SetChargingProfile, ClearChargingProfile, GetCompositeSchedule (1.6 §3.13,
§5.5, §5.7, §5.16; 2.0.1/2.1 K01–K08). CSMS-initiated only: operator commands in
:mod:`.commands`; the composite calculation is in :mod:`csms.domain.composite`."""

from csms.blocks.smartcharging.commands import (
    COMMANDS,
    ClearChargingProfileResult,
    CompositeScheduleResult,
    SmartChargingCommands,
)

__all__ = [
    "COMMANDS",
    "ClearChargingProfileResult",
    "CompositeScheduleResult",
    "SmartChargingCommands",
]
