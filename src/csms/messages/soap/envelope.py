"""SOAP 1.2 envelopes with WS-Addressing: reading a station's request, writing the answer.

The OCPP SOAP binding (the WSDLs' ``soap12:binding`` with ``wsaw:UsingAddressing``): the body holds
one document-literal request element; the header holds ``chargeBoxIdentity`` (in the service's
namespace) and the WS-Addressing headers MessageID, Action, To and From (whose Address is the
station's ChargePointService endpoint, which may change from one message to the next). The answer
carries RelatesTo (the request's MessageID) and the response Action (WS-Addressing 1.0 Core §3).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from lxml import etree

from csms.messages.soap.errors import FaultCode, SoapFault, sender

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
WSA_2004 = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
_WSA_ANY = (WSA, WSA_2004)
ANONYMOUS = (WSA + "/anonymous", WSA_2004 + "/role/anonymous")
MAX_HEADER_TEXT = 512  # MessageID, Action, To, From and chargeBoxIdentity: longer is refused
CONTENT_TYPE = "application/soap+xml; charset=utf-8"


@dataclass(frozen=True, slots=True)
class SoapRequest:
    """What csms reads from a station's SOAP request."""

    body: etree._Element  # the request element
    charge_box_identity: str | None  # None: no chargeBoxIdentity in the body's namespace
    message_id: str | None
    action: str | None
    to: str | None
    from_address: str | None  # None when absent or anonymous


def read_request(root: etree._Element) -> SoapRequest:
    """Read a parsed SOAP 1.2 envelope.

    Raises:
        SoapFault: VersionMismatch for a SOAP 1.1 or other envelope; MustUnderstand for a header
            csms does not understand marked mustUnderstand; Sender for a missing or empty body.
    """
    if root.tag != f"{{{SOAP12}}}Envelope":
        if root.tag == f"{{{SOAP11}}}Envelope":
            raise SoapFault("VersionMismatch", "SOAP 1.1 is not supported: send SOAP 1.2")
        raise SoapFault("VersionMismatch", "the document is not a SOAP 1.2 envelope")
    header = root.find(f"{{{SOAP12}}}Header")
    body = root.find(f"{{{SOAP12}}}Body")
    if body is None:
        raise sender("the envelope has no Body")
    children = list(body)  # the parser drops comments and PIs
    if len(children) != 1:
        raise sender("the Body must hold exactly one request element")
    request = children[0]
    namespace = etree.QName(request).namespace
    fields: dict[str, str | None] = {}
    identity: str | None = None
    for h in () if header is None else header:  # the parser drops comments and PIs
        qname = etree.QName(h)
        if qname.namespace in _WSA_ANY and qname.localname in ("MessageID", "Action", "To"):
            fields[qname.localname] = _text(h, qname.localname)
        elif qname.namespace in _WSA_ANY and qname.localname in ("From", "ReplyTo"):
            address = h.find(f"{{{qname.namespace}}}Address")
            value = None if address is None else _text(address, qname.localname)
            if qname.localname == "From" or "From" not in fields:
                fields["From"] = None if value in ANONYMOUS else value
        elif qname.namespace == namespace and qname.localname == "chargeBoxIdentity":
            identity = _text(h, "chargeBoxIdentity")
        elif h.get(f"{{{SOAP12}}}mustUnderstand") in ("true", "1"):
            raise SoapFault("MustUnderstand", f"header {qname.localname} is not understood")
    return SoapRequest(
        body=request,
        charge_box_identity=identity or None,
        message_id=fields.get("MessageID"),
        action=fields.get("Action"),
        to=fields.get("To"),
        from_address=fields.get("From"),
    )


def _text(element: etree._Element, name: str) -> str:
    text = (element.text or "").strip()
    if len(text) > MAX_HEADER_TEXT:
        raise sender(f"header {name} is longer than {MAX_HEADER_TEXT} characters")
    return text


def response_envelope(payload: etree._Element, *, action: str, relates_to: str | None) -> bytes:
    """The SOAP 1.2 response: WS-Addressing headers (RelatesTo, Action, MessageID, To) and body."""
    envelope, body = _envelope(action, relates_to)
    body.append(payload)
    return _serialize(envelope)


def request_envelope(
    payload: etree._Element,
    *,
    identity: str,
    namespace: str,
    action: str,
    to: str,
    message_id: str,
    from_address: str | None = None,
) -> bytes:
    """A SOAP 1.2 request: chargeBoxIdentity, MessageID, Action, To and an anonymous ReplyTo (the
    answer comes back on the same HTTP exchange).

    csms calls a station's ChargePointService with it; a (simulated) station calls the
    CentralSystemService with it and gives ``from_address``, its own ChargePointService endpoint,
    as the WS-Addressing From the CSMS will call back.
    """
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"env": SOAP12, "wsa": WSA})
    header = etree.SubElement(envelope, f"{{{SOAP12}}}Header")
    etree.SubElement(header, f"{{{namespace}}}chargeBoxIdentity").text = identity
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = message_id
    etree.SubElement(header, f"{{{WSA}}}Action").text = action
    etree.SubElement(header, f"{{{WSA}}}To").text = to
    if from_address is not None:
        sender_address = etree.SubElement(header, f"{{{WSA}}}From")
        etree.SubElement(sender_address, f"{{{WSA}}}Address").text = from_address
    reply_to = etree.SubElement(header, f"{{{WSA}}}ReplyTo")
    etree.SubElement(reply_to, f"{{{WSA}}}Address").text = ANONYMOUS[0]
    etree.SubElement(envelope, f"{{{SOAP12}}}Body").append(payload)
    return _serialize(envelope)


def read_fault(body: etree._Element) -> str | None:
    """The reason of a SOAP 1.2 Fault in a response body element, or None if it is no fault."""
    if body.tag != f"{{{SOAP12}}}Fault":
        return None
    code = body.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or "env:Receiver"
    reason = body.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") or ""
    return f"{code.strip()}: {reason.strip()[:MAX_HEADER_TEXT]}"


def fault_envelope(code: FaultCode, reason: str, *, relates_to: str | None = None) -> bytes:
    """A SOAP 1.2 Fault (Part 1 §5.4): env:Code/env:Value and env:Reason/env:Text."""
    envelope, body = _envelope(WSA + "/fault", relates_to)
    fault = etree.SubElement(body, f"{{{SOAP12}}}Fault")
    code_element = etree.SubElement(fault, f"{{{SOAP12}}}Code")
    etree.SubElement(code_element, f"{{{SOAP12}}}Value").text = f"env:{code}"
    reason_element = etree.SubElement(fault, f"{{{SOAP12}}}Reason")
    text = etree.SubElement(reason_element, f"{{{SOAP12}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    return _serialize(envelope)


def _envelope(action: str, relates_to: str | None) -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"env": SOAP12, "wsa": WSA})
    header = etree.SubElement(envelope, f"{{{SOAP12}}}Header")
    etree.SubElement(header, f"{{{WSA}}}Action").text = action
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = f"urn:uuid:{uuid.uuid4()}"
    if relates_to:
        etree.SubElement(header, f"{{{WSA}}}RelatesTo").text = relates_to
    etree.SubElement(header, f"{{{WSA}}}To").text = ANONYMOUS[0]
    body = etree.SubElement(envelope, f"{{{SOAP12}}}Body")
    return envelope, body


def _serialize(envelope: etree._Element) -> bytes:
    return bytes(etree.tostring(envelope, encoding="utf-8", xml_declaration=True))
