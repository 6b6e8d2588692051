"""The built-in V2G root: signs stations' V2G (SECC) certificates and answers OCSP for them.

ISO 15118 Plug & Charge needs a V2G PKI; this one is for labs and tests, and for operators who run
their own small V2G root. Its files live in one directory (``<data_dir>/v2g/`` by default):

* ``v2g-root-key.pem`` (mode 0600) and ``v2g-root-cert.pem``: an EC P-256 key and a self-signed
  root certificate, created on first use; an operator's own root may be put there instead (an EC
  key, PKCS#8 or SEC1 PEM, unencrypted);
* ``issued/<serial>.pem``: every certificate it signed (serial in lowercase hex);
* ``revoked/<serial>``: a revoked serial, the file holding the revocation time (ISO 8601).

:meth:`V2GRootAuthority.sign` signs a SignCertificate CSR with certificateType V2GCertificate
(2.0.1 A02/A03): a PEM PKCS#10 request with a valid self-signature, an EC P-256 key (the only
curve ISO 15118-2 uses) and a CN (the SECC's identity, often its EVSE ID, so not required to be
the station's identity). The certificate keeps the CSR's subject, is valid ``validity_days``,
and has the key usages of an ISO 15118-2 SECC leaf (digitalSignature, keyAgreement). The chain
returned is ``leaf + root``; there are no sub-CAs.

:meth:`V2GRootAuthority.ocsp_response` builds a DER OCSPResponse (RFC 6960) signed by the root,
for a CertID whose issuer hashes are the root's: ``revoked`` for a revoked serial, ``good`` for
one it issued, ``unknown`` otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from csms.domain.errors import CertificateRequestRejected
from csms.pki.root import LocalRoot, load_csr, utc_now

__all__ = ["HASH_ALGORITHMS", "V2GRootAuthority", "issuer_hashes"]

_KEY_FILE = "v2g-root-key.pem"
_CERT_FILE = "v2g-root-cert.pem"
# OCSPRequestDataType.hashAlgorithm → the hash of the CertID.
HASH_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}


def issuer_hashes(issuer: x509.Certificate, algorithm: str) -> tuple[str, str]:
    """RFC 6960 CertID issuerNameHash and issuerKeyHash of ``issuer``, lowercase hex.

    The name hash is over the DER of the issuer's subject; the key hash over the value of its
    subjectPublicKey BIT STRING (for EC keys the X9.62 point).
    """
    name = issuer.subject.public_bytes()
    key = issuer.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        key_bits = key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    else:
        key_bits = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    hashed = []
    for data in (name, key_bits):
        digest = hashes.Hash(HASH_ALGORITHMS[algorithm]())
        digest.update(data)
        hashed.append(digest.finalize().hex())
    return hashed[0], hashed[1]


class V2GRootAuthority:
    """Implements :class:`csms.domain.security.CertificateAuthority` for V2G certificates."""

    def __init__(
        self,
        directory: str | Path,
        *,
        common_name: str = "csms V2G root",
        validity_days: int = 90,
        ocsp_validity: dt.timedelta = dt.timedelta(days=1),
    ) -> None:
        self._dir = Path(directory).expanduser()
        self._validity = dt.timedelta(days=validity_days)
        self._ocsp_validity = ocsp_validity
        self._root = LocalRoot(
            self._dir,
            _KEY_FILE,
            _CERT_FILE,
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                    x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "V2G"),
                ]
            ),
            path_length=None,
            digital_signature=False,
        )

    @property
    def directory(self) -> Path:
        """Where the root's key, certificate, issued and revoked serials live."""
        return self._dir

    async def root_certificate(self) -> x509.Certificate:
        """The V2G root certificate, created on first use."""
        return (await self._loaded())[1]

    async def root_certificate_pem(self) -> str:
        """The root in PEM, to install on stations as their V2GRootCertificate (M05)."""
        cert = await self.root_certificate()
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    async def sign(self, station_id: str, csr_pem: str, certificate_type: str | None) -> str:
        """Sign a V2G CSR and return ``leaf PEM + root PEM`` (see the module docstring).

        Raises:
            CertificateRequestRejected: the CSR is not an acceptable V2G certificate request.
        """
        csr = _checked_csr(csr_pem)
        key, root = await self._loaded()
        leaf = await asyncio.to_thread(self._issue, key, root, csr)
        encoding = serialization.Encoding.PEM
        return (leaf.public_bytes(encoding) + root.public_bytes(encoding)).decode("ascii")

    async def revoke(self, serial_number: int, when: dt.datetime | None = None) -> None:
        """Mark ``serial_number`` revoked from ``when`` (default now); OCSP answers revoked."""
        stamp = (when or utc_now()).astimezone(dt.UTC).isoformat()
        await asyncio.to_thread(self._write, Path("revoked") / f"{serial_number:x}", stamp)

    async def ocsp_response(
        self, hash_algorithm: str, issuer_name_hash: str, issuer_key_hash: str, serial_hex: str
    ) -> bytes | None:
        """The DER OCSPResponse for this CertID, or None if the root did not issue it.

        ``serial_hex`` is the serial in hex (any case, leading zeros allowed).

        Raises:
            ValueError: ``hash_algorithm`` or ``serial_hex`` is malformed.
        """
        if hash_algorithm not in HASH_ALGORITHMS:
            raise ValueError(f"unsupported hash algorithm {hash_algorithm!r}")
        serial = int(serial_hex, 16)
        if serial < 0:
            raise ValueError("a serial number is not negative")
        key, root = await self._loaded()
        name_hash, key_hash = issuer_hashes(root, hash_algorithm)
        if (issuer_name_hash.lower(), issuer_key_hash.lower()) != (name_hash, key_hash):
            return None
        return await asyncio.to_thread(self._ocsp, key, root, hash_algorithm, serial)

    def _ocsp(
        self, key: ec.EllipticCurvePrivateKey, root: x509.Certificate, algorithm: str, serial: int
    ) -> bytes:
        now = utc_now()
        name_hash, key_hash = issuer_hashes(root, algorithm)
        revoked_file = self._dir / "revoked" / f"{serial:x}"
        revocation_time: dt.datetime | None = None
        if revoked_file.exists():
            status = ocsp.OCSPCertStatus.REVOKED
            revocation_time = dt.datetime.fromisoformat(revoked_file.read_text().strip())
        elif (self._dir / "issued" / f"{serial:x}.pem").exists():
            status = ocsp.OCSPCertStatus.GOOD
        else:
            status = ocsp.OCSPCertStatus.UNKNOWN
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=bytes.fromhex(name_hash),
                issuer_key_hash=bytes.fromhex(key_hash),
                serial_number=serial,
                algorithm=HASH_ALGORITHMS[algorithm](),
                cert_status=status,
                this_update=now,
                next_update=now + self._ocsp_validity,
                revocation_time=revocation_time,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, root)
            .sign(key, hashes.SHA256())
        )
        return response.public_bytes(serialization.Encoding.DER)

    def _issue(
        self,
        key: ec.EllipticCurvePrivateKey,
        root: x509.Certificate,
        csr: x509.CertificateSigningRequest,
    ) -> x509.Certificate:
        now = utc_now()
        public_key = csr.public_key()
        leaf = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(root.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + self._validity)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=True,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        pem = leaf.public_bytes(serialization.Encoding.PEM).decode("ascii")
        self._write(Path("issued") / f"{leaf.serial_number:x}.pem", pem)
        return leaf

    def _write(self, relative: Path, text: str) -> None:
        path = self._dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text)
        temporary.replace(path)

    async def _loaded(self) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        return await self._root.loaded()


def _checked_csr(csr_pem: str) -> x509.CertificateSigningRequest:
    csr, public_key = load_csr(csr_pem)
    if not (
        isinstance(public_key, ec.EllipticCurvePublicKey)
        and isinstance(public_key.curve, ec.SECP256R1)
    ):
        raise CertificateRequestRejected("a V2G certificate needs an EC P-256 key (ISO 15118-2)")
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not names[0].value:
        raise CertificateRequestRejected("the CSR needs exactly one CN")
    return csr
