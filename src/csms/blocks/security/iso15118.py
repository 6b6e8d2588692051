"""ISO 15118 certificate requests a station forwards for its EVs (2.0.1 M02/M03, M06).

Get15118EVCertificate (install or update the EV's contract certificate) and GetCertificateStatus
(an OCSP check of a V2G certificate) are forwarded to the configured
:class:`csms.domain.iso15118.Iso15118CertificateProvider` (``CSMS_ISO15118_PROVIDER``) and its
answer returned. Without a provider, or when it fails, takes longer than ``timeout`` or answers
something the schema would refuse, the station gets ``Failed`` with a statusInfo saying why:
schema-valid answers it can act on (it falls back to other identification), never NotSupported
or a CALLERROR. Every request is stored whole (:mod:`csms.domain.notifications`) so an operator
sees which EVs asked.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from csms.blocks.context import CallContext
from csms.blocks.kept import keep
from csms.blocks.routing import handles
from csms.domain.errors import Iso15118ProviderFailure
from csms.domain.iso15118 import (
    CertificateStatusAnswer,
    EvCertificateAnswer,
    EvCertificateRequest,
    Iso15118CertificateProvider,
    OcspRequestData,
)
from csms.domain.notifications import NotificationLog
from csms.rpc import OcppVersion

__all__ = ["PROVIDER_TIMEOUT", "Iso15118CertificateBlock"]

Payload = dict[str, Any]
V2 = (OcppVersion.V201, OcppVersion.V21)
_T = TypeVar("_T")

logger = logging.getLogger(__name__)

# Seconds the provider has to answer: well inside the 30 s a station typically waits for us.
PROVIDER_TIMEOUT = 10.0
# Schema limits (maxLength) per version: exiResponse, ocspResult, statusInfo.additionalInfo.
_EXI_RESPONSE_MAX = {OcppVersion.V201: 7500, OcppVersion.V21: 17000}
_OCSP_RESULT_MAX = {OcppVersion.V201: 5500, OcppVersion.V21: 18000}
_ADDITIONAL_INFO_MAX = {OcppVersion.V201: 512, OcppVersion.V21: 1024}
_REASON_MAX = 20
_ANSWER_STATUSES = frozenset({"Accepted", "Failed"})
# A provider failure is logged at most once per this many seconds (and counted in between).
_LOG_INTERVAL = 60.0

_NO_PROVIDER = (
    "NoProvider",
    "no ISO 15118 certificate provider is configured on this CSMS",
)


@dataclass(frozen=True, slots=True)
class _Refusal:
    """The ``Failed`` payload that replaces a provider's missing answer."""

    payload: Payload


class _BoundedWarnings:
    """Logs a provider failure at most once per ``interval``; says how many it left out."""

    def __init__(self, interval: float = _LOG_INTERVAL) -> None:
        self._interval = interval
        self._next = 0.0
        self._skipped = 0

    def warn(self, message: str, *args: object, exc_info: bool = False) -> None:
        now = time.monotonic()
        if now < self._next:
            self._skipped += 1
            return
        skipped, self._skipped, self._next = self._skipped, 0, now + self._interval
        suffix = f" ({skipped} more since the last report)" if skipped else ""
        logger.warning("%s%s", message % args, suffix, exc_info=exc_info)


def _status_info(reason: object, info: object, version: OcppVersion) -> Payload | None:
    """statusInfo cut to the schema's lengths (a provider's texts are not trusted to fit)."""
    if not reason:
        return None
    status_info: Payload = {"reasonCode": str(reason)[:_REASON_MAX]}
    if info:
        status_info["additionalInfo"] = str(info)[: _ADDITIONAL_INFO_MAX[version]]
    return status_info


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _failed(reason: str, info: str, version: OcppVersion) -> Payload:
    status_info = _status_info(reason, info, version)
    assert status_info is not None
    return {"status": "Failed", "statusInfo": status_info}


