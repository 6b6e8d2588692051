"""The energy meter of one EVSE: a register that advances with the power drawn.

OCPP meters report ``Energy.Active.Import.Register`` in Wh, a value that only grows (1.6 §7.31
Measurand; 2.0.1 Part 2 §2.1.2 MeasurandEnumType). The simulated EV draws the station's maximum
power, capped by the charging limit the CSMS set, until it is full.
"""

from __future__ import annotations

from dataclasses import dataclass

# Three-phase AC at 230 V line-to-neutral: a limit in A becomes W by this factor (2.0.1 K01 lets a
# station convert between A and W with its nominal voltage and number of phases).
VOLTS = 230.0
PHASES = 3


def amps_to_watts(amps: float) -> float:
    """The power a three-phase 230 V supply delivers at ``amps`` per phase."""
    return amps * VOLTS * PHASES


@dataclass(slots=True)
class Meter:
    """An energy register in Wh and the power flowing now; time comes from the caller (seconds).

    Attributes:
        energy_wh: the register, monotonically increasing.
        power_w: the power drawn since the last :meth:`advance`.
        last: the time of the last :meth:`advance`, None before the first.
    """

    energy_wh: float = 0.0
    power_w: float = 0.0
    last: float | None = None

    def advance(self, now: float) -> float:
        """Integrate the power since the last call; return the register in Wh."""
        if self.last is not None and now > self.last:
            self.energy_wh += self.power_w * (now - self.last) / 3600.0
        self.last = now
        return self.energy_wh

    def set_power(self, watts: float, now: float) -> None:
        """Change the power flowing from ``now`` on (what flowed before is integrated first)."""
        self.advance(now)
        self.power_w = max(0.0, watts)

    @property
    def reading_wh(self) -> float:
        """The register to 0.1 Wh, as sampled values carry it (a decimal string or number)."""
        return round(self.energy_wh, 1)

    @property
    def register_wh(self) -> int:
        """The register as the whole Wh a station reports."""
        return int(self.energy_wh)
