"""Certificate bookkeeping shared by 1.6 (security extension) and 2.x: install, list, delete.

The simulator does not parse X.509: it names a certificate by hash data derived from its PEM text,
which is stable and has the field lengths of CertificateHashDataType (2.0.1 Part 2 §2.6).
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from csms.simulator.state import Certificate, StationState


def hash_data(pem: str) -> dict[str, str]:
    """CertificateHashDataType for ``pem``: SHA256 hashes and a serial number of at most 40 hex."""
    digest = hashlib.sha256(pem.encode()).hexdigest()
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": hashlib.sha256(b"issuer:" + pem.encode()).hexdigest(),
        "issuerKeyHash": hashlib.sha256(b"key:" + pem.encode()).hexdigest(),
        "serialNumber": digest[:40],
    }


def looks_like_pem(text: str) -> bool:
    """A quick plausibility check: the station refuses what is obviously not a certificate."""
    return "-----BEGIN CERTIFICATE-----" in text


def install(state: StationState, certificate_type: str, pem: str) -> bool:
    """Install (or replace) a certificate; False if it is not a PEM certificate."""
    if not looks_like_pem(pem):
        return False
    data = hash_data(pem)
    state.certificates = [c for c in state.certificates if c.hash_data != data]
    state.certificates.append(Certificate(certificate_type, pem, data))
    return True


def delete(state: StationState, wanted: dict[str, Any]) -> bool:
    """Delete the certificate named by ``wanted`` hash data; False if none matches."""
    keys = ("issuerNameHash", "issuerKeyHash", "serialNumber")
    for cert in state.certificates:
        if all(cert.hash_data[k] == wanted.get(k) for k in keys):
            state.certificates.remove(cert)
            return True
    return False


def of_types(state: StationState, types: list[str] | None) -> list[Certificate]:
    """The installed certificates of ``types`` (all when None or empty)."""
    return [c for c in state.certificates if not types or c.certificate_type in types]


def make_csr(common_name: str, organization: str) -> str:
    """A PEM CSR for a new P-256 key, CN the station's identity (2.0.1 A02.FR.06/A00.FR.407).

    The key is not kept: the simulator installs the signed chain as text and never uses it in
    TLS, so the CSMS's side of the flow (sign, CertificateSigned) is what this exercises.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()
