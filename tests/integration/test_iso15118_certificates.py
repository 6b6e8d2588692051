"""2.0.1 M ISO 15118 certificate management over real sockets, driven by the `ocpp` package's
2.0.1 (and 2.1) ChargePoint: GetCertificateStatus answered with a real OCSP response signed by the
built-in V2G root (M06), Get15118EVCertificate through a provider (M02/M03), V2G SignCertificate →
CertificateSigned (A02/A03 with certificateType V2GCertificate), and the Part 6 TC_M_*_CSMS cases
(Install/Get/DeleteCertificate, the operator's side through the HTTP API)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from ocpp.routing import on
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21 import call as call21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action

from csms.domain.iso15118 import (
    CertificateStatusAnswer,
    EvCertificateAnswer,
    EvCertificateRequest,
    OcspRequestData,
)
from tests.integration.harness import RunningCsms, running_csms, settings_for

STATION = "CP-15118"
ISO_15118_2 = "urn:iso:15118:2:2013:MsgDef"
EXI_REQUEST = base64.b64encode(b"\x80\x01\x02 CertificateInstallationReq").decode()
HASH_LENGTHS = {"SHA256": 32, "SHA384": 48, "SHA512": 64}


class ExiProvider:
    """A provider of the kind an operator plugs in (CSMS_ISO15118_PROVIDER=module:attribute):
    answers every EV with an EXI stream derived from its request, and every OCSP check Failed."""

    async def ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        exi = base64.b64decode(request.exi_request)[::-1]
        remaining = 1 if request.ocpp_version == "2.1" else None
        return EvCertificateAnswer(
            "Accepted", base64.b64encode(exi).decode(), remaining_contracts=remaining
        )

    async def certificate_status(self, request: OcspRequestData) -> CertificateStatusAnswer:
        return CertificateStatusAnswer("Failed", reason="NotMine")


def _hash_data(algorithm: str, serial: str = "5a") -> dict[str, str]:
    size = HASH_LENGTHS[algorithm]
    return {
        "hash_algorithm": algorithm,
        "issuer_name_hash": "1a" * size,
        "issuer_key_hash": "2b" * size,
        "serial_number": serial,
    }


class Station(ChargePoint201):  # type: ignore[misc]
    """Answers the certificate commands as told in ``answers``; keeps what it received."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: dict[str, Any] = {}
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.signed = asyncio.Event()

    def _got(self, action: str, **fields: Any) -> None:
        self.received.setdefault(action, []).append(fields)

    @on(Action.certificate_signed)  # type: ignore[untyped-decorator]
    async def on_certificate_signed(self, certificate_chain: str, **kwargs: Any) -> Any:
        self._got("CertificateSigned", certificate_chain=certificate_chain, **kwargs)
        self.signed.set()
        return result201.CertificateSigned(status="Accepted")

    @on(Action.install_certificate)  # type: ignore[untyped-decorator]
    async def on_install_certificate(self, certificate_type: str, certificate: str) -> Any:
        self._got("InstallCertificate", certificate_type=certificate_type, certificate=certificate)
        return result201.InstallCertificate(
            status=self.answers.get("InstallCertificate", "Accepted")
        )

    @on(Action.get_installed_certificate_ids)  # type: ignore[untyped-decorator]
    async def on_get_installed_certificate_ids(self, **kwargs: Any) -> Any:
        self._got("GetInstalledCertificateIds", **kwargs)
        chains = self.answers.get("GetInstalledCertificateIds", [])
        if not chains:
            return result201.GetInstalledCertificateIds(status="NotFound")
        return result201.GetInstalledCertificateIds(
            status="Accepted", certificate_hash_data_chain=chains
        )

    @on(Action.delete_certificate)  # type: ignore[untyped-decorator]
    async def on_delete_certificate(self, certificate_hash_data: dict[str, str]) -> Any:
        self._got("DeleteCertificate", certificate_hash_data=certificate_hash_data)
        return result201.DeleteCertificate(status=self.answers.get("DeleteCertificate", "Accepted"))


