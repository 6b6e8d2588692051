"""JSON Schemas of the OCPP 1.5 messages, derived in code from the XML Schema of the 1.5 WSDLs.

OCPP 1.5 over OCPP-J ("ocpp1.5", unofficial but deployed) sends the 1.5 messages as JSON with the
OCPP-J framing of 1.6 (OCPP-J 1.6 §4). There are no official 1.5 JSON schemas, so the types come
from the official WSDLs (``ocpp_centralsystemservice_1.5_final.wsdl`` and
``ocpp_chargepointservice_1.5_final.wsdl``, e-laad, shipped unmodified in ``csms/soap/wsdl/`` and
read from there, never copied): each operation's request and response element is turned into a
JSON Schema (draft-06) the first time it is needed, compiled once and kept.

The XML Schema → JSON mapping is the one of OCPP-J 1.6 (whose schemas were generated from the 1.6
WSDL the same way), spelled out because 1.5 has one construct 1.6J does not:

* an element is a property of the same name; ``minOccurs="0"`` makes it optional, ``maxOccurs``
  above 1 (or ``unbounded``) makes it an array (``minItems`` = ``minOccurs`` when that is above 0);
* a complex type with a sequence is an object without other properties (``additionalProperties:
  false``, as the 1.6 schemas);
* ``s:string``/``s:anyURI`` → string, ``maxLength`` kept; enumerations → ``enum``; ``s:int`` →
  integer in the 32-bit range of xs:int; ``s:boolean`` → boolean; ``s:dateTime`` → string of
  format ``date-time``; ``s:decimal`` → number;
* a complex type with simple content and attributes (the 1.5 MeterValue ``value``: text plus
  context, format, measurand, location, unit) is an object whose text is the property ``value``
  and whose attributes are properties of their own name: the JAXB/Jackson binding 1.5J
  implementations use (``{"value": "1234", "unit": "Wh"}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, NamedTuple

import jsonschema_rs
from lxml import etree

from csms.messages.catalog import Direction
from csms.messages.limits import PayloadLimits, check_depth
from csms.messages.schemas import SchemaKind, compile_schema
from csms.messages.violations import to_call_error
from csms.rpc.errors import CallErrorReply, ErrorCode

# The shipped, unmodified 1.5 WSDLs (csms/soap/wsdl/README.md says where they come from).
CENTRAL_SYSTEM_WSDL = "ocpp_centralsystemservice_1.5_final.wsdl"
CHARGE_POINT_WSDL = "ocpp_chargepointservice_1.5_final.wsdl"

_WSDL = "http://schemas.xmlsoap.org/wsdl/"
_XSD = "http://www.w3.org/2001/XMLSchema"
_DRAFT = "http://json-schema.org/draft-06/schema#"
_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_BUILTIN: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "anyURI": {"type": "string"},
    "int": _INT32,
    "boolean": {"type": "boolean"},
    "dateTime": {"type": "string", "format": "date-time"},
    "decimal": {"type": "number"},
}
_MAX_ECHOED_ACTION = 64

Payload = dict[str, Any]


def wsdl_text(name: str) -> bytes:
    """One shipped WSDL file, as bytes (read from the installed package, offline)."""
    return (resources.files("csms") / "soap" / "wsdl" / name).read_bytes()


@dataclass(frozen=True, slots=True)
class Message:
    """One 1.5 operation: its name (the OCPP-J action) and its JSON Schemas."""

    action: str
    direction: Direction
    request: dict[str, Any]
    response: dict[str, Any]


class _Compiled(NamedTuple):
    validator: jsonschema_rs.Validator
    limits: PayloadLimits


class Ocpp15Schemas:
    """Every OCPP 1.5 message and its JSON Schema; validation with the OCPP-J error codes.

    Build one per process and share it (nothing is mutated after a schema is compiled). Parsing
    both WSDLs takes a few milliseconds; each schema is compiled on first use.
    """

    def __init__(self, *, accept_naive_datetime: bool = False) -> None:
        self._accept_naive_datetime = accept_naive_datetime
        central = _Wsdl(wsdl_text(CENTRAL_SYSTEM_WSDL))
        charge_point = _Wsdl(wsdl_text(CHARGE_POINT_WSDL))
        self.enumerations: Mapping[str, frozenset[str]] = {
            **charge_point.enumerations(),
            **central.enumerations(),
        }
        messages: dict[str, Message] = {}
        for wsdl, direction in (
            (central, Direction.CS_TO_CSMS),
            (charge_point, Direction.CSMS_TO_CS),
        ):
            for action, (request, response) in wsdl.operations().items():
                # DataTransfer is in both services.
                sender = Direction.BOTH if action in messages else direction
                messages[action] = Message(
                    action, sender, wsdl.element_schema(request), wsdl.element_schema(response)
                )
        self.messages: Mapping[str, Message] = dict(sorted(messages.items()))
        self._compiled: dict[tuple[str, SchemaKind], _Compiled] = {}

    def knows(self, action: str) -> bool:
        """True if ``action`` is an OCPP 1.5 operation (case-sensitive)."""
        return action in self.messages

    def direction(self, action: str) -> Direction | None:
        """Who sends ``action``'s request in 1.5; None for an unknown action."""
        message = self.messages.get(action)
        return None if message is None else message.direction

    def schema(self, action: str, kind: SchemaKind) -> dict[str, Any]:
        """The JSON Schema of ``action``'s request or response.

        Raises:
            CallErrorReply: NotImplemented for an action 1.5 does not have.
        """
        message = self.messages.get(action)
        if message is None:
            raise CallErrorReply(
                ErrorCode.NOT_IMPLEMENTED,
                f"unknown action {action[:_MAX_ECHOED_ACTION]!r} in OCPP 1.5",
            )
        return message.request if kind is SchemaKind.REQUEST else message.response

    def validate(self, action: str, kind: SchemaKind, payload: Payload) -> None:
        """Check a 1.5 payload: depth, what csms can hold, then the schema.

        Raises:
            CallErrorReply: NotImplemented for an unknown action, else the violation's code
                (FormationViolation, OccurenceConstraintViolation, TypeConstraintViolation,
                PropertyConstraintViolation; :mod:`csms.messages.violations`).
        """
        what = f"{action} {kind.value}"
        check_depth(payload, what)
        compiled = self._compiled.get((action, kind)) or self._compile(action, kind)
        compiled.limits.check(payload, what)
        try:
            compiled.validator.validate(payload)
        except jsonschema_rs.ValidationError as exc:
            raise to_call_error(exc, what) from None

    def _compile(self, action: str, kind: SchemaKind) -> _Compiled:
        schema = self.schema(action, kind)
        compiled = _Compiled(
            compile_schema(schema, accept_naive_datetime=self._accept_naive_datetime),
            PayloadLimits(schema),
        )
        self._compiled[(action, kind)] = compiled
        return compiled


