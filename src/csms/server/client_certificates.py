"""Security profile 3 after the TLS handshake: whose certificate is it, and on which profile is the
connection (1.6 security whitepaper §2.5 and A05; 2.0.1 Part 2 A00.FR.401–408, A05.FR.09).

The TLS layer already verified the certification path and validity (server/tls.py). What is left
needs the station identity from the URL, so it is checked in the HTTP upgrade request:

* the subject's CN must equal the identity (A00.FR.405: "the CN ... contains the unique Serial
  Number of the Charge Point", which csms takes to be its identity, as the built-in CA does);
* with ``CSMS_TLS_ORGANIZATION`` set, the subject's O must equal it (A00.FR.404: "owned by the CPO
  ... the O (organizationName) RDN ... contains the CPO name").

A mismatch is refused 403 before the upgrade (A00.FR.407: terminate the connection).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

__all__ = ["PeerCertificate", "connection_profile", "name_mismatch", "peer_certificate"]


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """The subject names of a station certificate the TLS layer verified."""

    common_names: tuple[str, ...]
    organizations: tuple[str, ...]


def peer_certificate(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> PeerCertificate | None:
    """The verified client certificate of a TLS connection, or None (no TLS, or none presented).

    ``getpeercert()`` returns the parsed certificate only when it was verified (CERT_OPTIONAL or
    CERT_REQUIRED); unverified certificates never get this far (the handshake fails).
    """
    if ssl_object is None:
        return None
    cert: dict[str, Any] | None = ssl_object.getpeercert()
    if not cert:
        return None
    names: dict[str, list[str]] = {"commonName": [], "organizationName": []}
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key in names:
                names[key].append(str(value))
    return PeerCertificate(tuple(names["commonName"]), tuple(names["organizationName"]))


def name_mismatch(
    certificate: PeerCertificate, identity: str, organization: str | None
) -> str | None:
    """Why ``certificate`` does not belong to station ``identity`` (log-safe), or None if it does."""
    if certificate.common_names != (identity,):
        return "the certificate's CN is not the station identity (A00.FR.405)"
    if organization is not None and certificate.organizations != (organization,):
        return "the certificate's O is not CSMS_TLS_ORGANIZATION (A00.FR.404)"
    return None


def connection_profile(*, tls: bool, certificate: bool, password: bool) -> int:
    """The security profile a connection uses: 3 with a client certificate, 2 TLS with Basic auth,
    1 Basic auth, 0 neither (1.6 security whitepaper §2; 2.0.1 A00)."""
    if certificate:
        return 3
    if password:
        return 2 if tls else 1
    return 0