@asynccontextmanager
async def booted(
    server: RunningCsms, subprotocol: str = "ocpp2.0.1", base: type[Any] = Station
) -> AsyncIterator[Any]:
    calls = call201 if subprotocol == "ocpp2.0.1" else call21
    async with server.connect(STATION, subprotocols=[subprotocol]) as ws:
        cp = base(STATION, ws)
        task = asyncio.create_task(cp.start())
        try:
            boot = calls.BootNotification(
                charging_station={"model": "PnC", "vendor_name": "csms-tests"}, reason="PowerUp"
            )
            assert (await cp.call(boot)).status == "Accepted"
            yield cp
        finally:
            task.cancel()


@asynccontextmanager
async def csms_with(tmp_path: Path, **server: Any) -> AsyncIterator[RunningCsms]:
    async with running_csms(settings_for(tmp_path, **server)) as running:
        await running.add_station(STATION)
        yield running


def _secc_csr() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "DE*ACM*E123456*1"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACME CPO"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "CPO"),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def _v2g_root(server: RunningCsms) -> x509.Certificate:
    assert server.csms.v2g is not None
    return await server.csms.v2g.root_certificate()


async def _signed_v2g_leaf(server: RunningCsms, cp: Station) -> x509.Certificate:
    """SignCertificate(V2GCertificate) → CertificateSigned; the chain verifies against the root."""
    answer = await cp.call(
        call201.SignCertificate(csr=_secc_csr(), certificate_type="V2GCertificate")
    )
    assert answer.status == "Accepted"
    await asyncio.wait_for(cp.signed.wait(), 10)
    (signed,) = cp.received["CertificateSigned"]
    assert signed["certificate_type"] == "V2GCertificate"
    leaf, issuer = x509.load_pem_x509_certificates(signed["certificate_chain"].encode())
    root = await _v2g_root(server)
    assert issuer == root
    leaf.verify_directly_issued_by(root)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "DE*ACM*E123456*1"
    return leaf


def _ocsp_request(leaf: x509.Certificate, root: x509.Certificate, algorithm: str = "SHA256") -> Any:
    algorithms = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}
    cert_id = ocsp.OCSPRequestBuilder().add_certificate(leaf, root, algorithms[algorithm]).build()
    return call201.GetCertificateStatus(
        ocsp_request_data={
            "hash_algorithm": algorithm,
            "issuer_name_hash": cert_id.issuer_name_hash.hex(),
            "issuer_key_hash": cert_id.issuer_key_hash.hex(),
            "serial_number": f"{leaf.serial_number:x}",
            "responder_url": "http://csms.example/ocsp",
        }
    )


def _verified_ocsp(answer: Any, root: x509.Certificate) -> ocsp.OCSPResponse:
    assert answer.status == "Accepted", answer
    response = ocsp.load_der_ocsp_response(base64.b64decode(answer.ocsp_result))
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    key = root.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))
    assert response.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(key).digest
    return response


# --- M06 GetCertificateStatus and V2G certificates -------------------------------------------


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA512"])
async def test_M06_builtin_ocsp_good_for_an_issued_certificate_revoked_once_revoked(
    tmp_path: Path, algorithm: str
) -> None:
    async with csms_with(tmp_path, iso15118_provider="builtin") as server, booted(server) as cp:
        leaf = await _signed_v2g_leaf(server, cp)
        root = await _v2g_root(server)

        good = _verified_ocsp(await cp.call(_ocsp_request(leaf, root, algorithm)), root)
        assert good.certificate_status is ocsp.OCSPCertStatus.GOOD
        assert good.serial_number == leaf.serial_number

        assert server.csms.v2g is not None
        await server.csms.v2g.revoke(leaf.serial_number)
        revoked = _verified_ocsp(await cp.call(_ocsp_request(leaf, root, algorithm)), root)
        assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED

        stranger = _ocsp_request(leaf, root, algorithm)
        stranger.ocsp_request_data["serial_number"] = "7fffffff"
        unknown = _verified_ocsp(await cp.call(stranger), root)
        assert unknown.certificate_status is ocsp.OCSPCertStatus.UNKNOWN

        stranger.ocsp_request_data["issuer_key_hash"] = "00" * HASH_LENGTHS[algorithm]
        foreign = await cp.call(stranger)
        assert foreign.status == "Failed" and foreign.ocsp_result is None
        assert foreign.status_info["reason_code"] == "UnknownIssuer"


