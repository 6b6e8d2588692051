"""Get15118EVCertificate and GetCertificateStatus go to the configured provider; whatever the
provider does (nothing configured, fails, hangs, raises, answers nonsense) the station gets a
schema-valid answer. Answers are checked against the official schemas of 2.0.1 and 2.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from csms.blocks.context import CallContext
from csms.blocks.security.iso15118 import Iso15118CertificateBlock
from csms.blocks.security.iso15118_loading import ProviderConfigError, load_provider
from csms.domain.errors import Iso15118ProviderFailure
from csms.domain.iso15118 import (
    CertificateStatusAnswer,
    EvCertificateAnswer,
    EvCertificateRequest,
    OcspRequestData,
)
from csms.domain.notifications import StationNotification
from csms.messages import MessageValidator
from csms.rpc import OcppVersion

T0 = datetime(2026, 1, 1, tzinfo=UTC)
EV_REQUEST = {
    "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
    "action": "Install",
    "exiRequest": "gAECAw==",
}
STATUS_REQUEST = {
    "ocspRequestData": {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "ab" * 32,
        "issuerKeyHash": "cd" * 32,
        "serialNumber": "2a",
        "responderURL": "http://ocsp.example",
    }
}
VALIDATORS = {v: MessageValidator(v) for v in (OcppVersion.V201, OcppVersion.V21)}


class Log:
    def __init__(self) -> None:
        self.kept: list[StationNotification] = []

    async def record(self, notification: StationNotification) -> None:
        self.kept.append(notification)

    async def list(self, *args: Any, **kwargs: Any) -> Sequence[StationNotification]:
        return self.kept


class Provider:
    """Answers what it is given; records what it was asked."""

    def __init__(self, ev: Any = None, status: Any = None, delay: float = 0.0) -> None:
        self.ev, self.status, self.delay = ev, status, delay
        self.asked: list[object] = []

    async def _give(self, answer: Any) -> Any:
        await asyncio.sleep(self.delay)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        self.asked.append(request)
        return await self._give(self.ev)  # type: ignore[no-any-return]

    async def certificate_status(self, request: OcspRequestData) -> CertificateStatusAnswer:
        self.asked.append(request)
        return await self._give(self.status)  # type: ignore[no-any-return]


def _block(provider: Provider | None, log: Log | None = None) -> Iso15118CertificateBlock:
    return Iso15118CertificateBlock(log or Log(), clock=lambda: T0, provider=provider, timeout=0.2)


def _ctx(version: OcppVersion = OcppVersion.V201) -> CallContext:
    return CallContext("CP-1", version)


async def _ev(
    block: Iso15118CertificateBlock, version: OcppVersion = OcppVersion.V201, **extra: Any
) -> dict[str, Any]:
    answer = await block.get_15118_ev_certificate(_ctx(version), {**EV_REQUEST, **extra})
    VALIDATORS[version].validate_response("Get15118EVCertificate", answer)
    return answer


async def _status(
    block: Iso15118CertificateBlock, version: OcppVersion = OcppVersion.V201
) -> dict[str, Any]:
    answer = await block.get_certificate_status(_ctx(version), STATUS_REQUEST)
    VALIDATORS[version].validate_response("GetCertificateStatus", answer)
    return answer


async def test_without_a_provider_both_are_failed_no_provider_and_kept_whole() -> None:
    log = Log()
    block = _block(None, log)
    ev = await _ev(block)
    status = await _status(block)
    assert ev["status"] == status["status"] == "Failed"
    assert ev["exiResponse"] == ""
    assert ev["statusInfo"]["reasonCode"] == status["statusInfo"]["reasonCode"] == "NoProvider"
    assert [(n.action, n.payload) for n in log.kept] == [
        ("Get15118EVCertificate", EV_REQUEST),
        ("GetCertificateStatus", STATUS_REQUEST),
    ]


async def test_the_providers_answers_are_returned() -> None:
    provider = Provider(
        ev=EvCertificateAnswer("Accepted", "gAECAwQF"),
        status=CertificateStatusAnswer("Accepted", ocsp_result="MAMKAQE="),
    )
    block = _block(provider)
    assert await _ev(block) == {"status": "Accepted", "exiResponse": "gAECAwQF"}
    assert await _status(block) == {"status": "Accepted", "ocspResult": "MAMKAQE="}
    ev_request, status_request = provider.asked
    assert ev_request == EvCertificateRequest(
        "CP-1", "2.0.1", "urn:iso:15118:2:2013:MsgDef", "Install", "gAECAw=="
    )
    assert status_request == OcspRequestData(
        "SHA256", "ab" * 32, "cd" * 32, "2a", "http://ocsp.example"
    )


async def test_ocpp21_fields_pass_both_ways() -> None:
    provider = Provider(ev=EvCertificateAnswer("Accepted", "gAEC", remaining_contracts=2))
    answer = await _ev(
        _block(provider),
        OcppVersion.V21,
        maximumContractCertificateChains=3,
        prioritizedEMAIDs=["DEACME123", "DEACME456"],
    )
    assert answer == {"status": "Accepted", "exiResponse": "gAEC", "remainingContracts": 2}
    request = provider.asked[0]
    assert isinstance(request, EvCertificateRequest)
    assert request.ocpp_version == "2.1"
    assert request.maximum_contract_certificate_chains == 3
    assert request.prioritized_emaids == ("DEACME123", "DEACME456")
    # 2.0.1 has no remainingContracts: never sent there
    assert "remainingContracts" not in await _ev(_block(provider))


async def test_a_provider_failure_is_failed_with_its_reason() -> None:
    failure = Iso15118ProviderFailure("NoContractForThisEMAID-too-long", "no contract for the EV")
    block = _block(Provider(ev=failure, status=failure))
    for answer in (await _ev(block), await _status(block)):
        assert answer["status"] == "Failed"
        assert answer["statusInfo"] == {
            "reasonCode": "NoContractForThisEMA",  # cut to the schema's 20 characters
            "additionalInfo": "no contract for the EV",
        }


@pytest.mark.parametrize(
    ("provider", "reason"),
    [
        (Provider(ev=RuntimeError("bug"), status=RuntimeError("bug")), "ProviderError"),
        (Provider(ev=None, status=None, delay=5.0), "Timeout"),
        (Provider(ev="Accepted", status={"status": "Accepted"}), "ProviderError"),
        (
            Provider(
                ev=EvCertificateAnswer("Maybe", "gAEC"),
                status=CertificateStatusAnswer("Maybe", "gAEC"),
            ),
            "ProviderError",
        ),
        (
            Provider(
                ev=EvCertificateAnswer("Accepted", "A" * 7504),
                status=CertificateStatusAnswer("Accepted", "A" * 5504),
            ),
            "ProviderError",
        ),
        (
            Provider(
                ev=EvCertificateAnswer("Accepted", "not base64!"),
                status=CertificateStatusAnswer("Accepted", "not base64!"),
            ),
            "ProviderError",
        ),
        (
            Provider(
                ev=EvCertificateAnswer("Accepted", ""), status=CertificateStatusAnswer("Accepted")
            ),
            "ProviderError",
        ),
        (
            Provider(
                ev=EvCertificateAnswer("Accepted", b"gAEC"),  # type: ignore[arg-type]
                status=CertificateStatusAnswer("Accepted", b"gAEC"),  # type: ignore[arg-type]
            ),
            "ProviderError",
        ),
    ],
)
async def test_a_broken_provider_gives_failed_never_an_error(
    provider: Provider, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    block = _block(provider)
    with caplog.at_level(logging.WARNING, logger="csms.blocks.security.iso15118"):
        ev = await _ev(block)
        status = await _status(block)
    assert (ev["status"], ev["exiResponse"], ev["statusInfo"]["reasonCode"]) == (
        "Failed",
        "",
        reason,
    )
    assert (status["status"], status["statusInfo"]["reasonCode"]) == ("Failed", reason)
    assert "ocspResult" not in status
    # bounded: the second failure within the interval is counted, not logged
    assert len(caplog.records) == 1


async def test_the_longest_answers_the_schema_allows_pass() -> None:
    provider = Provider(
        ev=EvCertificateAnswer("Accepted", "A" * 7500),
        status=CertificateStatusAnswer("Accepted", "A" * 5500),
    )
    assert (await _ev(_block(provider)))["status"] == "Accepted"
    assert (await _status(_block(provider)))["status"] == "Accepted"
    big = Provider(ev=EvCertificateAnswer("Accepted", "A" * 17000))
    assert (await _ev(_block(big), OcppVersion.V21))["status"] == "Accepted"


class _Good:
    async def ev_certificate(self, request: EvCertificateRequest) -> EvCertificateAnswer:
        return EvCertificateAnswer("Failed")

    async def certificate_status(self, request: OcspRequestData) -> CertificateStatusAnswer:
        return CertificateStatusAnswer("Failed")


GOOD = _Good()


def make_good() -> _Good:
    return _Good()


def test_load_provider_takes_an_instance_a_class_or_a_factory() -> None:
    here = __name__
    assert load_provider(f"{here}:GOOD") is GOOD
    assert isinstance(load_provider(f"{here}:_Good"), _Good)
    assert isinstance(load_provider(f"{here}:make_good"), _Good)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no-colon", "module:attribute"),
        ("csms.nowhere:Provider", "cannot load"),
        (f"{__name__}:Missing", "cannot load"),
        (f"{__name__}:Log", "not an ISO 15118 certificate provider"),
        (f"{__name__}:T0", "not an ISO 15118 certificate provider"),
    ],
)
def test_load_provider_refuses_with_one_clear_line(target: str, message: str) -> None:
    with pytest.raises(ProviderConfigError, match=message):
        load_provider(target)
