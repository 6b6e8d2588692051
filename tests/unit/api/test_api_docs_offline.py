"""/docs and /redoc work without internet access: no external host, every asset served here."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from tests.unit.api.conftest import AppFactory, ClientFactory

_URL_ATTRIBUTES = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets(
    make_app: AppFactory, make_client: ClientFactory, page: str
) -> None:
    client = make_client(make_app(), token=None)  # public: a browser cannot send the token
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    urls = [a or b for a, b in _URL_ATTRIBUTES.findall(html)]
    assert len(urls) >= 3, html  # script, style or favicon, and the OpenAPI document
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


async def test_swagger_ui_does_not_call_the_online_validator(
    make_app: AppFactory, make_client: ClientFactory
) -> None:
    html = (await make_client(make_app()).get("/docs")).text
    assert '"validatorUrl": null' in html


async def test_assets_are_not_a_way_around_the_token(
    make_app: AppFactory, make_client: ClientFactory
) -> None:
    client = make_client(make_app(), token=None)
    assert (await client.get("/docs/assets/../../api/v1/stations")).status_code in (401, 404)
    assert (await client.get("/docs/assets/nothing.js")).status_code == 404
