"""Security profile 3 settings: CSMS_TLS_CLIENT_CA, CSMS_TLS_ORGANIZATION, CSMS_CERTIFICATE_SIGNER
validated with the setting named, and reachable as `csms serve` flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import Settings, SettingsError, load_settings
from csms.container import station_client_ca
from csms.pki import BuiltinCertificateAuthority

TLS = {"CSMS_TLS_CERT": "cert.pem", "CSMS_TLS_KEY": "key.pem"}


def test_profile_3_with_tls_and_defaults() -> None:
    server = load_settings({**TLS, "CSMS_SECURITY_PROFILE": "3"}).server
    assert (server.security_profile, server.tls_client_ca, server.tls_organization) == (
        3,
        None,
        None,
    )
    assert server.certificate_signer == "builtin"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CSMS_TLS_CLIENT_CA": "ca.pem"}, "CSMS_TLS_CLIENT_CA: station certificates need TLS"),
        ({**TLS, "CSMS_SECURITY_PROFILE": "2", "CSMS_TLS_ORGANIZATION": "CPO"}, "ORGANIZATION"),
        ({"CSMS_CERTIFICATE_SIGNER": "external"}, "CSMS_CERTIFICATE_SIGNER"),
    ],
)
def test_bad_combinations_are_refused_with_the_setting_named(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_serve_flags() -> None:
    args = build_parser().parse_args(
        [
            "serve",
            "--security-profile",
            "3",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-client-ca",
            "ca.pem",
            "--tls-organization",
            "Example CPO",
            "--certificate-signer",
            "pkg.mod:Signer",
        ]
    )
    server = _apply_serve_flags(Settings(), args).server
    assert (server.tls_client_ca, server.tls_organization, server.certificate_signer) == (
        "ca.pem",
        "Example CPO",
        "pkg.mod:Signer",
    )


async def test_client_ca_defaults_to_the_builtin_ca_under_profile_3(tmp_path: Path) -> None:
    settings = load_settings({**TLS, "CSMS_SECURITY_PROFILE": "3"})
    ca = BuiltinCertificateAuthority(tmp_path)
    assert await station_client_ca(settings, ca) == str(ca.certificate_path)
    assert ca.certificate_path.exists()
    profile2 = load_settings({**TLS, "CSMS_SECURITY_PROFILE": "2"})
    assert await station_client_ca(profile2, ca) is None


async def test_external_signer_under_profile_3_needs_a_client_ca() -> None:
    class Signer:
        async def sign(self, station_id: str, csr_pem: str, certificate_type: str | None) -> str:
            return ""

    settings = load_settings({**TLS, "CSMS_SECURITY_PROFILE": "3"})
    with pytest.raises(SettingsError, match="CSMS_TLS_CLIENT_CA"):
        await station_client_ca(settings, Signer())
