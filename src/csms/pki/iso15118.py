"""The built-in ISO 15118 certificate provider (``CSMS_ISO15118_PROVIDER=builtin``).

* GetCertificateStatus (2.0.1 M06): a real OCSP response (RFC 6960, DER, base64) signed by the
  built-in V2G root (:mod:`csms.pki.v2g`) for certificates whose issuer is that root: ``good``
  for one it issued, ``revoked`` for one revoked, ``unknown`` otherwise. A CertID of another
  issuer is answered ``Failed`` (reasonCode ``UnknownIssuer``): this responder is not
  authoritative for it.
* Get15118EVCertificate (M02/M03): the answer is an EXI-encoded ISO 15118 CertificateInstallationRes
  or CertificateUpdateRes carrying a contract certificate chain and its encrypted private key,
  issued by a mobility operator's PKI. csms has no EXI codec and no contract-certificate pool, so
  the built-in backend only serves responses encoded elsewhere: with ``CSMS_ISO15118_EXI_DIR``
  set, the answer to a request is the file ``<dir>/<sha256>.b64``, where ``<sha256>`` is the
  lowercase hex SHA-256 of the request's EXI bytes (``exiRequest`` base64-decoded) and the file
  holds the base64 EXI response (whitespace ignored). No file (or no directory): ``Failed``
  with reasonCode ``NoContract`` / ``NoContractSource``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from pathlib import Path

from csms.domain.errors import Iso15118ProviderFailure
from csms.domain.iso15118 import (
    CertificateStatusAnswer,
    EvCertificateAnswer,
    EvCertificateRequest,
    OcspRequestData,
)
from csms.domain.security import CertificateAuthority
from csms.pki.v2g import V2GRootAuthority

__all__ = [
    "V2G_CERTIFICATE",
    "BuiltinIso15118Provider",
    "CertificateAuthorityByType",
    "PreEncodedExiResponses",
]

V2G_CERTIFICATE = "V2GCertificate"


class CertificateAuthorityByType:
    """Sends V2GCertificate CSRs to the V2G root and the others to the station CA (A02/A03)."""

    def __init__(self, default: CertificateAuthority, v2g: CertificateAuthority) -> None:
        self._default = default
        self._v2g = v2g

    async def sign(self, station_id: str, csr_pem: str, certificate_type: str | None) -> str:
        """Sign ``csr_pem`` with the authority for ``certificate_type``.

        Raises:
            CertificateRequestRejected: that authority refused the CSR.
        """
        authority = self._v2g if certificate_type == V2G_CERTIFICATE else self._default
        return await authority.sign(station_id, csr_pem, certificate_type)


class PreEncodedExiResponses:
    """EXI responses encoded beforehand, one file per request (see the module docstring)."""

    def __init__(self, directory: str | Path | None) -> None:
        self._dir = None if directory is None else Path(directory).expanduser()

    @staticmethod
    def request_key(exi_request: str) -> str:
        """The file name stem for ``exi_request``: SHA-256 of its EXI bytes, lowercase hex.

        Raises:
            Iso15118ProviderFailure: ``exi_request`` is not base64.
        """
        try:
            exi = base64.b64decode(exi_request, validate=True)
        except (binascii.Error, ValueError):
            raise Iso15118ProviderFailure("InvalidExi", "exiRequest is not base64") from None
        return hashlib.sha256(exi).hexdigest()

    async def answer(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        """The stored response for ``request``.

        Raises:
            Iso15118ProviderFailure: no directory is configured, or it has no response for it.
        """
        if self._dir is None:
            raise Iso15118ProviderFailure(
                "NoContractSource",
                "csms has no ISO 15118 EXI codec or contract certificate pool; configure "
                "CSMS_ISO15118_EXI_DIR with pre-encoded responses or a provider of your own",
            )
        path = self._dir / f"{self.request_key(request.exi_request)}.b64"
        try:
            text = await asyncio.to_thread(path.read_text, "ascii")
        except (OSError, UnicodeDecodeError):
            raise Iso15118ProviderFailure(
                "NoContract", "no contract certificate response for this request"
            ) from None
        return EvCertificateAnswer(status="Accepted", exi_response="".join(text.split()))


class BuiltinIso15118Provider:
    """Implements :class:`csms.domain.iso15118.Iso15118CertificateProvider` for labs and tests."""

    def __init__(self, v2g: V2GRootAuthority, contracts: PreEncodedExiResponses) -> None:
        self._v2g = v2g
        self._contracts = contracts

    async def ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        """M02/M03: a pre-encoded EXI response (see the module docstring)."""
        return await self._contracts.answer(request)

    async def certificate_status(self, request: OcspRequestData) -> CertificateStatusAnswer:
        """M06: an OCSP response signed by the V2G root (see the module docstring).

        Raises:
            Iso15118ProviderFailure: the CertID is malformed or not of the V2G root.
        """
        try:
            der = await self._v2g.ocsp_response(
                request.hash_algorithm,
                request.issuer_name_hash,
                request.issuer_key_hash,
                request.serial_number,
            )
        except ValueError as exc:
            raise Iso15118ProviderFailure("InvalidCertID", str(exc)) from None
        if der is None:
            raise Iso15118ProviderFailure(
                "UnknownIssuer", "the certificate was not issued by this CSMS's V2G root"
            )
        return CertificateStatusAnswer(
            status="Accepted", ocsp_result=base64.b64encode(der).decode("ascii")
        )
