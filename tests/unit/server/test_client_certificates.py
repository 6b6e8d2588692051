"""Profile 3 name checks and connection profiles, without sockets (server/client_certificates.py)."""

from __future__ import annotations

from typing import Any

import pytest

from csms.server.client_certificates import (
    PeerCertificate,
    connection_profile,
    name_mismatch,
    peer_certificate,
)


class _Tls:
    def __init__(self, cert: dict[str, Any] | None) -> None:
        self._cert = cert

    def getpeercert(self) -> dict[str, Any] | None:
        return self._cert


def test_peer_certificate_reads_cn_and_o_of_a_verified_certificate() -> None:
    subject = ((("countryName", "NL"),), (("organizationName", "CPO"),), (("commonName", "CS1"),))
    assert peer_certificate(_Tls({"subject": subject})) == PeerCertificate(("CS1",), ("CPO",))  # type: ignore[arg-type]
    assert peer_certificate(_Tls(None)) is None  # type: ignore[arg-type]
    assert peer_certificate(None) is None


@pytest.mark.parametrize(
    ("certificate", "organization", "reason"),
    [
        (PeerCertificate(("CS1",), ()), None, None),
        (PeerCertificate(("CS1",), ("CPO",)), "CPO", None),
        (PeerCertificate(("CS2",), ("CPO",)), "CPO", "CN"),
        (PeerCertificate(("CS1", "CS2"), ()), None, "CN"),  # two CNs: ambiguous, refused
        (PeerCertificate((), ()), None, "CN"),
        (PeerCertificate(("CS1",), ("Other",)), "CPO", "O is not"),
        (PeerCertificate(("CS1",), ()), "CPO", "O is not"),
    ],
)
def test_name_mismatch(
    certificate: PeerCertificate, organization: str | None, reason: str | None
) -> None:
    found = name_mismatch(certificate, "CS1", organization)
    assert (found is None) if reason is None else (found is not None and reason in found)


def test_connection_profile() -> None:
    assert connection_profile(tls=True, certificate=True, password=False) == 3
    assert connection_profile(tls=True, certificate=False, password=True) == 2
    assert connection_profile(tls=False, certificate=False, password=True) == 1
    assert connection_profile(tls=False, certificate=False, password=False) == 0
