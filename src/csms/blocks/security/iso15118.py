"""ISO 15118 certificate requests a station forwards for its EVs (2.0.1 M02/M03, M06).

Get15118EVCertificate (install or update the EV's contract certificate) and GetCertificateStatus
(an OCSP check of a V2G certificate) need a contract-certificate pool and an OCSP responder
behind the CSMS. None is configured, so both are answered ``Failed`` with a statusInfo saying why:
schema-valid answers the station can act on (it falls back to other identification), never
NotSupported. Every request is stored whole (:mod:`csms.domain.notifications`) so an operator sees
which EVs asked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.kept import keep
from csms.blocks.routing import handles
from csms.domain.notifications import NotificationLog
from csms.rpc import OcppVersion

__all__ = ["Iso15118CertificateBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)

_NO_PROVIDER = {
    "reasonCode": "NoProvider",
    "additionalInfo": "no ISO 15118 certificate provider is configured on this CSMS",
}


class Iso15118CertificateBlock:
    """Station-initiated ISO 15118 certificate messages (2.x)."""

    def __init__(self, log: NotificationLog, *, clock: Callable[[], datetime]) -> None:
        self._log = log
        self._clock = clock

    @handles(V2, "Get15118EVCertificate")
    async def get_15118_ev_certificate(self, ctx: CallContext, payload: Payload) -> Payload:
        """M02/M03: {iso15118SchemaVersion, action, exiRequest} → Failed, no EXI response."""
        await keep(self._log, ctx, "Get15118EVCertificate", payload, self._clock())
        return {"status": "Failed", "exiResponse": "", "statusInfo": dict(_NO_PROVIDER)}

    @handles(V2, "GetCertificateStatus")
    async def get_certificate_status(self, ctx: CallContext, payload: Payload) -> Payload:
        """M06: {ocspRequestData} → Failed, no OCSP result."""
        await keep(self._log, ctx, "GetCertificateStatus", payload, self._clock())
        return {"status": "Failed", "statusInfo": dict(_NO_PROVIDER)}
