"""The file service's settings: environment names, validation, and CLI flags that keep them."""

from __future__ import annotations

import pytest

from csms.cli import _apply_serve_flags, build_parser
from csms.config import SettingsError, load_settings


def test_files_settings_from_the_environment() -> None:
    settings = load_settings(
        {
            "CSMS_FILES_DATA_DIR": "/srv/csms",
            "CSMS_FILES_PUBLIC_URL": "https://csms.example.com:8443",
            "CSMS_FILES_MAX_FIRMWARE_SIZE": "1000",
            "CSMS_FILES_MAX_UPLOAD_SIZE": "500",
            "CSMS_FILES_URL_TTL": "60",
        }
    )
    files = settings.files
    assert files.data_dir == "/srv/csms"
    assert files.public_url == "https://csms.example.com:8443"
    assert (files.max_firmware_size, files.max_upload_size, files.url_ttl) == (1000, 500, 60.0)
    assert load_settings({}).files.public_url is None  # derived from the API address


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CSMS_FILES_PUBLIC_URL", "ftp://csms.example.com"),
        ("CSMS_FILES_MAX_UPLOAD_SIZE", "0"),
        ("CSMS_FILES_URL_TTL", "-1"),
    ],
)
def test_bad_files_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match="CSMS_FILES"):
        load_settings({name: value})


def test_serve_flags_keep_the_environments_files_settings() -> None:
    settings = load_settings({"CSMS_FILES_MAX_UPLOAD_SIZE": "123"})
    args = build_parser().parse_args(
        ["serve", "--data-dir", "/data", "--files-public-url", "http://10.0.0.1:8080"]
    )
    result = _apply_serve_flags(settings, args)
    assert result.files.data_dir == "/data"
    assert result.files.public_url == "http://10.0.0.1:8080"
    assert result.files.max_upload_size == 123


def test_upload_quota_settings_and_api_tls_from_the_environment() -> None:
    default = load_settings({}).files
    assert default.upload_quota == 10 * 1024**3
    assert default.station_upload_share == 1024**3  # a tenth of the total unless set
    settings = load_settings(
        {
            "CSMS_FILES_UPLOAD_QUOTA": "5000",
            "CSMS_FILES_STATION_UPLOAD_QUOTA": "2000",
            "CSMS_API_TLS_CERT": "/etc/csms/api.pem",
            "CSMS_API_TLS_KEY": "/etc/csms/api.key",
        }
    )
    assert (settings.files.upload_quota, settings.files.station_upload_share) == (5000, 2000)
    assert (settings.api.tls_cert, settings.api.tls_key) == (
        "/etc/csms/api.pem",
        "/etc/csms/api.key",
    )
    args = build_parser().parse_args(
        ["serve", "--upload-quota", "9000", "--api-tls-cert", "c.pem", "--api-tls-key", "k.pem"]
    )
    flagged = _apply_serve_flags(load_settings({}), args)
    assert flagged.files.upload_quota == 9000
    assert flagged.files.station_upload_share == 900
    assert (flagged.api.tls_cert, flagged.api.tls_key) == ("c.pem", "k.pem")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CSMS_FILES_UPLOAD_QUOTA": "0"}, "CSMS_FILES_UPLOAD_QUOTA"),
        (
            {"CSMS_FILES_UPLOAD_QUOTA": "100", "CSMS_FILES_STATION_UPLOAD_QUOTA": "101"},
            "CSMS_FILES_STATION_UPLOAD_QUOTA: at most",
        ),
        ({"CSMS_API_TLS_CERT": "c.pem"}, "CSMS_API_TLS_CERT and CSMS_API_TLS_KEY"),
        (
            {
                "CSMS_SECURITY_PROFILE": "2",
                "CSMS_TLS_CERT": "c.pem",
                "CSMS_TLS_KEY": "k.pem",
                "CSMS_FILES_PUBLIC_URL": "http://csms.example.com:8080",
            },
            "CSMS_FILES_PUBLIC_URL: security profile 2 needs an https",
        ),
    ],
)
def test_bad_upload_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)
