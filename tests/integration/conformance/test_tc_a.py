"""OCPP 2.0.1 Part 6 §3.2, A Security: the CSMS test cases, the OCTT's side played over a real
WebSocket (and real TLS, with real certificates) against a running csms.

Basic auth cases run on the shared profile 1 ``server``; the TLS cases on csms instances of their
own (profile 2 or 3) built by :func:`tls_server`.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from csms.blocks.provisioning.commands import Reset
from csms.blocks.provisioning.device_model import set_variables
from csms.blocks.provisioning.network_profile import SetNetworkProfile, SetNetworkProfileStatus
from csms.blocks.remotecontrol.commands import TriggerMessage
from csms.blocks.security.commands import rotate_authorization_key
from csms.domain.commands import ChangeStatus, MessageTrigger, ResetType, TriggerStatus, VariableRef
from csms.domain.credentials import verify_password
from csms.pki import BuiltinCertificateAuthority
from tests.integration.conformance.octt import (
    STATION,
    SUBPROTOCOL,
    Octt,
    background,
    connected,
    operator,
    prepare,
    timestamp,
)
from tests.integration.harness import PASSWORD, RunningCsms, basic_auth, running_csms, settings_for
from tests.integration.tls import StationCa, client_context, make_certificates, station_csr

Payload = dict[str, Any]

CONNECTION_FAILED = (OSError, InvalidHandshake, TimeoutError, EOFError)
NETWORK_PRIORITY = VariableRef("OCPPCommCtrlr", "NetworkConfigurationPriority")


@dataclasses.dataclass
class TlsCsms:
    """A csms on TLS and what the OCTT is configured with."""

    server: RunningCsms
    server_ca: Path  # the CSMS root the OCTT trusts
    stations: StationCa  # issues <Configured client certificate>s
    tmp_path: Path

    def context(self, certificate: tuple[Path, Path] | None = None, **tls: Any) -> ssl.SSLContext:
        """The OCTT's TLS context, presenting ``certificate`` if given."""
        context = client_context(self.server_ca, certificate)
        for name, value in tls.items():
            setattr(context, name, value)
        return context


@asynccontextmanager
async def tls_server(
    tmp_path: Path, profile: int, *, builtin_client_ca: bool = False
) -> AsyncIterator[TlsCsms]:
    """csms on ``profile`` 2 or 3 with an RSA and an ECDSA certificate (A00.FR.317), the OCTT's
    station registered with the harness password; station certificates from a test CA, or with
    ``builtin_client_ca`` from csms's own CA (profile 2 then also takes profile 3 stations)."""
    server_ca, [(rsa_cert, rsa_key), (ec_cert, ec_key)] = make_certificates(
        tmp_path / "server", ("RSA", "ECDSA")
    )
    stations = StationCa(tmp_path / "stations")
    client_ca = stations.path
    if builtin_client_ca:
        ca = BuiltinCertificateAuthority(tmp_path / "data" / "ca")
        await ca.root_certificate_pem()
        client_ca = ca.certificate_path
    settings = settings_for(
        tmp_path,
        security_profile=profile,
        tls_cert=str(rsa_cert),
        tls_key=str(rsa_key),
        tls_cert2=str(ec_cert),
        tls_key2=str(ec_key),
        tls_client_ca=str(client_ca),
        heartbeat_interval=10,
    )
    async with running_csms(settings) as server:
        await prepare(server)
        yield TlsCsms(server, server_ca, stations, tmp_path)


@asynccontextmanager
async def tls_connected(
    csms: TlsCsms, context: ssl.SSLContext, *, password: bytes | None = None
) -> AsyncIterator[Octt]:
    """The OCTT over wss:// with ``context``; Basic auth only with ``password`` (profile 2)."""
    url = f"wss://127.0.0.1:{csms.server.csms.ocpp_port}/ocpp/{STATION}"
    headers = basic_auth(STATION, password) if password is not None else {}
    async with connect(
        url,
        ssl=context,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        additional_headers=headers,
        open_timeout=5,
    ) as ws:
        assert ws.subprotocol == SUBPROTOCOL
        yield Octt(ws)


async def _refused(csms: TlsCsms, context: ssl.SSLContext, **kwargs: Any) -> BaseException:
    with pytest.raises(CONNECTION_FAILED) as caught:
        async with tls_connected(csms, context, **kwargs) as octt:
            await octt.boot()
    return caught.value


