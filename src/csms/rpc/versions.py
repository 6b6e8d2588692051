"""OCPP versions and WebSocket subprotocol negotiation.

OCPP-J 1.6 §3.1.2, OCPP 2.0.1 Part 4 §3.1.2 and OCPP 2.1 Part 4 §3.1.2: the station lists the
subprotocols it supports in preference order; the CSMS picks one. The version in the URL path never
decides it (2.1 Part 4 §3.1.2; 2.0.1 errata Part 4 4.1).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence


class OcppVersion(enum.StrEnum):
    """An OCPP version csms speaks; the value is the version number as the spec writes it."""

    V16 = "1.6"
    V201 = "2.0.1"
    V21 = "2.1"

    @property
    def subprotocol(self) -> str:
        """The IANA-registered WebSocket subprotocol name, e.g. ``ocpp1.6``."""
        return "ocpp" + self.value

    @property
    def is_2x(self) -> bool:
        """True for 2.0.1 and 2.1, which share the error codes of Part 4 Table 8."""
        return self is not OcppVersion.V16

    @classmethod
    def from_subprotocol(cls, name: str) -> OcppVersion | None:
        """Return the version for a subprotocol name, or None if csms does not speak it."""
        return _BY_SUBPROTOCOL.get(name)


_BY_SUBPROTOCOL = {v.subprotocol: v for v in OcppVersion}

ALL_VERSIONS: tuple[OcppVersion, ...] = (OcppVersion.V21, OcppVersion.V201, OcppVersion.V16)


def select_subprotocol(
    offered: Iterable[str], supported: Sequence[OcppVersion] = ALL_VERSIONS
) -> OcppVersion | None:
    """Pick the first subprotocol in the station's preference order that csms supports.

    Returns None when no offered subprotocol is acceptable; the caller must then not run an OCPP
    session (OCPP-J 1.6 §3.2; 2.0.1 Part 4 §3.2; OCTT TC_088_CSMS / TC_B_58_CSMS).
    """
    allowed = set(supported)
    for name in offered:
        version = _BY_SUBPROTOCOL.get(name.strip())
        if version is not None and version in allowed:
            return version
    return None
