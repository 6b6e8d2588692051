"""Bearer-token authentication for the API.

Enforced by an ASGI middleware rather than a route dependency so that it runs before anything
else: FastAPI reads and parses the body before it resolves dependencies, which would let an
unauthenticated client get 422s (and reach unknown routes' 404s). The middleware fails closed:
every path needs the token except the few public ones. A no-op :class:`HTTPBearer` dependency
only declares the scheme in the OpenAPI document.

The token is held only as a SHA-256 digest and is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from csms.api.errors import TYPE_PREFIX, UNAUTHORIZED, problem_response

logger = logging.getLogger(__name__)


def _digest(token: str) -> bytes:
    # Comparing fixed-length digests keeps compare_digest from leaking the token's length.
    return hashlib.sha256(token.encode("utf-8")).digest()


def bearer_scheme() -> HTTPBearer:
    """The OpenAPI declaration of the scheme; it never refuses a request itself."""
    return HTTPBearer(
        auto_error=False,
        scheme_name="bearerAuth",
        description="The API token configured on the server",
    )


class BearerAuthMiddleware:
    """Answer 401 problem+json to any non-public HTTP request without the right bearer token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        public_paths: frozenset[str],
        public_prefixes: tuple[str, ...] = (),
    ) -> None:
        if not token:
            raise ValueError("the API token must not be empty")
        self._app = app
        self._expected = _digest(token)
        self._public_paths = public_paths
        # Paths with their own credential (the file service's per-request URL tokens).
        self._public_prefixes = public_prefixes

    def _authorized(self, scope: Scope) -> bool:
        scheme, credentials = get_authorization_scheme_param(
            Headers(scope=scope).get("authorization")
        )
        if scheme.lower() != "bearer" or not credentials:
            return False
        return hmac.compare_digest(_digest(credentials), self._expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._public(scope) or self._authorized(scope):
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        logger.info("refused unauthenticated API request %s %r", scope["method"], path)
        response = problem_response(
            UNAUTHORIZED.status,
            type_=TYPE_PREFIX + UNAUTHORIZED.slug,
            title=UNAUTHORIZED.title,
            detail="Send 'Authorization: Bearer <token>' with the configured API token.",
            instance=path,
            headers={"WWW-Authenticate": 'Bearer realm="csms"'},
        )
        await response(scope, receive, send)

    def _public(self, scope: Scope) -> bool:
        path: str = scope["path"]
        root_path: str = scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        return path in self._public_paths or path.startswith(self._public_prefixes)