async def test_M06_without_a_provider_is_failed_but_v2g_certificates_are_still_signed(
    server: RunningCsms,
) -> None:
    await server.add_station(STATION)
    async with booted(server) as cp:
        leaf = await _signed_v2g_leaf(server, cp)
        answer = await cp.call(_ocsp_request(leaf, await _v2g_root(server)))
        assert answer.status == "Failed" and answer.ocsp_result is None
        assert answer.status_info["reason_code"] == "NoProvider"
        ev = await cp.call(
            call201.Get15118EVCertificate(
                iso15118_schema_version=ISO_15118_2, action="Install", exi_request=EXI_REQUEST
            )
        )
        assert (ev.status, ev.exi_response) == ("Failed", "")
        assert ev.status_info["reason_code"] == "NoProvider"
    async with server.api() as api:
        requests = (await api.get(f"/api/v1/stations/{STATION}/certificate-requests")).json()
    assert [(r["certificate_type"], r["status"]) for r in requests] == [
        ("V2GCertificate", "Signed")
    ]


async def test_M05_the_v2g_root_is_installed_as_V2GRootCertificate(tmp_path: Path) -> None:
    async with csms_with(tmp_path, iso15118_provider="builtin") as server, booted(server) as cp:
        assert server.csms.v2g is not None
        pem = await server.csms.v2g.root_certificate_pem()
        async with server.api() as api:
            installed = await api.post(
                f"/api/v1/stations/{STATION}/certificates",
                json={"certificate_type": "V2GRootCertificate", "certificate": pem},
            )
        assert installed.json() == {"status": "Accepted"}
        assert cp.received["InstallCertificate"] == [
            {"certificate_type": "V2GRootCertificate", "certificate": pem}
        ]
        assert (tmp_path / "data" / "v2g" / "v2g-root-cert.pem").read_text() == pem


# --- M02/M03 Get15118EVCertificate ------------------------------------------------------------


@pytest.mark.parametrize("subprotocol", ["ocpp2.0.1", "ocpp2.1"])
async def test_M02_get_15118_ev_certificate_through_a_configured_provider(
    tmp_path: Path, subprotocol: str
) -> None:
    provider = f"{__name__}:ExiProvider"
    base = ChargePoint201 if subprotocol == "ocpp2.0.1" else ChargePoint21
    async with csms_with(tmp_path, iso15118_provider=provider) as server:
        async with booted(server, subprotocol, base) as cp:
            if subprotocol == "ocpp2.0.1":
                request = call201.Get15118EVCertificate(
                    iso15118_schema_version=ISO_15118_2, action="Install", exi_request=EXI_REQUEST
                )
            else:
                request = call21.Get15118EVCertificate(
                    iso_15118_schema_version=ISO_15118_2, action="Update", exi_request=EXI_REQUEST
                )
            answer = await cp.call(request)
        assert answer.status == "Accepted"
        assert base64.b64decode(answer.exi_response) == base64.b64decode(EXI_REQUEST)[::-1]
        assert getattr(answer, "remaining_contracts", None) == (
            1 if subprotocol == "ocpp2.1" else None
        )
        async with server.api() as api:
            kept = (await api.get(f"/api/v1/stations/{STATION}/notifications")).json()
        assert [n["action"] for n in kept] == ["Get15118EVCertificate"]
        assert kept[0]["payload"]["exiRequest"] == EXI_REQUEST


