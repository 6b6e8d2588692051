"""Counters the progress display and the tests read: one :class:`Stats` shared by a fleet."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

# Prefix of the error counters of failed connections: ``connect:http 401``, ``connect:refused``...
CONNECT_ERROR = "connect:"


@dataclass(slots=True)
class Stats:
    """What the simulated fleet did so far."""

    stations: int = 0
    connected: int = 0
    accepted: int = 0  # stations Accepted now
    accepted_total: int = 0  # times a station came online Accepted, over the whole run
    charging: int = 0
    connects: int = 0
    reconnects: int = 0
    failed_connects: int = 0
    transactions: int = 0
    refused: int = 0  # Authorize answered with another status than Accepted
    energy_wh: float = 0.0
    queued: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> Stats:
        """A copy that later changes do not touch."""
        return dataclasses.replace(
            self,
            sent=Counter(self.sent),
            errors=Counter(self.errors),
            answered=Counter(self.answered),
        )

    def connect_errors(self) -> dict[str, int]:
        """Failed connections by kind (``http 401``, ``refused``, ...)."""
        n = len(CONNECT_ERROR)
        return {k[n:]: v for k, v in self.errors.items() if k.startswith(CONNECT_ERROR)}

    def line(self) -> str:
        """One status line, e.g. for a terminal."""
        return (
            f"stations {self.stations}  connected {self.connected}  accepted {self.accepted}  "
            f"charging {self.charging}  transactions {self.transactions}  "
            f"refused {self.refused}  "
            f"energy {self.energy_wh / 1000:.3f} kWh  sent {sum(self.sent.values())}  "
            f"errors {sum(self.errors.values())}  commands {sum(self.answered.values())}  "
            f"queued {self.queued}  reconnects {self.reconnects}"
        )
