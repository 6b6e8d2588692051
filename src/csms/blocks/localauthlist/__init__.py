"""D Local Authorization List Management: GetLocalListVersion, SendLocalList (1.6 §5.10, §5.15;
2.0.1/2.1 D01–D03). CSMS-initiated only: operator commands in :mod:`.commands`."""

from csms.blocks.localauthlist.commands import (
    COMMANDS,
    LocalListCommands,
    LocalListVersionResult,
    SendLocalListResult,
)

__all__ = ["COMMANDS", "LocalListCommands", "LocalListVersionResult", "SendLocalListResult"]