async def test_M02_builtin_serves_pre_encoded_exi_responses_by_request_sha256(
    tmp_path: Path,
) -> None:
    exi_dir = tmp_path / "exi"
    exi_dir.mkdir()
    key = hashlib.sha256(base64.b64decode(EXI_REQUEST)).hexdigest()
    (exi_dir / f"{key}.b64").write_text("gAECAwQFBgc=\n")
    settings: dict[str, Any] = {"iso15118_provider": "builtin", "iso15118_exi_dir": str(exi_dir)}
    async with csms_with(tmp_path, **settings) as server, booted(server) as cp:
        answer = await cp.call(
            call201.Get15118EVCertificate(
                iso15118_schema_version=ISO_15118_2, action="Install", exi_request=EXI_REQUEST
            )
        )
        assert (answer.status, answer.exi_response) == ("Accepted", "gAECAwQFBgc=")
        other = await cp.call(
            call201.Get15118EVCertificate(
                iso15118_schema_version=ISO_15118_2, action="Install", exi_request="gAEC"
            )
        )
        assert (other.status, other.exi_response) == ("Failed", "")
        assert other.status_info["reason_code"] == "NoContract"


# --- Part 6 TC_M_*_CSMS: the operator's commands through the HTTP API -------------------------


async def _install(server: RunningCsms, cp: Station, certificate_type: str) -> dict[str, Any]:
    pem = await server.csms.v2g.root_certificate_pem() if server.csms.v2g else ""
    async with server.api() as api:
        reply = await api.post(
            f"/api/v1/stations/{STATION}/certificates",
            json={"certificate_type": certificate_type, "certificate": pem},
        )
    assert reply.status_code == 200
    assert cp.received["InstallCertificate"][-1] == {
        "certificate_type": certificate_type,
        "certificate": pem,
    }
    return dict(reply.json())


async def test_TC_M_01_CSMS_install_ca_certificate(server: RunningCsms) -> None:
    """TC_M_01 is CSMSRootCertificate; the V2G and MO roots take the same path (M05)."""
    await server.add_station(STATION)
    async with booted(server) as cp:
        for certificate_type in ("CSMSRootCertificate", "V2GRootCertificate", "MORootCertificate"):
            assert await _install(server, cp, certificate_type) == {"status": "Accepted"}


async def test_TC_M_02_CSMS_install_ca_certificate_manufacturer_root(server: RunningCsms) -> None:
    await server.add_station(STATION)
    async with booted(server) as cp:
        assert await _install(server, cp, "ManufacturerRootCertificate") == {"status": "Accepted"}


async def test_TC_M_05_CSMS_install_ca_certificate_failed(server: RunningCsms) -> None:
    await server.add_station(STATION)
    async with booted(server) as cp:
        cp.answers["InstallCertificate"] = "Failed"
        assert await _install(server, cp, "CSMSRootCertificate") == {"status": "Failed"}


async def _query(server: RunningCsms, types: list[str]) -> dict[str, Any]:
    async with server.api() as api:
        reply = await api.post(
            f"/api/v1/stations/{STATION}/certificates/query", json={"certificate_types": types}
        )
    assert reply.status_code == 200
    return dict(reply.json())


async def test_TC_M_13_CSMS_get_installed_certificates_manufacturer_root(
    server: RunningCsms,
) -> None:
    await server.add_station(STATION)
    async with booted(server) as cp:
        cp.answers["GetInstalledCertificateIds"] = [
            {
                "certificate_type": "ManufacturerRootCertificate",
                "certificate_hash_data": _hash_data("SHA256"),
            }
        ]
        result = await _query(server, ["ManufacturerRootCertificate"])
        assert cp.received["GetInstalledCertificateIds"] == [
            {"certificate_type": ["ManufacturerRootCertificate"]}
        ]
    assert result["status"] == "Accepted"
    assert [(c["certificate_type"], c["hash_data"]) for c in result["certificates"]] == [
        ("ManufacturerRootCertificate", _hash_data("SHA256"))
    ]


