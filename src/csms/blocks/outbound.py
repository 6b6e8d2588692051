"""Typed operator commands (CSMS → station): one class per OCPP request, one payload per version.

A command is a small frozen object that knows how to spell itself for a version (:meth:`Command.
request`) and how to read the station's answer (:meth:`Command.result`). Both are pure, so the
mapping is unit-tested without a station; :func:`send` puts them on a :class:`StationGateway`, which
validates the payload against the official schema of the station's negotiated version and applies
the registration rules (1.6 §4.2) before anything is sent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from csms.domain.commands import StatusInfo
from csms.domain.errors import CallFailed, NotSupportedByVersion, StationNotConnected
from csms.domain.ports import StationGateway
from csms.rpc import OcppVersion

__all__ = [
    "Command",
    "Payload",
    "negotiated_version",
    "not_in_version",
    "read_status",
    "read_status_info",
    "require_2x",
    "send",
    "sends",
    "sent_actions",
]

Payload = dict[str, Any]
R_co = TypeVar("R_co", covariant=True)
R = TypeVar("R")
E = TypeVar("E", bound=enum.StrEnum)
T = TypeVar("T", bound=type)

_SENDS_ATTR = "_ocpp_sends"


def sends(versions: OcppVersion | Iterable[OcppVersion], action: str) -> Callable[[T], T]:
    """Tag a command class with the OCPP ``action`` it sends to stations of ``versions``.

    The tags feed the support matrix (docs/support-matrix.md) and a test that checks each command
    only ever sends what it declares.
    """
    chosen = (versions,) if isinstance(versions, OcppVersion) else tuple(versions)

    def tag(cls: T) -> T:
        pairs = frozenset(getattr(cls, _SENDS_ATTR, ())) | {(v, action) for v in chosen}
        setattr(cls, _SENDS_ATTR, pairs)
        return cls

    return tag


def sent_actions(*command_types: type) -> frozenset[tuple[OcppVersion, str]]:
    """The (version, action) pairs ``command_types`` are tagged with by :func:`sends`."""
    pairs: set[tuple[OcppVersion, str]] = set()
    for command_type in command_types:
        pairs.update(getattr(command_type, _SENDS_ATTR, ()))
    return frozenset(pairs)


class Command(Protocol[R_co]):
    """An operator command: its request per version and its typed result."""

    def request(self, version: OcppVersion) -> tuple[str, Payload]:
        """Return the action and payload for ``version``.

        Raises:
            InvalidPayload: the command has no equivalent in ``version``.
        """
        ...

    def result(self, version: OcppVersion, payload: Payload) -> R_co:
        """Read the station's CALLRESULT payload.

        Raises:
            CallFailed: the answer cannot be read (only possible from a lenient station).
        """
        ...


def negotiated_version(gateway: StationGateway, station_id: str) -> OcppVersion:
    """The version of the station's live session.

    Raises:
        StationNotConnected: no live session (OCPP has no command queue, 2.0.1 Part 4 §6.3).
    """
    version = gateway.ocpp_version(station_id)
    if version is None:
        raise StationNotConnected(f"station {station_id!r} is not connected")
    return OcppVersion(version)


async def send(
    gateway: StationGateway,
    station_id: str,
    command: Command[R],
    *,
    timeout: float | None = None,
) -> R:
    """Send ``command`` to the station in its negotiated version and return the typed result.

    Raises:
        the gateway's errors (StationNotConnected, CommandNotAllowed, InvalidPayload, CallTimeout,
        CallOutcomeUnknown, CallFailed, StationBusy) and InvalidPayload when the command has no
        equivalent in the station's version.
    """
    version = negotiated_version(gateway, station_id)
    action, payload = command.request(version)
    answer = await gateway.call(station_id, action, payload, timeout=timeout)
    return command.result(version, answer)


def not_in_version(what: str, version: OcppVersion) -> NotSupportedByVersion:
    """The error for a command (or option) that OCPP ``version`` does not have."""
    return NotSupportedByVersion(f"{what} does not exist in OCPP {version}")


def require_2x(what: str, version: OcppVersion) -> None:
    """Refuse a command 1.6 does not have (it exists only in 2.0.1 and 2.1).

    Raises:
        InvalidPayload: ``version`` is 1.6 (code NotSupported, the API's 422).
    """
    if not version.is_2x:
        raise not_in_version(what, version)


def read_status(kind: type[E], payload: Payload, field: str = "status") -> E:
    """Read a status enum from a station's answer."""
    raw = payload.get(field)
    try:
        return kind(str(raw))
    except ValueError:
        raise CallFailed(
            "PropertyConstraintViolation", f"the station answered an unknown {field} {raw!r}"
        ) from None


def read_status_info(payload: Payload) -> StatusInfo | None:
    """Read a 2.x ``statusInfo`` (absent in 1.6)."""
    info = payload.get("statusInfo")
    if not isinstance(info, dict) or "reasonCode" not in info:
        return None
    return StatusInfo(str(info["reasonCode"]), info.get("additionalInfo"))