async def _basic_auth_refused(server: RunningCsms, headers: dict[str, str]) -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with connect(
            server.ocpp_url + STATION,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            additional_headers=headers,
        ):
            pass
    return caught.value.response.status_code


# --- A00 Basic authentication (profile 1 or 2)


async def test_TC_A_01_CSMS_basic_authentication_valid(server: RunningCsms) -> None:
    async with connected(server) as octt:
        assert (await octt.booted())["status"] == "Accepted"


async def test_TC_A_02_CSMS_basic_authentication_username_not_station_id(
    server: RunningCsms,
) -> None:
    assert await _basic_auth_refused(server, basic_auth(STATION + "Invalid", PASSWORD)) == 401


async def test_TC_A_03_CSMS_basic_authentication_invalid_password(server: RunningCsms) -> None:
    assert await _basic_auth_refused(server, basic_auth(STATION, b"Zq8vX2mN5pL9wR3tY7uK")) == 401


# --- A00 TLS (profile 2 and 3)

# The four suites the OCTT requires (A00.FR.317), with the key type of the certificate each needs.
REQUIRED_SUITES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
)


@pytest.mark.parametrize("profile", [2, 3])
async def test_TC_A_04_CSMS_tls_server_certificate_valid(tmp_path: Path, profile: int) -> None:
    """TLS ≥ 1.2, each required suite, a PEM X.509 server certificate with a serial number and a
    CN; the client certificate and Basic auth as the profile wants them."""
    async with tls_server(tmp_path, profile) as csms:
        certificate = csms.stations.issue(STATION) if profile == 3 else None
        password = PASSWORD if profile == 2 else None
        for suite in REQUIRED_SUITES:
            context = csms.context(certificate, maximum_version=ssl.TLSVersion.TLSv1_2)
            context.set_ciphers(suite)
            async with tls_connected(csms, context, password=password) as octt:
                tls = octt.ws.transport.get_extra_info("ssl_object")
                assert (tls.version(), tls.cipher()[0]) == ("TLSv1.2", suite)
                der = tls.getpeercert(binary_form=True)
                server_certificate = x509.load_der_x509_certificate(der)
                assert server_certificate.serial_number
                assert server_certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                key = server_certificate.public_key()
                assert key.key_size >= (224 if isinstance(key, ec.EllipticCurvePublicKey) else 2048)
                assert (await octt.booted())["status"] == "Accepted"


async def test_TC_A_06_CSMS_tls_version_too_low(tmp_path: Path) -> None:
    async with tls_server(tmp_path, 3) as csms:
        certificate = csms.stations.issue(STATION)
        with pytest.warns(DeprecationWarning):  # TLS 1.1 is deprecated: that is the point
            old = csms.context(certificate)
            old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        await _refused(csms, old)
        async with tls_connected(csms, csms.context(certificate)) as octt:
            assert (await octt.booted())["status"] == "Accepted"


async def test_TC_A_07_CSMS_tls_client_certificate_valid(tmp_path: Path) -> None:
    async with tls_server(tmp_path, 3) as csms:
        context = csms.context(csms.stations.issue(STATION))
        async with tls_connected(csms, context) as octt:
            assert (await octt.booted())["status"] == "Accepted"


@pytest.mark.parametrize("invalid", ["unknown", "expired", "commonName"])
async def test_TC_A_08_CSMS_tls_client_certificate_invalid(tmp_path: Path, invalid: str) -> None:
    """Each kind of invalid certificate the case names: the connection is terminated; then the
    valid one connects."""
    async with tls_server(tmp_path, 3) as csms:
        if invalid == "unknown":
            bad = StationCa(tmp_path / "unknown", "unknown CA").issue(STATION)
        elif invalid == "expired":
            bad = csms.stations.issue(STATION, expired=True)
        else:
            bad = csms.stations.issue("SERIAL-OF-ANOTHER-STATION")
        error = await _refused(csms, csms.context(bad))
        if invalid == "commonName":  # the TLS layer cannot know the identity: refused at upgrade
            assert isinstance(error, InvalidStatus) and error.response.status_code == 403
        else:
            assert not isinstance(error, InvalidStatus)
        async with tls_connected(csms, csms.context(csms.stations.issue(STATION))) as octt:
            assert (await octt.booted())["status"] == "Accepted"