async def test_TC_M_18_CSMS_get_installed_certificates_all_types(server: RunningCsms) -> None:
    await server.add_station(STATION)
    leaf, sub_ca = _hash_data("SHA256", "11"), _hash_data("SHA256", "22")
    async with booted(server) as cp:
        cp.answers["GetInstalledCertificateIds"] = [
            {
                "certificate_type": "CSMSRootCertificate",
                "certificate_hash_data": _hash_data("SHA256"),
            },
            {
                "certificate_type": "V2GRootCertificate",
                "certificate_hash_data": _hash_data("SHA384"),
            },
            {
                "certificate_type": "MORootCertificate",
                "certificate_hash_data": _hash_data("SHA512"),
            },
            {
                "certificate_type": "V2GCertificateChain",
                "certificate_hash_data": leaf,
                "child_certificate_hash_data": [sub_ca],
            },
        ]
        result = await _query(server, [])
        assert cp.received["GetInstalledCertificateIds"] == [{}]  # certificateType omitted
    assert result["status"] == "Accepted"
    assert [c["certificate_type"] for c in result["certificates"]] == [
        "CSMSRootCertificate",
        "V2GRootCertificate",
        "MORootCertificate",
        "V2GCertificateChain",
        "V2GCertificateChain",
    ]
    assert result["certificates"][-1]["hash_data"] == sub_ca
    async with server.api() as api:
        stored = (await api.get(f"/api/v1/stations/{STATION}/certificates")).json()
    assert len(stored) == 5


async def test_TC_M_19_CSMS_get_installed_certificates_none_found(server: RunningCsms) -> None:
    await server.add_station(STATION)
    async with booted(server) as cp:
        result = await _query(server, ["ManufacturerRootCertificate"])
        assert cp.received["GetInstalledCertificateIds"] == [
            {"certificate_type": ["ManufacturerRootCertificate"]}
        ]
    assert result == {"status": "NotFound", "certificates": []}


async def _get_then_delete(server: RunningCsms, cp: Station, algorithm: str) -> dict[str, Any]:
    """Steps 2-5 of TC_M_20/21: the hash data the station reported is what DeleteCertificate names
    (M04.FR.07: the same hashAlgorithm)."""
    cp.answers["GetInstalledCertificateIds"] = [
        {"certificate_type": "CSMSRootCertificate", "certificate_hash_data": _hash_data(algorithm)}
    ]
    (reported,) = (await _query(server, ["CSMSRootCertificate"]))["certificates"]
    async with server.api() as api:
        deleted = await api.post(
            f"/api/v1/stations/{STATION}/certificates/delete", json=reported["hash_data"]
        )
    assert cp.received["DeleteCertificate"][-1] == {"certificate_hash_data": _hash_data(algorithm)}
    return dict(deleted.json())


async def test_TC_M_20_CSMS_delete_certificate_success_every_hash_algorithm(
    server: RunningCsms,
) -> None:
    await server.add_station(STATION)
    async with booted(server) as cp:
        for algorithm in ("SHA256", "SHA384", "SHA512"):
            assert await _install(server, cp, "CSMSRootCertificate") == {"status": "Accepted"}
            assert await _get_then_delete(server, cp, algorithm) == {"status": "Accepted"}
    async with server.api() as api:
        assert (await api.get(f"/api/v1/stations/{STATION}/certificates")).json() == []


async def test_TC_M_21_CSMS_delete_certificate_failed(server: RunningCsms) -> None:
    await server.add_station(STATION)
    async with booted(server) as cp:
        cp.answers["DeleteCertificate"] = "Failed"
        assert await _get_then_delete(server, cp, "SHA256") == {"status": "Failed"}
    async with server.api() as api:
        kept = (await api.get(f"/api/v1/stations/{STATION}/certificates")).json()
    assert [c["certificate_type"] for c in kept] == ["CSMSRootCertificate"]  # still installed
