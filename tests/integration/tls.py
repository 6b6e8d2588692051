"""A throwaway CA and server certificates for TLS tests (security profile 2), made with cryptography."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

KeyType = Literal["ECDSA", "RSA"]


def _new_key(key_type: KeyType) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if key_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def make_certificates(
    directory: Path, key_types: tuple[KeyType, ...] = ("ECDSA",), *, ca_name: str = "csms test CA"
) -> tuple[Path, list[tuple[Path, Path]]]:
    """Write ca.pem and one server certificate + key per key type (CN/SAN 127.0.0.1), all signed
    by one ECDSA CA; return the CA's path and the (certificate, key) paths in order."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_path = _pem(directory / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    pairs: list[tuple[Path, Path]] = []
    for n, key_type in enumerate(key_types):
        key = _new_key(key_type)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        stem = "server" if n == 0 else f"server-{key_type.lower()}"
        pairs.append(
            (
                _pem(directory / f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM)),
                _pem(
                    directory / f"{stem}.key",
                    key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    ),
                ),
            )
        )
    return ca_path, pairs


def make_server_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """Write ca.pem, server.pem and server.key (ECDSA P-256, CN/SAN 127.0.0.1); return their paths."""
    ca_path, [(cert_path, key_path)] = make_certificates(directory)
    return ca_path, cert_path, key_path


class StationCa:
    """A throwaway CA that issues station (TLS client) certificates, for security profile 3 tests."""

    def __init__(self, directory: Path, name: str = "station test CA") -> None:
        self.directory = directory
        now = datetime.datetime.now(datetime.UTC)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=2))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        directory.mkdir(parents=True, exist_ok=True)
        self.path = _pem(
            directory / "station-ca.pem", self.certificate.public_bytes(serialization.Encoding.PEM)
        )

    def issue(
        self, common_name: str, *, organization: str | None = None, expired: bool = False
    ) -> tuple[Path, Path]:
        """Write a station certificate (CN ``common_name``, O ``organization``) and its key;
        ``expired`` makes one that ran out yesterday. Returns (certificate, key) paths."""
        now = datetime.datetime.now(datetime.UTC)
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if organization is not None:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        key = ec.generate_private_key(ec.SECP256R1())
        start = now - datetime.timedelta(days=2 if expired else 0, minutes=1)
        end = now - datetime.timedelta(days=1) if expired else now + datetime.timedelta(days=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        stem = f"{common_name}-{organization or ''}-{'expired' if expired else 'valid'}"
        return (
            _pem(self.directory / f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM)),
            _pem(self.directory / f"{stem}.key", _private_pem(key)),
        )


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def station_csr(station_id: str) -> tuple[str, bytes]:
    """A station's CSR (CN = its identity) and its private key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, station_id)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii"), _private_pem(key)


def client_context(server_ca: Path, certificate: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """A station's TLS context: trusts ``server_ca`` and presents ``certificate`` if given."""
    context = ssl.create_default_context(cafile=str(server_ca))
    if certificate is not None:
        context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context