# --- A01 Update Charging Station password for HTTP Basic Authentication


async def _rotate(server: RunningCsms, octt: Octt, status: str) -> tuple[bytes, bool]:
    """The operator rotates the password; the OCTT answers ``status``. Returns the new password
    and whether csms switched to it."""
    assert server.csms.store is not None
    task = background(
        rotate_authorization_key(server.csms.registry, server.csms.store.stations, STATION)
    )
    message_id, request = await octt.expect("SetVariables")
    [entry] = request["setVariableData"]
    assert (entry["component"]["name"], entry["variable"]["name"]) == (
        "SecurityCtrlr",
        "BasicAuthPassword",
    )
    assert 16 <= len(entry["attributeValue"]) <= 40
    # Until the station answers, csms still expects the old password (A01.FR.03/04).
    stored = await server.csms.store.stations.get(STATION)
    assert stored is not None and stored.password_hash is not None
    assert verify_password(PASSWORD, stored.password_hash)
    await octt.reply(
        message_id,
        {
            "setVariableResult": [
                {
                    "attributeStatus": status,
                    "component": entry["component"],
                    "variable": entry["variable"],
                }
            ]
        },
    )
    result = await task
    return entry["attributeValue"].encode(), result.rotated


async def test_TC_A_09_CSMS_update_basic_auth_password_accepted(server: RunningCsms) -> None:
    """A01.FR.02/03: after Accepted only the new password is accepted."""
    async with connected(server) as octt:
        await octt.booted()
        new_password, rotated = await _rotate(server, octt, "Accepted")
    assert rotated
    async with connected(server, password=new_password) as octt:
        assert (await octt.booted())["status"] == "Accepted"
    assert await _basic_auth_refused(server, basic_auth(STATION, PASSWORD)) == 401


async def test_TC_A_10_CSMS_update_basic_auth_password_rejected(server: RunningCsms) -> None:
    """A01.FR.04/05: the station rejected the new password, so the old one keeps working."""
    async with connected(server) as octt:
        await octt.booted()
        new_password, rotated = await _rotate(server, octt, "Rejected")
    assert not rotated
    async with connected(server) as octt:
        assert (await octt.booted())["status"] == "Accepted"
    assert await _basic_auth_refused(server, basic_auth(STATION, new_password)) == 401


# --- A02/A03 Update Charging Station certificate


async def _renew_certificate(server: RunningCsms, octt: Octt, answer: str) -> tuple[str, bytes]:
    """Reusable State RenewChargingStationCertificate (Part 6 Table 403), the OCTT answering
    CertificateSigned with ``answer``. Returns the certificate chain and the station's key."""
    task = operator(server, TriggerMessage(MessageTrigger.SIGN_CHARGING_STATION_CERTIFICATE))
    request = await octt.answer("TriggerMessage", {"status": "Accepted"})
    assert request == {"requestedMessage": "SignChargingStationCertificate"}
    assert (await task).status is TriggerStatus.ACCEPTED
    csr, key = station_csr(STATION)
    response = await octt.call(
        "SignCertificate", {"csr": csr, "certificateType": "ChargingStationCertificate"}
    )
    assert response["status"] == "Accepted"
    signed = await octt.answer("CertificateSigned", {"status": answer})
    assert signed["certificateType"] == "ChargingStationCertificate"
    return signed["certificateChain"], key


def _check_signed_by_csms_root(server: RunningCsms, chain: str) -> None:
    """The chain's leaf is for the station and signed by csms's root (the built-in CA)."""
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    root_path = Path(server.csms.settings.files.data_dir) / "ca" / "ca-cert.pem"
    root = x509.load_pem_x509_certificate(root_path.read_bytes())
    leaf.verify_directly_issued_by(root)
    [cn] = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value == STATION


async def _request_status(server: RunningCsms) -> str:
    async with server.api() as api:
        response = await api.get(f"/api/v1/stations/{STATION}/certificate-requests")
    assert response.status_code == 200, response.text
    return str(response.json()[0]["status"])


