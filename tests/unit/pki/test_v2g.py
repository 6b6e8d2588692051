"""The built-in V2G root signs SECC CSRs and answers OCSP (RFC 6960) for what it issued; the
built-in ISO 15118 provider and the CA router built on it."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from csms.domain.errors import CertificateRequestRejected, Iso15118ProviderFailure
from csms.domain.iso15118 import EvCertificateRequest, OcspRequestData
from csms.pki import (
    BuiltinIso15118Provider,
    CertificateAuthorityByType,
    PreEncodedExiResponses,
    V2GRootAuthority,
)
from csms.pki.v2g import issuer_hashes

HASHES: dict[str, hashes.HashAlgorithm] = {
    "SHA256": hashes.SHA256(),
    "SHA384": hashes.SHA384(),
    "SHA512": hashes.SHA512(),
}


def v2g_csr(
    common_name: str = "DE*ACM*E1234*1",
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACME CPO"),
            x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "CPO"),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def _issued(v2g: V2GRootAuthority) -> tuple[x509.Certificate, x509.Certificate]:
    leaf, root = x509.load_pem_x509_certificates(
        (await v2g.sign("CP-1", v2g_csr(), "V2GCertificate")).encode()
    )
    return leaf, root


def _parse(der: bytes, root: x509.Certificate) -> ocsp.OCSPResponse:
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    key = root.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(hashes.SHA256()))
    return response


async def test_signs_a_secc_csr_with_the_v2g_root_and_keeps_its_key(tmp_path: Path) -> None:
    v2g = V2GRootAuthority(tmp_path / "v2g")
    leaf, root = await _issued(v2g)
    leaf.verify_directly_issued_by(root)
    assert root.subject == (await v2g.root_certificate()).subject
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "DE*ACM*E1234*1"
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_agreement and not usage.key_cert_sign
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert (tmp_path / "v2g" / "issued" / f"{leaf.serial_number:x}.pem").exists()
    mode = (tmp_path / "v2g" / "v2g-root-key.pem").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    again = V2GRootAuthority(tmp_path / "v2g")
    assert await again.root_certificate_pem() == await v2g.root_certificate_pem()


@pytest.mark.parametrize(
    ("csr", "why"),
    [
        ("not a csr", "PEM"),
        (v2g_csr(key=rsa.generate_private_key(65537, 2048)), "P-256"),
        (v2g_csr(key=ec.generate_private_key(ec.SECP384R1())), "P-256"),
    ],
)
async def test_refuses_what_iso15118_does_not_use(tmp_path: Path, csr: str, why: str) -> None:
    with pytest.raises(CertificateRequestRejected, match=why):
        await V2GRootAuthority(tmp_path).sign("CP-1", csr, "V2GCertificate")


@pytest.mark.parametrize("algorithm", ["SHA256", "SHA384", "SHA512"])
async def test_issuer_hashes_are_those_of_an_rfc6960_cert_id(
    tmp_path: Path, algorithm: str
) -> None:
    v2g = V2GRootAuthority(tmp_path)
    leaf, root = await _issued(v2g)
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, root, HASHES[algorithm]).build()
    assert issuer_hashes(root, algorithm) == (
        request.issuer_name_hash.hex(),
        request.issuer_key_hash.hex(),
    )


async def test_ocsp_good_revoked_and_unknown(tmp_path: Path) -> None:
    v2g = V2GRootAuthority(tmp_path)
    leaf, root = await _issued(v2g)
    name_hash, key_hash = issuer_hashes(root, "SHA256")
    serial = f"{leaf.serial_number:X}"  # case does not matter

    good = _parse(await v2g.ocsp_response("SHA256", name_hash, key_hash, serial) or b"", root)
    assert good.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert good.serial_number == leaf.serial_number
    assert good.issuer_key_hash.hex() == key_hash
    assert good.next_update_utc is not None and good.next_update_utc > good.this_update_utc

    unknown = _parse(await v2g.ocsp_response("SHA256", name_hash, key_hash, "1234") or b"", root)
    assert unknown.certificate_status is ocsp.OCSPCertStatus.UNKNOWN

    await v2g.revoke(leaf.serial_number)
    revoked = _parse(await v2g.ocsp_response("SHA256", name_hash, key_hash, serial) or b"", root)
    assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_time_utc is not None

    assert await v2g.ocsp_response("SHA256", "00" * 32, key_hash, serial) is None
    with pytest.raises(ValueError, match="hash algorithm"):
        await v2g.ocsp_response("MD5", name_hash, key_hash, serial)
    with pytest.raises(ValueError):
        await v2g.ocsp_response("SHA256", name_hash, key_hash, "not-hex")


async def test_builtin_provider_answers_ocsp_and_fails_clearly_for_the_rest(tmp_path: Path) -> None:
    v2g = V2GRootAuthority(tmp_path / "v2g")
    provider = BuiltinIso15118Provider(v2g, PreEncodedExiResponses(None))
    leaf, root = await _issued(v2g)
    name_hash, key_hash = issuer_hashes(root, "SHA384")
    data = OcspRequestData("SHA384", name_hash, key_hash, f"{leaf.serial_number:x}", "http://x")
    answer = await provider.certificate_status(data)
    assert answer.status == "Accepted" and answer.ocsp_result is not None
    parsed = _parse(base64.b64decode(answer.ocsp_result), root)
    assert parsed.certificate_status is ocsp.OCSPCertStatus.GOOD

    foreign = OcspRequestData("SHA256", "ab" * 32, "cd" * 32, "2a", "http://x")
    with pytest.raises(Iso15118ProviderFailure) as failure:
        await provider.certificate_status(foreign)
    assert failure.value.reason == "UnknownIssuer"
    with pytest.raises(Iso15118ProviderFailure) as failure:
        await provider.certificate_status(OcspRequestData("SHA256", "a", "b", "-1", ""))
    assert failure.value.reason == "InvalidCertID"

    request = EvCertificateRequest(
        "CP-1", "2.0.1", "urn:iso:15118:2:2013:MsgDef", "Install", "gA=="
    )
    with pytest.raises(Iso15118ProviderFailure) as failure:
        await provider.ev_certificate(request)
    assert failure.value.reason == "NoContractSource"
    assert "CSMS_ISO15118_EXI_DIR" in failure.value.detail


async def test_pre_encoded_exi_responses_are_found_by_the_requests_sha256(tmp_path: Path) -> None:
    exi_request = bytes(range(40))
    key = hashlib.sha256(exi_request).hexdigest()
    (tmp_path / f"{key}.b64").write_text("gAEC\nAwQF\n")
    contracts = PreEncodedExiResponses(tmp_path)
    request = EvCertificateRequest(
        "CP-1",
        "2.0.1",
        "urn:iso:15118:2:2013:MsgDef",
        "Install",
        base64.b64encode(exi_request).decode(),
    )
    assert PreEncodedExiResponses.request_key(request.exi_request) == key
    answer = await contracts.answer(request)
    assert (answer.status, answer.exi_response) == ("Accepted", "gAECAwQF")

    other = EvCertificateRequest(
        "CP-1", "2.0.1", "x", "Update", base64.b64encode(b"other").decode()
    )
    with pytest.raises(Iso15118ProviderFailure) as failure:
        await contracts.answer(other)
    assert failure.value.reason == "NoContract"
    bad = EvCertificateRequest("CP-1", "2.0.1", "x", "Update", "not base64!")
    with pytest.raises(Iso15118ProviderFailure) as failure:
        await contracts.answer(bad)
    assert failure.value.reason == "InvalidExi"


class _Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[str | None] = []

    async def sign(self, station_id: str, csr_pem: str, certificate_type: str | None) -> str:
        self.calls.append(certificate_type)
        return self.name


async def test_v2g_csrs_go_to_the_v2g_root_the_others_to_the_station_ca() -> None:
    station_ca, v2g = _Recorder("station"), _Recorder("v2g")
    router = CertificateAuthorityByType(station_ca, v2g)
    assert await router.sign("CP-1", "csr", "V2GCertificate") == "v2g"
    assert await router.sign("CP-1", "csr", "ChargingStationCertificate") == "station"
    assert await router.sign("CP-1", "csr", None) == "station"
    assert (station_ca.calls, v2g.calls) == (
        ["ChargingStationCertificate", None],
        ["V2GCertificate"],
    )
