"""Bearer-token authentication for the API.

Enforced by an ASGI middleware rather than a route dependency so that it runs before anything
else: FastAPI reads and parses the body before it resolves dependencies, which would let an
unauthenticated client get 422s (and reach unknown routes' 404s). The middleware fails closed:
every path needs the token except the few public ones (health and the API description). A no-op
:class:`HTTPBearer` dependency only declares the scheme in the OpenAPI document.

Tokens are checked by an :class:`~csms.domain.api_credentials.ApiCredentials` (digests only) and
never logged.
"""

from __future__ import annotations

import logging

from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from csms.api.errors import TYPE_PREFIX, UNAUTHORIZED, problem_response
from csms.domain.api_credentials import ApiCredentials
from csms.log import KindLog

logger = logging.getLogger(__name__)

SCHEME_NAME = "bearerAuth"


def bearer_scheme() -> HTTPBearer:
    """The OpenAPI declaration of the scheme; it never refuses a request itself."""
    return HTTPBearer(
        auto_error=False,
        scheme_name=SCHEME_NAME,
        description=(
            "The API token: CSMS_API_TOKEN, or the one csms generated at its first start "
            "(`csms api-token rotate` prints a new one)"
        ),
    )


def app_path(scope: Scope) -> str:
    """The request path without the ASGI root path (a reverse proxy's prefix)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path) :]
    return path


class BearerAuthMiddleware:
    """Answer 401 problem+json to any non-public HTTP request without a valid bearer token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        credentials: ApiCredentials,
        public_paths: frozenset[str],
        public_prefixes: tuple[str, ...] = (),
    ) -> None:
        self._app = app
        self._credentials = credentials
        self._public_paths = public_paths
        # Paths with their own credential (the file service's per-request URL tokens) or static
        # assets of the public API description.
        self._public_prefixes = public_prefixes
        self._log = KindLog(logger, burst=10)  # 10 lines a minute per kind, then a count

    def _authorized(self, scope: Scope) -> bool:
        scheme, credentials = get_authorization_scheme_param(
            Headers(scope=scope).get("authorization")
        )
        if scheme.lower() != "bearer" or not credentials:
            return False
        return self._credentials.verify(credentials)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._public(scope) or self._authorized(scope):
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        self._log.info("refused unauthenticated API request %s %r", scope["method"], path)
        response = problem_response(
            UNAUTHORIZED.status,
            type_=TYPE_PREFIX + UNAUTHORIZED.slug,
            title=UNAUTHORIZED.title,
            detail=(
                "Send 'Authorization: Bearer <token>' with the API token (CSMS_API_TOKEN, or the "
                "one shown at csms's first start; `csms api-token rotate` prints a new one)."
            ),
            instance=path,
            headers={"WWW-Authenticate": 'Bearer realm="csms"'},
        )
        await response(scope, receive, send)

    def _public(self, scope: Scope) -> bool:
        path = app_path(scope)
        return path in self._public_paths or path.startswith(self._public_prefixes)
