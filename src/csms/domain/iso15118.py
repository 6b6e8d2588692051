"""The port to whatever answers a station's ISO 15118 certificate requests (2.0.1 M02/M03, M06).

A station forwards two Plug & Charge requests it cannot serve itself:

* Get15118EVCertificate (M02 install, M03 update): the EV's EXI-encoded, base64
  CertificateInstallationReq/CertificateUpdateReq, to be answered with the EXI
  CertificateInstallationRes/CertificateUpdateRes from a contract-certificate pool (an eMSP or a
  Plug & Charge ecosystem);
* GetCertificateStatus (M06): an OCSP check of a V2G certificate, identified as in RFC 6960
  CertID (hash algorithm, issuer name/key hashes, serial number), answered with a DER OCSPResponse.

csms forwards both to an :class:`Iso15118CertificateProvider`; which one is configured
(``CSMS_ISO15118_PROVIDER``) is decided by the composition root.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from csms.domain.errors import Iso15118ProviderFailure

__all__ = [
    "CertificateStatusAnswer",
    "EvCertificateAnswer",
    "EvCertificateRequest",
    "Iso15118CertificateProvider",
    "Iso15118ProviderFailure",
    "OcspRequestData",
]


@dataclass(frozen=True, slots=True)
class EvCertificateRequest:
    """A Get15118EVCertificateRequest (2.1's two extra fields are None on 2.0.1)."""

    station_id: str
    ocpp_version: str  # "2.0.1" or "2.1"
    iso15118_schema_version: str  # e.g. "urn:iso:15118:2:2013:MsgDef"
    action: str  # Install or Update
    exi_request: str  # base64 of the EXI stream, as received
    maximum_contract_certificate_chains: int | None = None
    prioritized_emaids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EvCertificateAnswer:
    """What to answer: ``status`` Accepted or Failed, the base64 EXI response (may be empty)."""

    status: str
    exi_response: str = ""
    reason: str | None = None  # statusInfo.reasonCode, ≤ 20 characters
    additional_info: str | None = None  # statusInfo.additionalInfo, ≤ 512 characters
    remaining_contracts: int | None = None  # 2.1 only


@dataclass(frozen=True, slots=True)
class OcspRequestData:
    """OCSPRequestDataType: the RFC 6960 CertID of the certificate to check, hashes in hex."""

    hash_algorithm: str  # SHA256, SHA384 or SHA512
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str  # hex, as the station sent it
    responder_url: str


@dataclass(frozen=True, slots=True)
class CertificateStatusAnswer:
    """``status`` Accepted with ``ocsp_result`` (base64 DER OCSPResponse), or Failed."""

    status: str
    ocsp_result: str | None = None
    reason: str | None = None
    additional_info: str | None = None


class Iso15118CertificateProvider(Protocol):
    """Answers the ISO 15118 certificate requests stations forward.

    Both methods may raise :class:`Iso15118ProviderFailure` (or take too long): the station then gets a
    schema-valid ``Failed``, never an error.
    """

    async def ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        """Get15118EVCertificate: the EXI response for the EV's certificate request."""
        ...

    async def certificate_status(self, request: OcspRequestData) -> CertificateStatusAnswer:
        """GetCertificateStatus: an OCSP response for the certificate ``request`` names."""
        ...
