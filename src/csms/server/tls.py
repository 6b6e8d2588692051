"""The TLS side of security profiles 2 and 3: the OCPP cipher suites, one certificate per key type,
station (client) certificates, and names for failed handshakes.

The Central System SHALL support TLS_ECDHE_ECDSA_WITH_AES_{128,256}_GCM_SHA{256,384} and
TLS_RSA_WITH_AES_{128,256}_GCM_SHA{256,384} (1.6 security whitepaper and 2.0.1 Part 2 A00.FR.317),
only TLS 1.2 or above (A00.FR.312) and no TLS compression (A00.FR.320). Stations support either the
ECDSA or the RSA pair (A00.FR.318), so the CSMS needs "2 different certificates" (A00.FR.317 note):
both are loaded into one context and OpenSSL picks the one matching the signature algorithms and
suites the client offers. TLS 1.3 suites stay enabled for stations that speak it.

Security profile 3 (1.6 security whitepaper §2.5 / 2.0.1 A00.FR.401–407): the station
authenticates with its certificate as a TLS client certificate (A00.FR.402); csms verifies its
certification path against ``CSMS_TLS_CLIENT_CA`` (A00.FR.403) and terminates a connection whose
certificate is missing, expired or from another CA in the handshake (A00.FR.407), which the
acceptor logs (A00.FR.408). Names (CN, O) are checked after the handshake, once the identity in
the URL is known (server/client_certificates.py).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from csms.config import SettingsError

# OpenSSL names, strongest first within each key type. The ECDHE-RSA suites serve RSA stations
# with forward secrecy; the plain RSA ones are the mandated fallback.
TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
    )
)


class TlsConfigError(SettingsError):
    """A certificate or key cannot be used; the message names the setting and the file."""


def certificate_key_type(cert_path: str) -> str:
    """ "RSA" or "ECDSA": the key type of the (first) certificate in ``cert_path``."""
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise TlsConfigError(
            f"CSMS_TLS_CERT/CSMS_TLS_KEY (--tls-cert/--tls-key): {cert_path} is not a PEM "
            f"certificate chain ({exc})"
        ) from None
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA"
    raise TlsConfigError(
        f"CSMS_TLS_CERT: {cert_path} is neither RSA nor ECDSA (OCPP A00.FR.317 needs one of them)"
    )


def server_context(
    pairs: Sequence[tuple[str, str]],
    *,
    client_ca: str | None = None,
    require_client_certificate: bool = False,
) -> ssl.SSLContext:
    """A server context with one certificate per key type from ``pairs`` of (cert, key) files.

    With ``client_ca`` (a PEM bundle), a certificate a station presents must chain to one of its
    CAs; it must present one when ``require_client_certificate`` (profile 3; CERT_REQUIRED), and
    may otherwise (mixed profile 2/3 on one port; CERT_OPTIONAL).
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # A00.FR.312
    ctx.options |= ssl.OP_NO_COMPRESSION  # A00.FR.320
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_ciphers(TLS12_CIPHERS)
    seen: dict[str, str] = {}
    for cert, key in pairs:
        kind = certificate_key_type(cert)
        if kind in seen:
            raise TlsConfigError(
                f"CSMS_TLS_CERT2: {cert} and {seen[kind]} are both {kind}; give one RSA and one "
                "ECDSA certificate"
            )
        seen[kind] = cert
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(
                f"CSMS_TLS_KEY: {key} cannot be loaded with {cert} ({exc})"
            ) from None
    if client_ca is not None:
        try:
            ctx.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise TlsConfigError(
                f"CSMS_TLS_CLIENT_CA: {client_ca} is not a readable PEM bundle of CA certificates "
                f"({exc})"
            ) from None
        ctx.verify_mode = ssl.CERT_REQUIRED if require_client_certificate else ssl.CERT_OPTIONAL
    elif require_client_certificate:
        raise TlsConfigError("CSMS_TLS_CLIENT_CA: security profile 3 needs the stations' CAs")
    return ctx


def handshake_failure(exc: BaseException) -> str:
    """A short, log-safe reason for a failed TLS handshake (A00.FR.323)."""
    if isinstance(exc, ssl.SSLError) and exc.reason:
        if exc.reason == "HTTP_REQUEST":
            return "plain HTTP (ws://) sent to the TLS endpoint"
        reason = str(exc.reason).lower().replace("_", " ")
        detail = getattr(exc, "verify_message", None)  # the station certificate's fault
        return f"{reason}: {detail}" if detail else reason
    if isinstance(exc, ConnectionError | EOFError):
        return "connection closed during the TLS handshake"
    return type(exc).__name__
