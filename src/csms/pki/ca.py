"""The built-in certificate authority: signs stations' CSRs (1.6 security whitepaper ed. 2 A02/A03).

A02.FR.04 says the CSMS SHOULD forward CSRs to a dedicated CA; this one is for labs and small
operators who have none. An operator's CA plugs in instead behind
:class:`csms.domain.security.CertificateAuthority`.

On first use it creates an EC P-256 key (mode 0600) and a self-signed root certificate in
``<data_dir>/ca/``, and reuses them afterwards. A CSR is signed when it is a PEM PKCS#10 request
(A02.FR.03) with a valid self-signature, an RSA (≥ 2048 bits) or EC (P-256/P-384) key, and a CN
equal to the station's identity (A00.FR.511: the CN is the station's unique serial number, which
csms takes to be its identity, as security profile 3 matches the CN against it). The certificate
keeps the CSR's subject, is valid for ``validity_days``, and is restricted to TLS client use
(A00.FR.512).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from csms.domain.errors import CertificateRequestRejected
from csms.pki.root import LocalRoot, load_csr, utc_now

__all__ = ["BuiltinCertificateAuthority"]

_KEY_FILE = "ca-key.pem"
_CERT_FILE = "ca-cert.pem"
_EC_CURVES = (ec.SECP256R1, ec.SECP384R1)


class BuiltinCertificateAuthority:
    """Implements :class:`csms.domain.security.CertificateAuthority` with a local key."""

    def __init__(
        self,
        directory: str | Path,
        *,
        common_name: str = "csms built-in CA",
        validity_days: int = 365,
    ) -> None:
        self._dir = Path(directory).expanduser()
        self._validity = dt.timedelta(days=validity_days)
        self._root = LocalRoot(
            self._dir,
            _KEY_FILE,
            _CERT_FILE,
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]),
            path_length=0,
            digital_signature=True,
        )

    @property
    def certificate_path(self) -> Path:
        """The root certificate (PEM), to install on stations as their CSMS/Central System root."""
        return self._dir / _CERT_FILE

    async def root_certificate_pem(self) -> str:
        """The CA certificate in PEM, created on first use."""
        _key, cert = await self._loaded()
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    async def sign(self, station_id: str, csr_pem: str, certificate_type: str | None) -> str:
        """Sign ``csr_pem`` and return ``leaf PEM + CA PEM``.

        Raises:
            CertificateRequestRejected: see the module docstring for what is accepted.
        """
        csr = _checked_csr(station_id, csr_pem)
        key, cert = await self._loaded()
        leaf = await asyncio.to_thread(self._issue, key, cert, csr)
        encoding = serialization.Encoding.PEM
        return (leaf.public_bytes(encoding) + cert.public_bytes(encoding)).decode("ascii")

    def _issue(
        self,
        key: ec.EllipticCurvePrivateKey,
        ca: x509.Certificate,
        csr: x509.CertificateSigningRequest,
    ) -> x509.Certificate:
        now = utc_now()
        public_key = csr.public_key()
        usage_agreement = isinstance(public_key, ec.EllipticCurvePublicKey)
        return (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(ca.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + self._validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=not usage_agreement,
                    data_encipherment=False,
                    key_agreement=usage_agreement,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )

    async def _loaded(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        return await self._root.loaded()


def _checked_csr(station_id: str, csr_pem: str) -> x509.CertificateSigningRequest:
    csr, public_key = load_csr(csr_pem)
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < 2048:
            raise CertificateRequestRejected("RSA keys must have at least 2048 bits")
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, _EC_CURVES):
            raise CertificateRequestRejected("EC keys must use P-256 or P-384")
    else:
        raise CertificateRequestRejected("only RSA and EC keys are signed")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or names[0].value != station_id:
        raise CertificateRequestRejected("the CSR's CN must be the station's identity")
    return csr
