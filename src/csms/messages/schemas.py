"""Read and compile the official OCA JSON schemas shipped in the ``ocpp`` wheel.

The schemas are © Open Charge Alliance under CC BY-ND 4.0, so csms never copies or edits them: they
are read, unmodified, from the installed ``ocpp`` package (ocpp-rules.md §5). File names:

* 1.6 (``ocpp/v16/schemas``): request ``X.json``, response ``XResponse.json``. The core schemas
  are JSON Schema draft-04 (OCPP-J 1.6 errata §3.6), those of the security extension draft-06. The
  wheel already carries the 1.6 errata fixes: ``reason`` of StopTransaction is optional, both
  "Celsius" and "Celcius" are valid units (OCPP-J 1.6 errata §2.1, §2.5).
* 2.0.1 and 2.1 (``ocpp/v201/schemas``, ``ocpp/v21/schemas``): ``XRequest.json`` and
  ``XResponse.json``, draft-06. The 2.1 SEND-only NotifyPeriodicEventStream has a single
  ``NotifyPeriodicEventStream.json``. The OCA's own 2.0.1 files start with a UTF-8 byte order mark
  (those in ocpp 2.1.0 do not), so every file is decoded as ``utf-8-sig``.

Compilation decisions (ocpp-rules.md §1.5):

* The draft comes from each file's ``$schema``, not from the OCPP version.
* ``format`` is validated. The schemas declare ``"format": "date-time"``, which JSON Schema defines
  as an RFC 3339 §5.6 date-time, time offset included ("Z" or "+01:00"); 1.6 asks for ISO 8601 and
  strongly recommends UTC (1.6 §3.14-§3.15). A bad date-time is a PropertyConstraintViolation.
  ``accept_naive_datetime`` also lets through date-times without offset, for stations omitting it.
* ``multipleOf`` (only ``0.1`` in the 1.6 charging-profile schemas) tolerates binary floating point
  artefacts such as ``0.30000000000000004`` or a float32 ``6.300000190734863``; a genuinely wrong
  value such as ``0.15`` still fails.
* Compilation is offline: no ``$ref`` may reach the network.
"""

from __future__ import annotations

import enum
import math
import re
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import jsonschema_rs
import orjson

from csms.rpc.versions import OcppVersion

_PACKAGE = "ocpp"
_DIRECTORY = {
    OcppVersion.V16: "v16",
    OcppVersion.V201: "v201",
    OcppVersion.V21: "v21",
}
_DRAFTS: dict[str, type[jsonschema_rs.Validator]] = {
    "http://json-schema.org/draft-04/schema#": jsonschema_rs.Draft4Validator,
    "http://json-schema.org/draft-06/schema#": jsonschema_rs.Draft6Validator,
}
# Relative tolerance of multipleOf: float32 values carry ~6e-8 relative error.
_MULTIPLE_OF_TOLERANCE = 1e-7
# ISO 8601 local date-time without offset, e.g. 2024-05-01T12:00:00 or ...T12:00:00.123.
_NAIVE_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?\Z")
_RFC3339_OFFSET = "+00:00"
# The library's own RFC 3339 check, reused by the relaxed date-time format.
_RFC3339_DATETIME = jsonschema_rs.Draft6Validator(
    {"type": "string", "format": "date-time"}, validate_formats=True
)


class SchemaKind(enum.Enum):
    """Which half of an action a schema describes."""

    REQUEST = "request"
    RESPONSE = "response"


def schema_directory(version: OcppVersion) -> Traversable:
    """Return the directory of ``version``'s schemas inside the installed ``ocpp`` package."""
    return resources.files(_PACKAGE) / _DIRECTORY[version] / "schemas"


def schema_file_name(
    version: OcppVersion, action: str, kind: SchemaKind, *, unconfirmed: bool = False
) -> str:
    """Return the file name of an action's request or response schema in ``version``.

    ``unconfirmed`` marks a 2.1 SEND-only action, whose one schema has no "Request" suffix.
    """
    if kind is SchemaKind.RESPONSE:
        return f"{action}Response.json"
    if version is OcppVersion.V16 or unconfirmed:
        return f"{action}.json"
    return f"{action}Request.json"


