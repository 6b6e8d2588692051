"""Settings of connection limits and TLS certificates (issue 7 findings 3 and 9)."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings


def test_defaults() -> None:
    server = Settings().server
    assert (server.max_connections, server.max_handshakes_per_address) == (0, 128)
    assert server.handshake_limit_exempt == "127.0.0.0/8,::1/128"
    assert server.open_timeout == 10.0
    assert server.tls_cert2 is None and server.tls_key2 is None


def test_environment() -> None:
    server = load_settings(
        {
            "CSMS_MAX_CONNECTIONS": "5000",
            "CSMS_MAX_HANDSHAKES_PER_ADDRESS": "8",
            "CSMS_TLS_CERT": "rsa.pem",
            "CSMS_TLS_KEY": "rsa.key",
            "CSMS_TLS_CERT2": "ec.pem",
            "CSMS_TLS_KEY2": "ec.key",
        }
    ).server
    assert (server.max_connections, server.max_handshakes_per_address) == (5000, 8)
    assert (server.tls_cert2, server.tls_key2) == ("ec.pem", "ec.key")


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CSMS_MAX_CONNECTIONS": "-1"}, "CSMS_MAX_CONNECTIONS"),
        ({"CSMS_MAX_CONNECTIONS": "lots"}, "CSMS_MAX_CONNECTIONS"),
        ({"CSMS_MAX_HANDSHAKES_PER_ADDRESS": "0"}, "CSMS_MAX_HANDSHAKES_PER_ADDRESS"),
        ({"CSMS_OPEN_TIMEOUT": "0"}, "CSMS_OPEN_TIMEOUT"),
        ({"CSMS_HANDSHAKE_LIMIT_EXEMPT": "10.0.0.0/8,office"}, "CSMS_HANDSHAKE_LIMIT_EXEMPT"),
        ({"CSMS_TLS_CERT2": "ec.pem"}, "CSMS_TLS_CERT2"),
        ({"CSMS_TLS_CERT2": "ec.pem", "CSMS_TLS_KEY2": "ec.key"}, "CSMS_TLS_CERT first"),
    ],
)
def test_bad_values_name_the_setting(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ)


def _serve(*argv: str) -> Settings:
    return _apply_serve_flags(Settings(), build_parser().parse_args(["serve", *argv]))


def test_tls_cert_and_key_may_be_given_twice() -> None:
    server = _serve(
        "--tls-cert", "rsa.pem", "--tls-key", "rsa.key", "--tls-cert", "ec.pem",
        "--tls-key", "ec.key", "--max-connections", "100", "--max-handshakes-per-address", "4",
    ).server  # fmt: skip
    assert (server.tls_cert, server.tls_key) == ("rsa.pem", "rsa.key")
    assert (server.tls_cert2, server.tls_key2) == ("ec.pem", "ec.key")
    assert (server.max_connections, server.max_handshakes_per_address) == (100, 4)


@pytest.mark.parametrize(
    "argv",
    [
        ("--tls-cert", "a", "--tls-key", "a", "--tls-cert", "b"),
        ("--tls-cert", "a", "--tls-cert", "b", "--tls-cert", "c", "--tls-key", "a"),
    ],
)
def test_tls_flags_must_pair_up(argv: tuple[str, ...]) -> None:
    with pytest.raises(SettingsError, match="--tls-"):
        _serve(*argv)
