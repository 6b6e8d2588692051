"""The interactive API docs (Swagger UI at ``/docs``, ReDoc at ``/redoc``), served offline.

FastAPI's defaults load Swagger UI and ReDoc from a CDN (and fonts from Google), so ``/docs`` is a
blank page on a site without internet access. The assets come instead from the ``fastapi-offline``
wheel's ``static`` directory (Swagger UI 5, which renders OpenAPI 3.1, and ReDoc's standalone
bundle) and are served by this app under ``/docs/assets/``. The Swagger validator badge (which
would call validator.swagger.io) is switched off.

The pages and ``/openapi.json`` stay public (no token): a browser cannot send a bearer token when
it opens a page, and the document describes the code of this version only, no data, setting or
secret. "Try it out" needs the token (Swagger UI's Authorize button).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH: Final = "/docs"
REDOC_PATH: Final = "/redoc"
ASSETS_PATH: Final = "/docs/assets"
_ASSETS_PACKAGE: Final = "fastapi_offline"


def assets_directory() -> Path:
    """The directory of Swagger UI and ReDoc files shipped by the ``fastapi-offline`` wheel."""
    return Path(str(files(_ASSETS_PACKAGE).joinpath("static")))


def install_docs(app: FastAPI, *, title: str) -> tuple[str, ...]:
    """Add the docs pages and their assets to ``app``; return the public paths they use."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": False},
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    app.add_api_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(REDOC_PATH, redoc, methods=["GET"], include_in_schema=False)
    return (openapi_url, DOCS_PATH, REDOC_PATH)
