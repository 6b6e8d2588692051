"""OCPP over SOAP (issue 12), end to end: zeep, an independent SOAP client built from the official
CentralSystemService WSDLs, acts as a 1.6 and a 1.5 charge point against a running csms; the
transaction it runs shows in the API like a JSON one. Bad input gets SOAP faults, never a crash.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from lxml import etree
from zeep import Client
from zeep.exceptions import Fault
from zeep.plugins import Plugin
from zeep.transports import Transport
from zeep.wsa import WsAddressingPlugin

from csms.domain.tokens import IdToken
from csms.messages.soap.service import WSDL_DIR
from tests.integration.harness import PASSWORD, RunningCsms, running_csms, settings_for

NS16 = "urn://Ocpp/Cs/2015/10/"
NS15 = "urn://Ocpp/Cs/2012/06/"
WSDL = {
    "1.6": (NS16, WSDL_DIR / "OCPP_CentralSystemService_1.6.wsdl"),
    "1.5": (NS15, WSDL_DIR / "ocpp_centralsystemservice_1.5_final.wsdl"),
}
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
TAG = "SOAPTAG1"


class FromHeader(Plugin):  # type: ignore[misc]
    """Adds wsa:From (the station's ChargePointService address), as an OCPP SOAP station does."""

    def __init__(self) -> None:
        self.address: str | None = "http://192.0.2.10:8080/ocpp"

    def egress(self, envelope: Any, http_headers: Any, operation: Any, binding_options: Any) -> Any:
        if self.address is None:  # a call without From
            return envelope, http_headers
        header = envelope.find(f"{{{SOAP12}}}Header")
        if header is None:
            header = etree.Element(f"{{{SOAP12}}}Header")
            envelope.insert(0, header)
        sender = etree.SubElement(header, f"{{{WSA}}}From")
        etree.SubElement(sender, f"{{{WSA}}}Address").text = self.address
        return envelope, http_headers


@dataclasses.dataclass
class SoapStation:
    """A zeep client for one station: ``call("BootNotification", ...)`` runs in a thread."""

    identity: str
    service: Any
    header: Any
    from_header: FromHeader

    async def call(self, operation: str, **fields: Any) -> Any:
        method = getattr(self.service, operation)
        return await asyncio.to_thread(
            method, **fields, _soapheaders={"ChargeBoxIdentity": self.identity}
        )


def soap_station(
    url: str, identity: str, version: str = "1.6", password: bytes = PASSWORD
) -> SoapStation:
    namespace, wsdl = WSDL[version]
    session = requests.Session()
    session.auth = (identity, password.decode())
    from_header = FromHeader()
    client = Client(
        str(wsdl),
        transport=Transport(session=session, timeout=10),
        plugins=[WsAddressingPlugin(), from_header],
    )
    service = client.create_service(f"{{{namespace}}}CentralSystemServiceSoap", url)
    header = client.get_element(f"{{{namespace}}}chargeBoxIdentity")
    return SoapStation(identity, service, header, from_header)


@asynccontextmanager
async def soap_csms(tmp_path: Path, database_url: str | None = None) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path, soap_enabled=True, soap_port=0)
    if database_url is not None:
        settings = dataclasses.replace(
            settings, database=dataclasses.replace(settings.database, url=database_url)
        )
    async with running_csms(settings) as running:
        assert running.csms.store is not None
        await running.csms.store.tokens.put(IdToken(TAG), datetime.now(UTC))
        yield running


def soap_url(server: RunningCsms) -> str:
    return f"http://127.0.0.1:{server.csms.soap_port}/ocpp/soap"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------- the happy path


