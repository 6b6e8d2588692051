"""How loaded the station endpoint is, as the health report shows it (issue 7 finding 3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectionLoad:
    """Station connections now: open (handshakes included), in handshake, the cap, saturation.

    ``saturated`` means new station connections are being refused: the cap is reached, or accepting
    failed recently for want of file descriptors.
    """

    open: int
    in_handshake: int
    max: int
    saturated: bool
