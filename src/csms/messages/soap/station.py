"""The station's side of OCPP over SOAP: what a charge point writes and reads (no I/O).

A SOAP charge point is a client of the CentralSystemService (it POSTs its requests, the answer
comes back on the same HTTP exchange) and the server of its own ChargePointService (the CSMS POSTs
to the WS-Addressing From address the station announced). :class:`StationCodec` does both halves
for one version, speaking the shared 1.6 model on the inside, like csms's gateway does:

* 1.6 payloads are the OCPP-J ones (the WSDL and the JSON schemas name the same fields);
* 1.5 payloads are mapped with :mod:`csms.messages.ocpp15` (the mapping the gateway and the
  ``ocpp1.5`` subprotocol use) and checked against the 1.5 schemas derived from the WSDL; a 1.5
  meter sample, ``{"value": "12", "unit": "Wh"}`` in the 1.5J spelling, becomes the XML Schema
  encoder's ``{"$": "12", "@unit": "Wh"}`` (an element with text and attributes);
* every body is encoded and decoded with the XML Schema of the shipped, unmodified WSDL
  (:class:`~csms.messages.soap.service.ServiceDescription`).

A SOAP Fault answer becomes the OCPP-J error it stands for, as csms's gateway spells it: the
reason ``"<OCPP error code>: <description>"`` of a CALLERROR, else ``InternalError`` for a
Receiver fault and ``FormationViolation`` for a Sender one (SOAP 1.2 Part 1 §5.4).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from lxml import etree

from csms.messages.ocpp15 import Ocpp15Json
from csms.messages.ocpp15.mapping import to_16
from csms.messages.schemas import SchemaKind
from csms.messages.soap.envelope import (
    SOAP12,
    SoapRequest,
    fault_envelope,
    read_request,
    request_envelope,
    response_envelope,
)
from csms.messages.soap.errors import SoapFault, sender
from csms.messages.soap.service import Operation, ServiceDescription
from csms.messages.soap.xml import parse_message
from csms.rpc.errors import CallErrorReply, ErrorCode
from csms.rpc.versions import OcppVersion

Payload = dict[str, Any]

VERSIONS = ("1.5", "1.6")
# The wire names of the OCPP-J error codes a fault reason may start with.
_OCPP_CODES = frozenset(code.wire(OcppVersion.V16) for code in ErrorCode)
_SAMPLE_ACTIONS = ("MeterValues", "StopTransaction")


@dataclass(frozen=True, slots=True)
class SoapAnswer:
    """The CSMS's answer to one of the station's requests: a payload of the shared 1.6 model, or
    the OCPP-J ``error`` code a fault stands for."""

    payload: Payload | None = None
    error: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class SoapCall:
    """A CSMS call read from the ChargePointService: its MessageID and the 1.6 payload."""

    message_id: str
    action: str
    payload: Payload
    request: SoapRequest


class StationCodec:
    """Both services of one OCPP version, from the station's side.

    Stateless once built; building compiles two WSDL schemas, so share one per version.
    """

    def __init__(self, version: str, *, ocpp15: Ocpp15Json | None = None) -> None:
        if version not in VERSIONS:
            raise ValueError(f"OCPP over SOAP is 1.5 or 1.6, not {version!r}")
        self.version = version
        self.central = ServiceDescription(version)
        self.charge_point = ServiceDescription(version, charge_point=True)
        self._ocpp15 = (ocpp15 or Ocpp15Json()) if version == "1.5" else None

    # ------------------------------------------------------------------ CentralSystemService

    def operation(self, action: str) -> Operation | None:
        """The CentralSystemService operation of ``action``, None if this version has none."""
        return self.central.operations.get(action)

    def request(
        self,
        action: str,
        payload: Payload,
        *,
        identity: str,
        to: str,
        from_address: str | None,
        message_id: str | None = None,
    ) -> bytes:
        """The SOAP request of ``action`` for a 1.6 payload (WS-Addressing MessageID, Action,
        To and From; ``chargeBoxIdentity``).

        Raises:
            CallErrorReply: NotImplemented (no such operation in this version's WSDL),
                NotSupported (1.5 cannot say it) or the 1.5 schema violation's code.
            SoapFault: Receiver, the body does not fit the WSDL's schema (a bug of the caller).
        """
        operation = self.operation(action)
        if operation is None:
            raise CallErrorReply(
                ErrorCode.NOT_IMPLEMENTED,
                f"{action[:64]!r} is not an OCPP {self.version} CentralSystemService operation",
            )
        body = self._outbound(action, SchemaKind.REQUEST, payload)
        if self._ocpp15 is not None and action in _SAMPLE_ACTIONS:
            body = _xml_samples(body)
        element = self.central.encode(operation.request, body)
        return request_envelope(
            element,
            identity=identity,
            namespace=self.central.namespace,
            action=operation.action,
            to=to,
            message_id=message_id or f"urn:uuid:{uuid.uuid4()}",
            from_address=from_address,
        )

    def read_answer(self, action: str, data: bytes) -> SoapAnswer:
        """The CSMS's answer to ``action``: its 1.6 payload, or the error a fault stands for.

        An answer that is not SOAP, not the operation's response or not valid by the schema is
        a ``FormationViolation`` (the CSMS's fault, reported like a CALLERROR).
        """
        try:
            answer = read_request(parse_message(data))
            if answer.body.tag == f"{{{SOAP12}}}Fault":
                return _fault_answer(answer.body)
            operation = self.operation(action)
            expected = None if operation is None else operation.response
            if answer.body.tag != f"{{{self.central.namespace}}}{expected}":
                raise sender(f"the answer is not a {expected}")
            body = self.central.decode(answer.body)
        except SoapFault as exc:
            return SoapAnswer(error="FormationViolation", description=exc.reason)
        if self._ocpp15 is None:
            return SoapAnswer(payload=body)
        try:
            return SoapAnswer(payload=self._ocpp15.inbound(action, SchemaKind.RESPONSE, body))
        except CallErrorReply as exc:
            return SoapAnswer(error=exc.code.wire(OcppVersion.V16), description=exc.description)

    # ------------------------------------------------------------------ ChargePointService

    def read_call(self, data: bytes, *, identity: str) -> SoapCall:
        """A CSMS request to this station's ChargePointService, as a 1.6 payload.

        Raises:
            SoapFault: malformed XML or envelope, not this version's ChargePointService, an
                Action that does not match the body, another station's ``chargeBoxIdentity``,
                or a schema violation (Sender, naming the rule).
        """
        request = read_request(parse_message(data))
        namespace, _, name = request.body.tag[1:].partition("}")
        if namespace != self.charge_point.namespace:
            raise sender(
                f"unknown operation: namespace {namespace[:100]!r} is not the OCPP "
                f"{self.version} ChargePointService ({self.charge_point.namespace})"
            )
        operation = self.charge_point.request_operation(name, request.action, "ChargePointService")
        if request.charge_box_identity != identity:
            raise sender("chargeBoxIdentity does not name this charge point")
        body = self.charge_point.decode(request.body)
        if self._ocpp15 is not None:
            # Validated by the XML Schema already (no ChargePointService request has samples).
            body = to_16(operation.name, SchemaKind.REQUEST, body)
        return SoapCall(
            message_id=request.message_id or f"urn:uuid:{uuid.uuid4()}",
            action=operation.name,
            payload=body,
            request=request,
        )

    def answer(self, action: str, payload: Payload, *, relates_to: str) -> bytes:
        """The ChargePointService response to ``action`` for a 1.6 answer payload.

        Raises:
            CallErrorReply: 1.5 cannot say it, or the 1.5 schema violation's code.
            SoapFault: Receiver, the answer does not fit the schema (a bug of the caller).
        """
        operation = self.charge_point.operations[action]
        body = self._outbound(action, SchemaKind.RESPONSE, payload)
        element = self.charge_point.encode(operation.response, body)
        return response_envelope(element, action=operation.response_action, relates_to=relates_to)

    @staticmethod
    def error(code: ErrorCode, description: str, *, relates_to: str | None) -> tuple[int, bytes]:
        """The HTTP status and SOAP Fault of a CALLERROR: reason ``"<code>: <description>"``,
        Receiver for InternalError (500), else Sender (400), as csms's gateway answers."""
        receiver = code is ErrorCode.INTERNAL_ERROR
        reason = f"{code.wire(OcppVersion.V16)}: {description}"
        envelope = fault_envelope(
            "Receiver" if receiver else "Sender", reason, relates_to=relates_to
        )
        return (500 if receiver else 400), envelope

    # ------------------------------------------------------------------ mapping

    def _outbound(self, action: str, kind: SchemaKind, payload: Payload) -> Payload:
        if self._ocpp15 is None:
            return payload
        return self._ocpp15.outbound(action, kind, payload)


def _xml_samples(body: Payload) -> Payload:
    """1.5 MeterValues/StopTransaction samples in the XML Schema encoder's spelling."""
    out = dict(body)
    if "values" in out:
        out["values"] = [_xml_value(v) for v in out["values"]]
    if "transactionData" in out:
        out["transactionData"] = [
            {**d, "values": [_xml_value(v) for v in d.get("values", [])]}
            for d in out["transactionData"]
        ]
    return out


def _xml_value(value: Payload) -> Payload:
    samples = []
    for sample in value.get("value", []):
        xml: Payload = {"$": str(sample["value"])}
        xml.update((f"@{k}", v) for k, v in sample.items() if k != "value")
        samples.append(xml)
    return {**value, "value": samples}


def _fault_answer(fault: etree._Element) -> SoapAnswer:
    """The OCPP-J error of a SOAP Fault (see the module docstring)."""
    code = (fault.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or "").strip()
    reason = (fault.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") or "").strip()[:512]
    named, colon, rest = reason.partition(":")
    if colon and named in _OCPP_CODES:
        return SoapAnswer(error=named, description=rest.strip())
    receiver = code.rpartition(":")[2] == "Receiver"
    return SoapAnswer(
        error="InternalError" if receiver else "FormationViolation",
        description=f"{code or 'SOAP'} fault: {reason}",
    )
