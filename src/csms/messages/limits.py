"""What csms can hold, checked for every station message before any handler runs.

A value the schemas allow but csms cannot represent must get one clear, non-retryable answer, never
an InternalError the station retries forever (a poison message). These checks apply to strict and
lenient stations alike: they are about what csms can store, not about the schema.

* **Depth**: a payload nested deeper than :data:`MAX_DEPTH` levels (the deepest official schema
  needs fewer than 16) is refused with FormatViolation (1.6 FormationViolation) *before* the
  schema validator, which would otherwise recurse until it fails. Counted iteratively.
* **Integers**: every field the schema types ``integer`` must hold a whole number in the signed
  64-bit range (:data:`INT64_MIN` .. :data:`INT64_MAX`), the width of every integer column; outside
  → PropertyConstraintViolation naming the field and the limit. JSON numbers beyond 64 bits arrive
  as floats (orjson), so an integral float is checked the same way.
* **Date-times**: every field the schema formats ``date-time`` is read with the one parser,
  :func:`csms.messages.datetimes.parse_datetime`; an instant csms cannot hold (outside years
  1-9999 UTC) → PropertyConstraintViolation. Text that is no date-time at all is the schema's
  business (a lenient station's is read by the handler as the time it was received).

The schema is compiled once into a :class:`PayloadLimits` tree that keeps only the branches leading
to integer or date-time fields, so the check of a large MeterValues is a short walk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from csms.messages.datetimes import DateTimeOutOfRange, parse_datetime
from csms.messages.violations import MAX_DESCRIPTION, json_path
from csms.rpc.errors import CallErrorReply, ErrorCode

MAX_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_KEYWORD = "csms-limit"


@dataclass(slots=True)
class _Node:
    """The checks at one place of a payload: the value itself, then its children."""

    integer: bool = False
    date_time: bool = False
    properties: dict[str, _Node] = field(default_factory=dict)
    items: _Node | None = None

    @property
    def empty(self) -> bool:
        return not (self.integer or self.date_time or self.properties or self.items)


class PayloadLimits:
    """The integer and date-time fields of one schema, and the checks csms applies to them."""

    __slots__ = ("_root",)

    def __init__(self, schema: Mapping[str, Any]) -> None:
        definitions = schema.get("definitions", {})
        self._root = _compile(schema, definitions, {}, frozenset())

    def check(self, payload: Any, what: str) -> None:
        """Raise the CALLERROR for the first value of ``payload`` csms cannot hold.

        ``what`` names the payload in the description, e.g. "MeterValues request".

        Raises:
            CallErrorReply: PropertyConstraintViolation (TypeConstraintViolation for a non-number
                in an integer field of a lenient station's message).
        """
        if self._root is None:
            return
        stack: list[tuple[_Node, Any, tuple[str | int, ...]]] = [(self._root, payload, ())]
        while stack:
            node, value, path = stack.pop()
            if node.integer:
                _check_integer(value, path, what)
            if node.date_time and isinstance(value, str):
                _check_date_time(value, path, what)
            if node.properties and isinstance(value, dict):
                for key, child in node.properties.items():
                    if key in value:
                        stack.append((child, value[key], (*path, key)))
            if node.items is not None and isinstance(value, list):
                stack.extend((node.items, item, (*path, i)) for i, item in enumerate(value))


def check_depth(payload: Any, what: str, limit: int = MAX_DEPTH) -> None:
    """Refuse a payload nested deeper than ``limit`` (the payload object is level 1).

    Iterative, so a hostile depth costs one pass and no recursion.

    Raises:
        CallErrorReply: FormatViolation (spelled FormationViolation for 1.6).
    """
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            raise CallErrorReply(
                ErrorCode.FORMAT_VIOLATION,
                f"{what}: nested deeper than {limit} levels",
                {"path": "$", "keyword": _KEYWORD},
            )
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values() if _container(child))
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value if _container(child))


def _container(value: Any) -> bool:
    return isinstance(value, dict | list)


def _check_integer(value: Any, path: tuple[str | int, ...], what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refusal(ErrorCode.TYPE_CONSTRAINT_VIOLATION, what, path, "must be an integer")
    if not INT64_MIN <= value <= INT64_MAX:
        raise _refusal(
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            what,
            path,
            f"outside the integer range csms stores, {INT64_MIN} .. {INT64_MAX}",
        )


def _check_date_time(value: str, path: tuple[str | int, ...], what: str) -> None:
    try:
        parse_datetime(value)
    except DateTimeOutOfRange:
        raise _refusal(
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            what,
            path,
            "a date-time outside the range csms stores, years 1-9999 in UTC",
        ) from None
    except ValueError:
        return  # not a date-time: the schema's business


def _refusal(
    code: ErrorCode, what: str, path: tuple[str | int, ...], problem: str
) -> CallErrorReply:
    where = json_path(list(path))
    description = f"{what} {where}: {problem}"[:MAX_DESCRIPTION]
    return CallErrorReply(code, description, {"path": where, "keyword": _KEYWORD})


def _compile(
    schema: Mapping[str, Any],
    definitions: Mapping[str, Any],
    memo: dict[str, _Node | None],
    resolving: frozenset[str],
) -> _Node | None:
    """Keep the parts of ``schema`` that lead to integer or date-time fields; None if none do."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in memo:
            return memo[name]
        if name in resolving:  # a recursive definition: its fields are checked at the outer level
            return None
        target = definitions.get(name)
        node = (
            None
            if not isinstance(target, Mapping)
            else _compile(target, definitions, memo, resolving | {name})
        )
        memo[name] = node
        return node
    types = schema.get("type")
    node = _Node(
        integer=types == "integer",
        date_time=schema.get("format") == "date-time",
    )
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for key, child in properties.items():
            compiled = _compile(child, definitions, memo, resolving)
            if compiled is not None:
                node.properties[key] = compiled
    items = schema.get("items")
    if isinstance(items, Mapping):
        node.items = _compile(items, definitions, memo, resolving)
    return None if node.empty else node
