"""One route per page; each renders a shell that its script (``static/<page>.js``) fills from
the operator API. Pages carry no data, so they are public: what a visitor may see is decided by
the API calls the page makes (401 there sends the browser to the sign-in page)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final

import jinja2
from fastapi import APIRouter, FastAPI, Path, Response
from fastapi.responses import HTMLResponse, RedirectResponse

import csms
from csms.api.app import API_PREFIX
from csms.api.auth import PUBLIC, ROLE_KEY
from csms.dashboard.assets import StaticFiles

STATIC_PATH: Final = "/ui/static"
_PUBLIC: Final = {ROLE_KEY: PUBLIC}
# Scripts and styles from this origin only; uPlot sizes its canvas through element styles.
_CSP: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
_HEADERS: Final = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
StationId = Annotated[str, Path(min_length=1, max_length=255)]
TransactionId = Annotated[str, Path(min_length=1, max_length=64)]


@dataclass(frozen=True, slots=True)
class Pages:
    """Renders the page templates (one Jinja2 environment per app: no shared state)."""

    env: jinja2.Environment
    version: str

    @classmethod
    def create(cls, version: str) -> Pages:
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("csms.dashboard", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        return cls(env, version)

    def render(self, template: str, *, title: str, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(
            title=title,
            static=STATIC_PATH,
            api=API_PREFIX,
            version=self.version,
            **context,
        )
        return HTMLResponse(html, headers=_HEADERS)


def dashboard_router(pages: Pages, static: StaticFiles) -> APIRouter:
    """The pages and their assets; none is in the OpenAPI document."""
    router = APIRouter(include_in_schema=False)

    @router.get("/", openapi_extra=_PUBLIC)
    async def fleet() -> HTMLResponse:
        return pages.render("fleet.html", title="Fleet", page="fleet")

    @router.get("/login", openapi_extra=_PUBLIC)
    async def login() -> HTMLResponse:
        return pages.render("login.html", title="Sign in", page="login")

    @router.get("/stations", openapi_extra=_PUBLIC)
    async def stations() -> RedirectResponse:
        return RedirectResponse("/", status_code=303)

    @router.get("/stations/{station_id}", openapi_extra=_PUBLIC)
    async def station(station_id: StationId) -> HTMLResponse:
        return pages.render(
            "station.html", title=f"Station {station_id}", page="station", station_id=station_id
        )

    @router.get("/transactions", openapi_extra=_PUBLIC)
    async def transactions() -> HTMLResponse:
        return pages.render("transactions.html", title="Transactions", page="transactions")

    @router.get("/transactions/{transaction_id}", openapi_extra=_PUBLIC)
    async def transaction(transaction_id: TransactionId) -> HTMLResponse:
        return pages.render(
            "transaction.html",
            title=f"Transaction {transaction_id}",
            page="transaction",
            transaction_id=transaction_id,
        )

    @router.get("/tokens", openapi_extra=_PUBLIC)
    async def tokens() -> HTMLResponse:
        return pages.render("tokens.html", title="Id tokens", page="tokens")

    # The fleet-level and admin pages (the API decides what each account may see or do).
    for path, template, title in (
        ("/firmware", "firmware.html", "Firmware"),
        ("/security-events", "security.html", "Security events"),
        ("/audit", "audit.html", "Audit log"),
        ("/users", "users.html", "Users and API tokens"),
    ):
        router.add_api_route(
            path, _page(pages, template, title), methods=["GET"], openapi_extra=_PUBLIC
        )

    @router.get(STATIC_PATH + "/{name:path}", openapi_extra=_PUBLIC)
    async def asset(name: Annotated[str, Path(max_length=200)]) -> Response:
        return static.response(name)

    return router


def _page(pages: Pages, template: str, title: str) -> Callable[[], Awaitable[HTMLResponse]]:
    """The route of a page with no path parameter; its script is named like its template."""
    page = template.removesuffix(".html")

    async def render() -> HTMLResponse:
        return pages.render(template, title=title, page=page)

    return render


def install_dashboard(app: FastAPI, *, version: str = csms.__version__) -> None:
    """Mount the dashboard on ``app`` (the API app built by ``create_app``) at ``/``."""
    app.include_router(dashboard_router(Pages.create(version), StaticFiles.load()))
