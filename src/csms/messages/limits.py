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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

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

    __slots__ = ("_compiled",)

    def __init__(self, schema: Mapping[str, Any]) -> None:
        root = _compile(schema, schema.get("definitions", {}), {}, frozenset())
        self._compiled = None if root is None else (root, _predicate(root))

    def check(self, payload: Any, what: str) -> None:
        """Raise the CALLERROR for the first value of ``payload`` csms cannot hold.

        ``what`` names the payload in the description, e.g. "MeterValues request". The check that
        finds nothing wrong (nearly always) is a compiled predicate that builds no paths; only a
        refusal walks again to say where.

        Raises:
            CallErrorReply: PropertyConstraintViolation (TypeConstraintViolation for a non-number
                in an integer field of a lenient station's message).
        """
        if self._compiled is None:
            return
        root, fits = self._compiled
        if not fits(payload):
            _locate(root, payload, what)


def _locate(root: _Node, payload: Any, what: str) -> None:
    """Walk again, with paths, and raise the refusal of the first value csms cannot hold."""
    stack: list[tuple[_Node, Any, tuple[str | int, ...]]] = [(root, payload, ())]
    while stack:
        node, value, path = stack.pop()
        if node.integer and not _integer_fits(value):
            if isinstance(value, bool) or not isinstance(value, int | float):
                # Worded as the schema's own type violation, which it is.
                raise _refusal(
                    ErrorCode.TYPE_CONSTRAINT_VIOLATION,
                    what,
                    path,
                    "must be of type integer",
                    keyword="type",
                )
            raise _refusal(
                ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                what,
                path,
                f"outside the integer range csms stores, {INT64_MIN} .. {INT64_MAX}",
            )
        if node.date_time and type(value) is str and not _date_time_fits(value):
            raise _refusal(
                ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                what,
                path,
                "a date-time outside the range csms stores, years 1-9999 in UTC",
            )
        if node.properties and type(value) is dict:
            for key, child in node.properties.items():
                if key in value:
                    stack.append((child, value[key], (*path, key)))
        if node.items is not None and type(value) is list:
            stack.extend((node.items, item, (*path, i)) for i, item in enumerate(value))


def check_depth(payload: Any, what: str, limit: int = MAX_DEPTH) -> None:
    """Refuse a payload nested deeper than ``limit`` (the payload object is level 1).

    A payload with fewer containers than ``limit`` cannot be too deep: counted on its orjson
    text (C speed; the walk below cost 16 µs of a TransactionEvent's ~380 in the benchmark,
    counting costs ~3). Otherwise level by level, so a hostile depth costs one pass and no
    recursion.

    Raises:
        CallErrorReply: FormatViolation (spelled FormationViolation for 1.6).
    """
    if type(payload) is not dict and type(payload) is not list:
        return
    try:
        text = orjson.dumps(payload)
    except TypeError:  # orjson.JSONEncodeError too: a value JSON lacks, or orjson's own depth cap
        pass
    else:
        if text.count(b"{") + text.count(b"[") <= limit:
            return  # fewer containers than levels allowed (a "{" in a string only adds one)
    level = [payload]
    depth = 1
    while True:
        below = [
            child
            for value in level
            for child in (value.values() if type(value) is dict else value)
            if type(child) is dict or type(child) is list
        ]
        if not below:
            return
        depth += 1
        if depth > limit:
            raise CallErrorReply(
                ErrorCode.FORMAT_VIOLATION,
                f"{what}: nested deeper than {limit} levels",
                {"path": "$", "keyword": _KEYWORD},
            )
        level = below


def _predicate(node: _Node) -> Callable[[Any], bool]:
    """Compile ``node`` into a function telling whether a value fits (True: nothing to refuse).

    Nested calls follow the schema, not the payload, so they are as deep as the schema (< 16).
    """
    checks: list[Callable[[Any], bool]] = []
    if node.integer:
        checks.append(_integer_fits)
    if node.date_time:
        checks.append(_date_time_value_fits)
    if node.properties:
        properties = [(key, _predicate(child)) for key, child in node.properties.items()]

        def object_fits(value: Any) -> bool:
            if type(value) is dict:
                for key, fits in properties:
                    if key in value and not fits(value[key]):
                        return False
            return True

        checks.append(object_fits)
    if node.items is not None:
        item_fits = _predicate(node.items)

        def array_fits(value: Any) -> bool:
            if type(value) is list:
                for item in value:
                    if not item_fits(item):
                        return False
            return True

        checks.append(array_fits)
    if len(checks) == 1:
        return checks[0]

    def all_fit(value: Any) -> bool:
        return all(fits(value) for fits in checks)

    return all_fit


def _integer_fits(value: Any) -> bool:
    if type(value) is int:
        return INT64_MIN <= value <= INT64_MAX
    return type(value) is float and INT64_MIN <= value <= INT64_MAX


def _date_time_value_fits(value: Any) -> bool:
    return type(value) is not str or _date_time_fits(value)


def _date_time_fits(value: str) -> bool:
    try:
        parse_datetime(value)
    except DateTimeOutOfRange:
        return False
    except ValueError:
        return True  # not a date-time: the schema's business
    return True


def _refusal(
    code: ErrorCode,
    what: str,
    path: tuple[str | int, ...],
    problem: str,
    *,
    keyword: str = _KEYWORD,
) -> CallErrorReply:
    where = json_path(list(path))
    description = f"{what} {where}: {problem}"[:MAX_DESCRIPTION]
    return CallErrorReply(code, description, {"path": where, "keyword": keyword})


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