class _Wsdl:
    """The operations and XML Schema types of one WSDL file."""

    def __init__(self, data: bytes) -> None:
        # The file is ours (shipped), but parse it as carefully as anything else: no DTD, no
        # entities, no network.
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        self._tree = etree.fromstring(data, parser)
        schema = self._tree.find(f"{{{_WSDL}}}types/{{{_XSD}}}schema")
        if schema is None:  # pragma: no cover - the shipped files have one
            raise RuntimeError("a 1.5 WSDL without an embedded XML Schema")
        self._types: dict[str, etree._Element] = {}
        self._elements: dict[str, etree._Element] = {}
        for node in schema:
            name = node.get("name") if isinstance(node.tag, str) else None
            if name is None:
                continue
            if node.tag == f"{{{_XSD}}}element":
                self._elements[name] = node
            elif node.tag in (f"{{{_XSD}}}complexType", f"{{{_XSD}}}simpleType"):
                self._types[name] = node

    def operations(self) -> dict[str, tuple[str, str]]:
        """Operation name → (request element, response element), from portType and messages."""
        parts: dict[str, str] = {}
        for message in self._tree.iterfind(f"{{{_WSDL}}}message"):
            part = message.find(f"{{{_WSDL}}}part")
            if part is not None and part.get("element"):
                parts[str(message.get("name"))] = str(part.get("element")).partition(":")[2]
        found: dict[str, tuple[str, str]] = {}
        for op in self._tree.iterfind(f"{{{_WSDL}}}portType/{{{_WSDL}}}operation"):
            names = []
            for kind in ("input", "output"):
                node = op.find(f"{{{_WSDL}}}{kind}")
                message = "" if node is None else str(node.get("message")).partition(":")[2]
                names.append(parts.get(message, ""))
            if all(names):
                found[str(op.get("name"))] = (names[0], names[1])
        return found

    def enumerations(self) -> dict[str, frozenset[str]]:
        """Each named simple type's enumeration values (e.g. ``Measurand``)."""
        found: dict[str, frozenset[str]] = {}
        for name, node in self._types.items():
            values = [e.get("value") for e in node.iter(f"{{{_XSD}}}enumeration")]
            if values:
                found[name] = frozenset(str(v) for v in values)
        return found

    def element_schema(self, element: str) -> dict[str, Any]:
        """The JSON Schema (a whole document) of a top-level element."""
        node = self._elements[element]
        schema = self._type_of(node)
        return {"$schema": _DRAFT, "title": element, **schema}

    def _type_of(self, element: etree._Element) -> dict[str, Any]:
        """The schema of an element's type: named (``type=``) or declared inline."""
        type_name = element.get("type")
        if type_name is not None:
            return self._named(element, type_name)
        for child in element:
            if child.tag == f"{{{_XSD}}}complexType":
                return self._complex(child)
            if child.tag == f"{{{_XSD}}}simpleType":
                return self._simple(child)
        return {}  # pragma: no cover - every 1.5 element has a type

    def _named(self, context: etree._Element, qname: str) -> dict[str, Any]:
        prefix, _, local = qname.rpartition(":")
        namespace = context.nsmap.get(prefix or None)
        if namespace == _XSD:
            return dict(_BUILTIN[local])
        node = self._types[local]
        if node.tag == f"{{{_XSD}}}complexType":
            return self._complex(node)
        return self._simple(node)

    def _simple(self, node: etree._Element) -> dict[str, Any]:
        restriction = node.find(f"{{{_XSD}}}restriction")
        if restriction is None:  # pragma: no cover - 1.5 has restrictions only
            return {"type": "string"}
        schema = self._named(restriction, str(restriction.get("base")))
        values = [str(e.get("value")) for e in restriction.iter(f"{{{_XSD}}}enumeration")]
        if values:
            schema["enum"] = values
        length = restriction.find(f"{{{_XSD}}}maxLength")
        if length is not None:
            schema["maxLength"] = int(str(length.get("value")))
        return schema

    def _complex(self, node: etree._Element) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        content = node.find(f"{{{_XSD}}}simpleContent/{{{_XSD}}}extension")
        if content is not None:  # text with attributes: the text is "value"
            properties["value"] = self._named(content, str(content.get("base")))
            required.append("value")
            for attribute in content.iter(f"{{{_XSD}}}attribute"):
                name = str(attribute.get("name"))
                properties[name] = self._named(attribute, str(attribute.get("type")))
                if attribute.get("use") == "required":
                    required.append(name)
        for child in node.iterfind(f"{{{_XSD}}}sequence/{{{_XSD}}}element"):
            name = str(child.get("name"))
            item = self._type_of(child)
            low = int(child.get("minOccurs", "1"))
            high = child.get("maxOccurs", "1")
            if high == "unbounded" or int(high) > 1:
                item = {"type": "array", "items": item}
                if low > 0:
                    item["minItems"] = low
                if high != "unbounded":
                    item["maxItems"] = int(high)
            properties[name] = item
            if low > 0:
                required.append(name)
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": properties,
        }
        if required:
            schema["required"] = required
        return schema
