"""Stored station configuration (1.6 GetConfiguration keys) and the secrets that are never stored.

1.6 ``AuthorizationKey`` is write-only: a station must not report it (1.6-J errata 3.10), and if one
does anyway, csms keeps only :data:`~csms.domain.commands.MASKED` in its place, everywhere: in the
database, in logs and in what operators are shown. 2.x ``SecurityCtrlr.BasicAuthPassword`` is the
same secret (2.0.1 Part 2 Appendices, SecurityCtrlr) and is masked the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from csms.domain.commands import MASKED, ConfigurationKey

__all__ = [
    "SECRET_KEYS",
    "ConfigurationRepository",
    "is_secret",
    "mask_result",
    "masked",
    "secret_write",
]

# Compared case-insensitively: 1.6 keys are case-insensitive in practice (§9 gives CamelCase names,
# some stations report them in other cases).
SECRET_KEYS = frozenset({"authorizationkey", "basicauthpassword"})


def is_secret(key: str) -> bool:
    """True for a configuration key / variable whose value must never be stored or shown."""
    return key.lower() in SECRET_KEYS


def masked(key: str, value: str | None) -> str | None:
    """Return ``value``, or :data:`MASKED` in its place when ``key`` is a secret."""
    if value is not None and is_secret(key):
        return MASKED
    return value


def mask_result(action: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Return a station's CALLRESULT with the values of secret keys masked (a copy if changed).

    Covers 1.6 GetConfiguration (``configurationKey``) and 2.x GetVariables
    (``getVariableResult``), the only results that can carry a configured secret.
    """
    if action == "GetConfiguration":
        entries, key_of, value_field = "configurationKey", _key_16, "value"
    elif action == "GetVariables":
        entries, key_of, value_field = "getVariableResult", _variable_2x, "attributeValue"
    else:
        return payload
    listed = payload.get(entries)
    if not isinstance(listed, list) or not any(
        isinstance(e, dict) and e.get(value_field) is not None and is_secret(key_of(e))
        for e in listed
    ):
        return payload
    masked_entries = [
        {**e, value_field: MASKED}
        if isinstance(e, dict) and e.get(value_field) is not None and is_secret(key_of(e))
        else e
        for e in listed
    ]
    return {**payload, entries: masked_entries}


def secret_write(action: str, payload: dict[str, Any]) -> str | None:
    """Name the station password a CSMS-initiated request would set, or None.

    The password csms checks and the one the station sends must change together, so only the key
    rotation may send these (1.6 security whitepaper A01; 2.0.1 A01):

    * 1.6 ChangeConfiguration of ``AuthorizationKey``; the key is a CiString50Type (1.6 §6.9),
      compared case-insensitively;
    * 2.x SetVariables of a ``BasicAuthPassword`` variable in any ``setVariableData`` entry,
      whatever its component, instance or EVSE (names are case-insensitive, 2.0.1 ComponentType
      and VariableType): SecurityCtrlr is the spec's home, 2.1 also has one per network profile;
    * 2.1 SetNetworkProfile with ``connectionData.basicAuthPassword``: csms could not store the
      password for the profile it would apply to.

    Other secret-bearing requests are not guarded: 2.x SetNetworkProfile's APN and VPN passwords
    are network credentials csms never checks.
    """
    if action == "ChangeConfiguration":
        return "AuthorizationKey" if is_secret(str(payload.get("key", ""))) else None
    if action == "SetVariables":
        data = payload.get("setVariableData")
        for entry in data if isinstance(data, list) else ():
            if isinstance(entry, dict) and is_secret(_variable_2x(entry)):
                return "BasicAuthPassword"
        return None
    if action == "SetNetworkProfile":
        connection = payload.get("connectionData")
        if isinstance(connection, dict) and "basicAuthPassword" in connection:
            return "basicAuthPassword"
    return None


def _key_16(entry: dict[str, Any]) -> str:
    return str(entry.get("key", ""))


def _variable_2x(entry: dict[str, Any]) -> str:
    variable = entry.get("variable")
    return str(variable.get("name", "")) if isinstance(variable, dict) else ""


class ConfigurationRepository(Protocol):
    """The configuration keys each station reported (committed on return)."""

    async def record_read(
        self,
        station_id: str,
        keys: Iterable[ConfigurationKey],
        unknown_keys: Iterable[str],
        now: datetime,
    ) -> None:
        """Store what a GetConfiguration reported: values, readonly flags, unknown keys.

        The values must already be masked (see :func:`masked`).
        """
        ...

    async def record_change(self, station_id: str, key: str, value: str, now: datetime) -> None:
        """Store a value a station accepted through ChangeConfiguration (already masked)."""
        ...

    async def keys(self, station_id: str) -> Sequence[ConfigurationKey]:
        """Return every stored key of the station, ordered by key."""
        ...
