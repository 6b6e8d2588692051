"""The per-version OCPP message layer: which actions exist, who sends them, and schema validation.

Payloads are checked against the official OCA JSON schemas read, unmodified, from the ``ocpp`` wheel
(:mod:`csms.messages.schemas`); violations become CALLERRORs (:mod:`csms.messages.violations`).
"""

from csms.messages.catalog import ActionInfo, Direction, action_info, actions
from csms.messages.schemas import SchemaKind
from csms.messages.validation import MessageValidator

__all__ = [
    "ActionInfo",
    "Direction",
    "MessageValidator",
    "SchemaKind",
    "action_info",
    "actions",
]
