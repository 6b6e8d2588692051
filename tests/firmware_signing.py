"""A firmware signing certificate and signature as a vendor delivers them with an image (L01):
a self-signed ECDSA P-256 certificate (PEM) and the base64 ECDSA-SHA256 signature of the image."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["self_signed", "sign_image", "verify_image"]


def self_signed(
    common_name: str, valid: timedelta = timedelta(days=30)
) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A fresh ECDSA P-256 key and its self-signed certificate (PEM), valid from a day ago."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + valid)
        .sign(key, hashes.SHA256())
    )
    return key, certificate.public_bytes(serialization.Encoding.PEM).decode()


def sign_image(image: bytes) -> tuple[str, str]:
    """(signingCertificate PEM, base64 signature) of ``image``."""
    key, pem = self_signed("Firmware Signer")
    signature = key.sign(image, ec.ECDSA(hashes.SHA256()))
    return pem, base64.b64encode(signature).decode()


def verify_image(signing_certificate: str, signature: str, image: bytes) -> None:
    """What a station does before it reports SignatureVerified; raises InvalidSignature."""
    certificate = x509.load_pem_x509_certificate(signing_certificate.encode())
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(base64.b64decode(signature), image, ec.ECDSA(hashes.SHA256()))
