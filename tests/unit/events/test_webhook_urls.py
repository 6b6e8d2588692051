"""Which webhook URLs csms sends to (SSRF considerations: docs/behaviour.md)."""

from __future__ import annotations

import pytest

from csms.events import InvalidWebhookUrl, check_url


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/csms",
        "http://127.0.0.1:9999/x",
        "http://localhost/x",
        "http://[::1]/",
    ],
)
def test_accepted(url: str) -> None:
    assert check_url(url, allow_http=False, block_private=False) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/", "https is required"),
        ("ftp://hooks.example.com/", "expected an https"),
        ("https:///nohost", "expected an https"),
        ("https://user:pw@hooks.example.com/", "credentials"),
    ],
)
def test_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match=why):
        check_url(url, allow_http=False, block_private=False)


def test_http_allowed_by_the_setting() -> None:
    assert check_url("http://hooks.example.com/", allow_http=True, block_private=False)


@pytest.mark.parametrize(
    "url", ["https://10.0.0.1/", "https://169.254.169.254/", "http://127.0.0.1/"]
)
def test_private_literals_refused_when_blocked(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl, match="BLOCK_PRIVATE"):
        check_url(url, allow_http=False, block_private=True)
