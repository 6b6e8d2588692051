"""Security profile 3 with real certificates (1.6 security whitepaper §2.5; 2.0.1 A00.FR.401–408,
A05.FR.09): a station with a valid client certificate connects without Basic auth; one from another
CA, an expired one, or none at all is refused in the TLS handshake, one for another station (CN) or
operator (O) before the upgrade, and each refusal is logged."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from csms.blocks.security.signer_loading import SignerConfigError, load_signer
from csms.config import SettingsError
from csms.container import build_certificate_signer
from csms.pki import BuiltinCertificateAuthority
from tests.integration.harness import (
    PASSWORD,
    RunningCsms,
    basic_auth,
    call,
    running_csms,
    settings_for,
)
from tests.integration.tls import StationCa, client_context, make_certificates, station_csr

ACCEPTOR_LOG = "csms.server.acceptor"
LISTENER_LOG = "csms.server.listener"
STATION = "CS3"
BOOT = {"chargingStation": {"model": "M", "vendorName": "V"}, "reason": "PowerUp"}


@asynccontextmanager
async def station(
    server: RunningCsms,
    context: ssl.SSLContext,
    station_id: str = STATION,
    *,
    password: bytes | None = None,
) -> AsyncIterator[ClientConnection]:
    """A 2.0.1 connection over TLS with ``context`` (and Basic auth if ``password``)."""
    url = f"wss://127.0.0.1:{server.csms.ocpp_port}/ocpp/{station_id}"
    headers = basic_auth(station_id, password) if password is not None else {}
    async with connect(
        url,
        ssl=context,
        subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
        additional_headers=headers,
        open_timeout=5,
    ) as ws:
        yield ws


async def boots(server: RunningCsms, context: ssl.SSLContext, **kwargs: Any) -> None:
    """Connect, send a BootNotification, and check it is Accepted."""
    async with station(server, context, **kwargs) as ws:
        assert (await call(ws, "1", "BootNotification", BOOT))[2]["status"] == "Accepted"


async def refused(server: RunningCsms, context: ssl.SSLContext, **kwargs: Any) -> BaseException:
    """Connect and expect the TLS handshake or the upgrade to fail; return the client's error."""
    with pytest.raises((OSError, InvalidHandshake, TimeoutError, EOFError)) as caught:
        await boots(server, context, **kwargs)
    return caught.value


async def _logged(caplog: pytest.LogCaptureFixture, logger: str, text: str) -> str:
    """The first record of ``logger`` containing ``text`` (the server may log just after the
    client saw the refusal)."""
    for _ in range(100):
        for record in caplog.records:
            if record.name == logger and text in record.getMessage():
                return record.getMessage()
        await asyncio.sleep(0.02)
    raise AssertionError(f"nothing logged by {logger} with {text!r}: {caplog.text}")


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Path, list[tuple[Path, Path]], StationCa]:
    server_ca, pairs = make_certificates(tmp_path / "server")
    return server_ca, pairs, StationCa(tmp_path / "stations")


@pytest.fixture
async def profile3(
    tmp_path: Path, pki: tuple[Path, list[tuple[Path, Path]], StationCa]
) -> AsyncIterator[tuple[RunningCsms, Path, StationCa]]:
    """Profile 3 with CSMS_TLS_CLIENT_CA = the stations' CA; CS3 registered without a password."""
    server_ca, [(cert, key)], cas = pki
    settings = settings_for(
        tmp_path,
        security_profile=3,
        tls_cert=str(cert),
        tls_key=str(key),
        tls_client_ca=str(cas.path),
    )
    async with running_csms(settings) as server:
        await server.add_station(STATION, password=None)
        yield server, server_ca, cas


async def test_valid_client_certificate_connects_without_basic_auth(
    profile3: tuple[RunningCsms, Path, StationCa],
) -> None:
    server, server_ca, cas = profile3
    await boots(server, client_context(server_ca, cas.issue(STATION)))


@pytest.mark.parametrize(
    ("case", "logged"),
    [
        ("wrong CA", "unable to get local issuer certificate"),
        ("expired", "certificate has expired"),
        ("no certificate", "peer did not return a certificate"),
    ],
)
async def test_bad_client_certificate_refused_in_tls_handshake_and_logged(
    profile3: tuple[RunningCsms, Path, StationCa],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    case: str,
    logged: str,
) -> None:
    server, server_ca, cas = profile3
    certificate: tuple[Path, Path] | None
    if case == "wrong CA":
        certificate = StationCa(tmp_path / "other", "another CA").issue(STATION)
    elif case == "expired":
        certificate = cas.issue(STATION, expired=True)
    else:
        certificate = None
    caplog.set_level(logging.WARNING, ACCEPTOR_LOG)
    error = await refused(server, client_context(server_ca, certificate))
    assert not isinstance(error, InvalidStatus), "refused after the TLS handshake"
    message = await _logged(caplog, ACCEPTOR_LOG, "security: TLS handshake from 127.0.0.1 failed")
    assert logged in message
    assert server.csms.registry.get(STATION) is None


