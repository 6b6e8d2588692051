"""Hypothesis strategies for OCPP payloads, drawn from the official JSON schemas.

A small generator for the subset of JSON Schema the OCA schemas use (``type``, ``properties``,
``required``, ``items``, ``enum``, ``maxLength``, ``minItems``/``maxItems``, ``minimum``/``maximum``,
``format: date-time``, ``$ref`` into ``definitions``). Values are mostly schema-valid, mixed
with the edge values that were answered InternalError forever (issue 7 finding 7): date-times the
schemas accept but Python's ``datetime`` does not (and one that is no date-time, for lenient
stations), integers at the 32- and 64-bit limits and beyond, and float overflow. A JSON integer
beyond 64 bits reaches csms as a float (orjson), so it is drawn as one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

EDGE_DATE_TIMES = (
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+01:00",
    "2016-12-31T23:59:60Z",
    "2024-06-01t12:00:00z",
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00Z",
    "2024-06-01T12:00:00.123456789+14:00",
    "yesterday at noon",  # no date-time: refused by the schema, handled for a lenient station
)
EDGE_INTEGERS: tuple[int | float, ...] = (
    0,
    1,
    -1,
    309,
    -309,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**63 - 1,
    2**63,
    -(2**63),
    2**64 - 1,
    float(2**64),
    float(-(2**64)),
)
EDGE_NUMBERS: tuple[int | float, ...] = (0.0, -0.0, 1.5, 1e308, -1e308, 5e-324, 2**63, 1e19)
_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


def payloads(schema: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    """Payloads for ``schema`` (a whole schema file, with its ``definitions``)."""
    return _strategy(schema, schema.get("definitions", {}), depth=0)


def _strategy(
    node: Mapping[str, Any], defs: Mapping[str, Any], depth: int
) -> st.SearchStrategy[Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return st.deferred(lambda: _strategy(defs[ref.rsplit("/", 1)[-1]], defs, depth + 1))
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kind = node.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in node:
        return _object(node, defs, depth)
    if kind == "array":
        items = node.get("items", {})
        low = node.get("minItems", 0)
        high = max(low, min(node.get("maxItems", 3), 3))
        return st.lists(_strategy(items, defs, depth + 1), min_size=low, max_size=high)
    if kind == "string":
        if node.get("format") == "date-time":
            return st.one_of(st.sampled_from(EDGE_DATE_TIMES), st.just("2024-06-01T12:00:00Z"))
        high = min(node.get("maxLength", 12), 12)
        return _TEXT.map(lambda s: s[:high])
    if kind == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        valid = st.integers(
            min_value=int(low) if low is not None else -1000,
            max_value=int(high) if high is not None else 1000,
        )
        return st.one_of(valid, st.sampled_from(EDGE_INTEGERS))
    if kind == "number":
        valid = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
        return st.one_of(valid, st.sampled_from(EDGE_NUMBERS))
    if kind == "boolean":
        return st.booleans()
    return st.just("x")  # anyType (e.g. DataTransfer data): any JSON will do


def _object(node: Mapping[str, Any], defs: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    properties: Mapping[str, Any] = node.get("properties", {})
    required = set(node.get("required", ()))
    if depth > 8:  # keep recursive structures finite: required fields only
        properties = {k: v for k, v in properties.items() if k in required}
    fixed = {k: _strategy(v, defs, depth + 1) for k, v in properties.items() if k in required}
    optional = {
        k: _strategy(v, defs, depth + 1)
        for k, v in properties.items()
        if k not in required and k != "customData"
    }
    return st.fixed_dictionaries(fixed, optional=optional)
