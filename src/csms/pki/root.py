"""What the built-in CA and the V2G root share: a self-signed EC root kept in a directory, and
the checks every CSR passes before either looks at it.

The key (EC P-256, PKCS#8, mode 0600) and certificate are created on first use and reused
afterwards; an operator may put their own there instead (an unencrypted EC key in PEM).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from csms.domain.errors import CertificateRequestRejected

__all__ = ["LocalRoot", "load_csr", "utc_now"]

_ROOT_VALIDITY = dt.timedelta(days=3650)


def utc_now() -> dt.datetime:
    """The wall clock in UTC (certificate validity is absolute time)."""
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class LocalRoot:
    """A self-signed root in ``directory``: ``key_file`` and ``cert_file``, created on first use.

    ``path_length`` is the BasicConstraints path length (None: unlimited); ``digital_signature``
    whether the root's key usage includes digitalSignature (the station CA signs OCSP-less TLS
    leaves with it; the V2G root does not).
    """

    directory: Path
    key_file: str
    cert_file: str
    subject: x509.Name
    path_length: int | None = 0
    digital_signature: bool = True
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _key: ec.EllipticCurvePrivateKey | None = field(default=None, init=False)
    _cert: x509.Certificate | None = field(default=None, init=False)

    @property
    def cert_path(self) -> Path:
        """The root certificate's file."""
        return self.directory / self.cert_file

    async def loaded(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """The key and certificate, read (or created) once, off the event loop."""
        key, cert = self._key, self._cert
        if key is not None and cert is not None:
            return key, cert
        async with self._lock:
            if self._key is None or self._cert is None:
                self._key, self._cert = await asyncio.to_thread(self._load_or_create)
            key, cert = self._key, self._cert
        assert key is not None and cert is not None
        return key, cert

    def _load_or_create(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        key_path, cert_path = self.directory / self.key_file, self.cert_path
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{key_path} is not an EC private key")
            return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
        self.directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = utc_now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(self.subject)
            .issuer_name(self.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + _ROOT_VALIDITY)
            .add_extension(
                x509.BasicConstraints(ca=True, path_length=self.path_length), critical=True
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=self.digital_signature,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        key_bytes = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_bytes)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return key, cert


def load_csr(
    csr_pem: str,
) -> tuple[x509.CertificateSigningRequest, CertificatePublicKeyTypes]:
    """A PEM PKCS#10 request with a valid self-signature (A02.FR.03), and its public key.

    Raises:
        CertificateRequestRejected: not a CSR, an unusable key, or a bad signature.
    """
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise CertificateRequestRejected("not a PEM certificate signing request") from exc
    try:
        valid = csr.is_signature_valid
        public_key = csr.public_key()
    except (InvalidSignature, UnsupportedAlgorithm, ValueError) as exc:
        raise CertificateRequestRejected("the CSR's key or signature is unusable") from exc
    if not valid:
        raise CertificateRequestRejected("the CSR's signature is invalid")
    return csr, public_key