@pytest.mark.parametrize("version", ["1.6", "1.5"])
async def test_soap_station_charges_and_shows_in_the_api(
    database_url: str, tmp_path: Path, version: str
) -> None:
    async with soap_csms(tmp_path, database_url) as server:
        await server.add_station("SOAP-1")
        cp = soap_station(soap_url(server), "SOAP-1", version)
        boot = await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        assert boot.status == "Accepted"
        assert (boot.heartbeatInterval if version == "1.5" else boot.interval) == 300
        assert (await cp.call("Heartbeat")) is not None
        status = "Occupied" if version == "1.5" else "Preparing"
        await cp.call("StatusNotification", connectorId=1, status=status, errorCode="NoError")
        auth = await cp.call("Authorize", idTag=TAG)
        assert auth.status == "Accepted"
        start = await cp.call(
            "StartTransaction", connectorId=1, idTag=TAG, timestamp=now(), meterStart=1000
        )
        assert start.idTagInfo.status == "Accepted"
        tx = start.transactionId
        if version == "1.6":
            sample = {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
            meter = [{"timestamp": now(), "sampledValue": [sample]}]
            await cp.call("MeterValues", connectorId=1, transactionId=tx, meterValue=meter)
        else:
            sample15 = {
                "_value_1": "1500",
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
            }
            meter = [{"timestamp": now(), "value": [sample15]}]
            await cp.call("MeterValues", connectorId=1, transactionId=tx, values=meter)
        stop = await cp.call(
            "StopTransaction", transactionId=tx, idTag=TAG, timestamp=now(), meterStop=2500
        )
        assert stop.status == "Accepted"
        async with server.api() as api:
            page = (await api.get("/api/v1/transactions", params={"station_id": "SOAP-1"})).json()
            station = (await api.get("/api/v1/stations/SOAP-1")).json()
        [item] = page["items"]
        assert item["transaction_id"] == str(tx)
        assert (item["meter_start_wh"], item["meter_stop_wh"], item["energy_wh"]) == (
            1000,
            2500,
            1500,
        )
        assert item["open"] is False
        assert station["online"] is True
        assert (station["transport"], station["ocpp_version"]) == ("soap", version)
        assert station["last_seen_at"] is not None
        assert station["vendor_name"] == "V"
        assert server.csms.soap_presence is not None
        session = server.csms.soap_presence.soap_session("SOAP-1")
        assert session is not None and session.endpoint == "http://192.0.2.10:8080/ocpp"


async def test_a_repeated_stop_is_answered_and_stored_once(tmp_path: Path) -> None:
    """Idempotency is the shared handlers': a station retrying a StopTransaction (lost answer)."""
    async with soap_csms(tmp_path) as server:
        await server.add_station("SOAP-2")
        cp = soap_station(soap_url(server), "SOAP-2")
        await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        start = await cp.call(
            "StartTransaction", connectorId=1, idTag=TAG, timestamp=now(), meterStart=0
        )
        for _ in range(2):
            await cp.call(
                "StopTransaction", transactionId=start.transactionId, timestamp=now(), meterStop=10
            )
        async with server.api() as api:
            page = (await api.get("/api/v1/transactions", params={"station_id": "SOAP-2"})).json()
        assert [i["meter_stop_wh"] for i in page["items"]] == [10]


async def test_the_from_address_is_kept_current(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        await server.add_station("SOAP-3")
        cp = soap_station(soap_url(server), "SOAP-3")
        await cp.call("BootNotification", chargePointVendor="V", chargePointModel="M")
        cp.from_header.address = "https://198.51.100.7/cp"
        await cp.call("Heartbeat")
        assert server.csms.soap_presence is not None
        session = server.csms.soap_presence.soap_session("SOAP-3")
        assert session is not None and session.endpoint == "https://198.51.100.7/cp"


async def test_not_booted_station_gets_a_fault(tmp_path: Path) -> None:
    """The registration rules are the dispatcher's: Pending stations send nothing but a boot."""
    async with soap_csms(tmp_path) as server:
        from csms.domain.model import RegistrationStatus

        await server.add_station("SOAP-4", status=RegistrationStatus.PENDING)
        cp = soap_station(soap_url(server), "SOAP-4")
        with pytest.raises(Fault) as fault:
            await cp.call("Heartbeat")
        assert "SecurityError" in fault.value.message


# ---------------------------------------------------------------- credentials


async def test_wrong_password_and_unknown_station_are_refused(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        await server.add_station("SOAP-5")
        wrong = soap_station(soap_url(server), "SOAP-5", password=b"not-the-password-at-all")
        with pytest.raises(Exception) as refused:
            await wrong.call("Heartbeat")
        assert "401" in str(refused.value) or "authentication" in str(refused.value)
        raw = await _post(server, _envelope("SOAP-5", "<heartbeatRequest/>"), password=b"nope-nope")
        assert raw.status_code == 401 and "Basic" in raw.headers["www-authenticate"]
        assert "authentication failed" in _reason(raw)
        unknown = await _post(server, _envelope("NOBODY", "<heartbeatRequest/>"), identity="NOBODY")
        assert unknown.status_code == 404 and "unknown charging station" in _reason(unknown)
        assert _code(unknown) == "env:Sender"


async def test_missing_charge_box_identity(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        reply = await _post(server, _envelope(None, "<heartbeatRequest/>"))
        assert reply.status_code == 400 and "chargeBoxIdentity" in _reason(reply)
        # In another namespace than the body's (1.5's header on a 1.6 body): not the identity.
        envelope = _envelope("SOAP-5", "<heartbeatRequest/>").replace(
            f'<chargeBoxIdentity xmlns="{NS16}">'.encode(),
            f'<chargeBoxIdentity xmlns="{NS15}">'.encode(),
        )
        other = await _post(server, envelope)
        assert other.status_code == 400 and "chargeBoxIdentity" in _reason(other)


async def test_identity_and_credentials_must_match(tmp_path: Path) -> None:
    """The Basic auth username must be the chargeBoxIdentity: one station's valid credentials
    never speak for another (1.6 security whitepaper A00.FR.203)."""
    async with soap_csms(tmp_path) as server:
        await server.add_station("SOAP-A")
        await server.add_station("SOAP-B")
        envelope = _envelope("SOAP-A", "<heartbeatRequest/>")
        as_other = await _post(server, envelope, identity="SOAP-B")
        assert as_other.status_code == 401 and "authentication failed" in _reason(as_other)
        own = await _post(server, envelope, identity="SOAP-A")
        assert own.status_code == 400 and "SecurityError" in _reason(own)  # authenticated


# ---------------------------------------------------------------- faults for bad input


async def test_malformed_xml(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        reply = await _post(server, b"<env:Envelope xmlns:env='x'><unclosed>")
        assert reply.status_code == 400 and _code(reply) == "env:Sender"
        assert "malformed XML" in _reason(reply)


async def test_unknown_operation_and_wrong_namespace(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        await server.add_station("SOAP-6")
        unknown = await _post(server, _envelope("SOAP-6", "<fooRequest/>"))
        assert unknown.status_code == 400 and "unknown operation" in _reason(unknown)
        other = await _post(
            server, _envelope("SOAP-6", "<heartbeatRequest/>", namespace="urn://Ocpp/Cs/2099/01/")
        )
        assert other.status_code == 400 and "unknown operation" in _reason(other)
        mismatch = await _post(
            server, _envelope("SOAP-6", "<heartbeatRequest/>", action="/Authorize")
        )
        assert mismatch.status_code == 400 and "does not match" in _reason(mismatch)


async def test_schema_violation(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        await server.add_station("SOAP-7")
        body = "<bootNotificationRequest><chargePointVendor>V</chargePointVendor></bootNotificationRequest>"
        reply = await _post(
            server, _envelope("SOAP-7", body, action="/BootNotification"), identity="SOAP-7"
        )
        assert reply.status_code == 400 and "schema violation" in _reason(reply)
        too_long = "<authorizeRequest><idTag>" + "X" * 21 + "</idTag></authorizeRequest>"
        reply = await _post(
            server, _envelope("SOAP-7", too_long, action="/Authorize"), identity="SOAP-7"
        )
        assert reply.status_code == 400 and "schema violation" in _reason(reply)


async def test_soap11_is_a_version_mismatch(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        envelope = _envelope("X", "<heartbeatRequest/>").replace(
            SOAP12.encode(), b"http://schemas.xmlsoap.org/soap/envelope/"
        )
        reply = await _post(server, envelope, content_type="text/xml")
        assert reply.status_code == 400 and _code(reply) == "env:VersionMismatch"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header>
<chargeBoxIdentity xmlns="urn://Ocpp/Cs/2015/10/">&lol9;</chargeBoxIdentity></env:Header>
<env:Body><heartbeatRequest xmlns="urn://Ocpp/Cs/2015/10/"/></env:Body></env:Envelope>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header>
<chargeBoxIdentity xmlns="urn://Ocpp/Cs/2015/10/">&xxe;</chargeBoxIdentity></env:Header>
<env:Body><heartbeatRequest xmlns="urn://Ocpp/Cs/2015/10/"/></env:Body></env:Envelope>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
async def test_xml_attacks_are_refused(tmp_path: Path, document: bytes) -> None:
    async with soap_csms(tmp_path) as server:
        reply = await _post(server, document)
        assert reply.status_code == 400 and _code(reply) == "env:Sender"
        # Refused before any entity is expanded: by libxml2 (amplification limit) or by csms (no
        # DTD in a SOAP message).
        assert "document type declaration" in _reason(reply) or "entity" in _reason(reply)
        assert b"root:" not in reply.content


async def test_deeply_nested_documents_are_refused(tmp_path: Path) -> None:
    """Within the size limit but nested past libxml2's depth limit (huge_tree off)."""
    async with soap_csms(tmp_path) as server:
        depth = 5000
        body = "<heartbeatRequest>" + "<a>" * depth + "</a>" * depth + "</heartbeatRequest>"
        reply = await _post(server, _envelope("SOAP-5", body))
        assert reply.status_code == 400 and _code(reply) == "env:Sender"
        assert "malformed XML" in _reason(reply)


async def test_huge_documents_are_refused_unparsed(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server:
        limit = server.csms.settings.server.soap_max_message_size
        padding = b"<!--" + b"x" * limit + b"-->"
        reply = await _post(server, _envelope("X", "<heartbeatRequest/>") + padding)
        assert reply.status_code == 413

        # Without Content-Length (chunked): refused while it streams in.
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(limit // 4096 + 2):
                yield b" " * 4096

        async with httpx.AsyncClient() as client:
            streamed = await client.post(
                soap_url(server), content=chunks(), headers={"Content-Type": "application/soap+xml"}
            )
        assert streamed.status_code == 413


async def test_only_soap_posts_are_read(tmp_path: Path) -> None:
    async with soap_csms(tmp_path) as server, httpx.AsyncClient() as client:
        assert (await client.get(soap_url(server))).status_code == 405
        reply = await client.post(soap_url(server), json={"a": 1})
        assert reply.status_code == 415


# ---------------------------------------------------------------- helpers


def _envelope(
    identity: str | None,
    body: str,
    *,
    namespace: str = NS16,
    action: str | None = "/Heartbeat",
) -> bytes:
    header = (
        f'<chargeBoxIdentity xmlns="{namespace}">{identity}</chargeBoxIdentity>' if identity else ""
    )
    if action:
        header += f'<wsa:Action xmlns:wsa="{WSA}">{action}</wsa:Action>'
    header += f'<wsa:MessageID xmlns:wsa="{WSA}">urn:uuid:test-1</wsa:MessageID>'
    body = body.replace("Request", f'Request xmlns="{namespace}"', 1)
    return (
        f'<env:Envelope xmlns:env="{SOAP12}"><env:Header>{header}</env:Header>'
        f"<env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


async def _post(
    server: RunningCsms,
    data: bytes,
    *,
    identity: str = "SOAP-5",
    password: bytes = PASSWORD,
    content_type: str = "application/soap+xml; charset=utf-8",
) -> httpx.Response:
    token = base64.b64encode(identity.encode() + b":" + password).decode()
    headers = {"Content-Type": content_type, "Authorization": f"Basic {token}"}
    async with httpx.AsyncClient() as client:
        return await client.post(soap_url(server), content=data, headers=headers)


def _fault(reply: httpx.Response) -> etree._Element:
    root = etree.fromstring(reply.content)
    fault = root.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
    assert fault is not None, reply.content
    return fault


def _reason(reply: httpx.Response) -> str:
    return str(_fault(reply).findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text"))


def _code(reply: httpx.Response) -> str:
    return str(_fault(reply).findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value"))