class Iso15118CertificateBlock:
    """Station-initiated ISO 15118 certificate messages (2.x)."""

    def __init__(
        self,
        log: NotificationLog,
        *,
        clock: Callable[[], datetime],
        provider: Iso15118CertificateProvider | None = None,
        timeout: float = PROVIDER_TIMEOUT,
    ) -> None:
        self._log = log
        self._clock = clock
        self._provider = provider
        self._timeout = timeout
        self._warnings = _BoundedWarnings()

    async def _ask(self, ctx: CallContext, action: str, work: Awaitable[_T]) -> _T | _Refusal:
        """Await the provider; a failure becomes a ready ``Failed`` payload (logged, bounded)."""
        try:
            return await asyncio.wait_for(work, self._timeout)
        except Iso15118ProviderFailure as exc:
            ctx.log.info("%s: the provider answered Failed (%s)", action, exc.reason)
            return _Refusal(_failed(exc.reason, exc.detail, ctx.version))
        except TimeoutError:
            self._warnings.warn("[%s] %s: no answer from the provider", ctx.station_id, action)
            return _Refusal(
                _failed("Timeout", "the ISO 15118 certificate provider did not answer", ctx.version)
            )
        except Exception:  # a plug-in's bug must not become a CALLERROR (fail closed: Failed)
            self._warnings.warn(
                "[%s] %s: the provider raised", ctx.station_id, action, exc_info=True
            )
            return _Refusal(
                _failed("ProviderError", "the ISO 15118 certificate provider failed", ctx.version)
            )

    def _refuse_answer(self, ctx: CallContext, action: str, why: str) -> Payload:
        self._warnings.warn("[%s] %s: unusable provider answer: %s", ctx.station_id, action, why)
        return _failed("ProviderError", f"unusable provider answer: {why}", ctx.version)

    @handles(V2, "Get15118EVCertificate")
    async def get_15118_ev_certificate(self, ctx: CallContext, payload: Payload) -> Payload:
        """M02/M03: {iso15118SchemaVersion, action, exiRequest} → the provider's EXI answer."""
        await keep(self._log, ctx, "Get15118EVCertificate", payload, self._clock())
        if self._provider is None:
            return {"exiResponse": "", **_failed(*_NO_PROVIDER, ctx.version)}
        request = EvCertificateRequest(
            station_id=ctx.station_id,
            ocpp_version=ctx.version.value,
            iso15118_schema_version=payload["iso15118SchemaVersion"],
            action=payload["action"],
            exi_request=payload["exiRequest"],
            maximum_contract_certificate_chains=payload.get("maximumContractCertificateChains"),
            prioritized_emaids=tuple(payload.get("prioritizedEMAIDs", ())),
        )
        answer = await self._ask(
            ctx, "Get15118EVCertificate", self._provider.ev_certificate(request)
        )
        if isinstance(answer, _Refusal):
            return {"exiResponse": "", **answer.payload}
        return self._ev_certificate_payload(ctx, answer)

    def _ev_certificate_payload(self, ctx: CallContext, answer: EvCertificateAnswer) -> Payload:
        action = "Get15118EVCertificate"
        if not isinstance(answer, EvCertificateAnswer) or answer.status not in _ANSWER_STATUSES:
            return {"exiResponse": "", **self._refuse_answer(ctx, action, "bad status")}
        exi: object = answer.exi_response  # a plug-in's answer: typed only by convention
        if not isinstance(exi, str):
            return {"exiResponse": "", **self._refuse_answer(ctx, action, "exiResponse not text")}
        if len(exi) > _EXI_RESPONSE_MAX[ctx.version] or not _is_base64(exi):
            why = f"exiResponse must be base64 of at most {_EXI_RESPONSE_MAX[ctx.version]} chars"
            return {"exiResponse": "", **self._refuse_answer(ctx, action, why)}
        if answer.status == "Accepted" and not exi:
            return {"exiResponse": "", **self._refuse_answer(ctx, action, "no exiResponse")}
        reply: Payload = {"status": answer.status, "exiResponse": exi}
        status_info = _status_info(answer.reason, answer.additional_info, ctx.version)
        if status_info is not None:
            reply["statusInfo"] = status_info
        remaining = answer.remaining_contracts
        if ctx.version is OcppVersion.V21 and isinstance(remaining, int) and remaining >= 0:
            reply["remainingContracts"] = remaining
        ctx.log.info("Get15118EVCertificate: %s (%d EXI chars)", answer.status, len(exi))
        return reply

    @handles(V2, "GetCertificateStatus")
    async def get_certificate_status(self, ctx: CallContext, payload: Payload) -> Payload:
        """M06: {ocspRequestData} → the provider's OCSP response (base64 DER) or Failed."""
        await keep(self._log, ctx, "GetCertificateStatus", payload, self._clock())
        if self._provider is None:
            return _failed(*_NO_PROVIDER, ctx.version)
        data = payload["ocspRequestData"]
        request = OcspRequestData(
            hash_algorithm=data["hashAlgorithm"],
            issuer_name_hash=data["issuerNameHash"],
            issuer_key_hash=data["issuerKeyHash"],
            serial_number=data["serialNumber"],
            responder_url=data["responderURL"],
        )
        answer = await self._ask(
            ctx, "GetCertificateStatus", self._provider.certificate_status(request)
        )
        if isinstance(answer, _Refusal):
            return answer.payload
        return self._certificate_status_payload(ctx, answer)

    def _certificate_status_payload(
        self, ctx: CallContext, answer: CertificateStatusAnswer
    ) -> Payload:
        action = "GetCertificateStatus"
        if not isinstance(answer, CertificateStatusAnswer) or answer.status not in _ANSWER_STATUSES:
            return self._refuse_answer(ctx, action, "bad status")
        result: object = answer.ocsp_result  # as above
        if result is not None and (
            not isinstance(result, str)
            or not result
            or len(result) > _OCSP_RESULT_MAX[ctx.version]
            or not _is_base64(result)
        ):
            why = f"ocspResult must be base64 of at most {_OCSP_RESULT_MAX[ctx.version]} chars"
            return self._refuse_answer(ctx, action, why)
        if answer.status == "Accepted" and result is None:
            return self._refuse_answer(ctx, action, "Accepted without ocspResult")
        reply: Payload = {"status": answer.status}
        if result is not None:
            reply["ocspResult"] = result
        status_info = _status_info(answer.reason, answer.additional_info, ctx.version)
        if status_info is not None:
            reply["statusInfo"] = status_info
        ctx.log.info("GetCertificateStatus: %s", answer.status)
        return reply
