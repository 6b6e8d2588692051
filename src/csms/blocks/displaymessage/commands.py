"""Set, get and clear display messages (2.0.1 O01, O04, O05); 1.6 has none of them.

GetDisplayMessages is answered by a status and then by NotifyDisplayMessages parts with the same
``requestId`` (kept by :class:`~csms.blocks.displaymessage.handlers.DisplayMessageBlock`).
"""

from __future__ import annotations

from dataclasses import dataclass

from csms.blocks.outbound import (
    Payload,
    read_status,
    read_status_info,
    require_2x,
    sends,
    sent_actions,
)
from csms.blocks.timefmt import format_datetime
from csms.domain.commands import CommandResult
from csms.domain.displaymessages import (
    ClearMessageStatus,
    DisplayMessage,
    DisplayMessageStatus,
    GetDisplayMessagesStatus,
    MessagePriority,
    MessageState,
)
from csms.domain.errors import InvalidPayload
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "ClearDisplayMessage", "GetDisplayMessages", "SetDisplayMessage"]

V2 = (OcppVersion.V201, OcppVersion.V21)


def _message_info(m: DisplayMessage) -> Payload:
    content: Payload = {"format": str(m.format), "content": m.content}
    if m.language is not None:
        content["language"] = m.language
    info: Payload = {"id": m.id, "priority": str(m.priority), "message": content}
    if m.state is not None:
        info["state"] = str(m.state)
    if m.start is not None:
        info["startDateTime"] = format_datetime(m.start)
    if m.end is not None:
        info["endDateTime"] = format_datetime(m.end)
    if m.transaction_id is not None:
        info["transactionId"] = m.transaction_id
    if m.evse_id is not None:
        info["display"] = {"name": "Display", "evse": {"id": m.evse_id}}
    return info


@sends(V2, "SetDisplayMessage")
@dataclass(frozen=True, slots=True)
class SetDisplayMessage:
    """O01/O02/O06: show ``message`` (replacing one with the same id)."""

    message: DisplayMessage

    def __post_init__(self) -> None:
        start, end = self.message.start, self.message.end
        if start is not None and end is not None and end < start:
            # MessageInfoType: shown from startDateTime until endDateTime; an end before the
            # start is a message no station would ever show.
            raise InvalidPayload(
                "message.endDateTime is before message.startDateTime",
                path="message.endDateTime",
            )

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("SetDisplayMessage", version)
        return "SetDisplayMessage", {"message": _message_info(self.message)}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[DisplayMessageStatus]:
        return CommandResult(read_status(DisplayMessageStatus, payload), read_status_info(payload))


@sends(V2, "GetDisplayMessages")
@dataclass(frozen=True, slots=True)
class GetDisplayMessages:
    """O04: report the messages matching the filters (all when none is given)."""

    request_id: int
    ids: tuple[int, ...] = ()
    priority: MessagePriority | None = None
    state: MessageState | None = None

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("GetDisplayMessages", version)
        payload: Payload = {"requestId": self.request_id}
        if self.ids:
            payload["id"] = list(self.ids)
        if self.priority is not None:
            payload["priority"] = str(self.priority)
        if self.state is not None:
            payload["state"] = str(self.state)
        return "GetDisplayMessages", payload

    def result(
        self, version: OcppVersion, payload: Payload
    ) -> CommandResult[GetDisplayMessagesStatus]:
        return CommandResult(
            read_status(GetDisplayMessagesStatus, payload), read_status_info(payload)
        )


@sends(V2, "ClearDisplayMessage")
@dataclass(frozen=True, slots=True)
class ClearDisplayMessage:
    """O05: remove one message by id."""

    message_id: int

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        require_2x("ClearDisplayMessage", version)
        return "ClearDisplayMessage", {"id": self.message_id}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[ClearMessageStatus]:
        return CommandResult(read_status(ClearMessageStatus, payload), read_status_info(payload))


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(SetDisplayMessage, GetDisplayMessages, ClearDisplayMessage)
