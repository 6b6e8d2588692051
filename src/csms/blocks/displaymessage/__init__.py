"""O DisplayMessage (2.0.1 O01-O06): the messages a station shows to drivers."""

from csms.blocks.displaymessage.handlers import DisplayMessageBlock

__all__ = ["DisplayMessageBlock"]
