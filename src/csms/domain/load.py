"""How loaded the station endpoint is, as the health report shows it (issue 7 finding 3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConnectionLoad:
    """Station connections now: open (handshakes included), in handshake, the cap, saturation.

    ``saturated`` means new station connections are being refused: the cap is reached, or accepting
    failed recently for want of file descriptors. A paused accept (``accepting_paused``) is not
    saturation: those connections wait in the backlog and are taken in turn.
    """

    open: int
    in_handshake: int
    max: int
    saturated: bool
    # Handshakes waiting in the station read (a pooled database connection or the read itself).
    reading: int = 0
    # Why the endpoint does not call accept() now (new connections wait in the kernel's backlog:
    # the process is saturated or too many are accepted and not upgraded); None while it accepts.
    accepting_paused: str | None = None
