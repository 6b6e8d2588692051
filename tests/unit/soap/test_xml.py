"""The hardened parser and the envelope reader (csms.messages.soap.xml and .envelope): no sockets."""

from __future__ import annotations

import pytest

from csms.messages.soap.envelope import fault_envelope, read_request
from csms.messages.soap.errors import SoapFault
from csms.messages.soap.xml import parse_message

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
NS16 = "urn://Ocpp/Cs/2015/10/"


def _envelope(header: str, body: str = f'<heartbeatRequest xmlns="{NS16}"/>') -> bytes:
    return (
        f'<env:Envelope xmlns:env="{SOAP12}" xmlns:wsa="{WSA}"><env:Header>{header}</env:Header>'
        f"<env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


def test_headers_are_read() -> None:
    request = read_request(
        parse_message(
            _envelope(
                f'<cs:chargeBoxIdentity xmlns:cs="{NS16}">CP-1</cs:chargeBoxIdentity>'
                "<wsa:MessageID>urn:uuid:1</wsa:MessageID><wsa:Action>/Heartbeat</wsa:Action>"
                "<wsa:To>http://csms/</wsa:To>"
                "<wsa:From><wsa:Address>http://10.0.0.5:8080/cp</wsa:Address></wsa:From>"
            )
        )
    )
    assert (request.charge_box_identity, request.message_id, request.action) == (
        "CP-1",
        "urn:uuid:1",
        "/Heartbeat",
    )
    assert (request.to, request.from_address) == ("http://csms/", "http://10.0.0.5:8080/cp")


def test_an_anonymous_from_is_no_endpoint_and_reply_to_stands_in() -> None:
    anonymous = f"<wsa:From><wsa:Address>{WSA}/anonymous</wsa:Address></wsa:From>"
    assert read_request(parse_message(_envelope(anonymous))).from_address is None
    reply_to = "<wsa:ReplyTo><wsa:Address>http://10.0.0.6/cp</wsa:Address></wsa:ReplyTo>"
    assert read_request(parse_message(_envelope(reply_to))).from_address == "http://10.0.0.6/cp"


def test_identity_in_another_namespace_is_missing() -> None:
    header = '<chargeBoxIdentity xmlns="urn://Ocpp/Cs/2012/06/">CP-1</chargeBoxIdentity>'
    assert read_request(parse_message(_envelope(header))).charge_box_identity is None


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (b"", "Sender", "empty"),
        (b"<a><b></a>", "Sender", "malformed XML"),
        (b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', "Sender", "document type declaration"),
        (b'<!DOCTYPE a SYSTEM "http://example.com/a.dtd"><a/>', "Sender", "document type"),
        (
            b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
            "Sender",
            "document type declaration",
        ),
        # libxml2 opens an external subset's file even with load_dtd=False: never let it.
        (b'<!DOCTYPE a SYSTEM "/dev/zero"><a/>', "Sender", "document type declaration"),
        (
            '<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>'.encode("utf-16"),
            "Sender",
            "document type declaration",
        ),
    ],
)
def test_bad_documents_are_sender_faults(data: bytes, code: str, reason: str) -> None:
    with pytest.raises(SoapFault) as fault:
        parse_message(data)
    assert fault.value.code == code and reason in fault.value.reason


def test_envelope_checks() -> None:
    soap11 = (
        b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>'
    )
    with pytest.raises(SoapFault) as fault:
        read_request(parse_message(soap11))
    assert fault.value.code == "VersionMismatch"
    with pytest.raises(SoapFault) as fault:
        read_request(parse_message(_envelope("", body="")))
    assert "exactly one" in fault.value.reason
    must = '<x:Thing xmlns:x="urn:x" env:mustUnderstand="true">1</x:Thing>'
    with pytest.raises(SoapFault) as fault:
        read_request(parse_message(_envelope(must)))
    assert fault.value.code == "MustUnderstand"
    long_id = f"<wsa:MessageID>{'x' * 600}</wsa:MessageID>"
    with pytest.raises(SoapFault):
        read_request(parse_message(_envelope(long_id)))


def test_fault_envelope_is_soap12() -> None:
    root = parse_message(fault_envelope("Receiver", "storage unavailable", relates_to="urn:uuid:9"))
    assert (
        root.findtext(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value")
        == "env:Receiver"
    )
    assert root.findtext(f"{{{SOAP12}}}Header/{{{WSA}}}RelatesTo") == "urn:uuid:9"


def test_the_parser_itself_loads_no_external_subset() -> None:
    """Behind the pre-scan, the parser's resolver refuses any file or URL libxml2 would open."""
    from lxml import etree

    from csms.messages.soap.xml import hardened_parser

    with pytest.raises(SoapFault):
        etree.fromstring(b'<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', hardened_parser())
