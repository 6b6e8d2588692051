"""A CentralSystemService description: its operations and its XML Schema, from the shipped WSDL.

Pure (no I/O beyond reading the package's files): used by the CSMS's SOAP gateway
(:mod:`csms.soap`) and by the simulated SOAP stations (:mod:`csms.simulator.soaplink`).
The WSDL files in ``csms/soap/wsdl/`` are unmodified copies of the official ones (see the README
there); the schema embedded in ``wsdl:types`` is compiled once per process with ``xmlschema`` and
validates every request body (and csms's own responses before they are sent). The operations and
their request/response elements are read from ``wsdl:portType`` and ``wsdl:message``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xmlschema
from elementpath.datatypes import AbstractDateTime
from lxml import etree

from csms.messages.soap.errors import SoapFault, sender
from csms.messages.soap.xml import hardened_parser

# The shipped, unmodified WSDLs live beside the SOAP gateway (csms/soap/wsdl/README.md).
WSDL_DIR = Path(__file__).parents[2] / "soap" / "wsdl"
_WSDL = "http://schemas.xmlsoap.org/wsdl/"
_XSD = "http://www.w3.org/2001/XMLSchema"

# OCPP protocol version → (namespace of CentralSystemService, its WSDL file): what csms serves.
CENTRAL_SYSTEM = {
    "1.6": ("urn://Ocpp/Cs/2015/10/", "OCPP_CentralSystemService_1.6.wsdl"),
    "1.5": ("urn://Ocpp/Cs/2012/06/", "ocpp_centralsystemservice_1.5_final.wsdl"),
}
# The same for ChargePointService: what csms calls on a station.
CHARGE_POINT = {
    "1.6": ("urn://Ocpp/Cp/2015/10/", "OCPP_ChargePointService_1.6.wsdl"),
    "1.5": ("urn://Ocpp/Cp/2012/06/", "ocpp_chargepointservice_1.5_final.wsdl"),
}

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Operation:
    """One WSDL operation: ``BootNotification`` ↔ ``bootNotificationRequest``/``…Response``."""

    name: str
    request: str  # local name of the request body element
    response: str  # local name of the response body element

    @property
    def action(self) -> str:
        """The WS-Addressing Action of the request (``wsaw:Action``), e.g. ``/Heartbeat``."""
        return "/" + self.name

    @property
    def response_action(self) -> str:
        """The WS-Addressing Action of the response, e.g. ``/HeartbeatResponse``."""
        return "/" + self.name + "Response"


class ServiceDescription:
    """One version's CentralSystemService (or, with ``charge_point``, ChargePointService):
    namespace, operations and compiled schema."""

    def __init__(self, version: str, *, charge_point: bool = False) -> None:
        namespace, filename = (CHARGE_POINT if charge_point else CENTRAL_SYSTEM)[version]
        self.version = version
        self.namespace = namespace
        tree = etree.fromstring((WSDL_DIR / filename).read_bytes(), hardened_parser())
        schema = tree.find(f"{{{_WSDL}}}types/{{{_XSD}}}schema")
        if schema is None:  # pragma: no cover - the shipped files have one
            raise RuntimeError(f"{filename} has no embedded XML Schema")
        self.schema = xmlschema.XMLSchema(etree.tostring(schema).decode())
        self.operations = _operations(tree)
        self._by_request = {op.request: op for op in self.operations.values()}

    def operation_for(self, element_name: str) -> Operation | None:
        """The operation whose request element is ``element_name`` (a local name)."""
        return self._by_request.get(element_name)

    def request_operation(self, element_name: str, action: str | None, service: str) -> Operation:
        """The operation of a request body, checked against its WS-Addressing Action (if any).

        Raises:
            SoapFault: Sender "unknown operation" (``service`` names this side in the reason).
        """
        operation = self._by_request.get(element_name)
        if operation is None:
            raise sender(f"unknown operation: {element_name[:100]!r} is not a {service} request")
        if action is not None and action != operation.action:
            raise sender(
                f"unknown operation: Action {action[:100]!r} does not match the body "
                f"({operation.action})"
            )
        return operation

    def decode(self, element: etree._Element) -> Payload:
        """Validate a body element (request or response) against the schema; return it as a dict.

        Date-times become ISO 8601 strings (UTC assumed when the station gave no offset), so the
        result reads like an OCPP-J payload.

        Raises:
            SoapFault: Sender, naming the violated rule and where.
        """
        # "lax" collects every violation instead of raising at the first; it also skips the
        # schema's own validity check, which "strict" repeats on every call (~1 ms; the schema was
        # checked once when it was compiled).
        outcome: Any = self.schema.decode(
            element, validation="lax", datetime_types=True, strip_namespaces=True
        )
        decoded, errors = outcome
        if errors:
            raise sender(f"schema violation: {_reason(errors[0])}")
        if decoded is None:  # an empty request element (heartbeatRequest)
            decoded = {}
        if not isinstance(decoded, dict):  # pragma: no cover - every request type is complex
            raise sender("schema violation: the body is not a request element")
        payload: Payload = _plain(decoded)
        return payload

    def encode(self, element_name: str, payload: Payload) -> etree._Element:
        """Build (and validate) the response element from a payload.

        Raises:
            SoapFault: Receiver: csms built a response the schema refuses (a bug; never sent).
        """
        element = self.schema.elements.get(element_name)
        if element is not None:  # the encoder wants a sequence's fields in declaration order
            payload = _ordered(element, payload)
        try:
            outcome: Any = self.schema.encode(
                payload,
                path=element_name,
                validation="lax",
                namespaces={"": self.namespace},
                etree_element_class=etree.Element,
            )
        except xmlschema.XMLSchemaEncodeError as exc:
            raise SoapFault("Receiver", "the CSMS failed to build a valid response") from exc
        result, errors = outcome
        if errors or not isinstance(result, etree._Element):
            raise SoapFault("Receiver", "the CSMS failed to build a valid response")
        return result


def wsdl_operations(version: str, *, charge_point: bool = False) -> dict[str, Operation]:
    """The operations of one version's shipped CentralSystemService (or ChargePointService) WSDL,
    without compiling its schema (the support matrix lists them)."""
    _, filename = (CHARGE_POINT if charge_point else CENTRAL_SYSTEM)[version]
    return _operations(etree.fromstring((WSDL_DIR / filename).read_bytes(), hardened_parser()))


def _operations(tree: etree._Element) -> dict[str, Operation]:
    elements: dict[str, str] = {}
    for message in tree.iterfind(f"{{{_WSDL}}}message"):
        part = message.find(f"{{{_WSDL}}}part")
        if part is not None and part.get("element"):
            elements[str(message.get("name"))] = str(part.get("element")).partition(":")[2]
    operations: dict[str, Operation] = {}
    for op in tree.iterfind(f"{{{_WSDL}}}portType/{{{_WSDL}}}operation"):
        name = str(op.get("name"))
        request = _message_element(op, "input", elements)
        response = _message_element(op, "output", elements)
        if request and response:
            operations[name] = Operation(name, request, response)
    return operations


def _message_element(op: etree._Element, kind: str, elements: dict[str, str]) -> str | None:
    node = op.find(f"{{{_WSDL}}}{kind}")
    if node is None:
        return None
    return elements.get(str(node.get("message")).partition(":")[2])


def _ordered(element: Any, value: Any) -> Any:
    """``value`` with the keys of each complex element in the order its type declares them
    (OCPP-J payloads have no order; an XML sequence has). Unknown keys go last, for the encoder
    to refuse."""
    if isinstance(value, list):
        return [_ordered(element, v) for v in value]
    content: Any = getattr(element.type, "content", None)
    if not isinstance(value, dict) or not hasattr(content, "iter_elements"):
        return value
    ordered: dict[str, Any] = {}
    for child in content.iter_elements():
        if child.local_name in value:
            ordered[child.local_name] = _ordered(child, value[child.local_name])
    ordered.update((k, v) for k, v in value.items() if k not in ordered)
    return ordered


def _plain(value: Any) -> Any:
    """xmlschema's decoded data as JSON-like values (no namespace keys, no Decimal, ISO times)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("@xmlns")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, AbstractDateTime):
        text = str(value)
        return text if value.tzinfo is not None else text + "Z"
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime):  # pragma: no cover - elementpath types above
        return value.isoformat()
    return value


def _reason(exc: xmlschema.XMLSchemaValidationError) -> str:
    """The violated rule and its path, bounded, without the offending value."""
    reason = (exc.reason or "invalid").splitlines()[0][:200]
    path = exc.path or "/"
    return f"{reason} at {path}"
