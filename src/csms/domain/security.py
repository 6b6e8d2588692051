"""Security extension: security events, certificates, and the certificate authority port.

Sources: 1.6 security whitepaper ed. 2 (A02 certificate update, A04 security events and §8 list,
M03–M05 certificate management); 2.0.1 Part 2 Appendices §1 (security events).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = [
    "CRITICAL_EVENTS_V2",
    "CRITICAL_EVENTS_V16",
    "CertificateAuthority",
    "CertificateHashData",
    "CertificateRequest",
    "InstalledCertificate",
    "SecurityEvent",
    "SecurityRepository",
    "is_critical",
]

# 1.6 security whitepaper ed. 2 §8 "Security Events", column CRITICAL = Yes.
CRITICAL_EVENTS_V16 = frozenset(
    {
        "FirmwareUpdated",
        "SettingSystemTime",
        "StartupOfTheDevice",
        "ResetOrReboot",
        "SecurityLogWasCleared",
        "MemoryExhaustion",
        "TamperDetectionActivated",
    }
)
# 2.0.1 Part 2 Appendices §1 "Security Events", Critical = Yes (2.1 keeps the list).
CRITICAL_EVENTS_V2 = CRITICAL_EVENTS_V16 | {
    "InvalidCsmsCertificate",
    "InvalidChargingStationCertificate",
    "InvalidTLSVersion",
    "InvalidTLSCipherSuite",
    "MaintenanceLoginAccepted",
    "MaintenanceLoginFailed",
}


def is_critical(event_type: str, *, v16: bool) -> bool:
    """Whether the spec of the station's version lists ``event_type`` as critical."""
    return event_type in (CRITICAL_EVENTS_V16 if v16 else CRITICAL_EVENTS_V2)


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """A SecurityEventNotification as stored."""

    station_id: str
    type: str
    timestamp: datetime
    critical: bool
    received_at: datetime
    tech_info: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class CertificateHashData:
    """Identifies an installed certificate (whitepaper CertificateHashDataType; 2.x the same)."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str


@dataclass(frozen=True, slots=True)
class InstalledCertificate:
    """A certificate the station reported installed; ``certificate_type`` in its 2.x spelling."""

    station_id: str
    certificate_type: str
    hash_data: CertificateHashData
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """A SignCertificate from a station and what became of it."""

    id: int
    station_id: str
    csr: str
    certificate_type: str | None
    status: str  # Accepted / Rejected (our answer), then Signed / Failed
    created_at: datetime
    certificate_chain: str | None = None
    error: str | None = None


class CertificateAuthority(Protocol):
    """Signs a station's CSR (A02.FR.04: the CSMS forwards it to a CA).

    csms ships a built-in CA (``csms.pki``); an operator's own CA plugs in behind this Protocol.
    """

    async def sign(self, station_id: str, csr_pem: str, certificate_type: str | None) -> str:
        """Return the PEM certificate chain (leaf first) for ``csr_pem``.

        Raises:
            CertificateRequestRejected: the CSR is malformed or not acceptable.
        """
        ...


class SecurityRepository(Protocol):
    """Security events, certificate requests and the certificates stations reported installed."""

    async def record_event(self, event: SecurityEvent) -> None:
        """Store a security event (committed on return)."""
        ...

    async def events(
        self,
        *,
        station_id: str | None = None,
        critical_only: bool = False,
        limit: int = 100,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
    ) -> Sequence[SecurityEvent]:
        """Return events, newest first: of one station and type, reported by the station at or
        after ``since`` and before ``until``, stored before event ``before_id`` (paging)."""
        ...

    async def add_certificate_request(
        self, station_id: str, csr: str, certificate_type: str | None, status: str, now: datetime
    ) -> int:
        """Store a SignCertificate and our answer; return its id."""
        ...

    async def finish_certificate_request(
        self, request_id: int, *, status: str, chain: str | None, error: str | None
    ) -> None:
        """Store what the CA and the CertificateSigned call gave."""
        ...

    async def certificate_requests(
        self, station_id: str, *, limit: int = 100
    ) -> Sequence[CertificateRequest]:
        """Return the station's certificate requests, newest first."""
        ...

    async def replace_installed(
        self,
        station_id: str,
        certificate_types: Sequence[str],
        certificates: Sequence[InstalledCertificate],
    ) -> None:
        """Replace what is known installed of ``certificate_types`` by ``certificates``."""
        ...

    async def remove_installed(self, station_id: str, hash_data: CertificateHashData) -> None:
        """Forget a certificate the station deleted."""
        ...

    async def installed(self, station_id: str) -> Sequence[InstalledCertificate]:
        """Return the certificates last reported installed."""
        ...