async def test_TC_A_11_CSMS_update_charging_station_certificate_success(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        chain, _ = await _renew_certificate(server, octt, "Accepted")
        _check_signed_by_csms_root(server, chain)
        assert server.csms.security_block is not None
        await server.csms.security_block.drain()
    assert await _request_status(server) == "Signed"


async def test_TC_A_14_CSMS_update_charging_station_certificate_invalid(
    server: RunningCsms,
) -> None:
    async with connected(server) as octt:
        await octt.booted()
        await _renew_certificate(server, octt, "Rejected")
        assert server.csms.security_block is not None
        await server.csms.security_block.drain()
        await octt.nothing_sent()
        assert await octt.call("Heartbeat", {})  # the connection carries on
    assert await _request_status(server) == "StationRejected"


# --- A05 Upgrade Charging Station security profile


async def test_TC_A_19_CSMS_upgrade_security_profile_accepted(tmp_path: Path) -> None:
    """Profile 2 → 3: the station renews its certificate (memory state for profile 2), gets a
    profile 3 network profile, moves it first and resets; it connects on 3 with the certificate
    csms signed, and is then refused on 2 (A05.FR.09)."""
    async with tls_server(tmp_path, 2, builtin_client_ca=True) as csms:
        server = csms.server
        profile2 = csms.context()
        async with tls_connected(csms, profile2, password=PASSWORD) as octt:
            await octt.booted()
            chain, key = await _renew_certificate(server, octt, "Accepted")
            url = f"wss://127.0.0.1:{server.csms.ocpp_port}/ocpp/"
            connection_data = {
                "ocppTransport": "JSON",
                "ocppCsmsUrl": url,
                "messageTimeout": 30,
                "securityProfile": 3,
                "ocppInterface": "Wired0",
            }
            task = operator(
                server, SetNetworkProfile(1, connection_data, required_security_profile=2)
            )
            request = await octt.answer("SetNetworkProfile", {"status": "Accepted"})
            assert request["configurationSlot"] == 1
            assert request["connectionData"] == {**connection_data, "ocppVersion": "OCPP20"}
            assert (await task).status is SetNetworkProfileStatus.ACCEPTED
            assert server.csms.store is not None
            priority = background(
                set_variables(
                    server.csms.registry,
                    server.csms.store.device_model,
                    STATION,
                    [(NETWORK_PRIORITY, "1,0")],
                    clock=server.csms.clock,
                )
            )
            message_id, request = await octt.expect("SetVariables")
            [entry] = request["setVariableData"]
            assert (entry["variable"]["name"], entry["attributeValue"]) == (
                "NetworkConfigurationPriority",
                "1,0",
            )
            await octt.reply(
                message_id,
                {
                    "setVariableResult": [
                        {
                            "attributeStatus": "Accepted",
                            "component": entry["component"],
                            "variable": entry["variable"],
                        }
                    ]
                },
            )
            assert [r.status for r in await priority] == ["Accepted"]
            task = operator(server, Reset(ResetType.IMMEDIATE))
            assert await octt.answer("Reset", {"status": "Accepted"}) == {"type": "Immediate"}
            assert (await task).status is ChangeStatus.ACCEPTED
        (tmp_path / "station.pem").write_text(chain)
        (tmp_path / "station.key").write_bytes(key)
        profile3 = csms.context((tmp_path / "station.pem", tmp_path / "station.key"))
        async with tls_connected(csms, profile3) as octt:
            assert (await octt.booted())["status"] == "Accepted"
        error = await _refused(csms, profile2, password=PASSWORD)
        assert isinstance(error, InvalidStatus) and error.response.status_code == 403


# --- A04 Security events (no Part 6 CSMS case; stored and listed for the operator)


async def test_A04_security_event_stored_and_listed(server: RunningCsms) -> None:
    async with connected(server) as octt:
        await octt.booted()
        event = {"type": "InvalidCsmsCertificate", "timestamp": timestamp(), "techInfo": "CN"}
        assert await octt.call("SecurityEventNotification", event) == {}
    async with server.api() as api:
        response = await api.get("/api/v1/security-events", params={"station_id": STATION})
    assert response.status_code == 200, response.text
    [stored] = response.json()
    assert (stored["type"], stored["tech_info"], stored["critical"]) == (
        "InvalidCsmsCertificate",
        "CN",
        True,
    )
