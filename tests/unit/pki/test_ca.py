"""The built-in CA signs CSRs made with `cryptography` and refuses the ones it must not sign."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from csms.domain.errors import CertificateRequestRejected
from csms.pki import BuiltinCertificateAuthority


def _csr(
    common_name: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None
) -> str:
    key = key or ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACME CPO"),
                ]
            )
        )
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


async def test_signs_an_ec_csr_with_the_stations_identity(tmp_path: Path) -> None:
    ca = BuiltinCertificateAuthority(tmp_path / "ca")
    chain = await ca.sign("CP-1", _csr("CP-1"), None)
    leaf, root = x509.load_pem_x509_certificates(chain.encode())
    leaf.verify_directly_issued_by(root)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "ACME CPO"
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True


async def test_signs_rsa_2048(tmp_path: Path) -> None:
    ca = BuiltinCertificateAuthority(tmp_path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf, _root = x509.load_pem_x509_certificates(
        (await ca.sign("CP-2", _csr("CP-2", key), None)).encode()
    )
    assert isinstance(leaf.public_key(), rsa.RSAPublicKey)


async def test_the_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    first = BuiltinCertificateAuthority(tmp_path)
    root = await first.root_certificate_pem()
    key_file = tmp_path / "ca-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = BuiltinCertificateAuthority(tmp_path)
    assert await again.root_certificate_pem() == root
    leaf, issuer = x509.load_pem_x509_certificates(
        (await again.sign("X", _csr("X"), None)).encode()
    )
    assert issuer.public_bytes(serialization.Encoding.PEM).decode() == root
    leaf.verify_directly_issued_by(issuer)


@pytest.mark.parametrize(
    ("station", "csr", "reason"),
    [
        (
            "CP-1",
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
            "PEM",
        ),
        ("CP-1", "hello", "PEM"),
        ("CP-1", _csr("CP-9"), "CN"),
        ("CP-1", _csr("CP-1", ec.generate_private_key(ec.SECP521R1())), "P-256"),
    ],
)
async def test_refuses(tmp_path: Path, station: str, csr: str, reason: str) -> None:
    ca = BuiltinCertificateAuthority(tmp_path)
    with pytest.raises(CertificateRequestRejected, match=reason):
        await ca.sign(station, csr, None)


async def test_refuses_weak_rsa(tmp_path: Path) -> None:
    # cryptography refuses to make keys under 1024 bits; 1024 is still below the 2048 floor.
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(CertificateRequestRejected, match="2048"):
        await BuiltinCertificateAuthority(tmp_path).sign("CP-1", _csr("CP-1", key), None)
