"""Security profile 2 over real sockets: the OCPP cipher suites, an RSA and an ECDSA certificate on
one endpoint, TLS ≥ 1.2, and failed TLS handshakes logged (1.6 security whitepaper and 2.0.1 Part 2
A00.FR.312, .317, .318, .323)."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect

from tests.integration.harness import (
    BOOT_16,
    PASSWORD,
    RunningCsms,
    basic_auth,
    call,
    running_csms,
    settings_for,
)
from tests.integration.tls import make_certificates

ACCEPTOR_LOG = "csms.server.acceptor"


@pytest.fixture
async def rsa_only(tmp_path: Path) -> AsyncIterator[tuple[RunningCsms, Path]]:
    """Profile 2 with one RSA certificate: what an operator of RSA stations configures."""
    ca, [(cert, key)] = make_certificates(tmp_path, ("RSA",))
    settings = settings_for(tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(key))
    async with running_csms(settings) as server:
        await server.add_station("TLS1")
        yield server, ca


@pytest.fixture
async def dual(tmp_path: Path) -> AsyncIterator[tuple[RunningCsms, Path]]:
    """Profile 2 with an RSA certificate (CSMS_TLS_CERT) and an ECDSA one (CSMS_TLS_CERT2)."""
    ca, [(rsa_cert, rsa_key), (ec_cert, ec_key)] = make_certificates(tmp_path, ("RSA", "ECDSA"))
    settings = settings_for(
        tmp_path,
        security_profile=2,
        tls_cert=str(rsa_cert),
        tls_key=str(rsa_key),
        tls_cert2=str(ec_cert),
        tls_key2=str(ec_key),
    )
    async with running_csms(settings) as server:
        await server.add_station("TLS1")
        yield server, ca


def tls12_client(ca: Path, ciphers: str) -> ssl.SSLContext:
    """A TLS 1.2 client offering only ``ciphers`` (OpenSSL names)."""
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(ciphers)
    return context


async def boot_over(server: RunningCsms, context: ssl.SSLContext) -> tuple[str, str]:
    """Connect as TLS1 with ``context``, boot, and return (negotiated cipher, server key type)."""
    url = f"wss://127.0.0.1:{server.csms.ocpp_port}/ocpp/TLS1"
    async with connect(
        url,
        ssl=context,
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers=basic_auth("TLS1", PASSWORD),
    ) as ws:
        assert (await call(ws, "1", "BootNotification", BOOT_16))[2]["status"] == "Accepted"
        tls = ws.transport.get_extra_info("ssl_object")
        cipher = tls.cipher()[0]
        der = tls.getpeercert(binary_form=True)
    key = x509.load_der_x509_certificate(der).public_key()
    return cipher, "RSA" if isinstance(key, rsa.RSAPublicKey) else "ECDSA"


@pytest.mark.parametrize("cipher", ["AES128-GCM-SHA256", "AES256-GCM-SHA384"])
async def test_mandated_rsa_suites_connect(rsa_only: tuple[RunningCsms, Path], cipher: str) -> None:
    """TLS_RSA_WITH_AES_{128,256}_GCM_SHA{256,384} (A00.FR.317), the only suites of an RSA-only
    station (A00.FR.318), are accepted."""
    server, ca = rsa_only
    assert await boot_over(server, tls12_client(ca, cipher)) == (cipher, "RSA")


async def test_ecdsa_and_rsa_stations_both_connect_to_one_endpoint(
    dual: tuple[RunningCsms, Path],
) -> None:
    """One endpoint serves the ECDSA suites with the ECDSA certificate and the RSA ones with the RSA
    certificate (A00.FR.317 note: "2 different certificates")."""
    server, ca = dual
    ecdsa = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
    assert (await boot_over(server, tls12_client(ca, ecdsa)))[1] == "ECDSA"
    rsa_only = "ECDHE-RSA-AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-GCM-SHA384"
    assert (await boot_over(server, tls12_client(ca, rsa_only)))[1] == "RSA"
    modern = ssl.create_default_context(cafile=str(ca))  # TLS 1.3 stays available
    assert (await boot_over(server, modern))[0].startswith("TLS_")


async def test_tls_1_1_is_refused_and_logged(
    rsa_only: tuple[RunningCsms, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, ca = rsa_only
    caplog.set_level(logging.WARNING, ACCEPTOR_LOG)
    with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point of the test
        warnings.simplefilter("ignore", DeprecationWarning)
        old = ssl.create_default_context(cafile=str(ca))
        old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, OSError)):
        await boot_over(server, old)
    await _logged(caplog, "failed: unsupported protocol")


@pytest.mark.parametrize(
    ("client", "reason"),
    [
        ("weak-cipher", "no shared cipher"),
        ("wrong-ca", "unknown ca"),
    ],
)
async def test_failed_handshakes_are_logged_with_address_and_reason(
    rsa_only: tuple[RunningCsms, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    client: str,
    reason: str,
) -> None:
    """A00.FR.323: a refused TLS handshake is logged (security: ..., the peer, OpenSSL's reason)."""
    server, ca = rsa_only
    caplog.set_level(logging.WARNING, ACCEPTOR_LOG)
    if client == "weak-cipher":  # CBC with SHA-1: not a suite OCPP allows (A00.FR.319)
        context = tls12_client(ca, "ECDHE-RSA-AES128-SHA:AES128-SHA")
    else:  # a station that trusts another CA aborts with an unknown_ca alert (asyncio's own TLS
        # client does not send the alert: a blocking socket, as a station's stack does)
        other_ca, _ = make_certificates(tmp_path / "other", ca_name="someone else's CA")
        context = ssl.create_default_context(cafile=str(other_ca))
    with pytest.raises(ssl.SSLError):
        await blocking_handshake(server, context)
    line = await _logged(caplog, reason)
    assert line.startswith("security: TLS handshake from 127.0.0.1 failed:")


async def test_failed_handshakes_are_logged_at_a_bounded_rate(
    rsa_only: tuple[RunningCsms, Path], caplog: pytest.LogCaptureFixture
) -> None:
    server, ca = rsa_only
    caplog.set_level(logging.WARNING, ACCEPTOR_LOG)
    weak = tls12_client(ca, "AES128-SHA")
    for _ in range(20):
        with pytest.raises((ssl.SSLError, OSError)):
            await boot_over(server, weak)
    await asyncio.sleep(0.1)
    lines = [r for r in caplog.records if "no shared cipher" in r.getMessage()]
    assert len(lines) == 1


async def test_tls_handshake_deadline_and_plain_http_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, [(cert, key)] = make_certificates(tmp_path, ("RSA",))
    settings = settings_for(
        tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(key), open_timeout=0.5
    )
    caplog.set_level(logging.WARNING, ACCEPTOR_LOG)
    async with running_csms(settings) as server:
        port = server.csms.ocpp_port
        _, silent = await asyncio.open_connection("127.0.0.1", port)
        _, plain = await asyncio.open_connection("127.0.0.1", port)
        plain.write(b"GET /ocpp/TLS1 HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            await _logged(caplog, "failed: plain HTTP (ws://) sent to the TLS endpoint")
            await _logged(caplog, "failed: no TLS handshake within 0.5 s")
        finally:
            silent.transport.abort()
            plain.transport.abort()


def test_two_certificates_of_one_key_type_are_refused(tmp_path: Path) -> None:
    from csms.config import SettingsError
    from csms.server.tls import server_context

    _, pairs = make_certificates(tmp_path, ("ECDSA", "ECDSA"))
    with pytest.raises(SettingsError, match="both ECDSA"):
        server_context([(str(c), str(k)) for c, k in pairs])


async def blocking_handshake(server: RunningCsms, context: ssl.SSLContext) -> None:
    """A TLS handshake from an ordinary blocking socket (it sends its alerts before closing)."""

    def handshake() -> None:
        with socket.create_connection(("127.0.0.1", server.csms.ocpp_port), timeout=5) as raw:
            context.wrap_socket(raw, server_hostname="127.0.0.1").close()

    await asyncio.to_thread(handshake)


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> str:
    """The first log line containing ``text`` (the server may log just after the client gave up)."""
    for _ in range(100):
        for record in caplog.records:
            if text in record.getMessage():
                return record.getMessage()
        await asyncio.sleep(0.02)
    raise AssertionError(f"no log line with {text!r}: {[r.getMessage() for r in caplog.records]}")
