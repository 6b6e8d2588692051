"""Minimal schema-valid request payloads, generated from the official schemas.

Used to drive every CSMS-initiated action of every version through the simulated station: the
generator fills required properties only, picks the first enum value, the lowest allowed number and
a short string (a PEM-looking one for certificate fields), and one item for required arrays.
"""

from __future__ import annotations

from typing import Any

import orjson

from csms.messages.catalog import action_info
from csms.messages.schemas import SchemaKind, schema_directory, schema_file_name
from csms.rpc.versions import OcppVersion

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
_DATE = "2030-01-01T00:00:00Z"


def load_schema(version: OcppVersion, action: str, kind: SchemaKind) -> dict[str, Any]:
    info = action_info(version, action)
    assert info is not None
    name = schema_file_name(version, action, kind, unconfirmed=info.unconfirmed)
    data = (schema_directory(version) / name).read_bytes().decode("utf-8-sig")
    schema: dict[str, Any] = orjson.loads(data)
    return schema


def minimal_request(version: OcppVersion, action: str) -> dict[str, Any]:
    schema = load_schema(version, action, SchemaKind.REQUEST)
    value = _instance(schema, schema, "")
    assert isinstance(value, dict)
    return value


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].split("/")[-1]
        node = root["definitions"][name]
    return node


def _instance(root: dict[str, Any], node: dict[str, Any], name: str) -> Any:
    node = _resolve(root, node)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in node:
        return {
            key: _instance(root, sub, key)
            for key, sub in node.get("properties", {}).items()
            if key in node.get("required", ())
        }
    if kind == "array":
        count = max(1, int(node.get("minItems", 1)))
        return [_instance(root, node.get("items", {}), name) for _ in range(count)]
    if kind == "integer":
        return int(node.get("minimum", 1)) if node.get("minimum", 1) > 0 else 1
    if kind == "number":
        return float(node.get("minimum", 1.0)) if node.get("minimum", 1) > 0 else 1.0
    if kind == "boolean":
        return True
    if kind == "string":
        if node.get("format") == "date-time":
            return _DATE
        if node.get("format") == "uri":
            return "ftp://example.com/upload"
        lowered = name.lower()
        if "certificate" in lowered and node.get("maxLength", 10_000) >= len(PEM):
            return PEM
        text = "x" * max(1, int(node.get("minLength", 1)))
        return text[: node.get("maxLength", len(text))]
    return {}
