"""ClearCache (1.6 §5.4; 2.0.1 C11): empty the station's authorization cache (an operator command).

Its own module, apart from the commands that maintain csms's id-token store."""

from __future__ import annotations

from dataclasses import dataclass

from csms.blocks.outbound import Payload, read_status, read_status_info, sends, sent_actions
from csms.domain.commands import AcceptStatus, CommandResult
from csms.rpc import ALL_VERSIONS, OcppVersion

__all__ = ["COMMANDS", "ClearCache"]


@sends(ALL_VERSIONS, "ClearCache")
@dataclass(frozen=True, slots=True)
class ClearCache:
    """Clear the authorization cache; the same empty request in every version."""

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        return "ClearCache", {}

    def result(self, version: OcppVersion, payload: Payload) -> CommandResult[AcceptStatus]:
        return CommandResult(read_status(AcceptStatus, payload), read_status_info(payload))


# The (version, action) pairs this module's commands send (for the support matrix).
COMMANDS = sent_actions(ClearCache)
