"""Display messages (2.0.1 O01-O06): text a station shows to drivers, set by the CSMS."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "ClearMessageStatus",
    "DisplayMessage",
    "DisplayMessageStatus",
    "GetDisplayMessagesStatus",
    "MessageFormat",
    "MessagePriority",
    "MessageState",
]


class MessageFormat(enum.StrEnum):
    """2.x MessageFormatEnumType."""

    ASCII = "ASCII"
    HTML = "HTML"
    URI = "URI"
    UTF8 = "UTF8"


class MessagePriority(enum.StrEnum):
    """2.x MessagePriorityEnumType."""

    ALWAYS_FRONT = "AlwaysFront"
    IN_FRONT = "InFront"
    NORMAL_CYCLE = "NormalCycle"


class MessageState(enum.StrEnum):
    """2.x MessageStateEnumType: show the message only while the station is in this state."""

    CHARGING = "Charging"
    FAULTED = "Faulted"
    IDLE = "Idle"
    UNAVAILABLE = "Unavailable"


class DisplayMessageStatus(enum.StrEnum):
    """2.x DisplayMessageStatusEnumType (SetDisplayMessage, O01)."""

    ACCEPTED = "Accepted"
    NOT_SUPPORTED_MESSAGE_FORMAT = "NotSupportedMessageFormat"
    REJECTED = "Rejected"
    NOT_SUPPORTED_PRIORITY = "NotSupportedPriority"
    NOT_SUPPORTED_STATE = "NotSupportedState"
    UNKNOWN_TRANSACTION = "UnknownTransaction"


class GetDisplayMessagesStatus(enum.StrEnum):
    """2.x GetDisplayMessagesStatusEnumType (O04)."""

    ACCEPTED = "Accepted"
    UNKNOWN = "Unknown"


class ClearMessageStatus(enum.StrEnum):
    """2.x ClearMessageStatusEnumType (O05)."""

    ACCEPTED = "Accepted"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class DisplayMessage:
    """2.x MessageInfoType: what to show, how urgently, when and where."""

    id: int
    content: str
    priority: MessagePriority = MessagePriority.NORMAL_CYCLE
    format: MessageFormat = MessageFormat.UTF8
    language: str | None = None
    state: MessageState | None = None
    start: datetime | None = None
    end: datetime | None = None
    transaction_id: str | None = None
    evse_id: int | None = None  # shown on this EVSE's display only (component "Display" on it)
