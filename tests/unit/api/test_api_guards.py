"""The pieces of the API's guards: Host patterns, media types, the OCPP pointer, refusal logs."""

from __future__ import annotations

import logging

import pytest

from csms.api.hosts import HostPatterns, default_trusted_hosts, normalize_host
from csms.api.media import is_json, media_type
from csms.api.ocpp_hint import OcppHintMiddleware
from csms.log import KindLog


@pytest.mark.parametrize(
    ("raw", "host"),
    [
        ("LocalHost:8080", "localhost"),
        ("[::1]:8080", "::1"),
        ("::1", "::1"),
        ("csms.example.com.", "csms.example.com"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_host_headers_are_compared_without_port_case_or_trailing_dot(raw: str, host: str) -> None:
    assert normalize_host(raw) == host


def test_default_trusted_hosts_are_loopback_the_bind_host_and_the_file_url_host() -> None:
    assert default_trusted_hosts("0.0.0.0") == ("localhost", "127.0.0.1", "::1")
    assert default_trusted_hosts("10.0.0.5", "csms.example.com") == (
        "localhost",
        "127.0.0.1",
        "::1",
        "10.0.0.5",
        "csms.example.com",
    )


def test_host_patterns() -> None:
    hosts = HostPatterns(["csms.example.com", "*.lab.example"])
    assert hosts.allows("CSMS.example.com:443")
    assert hosts.allows("a.b.lab.example")
    assert not hosts.allows("lab.example") and not hosts.allows("evil-lab.example")
    assert not hosts.allows("csms.example.com.evil.example")
    assert HostPatterns(["*"]).allows("anything")
    with pytest.raises(ValueError, match="empty"):
        HostPatterns([" ", ""])


@pytest.mark.parametrize(
    ("header", "json"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ("application/merge-patch+json", True),
        ("text/plain", False),
        ("text/json", False),
        ("application/x-www-form-urlencoded", False),
        (None, False),
    ],
)
def test_json_media_types(header: str | None, json: bool) -> None:
    assert is_json(media_type(header)) is json


def test_the_ocpp_pointer_never_echoes_an_unsafe_host() -> None:
    hint = OcppHintMiddleware(lambda *_: None, ocpp_port=9000, ocpp_tls=True)  # type: ignore[arg-type]
    assert hint.endpoint("csms.example.com:8080") == "wss://csms.example.com:9000/ocpp/{station_id}"
    assert hint.endpoint("[::1]:8080") == "wss://[::1]:9000/ocpp/{station_id}"
    assert hint.endpoint("<script>") == "wss://<csms host>:9000/ocpp/{station_id}"


def test_refusals_are_logged_at_a_bounded_rate(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    throttle = KindLog(logging.getLogger("test.throttle"), burst=10, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="test.throttle")
    for n in range(10 + 50):
        throttle.info("refused %d", n)
    assert len(caplog.records) == 10
    now[0] += 60
    throttle.info("refused again")
    messages = [r.getMessage() for r in caplog.records]
    assert "refused %d repeated 50 times in the last 60 s (last: refused 59)" in messages
    assert messages[-1] == "refused again"
