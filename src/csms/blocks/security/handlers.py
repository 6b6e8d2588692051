"""SecurityEventNotification and SignCertificate (1.6 security whitepaper ed. 2; 2.0.1 A02–A04).

* SecurityEventNotification is always confirmed with ``{}`` once stored (A04.FR.02). Events the
  spec lists as critical (whitepaper §8; 2.0.1 Appendices §1) are logged at WARNING and can be
  listed on their own.
* SignCertificate is answered Accepted when csms can process it (A02.FR.11: a CA is configured and
  the CSR is PEM), else Rejected (A02.FR.12). The CSR then goes to the certificate authority in a
  task of this block, and the signed chain to the station in a CertificateSigned CALL. That task
  starts only after the handler returned, and the connection queues our CALLRESULT before yielding
  to it, so the station always gets SignCertificate.conf first. If the CA refuses the CSR the
  station is not told (whitepaper A02 "Error handling"); the request is stored as Failed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from csms.blocks.context import CallContext
from csms.blocks.routing import handles
from csms.blocks.timefmt import station_time
from csms.domain.errors import CertificateRequestRejected, DomainError
from csms.domain.ports import StationGateway
from csms.domain.security import (
    CertificateAuthority,
    SecurityEvent,
    SecurityRepository,
    is_critical,
)
from csms.rpc import OcppVersion

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)

logger = logging.getLogger(__name__)

_PEM_CSR = "-----BEGIN CERTIFICATE REQUEST-----"


class SecurityBlock:
    """Handlers of the security block; owns the CertificateSigned tasks (see :meth:`aclose`)."""

    def __init__(
        self,
        security: SecurityRepository,
        gateway: StationGateway,
        *,
        ca: CertificateAuthority | None,
        clock: Callable[[], datetime],
        call_timeout: float | None = None,
    ) -> None:
        self._security = security
        self._gateway = gateway
        self._ca = ca
        self._clock = clock
        self._call_timeout = call_timeout
        self._tasks: set[asyncio.Task[None]] = set()

    @handles((OcppVersion.V16, *V2), "SecurityEventNotification")
    async def security_event_notification(self, ctx: CallContext, payload: Payload) -> Payload:
        """Whitepaper §5.13 / 2.x {type, timestamp, techInfo?}."""
        received_at = self._clock()
        event = SecurityEvent(
            station_id=ctx.station_id,
            type=payload["type"],
            timestamp=station_time(payload["timestamp"], received_at),
            tech_info=payload.get("techInfo"),
            critical=is_critical(payload["type"], v16=ctx.version is OcppVersion.V16),
            received_at=received_at,
        )
        await self._security.record_event(event)
        if event.critical:
            ctx.limited(
                logging.WARNING,
                "critical security event",
                "critical security event %s (%s)",
                event.type,
                event.tech_info or "",
            )
        else:
            ctx.log.info("security event %s", event.type)
        return {}

    @handles((OcppVersion.V16, *V2), "SignCertificate")
    async def sign_certificate(self, ctx: CallContext, payload: Payload) -> Payload:
        """Whitepaper §5.14 {csr}; 2.x {csr, certificateType?}."""
        csr: str = payload["csr"]
        certificate_type: str | None = payload.get("certificateType")
        able = self._ca is not None and _PEM_CSR in csr
        status = "Accepted" if able else "Rejected"
        request_id = await self._security.add_certificate_request(
            ctx.station_id, csr, certificate_type, status, self._clock()
        )
        ctx.log.info("SignCertificate: %s", status)
        if able:
            self._spawn(self._sign_and_send(ctx, request_id, csr, certificate_type))
        return {"status": status}

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sign_and_send(
        self,
        ctx: CallContext,
        request_id: int,
        csr: str,
        certificate_type: str | None,
    ) -> None:
        assert self._ca is not None
        station_id, version = ctx.station_id, ctx.version
        try:
            chain = await self._ca.sign(station_id, csr, certificate_type)
        except CertificateRequestRejected as exc:  # a station may send these in a loop
            ctx.limited(logging.WARNING, "csr refused", "the CA refused the CSR: %s", exc)
            await self._finish(request_id, status="Failed", chain=None, error=str(exc))
            return
        payload: Payload = {"certificateChain": chain}
        if version is not OcppVersion.V16 and certificate_type is not None:
            payload["certificateType"] = certificate_type
        try:
            reply = await self._gateway.call(
                station_id, "CertificateSigned", payload, timeout=self._call_timeout
            )
        except DomainError as exc:
            ctx.limited(
                logging.WARNING,
                "certificate not delivered",
                "CertificateSigned not delivered: %s",
                exc,
            )
            await self._finish(request_id, status="NotDelivered", chain=chain, error=str(exc))
            return
        status = "Signed" if reply.get("status") == "Accepted" else "StationRejected"
        logger.info("[%s] CertificateSigned: %s", station_id, reply.get("status"))
        await self._finish(request_id, status=status, chain=chain, error=None)

    async def _finish(
        self, request_id: int, *, status: str, chain: str | None, error: str | None
    ) -> None:
        try:
            await self._security.finish_certificate_request(
                request_id, status=status, chain=chain, error=error
            )
        except DomainError:
            logger.exception("could not store the outcome of certificate request %d", request_id)

    async def drain(self) -> None:
        """Wait for the CertificateSigned tasks running now (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the CertificateSigned tasks still running and wait for them."""
        for task in self._tasks:
            task.cancel()
        await self.drain()