def schema_actions(version: OcppVersion) -> dict[str, frozenset[SchemaKind]]:
    """List the actions that have schema files for ``version``, and which halves each has.

    This reads the package directory; it is what the catalog is checked against, not a hot path.
    """
    found: dict[str, set[SchemaKind]] = {}
    for entry in schema_directory(version).iterdir():
        stem = entry.name.removesuffix(".json")
        if stem == entry.name:
            continue
        if stem.endswith("Response"):
            found.setdefault(stem.removesuffix("Response"), set()).add(SchemaKind.RESPONSE)
        elif version.is_2x and stem.endswith("Request"):
            found.setdefault(stem.removesuffix("Request"), set()).add(SchemaKind.REQUEST)
        else:
            # 1.6 requests, and the 2.1 SEND-only NotifyPeriodicEventStream.
            found.setdefault(stem, set()).add(SchemaKind.REQUEST)
    return {action: frozenset(kinds) for action, kinds in sorted(found.items())}


def load_schema(
    version: OcppVersion, action: str, kind: SchemaKind, *, unconfirmed: bool = False
) -> dict[str, Any] | None:
    """Read one schema, unmodified; None if the wheel has no such file.

    Decoded as ``utf-8-sig``: the OCA's 2.0.1 files start with a byte order mark.
    """
    name = schema_file_name(version, action, kind, unconfirmed=unconfirmed)
    path = schema_directory(version) / name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    schema = orjson.loads(text)
    if not isinstance(schema, dict):
        raise ValueError(f"{path}: a schema must be a JSON object")
    return schema


def compile_schema(
    schema: dict[str, Any], *, accept_naive_datetime: bool = False
) -> jsonschema_rs.Validator:
    """Compile a schema with the validator class of the draft named in its ``$schema``.

    Raises:
        ValueError: the schema names no draft, or one csms does not expect.
    """
    draft = schema.get("$schema")
    validator_class = _DRAFTS.get(draft) if isinstance(draft, str) else None
    if validator_class is None:
        raise ValueError(f"unsupported $schema {draft!r}")
    return validator_class(
        schema,
        validate_formats=True,
        formats={"date-time": _naive_or_rfc3339_datetime} if accept_naive_datetime else None,
        keywords={"multipleOf": TolerantMultipleOf},
        offline=True,
    )


class TolerantMultipleOf:
    """``multipleOf`` that forgives binary floating point artefacts.

    The 1.6 schemas require charging rates to be a multiple of 0.1 (1.6 §7.13-§7.14 "Accepts at
    most one digit fraction"). In binary floating point ``0.1 + 0.2`` is ``0.30000000000000004``,
    and stations built on float32 send ``6.300000190734863`` for 6.3; both are accepted, ``0.15`` is
    not (the same idea as ocpp-rpc's epsilon; ocpp-rules.md §1.5).
    """

    __slots__ = ("_divisor",)

    def __init__(
        self, parent_schema: dict[str, Any], value: Any, schema_path: list[str | int]
    ) -> None:
        self._divisor = float(value)

    def validate(self, instance: Any) -> None:
        """Raise ValueError if ``instance`` is a number that is not a multiple of the divisor."""
        kind = type(instance)
        if kind is not int and kind is not float:
            return
        quotient = instance / self._divisor
        if not math.isfinite(quotient) or abs(quotient - round(quotient)) > (
            _MULTIPLE_OF_TOLERANCE * max(1.0, abs(quotient))
        ):
            raise ValueError(f"not a multiple of {self._divisor:g}")


def _naive_or_rfc3339_datetime(value: str) -> bool:
    """Accept an RFC 3339 date-time, or an ISO 8601 one without offset (1.6 §3.15)."""
    if _NAIVE_DATETIME.match(value):
        value += _RFC3339_OFFSET
    return _RFC3339_DATETIME.is_valid(value)
