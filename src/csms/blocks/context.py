"""Per-connection state the handlers of a station's CALLs share."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from csms.domain.model import RegistrationStatus
from csms.log import LogLimiter
from csms.rpc import OcppVersion

# Seconds a registration status read at the handshake stays good for the first BootNotification
# (a station boots right after it connects; an operator's change meanwhile is a race either way).
BOOT_SNAPSHOT_AGE = 5.0


@dataclass(slots=True)
class CallContext:
    """What a handler knows about the station whose CALL it handles.

    ``registration`` is the answer to the last BootNotification of this connection, or the stored
    state of a station that reconnected without one (1.6 §5.4: it need not boot again). Only an
    Accepted station may send anything but BootNotification (errata 3.8; OCTT TC_B_30_CSMS).
    """

    station_id: str
    version: OcppVersion
    registration: RegistrationStatus | None = None
    lenient: bool = False
    log: logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.LoggerAdapter(logging.getLogger("csms.station"))
    )
    # Counters an operator can read (GET /api/v1/stations/{id}, ``session``): schema violations
    # handled anyway (lenient), protocol violations (see Dispatcher's ViolationBudget) and log lines
    # the LogLimiter held back for this station.
    schema_violations: int = 0
    protocol_violations: int = 0
    suppressed_log_lines: int = 0
    # While Pending: the actions csms asked for with (Extended)TriggerMessage, which the station may
    # then send (1.6 §4.2; 2.0.1 B02). None (most connections): nothing triggered.
    triggered: frozenset[str] | None = None
    # The process's LogLimiter (set by the server's connection); None: log every line.
    log_limiter: LogLimiter | None = None
    # Reconnect cost (issue 11): the registration status read at the handshake and when (monotonic
    # seconds). The connection's first BootNotification, if it comes within BOOT_SNAPSHOT_AGE,
    # answers from it instead of reading the station again; later ones read it.
    handshake_status: RegistrationStatus | None = None
    handshake_at: float = 0.0

    def take_handshake_status(self, now: float) -> RegistrationStatus | None:
        """The status read at the handshake if still fresh, once; None: read the station."""
        status, self.handshake_status = self.handshake_status, None
        if status is None or now - self.handshake_at > BOOT_SNAPSHOT_AGE:
            return None
        return status

    def limited(
        self, level: int, kind: str, msg: str, *args: object, exc: BaseException | None = None
    ) -> None:
        """Log a line a station can cause once per frame, rate-limited per station and ``kind``."""
        if self.log_limiter is None:
            self.log.log(level, msg, *args, exc_info=exc)
        elif not self.log_limiter.log(self.log, level, self.station_id, kind, msg, *args, exc=exc):
            self.suppressed_log_lines += 1

    @property
    def accepted(self) -> bool:
        """True once the station may send CALLs other than BootNotification."""
        return self.registration is RegistrationStatus.ACCEPTED