async def test_certificate_of_another_station_refused_403_and_logged(
    profile3: tuple[RunningCsms, Path, StationCa], caplog: pytest.LogCaptureFixture
) -> None:
    """A00.FR.405: the CN must be this station's identity; a valid certificate of another
    station (and its password, had it one) gets nowhere."""
    server, server_ca, cas = profile3
    await server.add_station("OTHER", password=PASSWORD)
    caplog.set_level(logging.WARNING, LISTENER_LOG)
    error = await refused(
        server, client_context(server_ca, cas.issue(STATION)), station_id="OTHER", password=PASSWORD
    )
    assert isinstance(error, InvalidStatus) and error.response.status_code == 403
    message = await _logged(caplog, LISTENER_LOG, "station certificate refused for 'OTHER'")
    assert "CN is not the station identity" in message


async def test_organization_checked_when_configured(
    tmp_path: Path,
    pki: tuple[Path, list[tuple[Path, Path]], StationCa],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A00.FR.404: with CSMS_TLS_ORGANIZATION, the certificate's O must be the operator's."""
    server_ca, [(cert, key)], cas = pki
    settings = settings_for(
        tmp_path,
        security_profile=3,
        tls_cert=str(cert),
        tls_key=str(key),
        tls_client_ca=str(cas.path),
        tls_organization="Example CPO",
    )
    caplog.set_level(logging.WARNING, LISTENER_LOG)
    async with running_csms(settings) as server:
        await server.add_station(STATION, password=None)
        await boots(
            server, client_context(server_ca, cas.issue(STATION, organization="Example CPO"))
        )
        for organization in ("Other CPO", None):
            error = await refused(
                server, client_context(server_ca, cas.issue(STATION, organization=organization))
            )
            assert isinstance(error, InvalidStatus) and error.response.status_code == 403
        message = await _logged(caplog, LISTENER_LOG, "station certificate refused")
        assert "O is not CSMS_TLS_ORGANIZATION" in message


async def test_mixed_mode_raises_the_minimum_profile_and_refuses_a_downgrade(
    tmp_path: Path,
    database_url: str,
    pki: tuple[Path, list[tuple[Path, Path]], StationCa],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Profile 2 with CSMS_TLS_CLIENT_CA: stations on 2 and 3 share the port. A station seen on 3
    is refused on 2 from then on (A05.FR.09), also after a restart (the minimum is stored), until
    the operator lowers it."""
    server_ca, [(cert, key)], cas = pki
    settings = settings_for(
        tmp_path,
        security_profile=2,
        tls_cert=str(cert),
        tls_key=str(key),
        tls_client_ca=str(cas.path),
    )
    settings = dataclasses.replace(
        settings, database=dataclasses.replace(settings.database, url=database_url)
    )
    caplog.set_level(logging.WARNING, LISTENER_LOG)
    async with running_csms(settings) as server:
        await server.add_station(STATION)
        plain = client_context(server_ca)
        await boots(server, plain, password=PASSWORD)
        await boots(server, client_context(server_ca, cas.issue(STATION)))
        async with server.api() as api:
            detail = (await api.get(f"/api/v1/stations/{STATION}")).json()
        assert detail["min_security_profile"] == 3
    async with running_csms(settings) as server:
        error = await refused(server, plain, password=PASSWORD)
        assert isinstance(error, InvalidStatus) and error.response.status_code == 403
        message = await _logged(caplog, LISTENER_LOG, "refused (403): security profile 2")
        assert "below its minimum 3" in message
        async with server.api() as api:
            response = await api.patch(
                f"/api/v1/stations/{STATION}", json={"min_security_profile": None}
            )
        assert response.status_code == 200, response.text
        await boots(server, plain, password=PASSWORD)


async def test_builtin_ca_is_the_default_client_ca_under_profile_3(
    tmp_path: Path, pki: tuple[Path, list[tuple[Path, Path]], StationCa]
) -> None:
    """Without CSMS_TLS_CLIENT_CA, certificates of the built-in CA (A02/A03) are the ones trusted."""
    server_ca, [(cert, key)], cas = pki
    settings = settings_for(tmp_path, security_profile=3, tls_cert=str(cert), tls_key=str(key))
    async with running_csms(settings) as server:
        await server.add_station(STATION, password=None)
        ca = BuiltinCertificateAuthority(tmp_path / "data" / "ca")
        csr, private_key = station_csr(STATION)
        chain = await ca.sign(STATION, csr, "ChargingStationCertificate")
        (tmp_path / "cs3.pem").write_text(chain)
        (tmp_path / "cs3.key").write_bytes(private_key)
        await boots(server, client_context(server_ca, (tmp_path / "cs3.pem", tmp_path / "cs3.key")))
        await refused(server, client_context(server_ca, cas.issue(STATION)))


class _Signer:
    """An operator's CA stand-in for CSMS_CERTIFICATE_SIGNER."""

    async def sign(self, station_id: str, csr_pem: str, certificate_type: str | None) -> str:
        return f"signed {station_id} {certificate_type}"


SIGNER = _Signer()


def test_certificate_signer_loaded_from_module_attribute(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, certificate_signer=f"{__name__}:SIGNER")
    assert build_certificate_signer(settings) is SIGNER
    assert isinstance(load_signer(f"{__name__}:_Signer"), _Signer)  # a factory is called
    assert isinstance(build_certificate_signer(settings_for(tmp_path)), BuiltinCertificateAuthority)
    with pytest.raises(SettingsError, match="CSMS_CERTIFICATE_SIGNER"):
        build_certificate_signer(settings_for(tmp_path, certificate_signer="nowhere:Signer"))
    with pytest.raises(SignerConfigError, match="not a certificate signer"):
        load_signer(f"{__name__}:STATION")
