"""Authentication, roles and the audit log of the API, in one ASGI middleware.

Enforced by an ASGI middleware rather than a route dependency so that it runs before anything
else: FastAPI reads and parses the body before it resolves dependencies, which would let an
unauthenticated client get 422s (and reach unknown routes' 404s). The middleware fails closed:
every path needs a credential except the few public ones (health, the API description and the
routes that declare ``x-required-role: public``, i.e. login).

Credentials, first match wins:

* ``Authorization: Bearer <token>``: the bootstrap token (CSMS_API_TOKEN or the generated one, an
  admin without an account) or an account's API token (``csms_at_...``; its role is the lesser of
  the token's ceiling and the account's role). Bearer requests need no CSRF token: browsers never
  attach one on their own.
* The ``csms_session`` cookie of a browser session (``POST /api/v1/auth/login``): a state-changing
  request must also send ``X-CSRF-Token`` equal to the token returned at login (and kept in the
  readable ``csms_csrf`` cookie), else 403.

Roles: a GET/HEAD route needs ``viewer``, any other method ``operator``, unless the route declares
``openapi_extra={"x-required-role": ...}`` (``viewer``, ``operator``, ``admin`` or ``public``). The
table is read from the app's routes at the first request; an insufficient role gets 403. The
principal is put on ``request.state.principal``.

Audit: every authenticated state-changing request (not GET/HEAD/OPTIONS) is written to the audit
log before its answer is sent: who, how authenticated, method, path, station id, status, client
address; never a body, query string or secret. Refusals for missing credentials (401) are logged at
a bounded rate instead, so an unauthenticated flood cannot fill the table.

Tokens are checked by digests only and never logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any, Final
from urllib.parse import unquote

from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from csms.api.errors import TYPE_PREFIX, UNAUTHORIZED, ProblemKind, problem_response
from csms.api.identity import (
    CSRF_HEADER,
    OPEN_PRINCIPAL,
    SESSION_COOKIE,
    Identity,
    bootstrap_principal,
)
from csms.domain.accounts import AuditEntry, Principal, Role, role_allows
from csms.domain.api_credentials import ACCOUNT_TOKEN_PREFIX, ApiCredentials
from csms.domain.errors import StorageError
from csms.log import KindLog

logger = logging.getLogger(__name__)

SCHEME_NAME = "bearerAuth"
ROLE_KEY: Final = "x-required-role"
PUBLIC: Final = "public"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
FORBIDDEN: Final = ProblemKind(403, "forbidden", "Role insufficient")
CSRF_FAILED: Final = ProblemKind(403, "csrf-token-missing", "CSRF token missing or wrong")
_STATION_PATH: Final = re.compile(r"/api/v1/stations/([^/]+)")


def bearer_scheme() -> HTTPBearer:
    """The OpenAPI declaration of the scheme; it never refuses a request itself."""
    return HTTPBearer(
        auto_error=False,
        scheme_name=SCHEME_NAME,
        description=(
            "An account's API token (`POST /api/v1/api-tokens`, `csms api-token create`) or the "
            "bootstrap admin token: CSMS_API_TOKEN, or the one csms generated at its first start "
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


def default_role(method: str) -> Role:
    """GET/HEAD (and OPTIONS) read: viewer; anything else changes state: operator."""
    return Role.VIEWER if method.upper() in SAFE_METHODS else Role.OPERATOR


@dataclass(frozen=True, slots=True)
class RouteRole:
    """One operation as the app serves it: its full path, methods and required role."""

    path: str
    methods: frozenset[str]
    role: str
    regex: re.Pattern[str]


def _declared(extra: dict[str, Any] | None) -> str | None:
    value = (extra or {}).get(ROLE_KEY)
    return None if value is None else str(value)


def route_roles(routes: Sequence[BaseRoute]) -> list[RouteRole]:
    """Every HTTP operation of ``routes`` (included routers flattened, prefixes applied) with the
    role it needs: its ``x-required-role``, else the default by method."""
    found = []
    for path, route in _flat(routes):
        methods = route.methods
        if not methods:
            continue
        declared = _declared(route.openapi_extra)
        if declared is not None and declared != PUBLIC and declared not in set(Role):
            raise ValueError(f"{path}: unknown {ROLE_KEY} {declared!r}")
        regex = compile_path(path)[0]
        for method in methods:
            role = declared or default_role(method).value
            found.append(RouteRole(path, frozenset({method.upper()}), role, regex))
    return found


def _flat(routes: Sequence[BaseRoute], context: Any = None) -> Iterator[tuple[str, APIRoute]]:
    """The API routes with included routers expanded, each with its full path.

    FastAPI >= 0.160 keeps included routers nested and builds each route again for its
    inclusion (pydantic fields, dependants: about 3 ms a route) when first asked for its
    effective context; only the path is needed here, so it is taken from the inclusion's
    prefixes without that build, which FastAPI then does lazily when a request needs it.
    """
    for route in routes:
        included = getattr(route, "original_router", None)
        include = getattr(route, "include_context", None)
        if included is not None and include is not None:
            child = include if context is None else context.combine(include)
            yield from _flat(included.routes, child)
        elif isinstance(route, APIRoute):
            yield (route.path if context is None else context.path_for(route)), route


class RouteRoles:
    """The method + path template → required role table, built from the app's routes."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.operations = route_roles(routes)

    def lookup(self, scope: Scope) -> tuple[str, dict[str, Any]]:
        """The role the request needs and the matched path parameters (default by method)."""
        method = scope["method"]
        path = app_path(scope)
        for op in self.operations:
            if method in op.methods:
                match = op.regex.match(path)
                if match is not None:
                    return op.role, match.groupdict()
        return default_role(method).value, {}


@dataclass(slots=True)
class _Outcome:
    principal: Principal | None = None
    refusal: ProblemKind | None = None
    detail: str = ""


class AuthMiddleware:
    """Authenticate, check the role, set ``request.state.principal``, audit state changes."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        credentials: ApiCredentials | None,
        identity: Identity | None,
        routes: Sequence[BaseRoute],
        public_paths: frozenset[str],
        public_prefixes: tuple[str, ...] = (),
        open_access: bool = False,
    ) -> None:
        self._app = app
        self._credentials = credentials
        self._identity = identity
        self._all_routes = routes
        self._roles: RouteRoles | None = None
        self._public_paths = public_paths
        # Paths with their own credential (the file service's per-request URL tokens) or static
        # assets of the public API description.
        self._public_prefixes = public_prefixes
        self._open = open_access  # CSMS_API_AUTH=none: everyone is an admin (loopback labs)
        self._log = KindLog(logger, burst=10)  # 10 lines a minute per kind, then a count
        self._audit_writes = 0

    def _public(self, scope: Scope) -> bool:
        path = app_path(scope)
        return path in self._public_paths or path.startswith(self._public_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._public(scope):
            await self._app(scope, receive, send)
            return
        if self._roles is None:  # routes are complete once the app serves
            self._roles = RouteRoles(self._all_routes)
        role, params = self._roles.lookup(scope)
        if role == PUBLIC:
            if scope["method"] in SAFE_METHODS:
                await self._app(scope, receive, send)
            else:  # a login: audited when it succeeded (the route then names the principal)
                await self._audited(scope, receive, send, None, params)
            return
        try:
            outcome = await self._authenticate(scope)
        except StorageError:
            await self._refuse(scope, receive, send, _STORAGE, "The credential store failed.")
            return
        principal = outcome.principal
        if principal is None:
            await self._unauthorized(scope, receive, send, outcome.detail)
            return
        if outcome.refusal is not None:
            await self._forbidden(
                scope,
                receive=receive,
                send=send,
                principal=principal,
                kind=outcome.refusal,
                detail=outcome.detail,
            )
            return
        needed = Role(role)
        if not role_allows(principal.role, needed):
            await self._forbidden(
                scope,
                receive=receive,
                send=send,
                principal=principal,
                kind=FORBIDDEN,
                detail=f"This needs the {needed.value} role; {principal.name} acts as {principal.role}.",
            )
            return
        scope.setdefault("state", {})["principal"] = principal
        if scope["method"] in SAFE_METHODS:
            await self._app(scope, receive, send)
            return
        await self._audited(scope, receive, send, principal, params)

    # ------------------------------------------------------------------ authentication

    async def _authenticate(self, scope: Scope) -> _Outcome:
        if self._open:
            return _Outcome(OPEN_PRINCIPAL)
        headers = Headers(scope=scope)
        scheme, token = get_authorization_scheme_param(headers.get("authorization"))
        if scheme:
            if scheme.lower() != "bearer" or not token:
                return _Outcome(detail="Only 'Authorization: Bearer <token>' is accepted.")
            principal = None
            if self._identity is not None and token.startswith(ACCOUNT_TOKEN_PREFIX):
                principal = await self._identity.token_principal(token)
            if principal is None:
                principal = bootstrap_principal(self._credentials, token)
            if principal is None:
                return _Outcome(detail="The bearer token is unknown, revoked or expired.")
            return _Outcome(principal)
        session = _cookie(headers, SESSION_COOKIE)
        if session is None or self._identity is None:
            return _Outcome(detail="")
        check = await self._identity.session_principal(session, headers.get(CSRF_HEADER))
        if check.principal is None:
            return _Outcome(detail=f"The session cookie is not valid ({check.refusal}).")
        if scope["method"] not in SAFE_METHODS and not check.csrf_ok:
            return _Outcome(
                check.principal,
                CSRF_FAILED,
                "A session's state-changing request needs the X-CSRF-Token header (the "
                "csrf_token returned at login, also in the csms_csrf cookie).",
            )
        return _Outcome(check.principal)

    # ------------------------------------------------------------------ audit

    async def _audited(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        principal: Principal | None,
        params: dict[str, Any],
    ) -> None:
        """Run the request and write its audit row before the answer leaves. ``principal`` None:
        a public route, audited only if it named one (a successful login; failed ones are
        throttled and logged instead, so a guesser cannot flush the table)."""
        written = False

        def who() -> Principal | None:
            if principal is not None:
                return principal
            named = scope.get("state", {}).get("principal")
            return named if isinstance(named, Principal) else None

        async def audit_then_send(message: Message) -> None:
            nonlocal written
            actor = who()
            if message["type"] == "http.response.start" and not written and actor is not None:
                written = True
                await self._audit(scope, actor, int(message["status"]), params)
            await send(message)

        try:
            await self._app(scope, receive, audit_then_send)
        except BaseException:
            actor = who()
            if not written and actor is not None:  # failed before answering: the server says 500
                written = True
                await self._audit(scope, actor, 500, params)
            raise

    async def _audit(
        self, scope: Scope, principal: Principal, status: int, params: dict[str, Any]
    ) -> None:
        if self._identity is None:
            return
        client = scope.get("client")
        entry = AuditEntry(
            at=self._identity.clock(),
            actor=principal.name,
            auth_kind=principal.kind,
            method=scope["method"],
            path=app_path(scope),
            status=status,
            client=str(client[0]) if client else "",
            station_id=_station_id(app_path(scope), params),
        )
        try:
            await self._identity.audit.append([entry])
        except StorageError as exc:
            self._log.log(logging.ERROR, "audit-write", "audit log write failed: %s", exc)
            return
        self._audit_writes += 1
        if self._audit_writes % PRUNE_EVERY == 1:
            await self._prune()

    async def _prune(self) -> None:
        assert self._identity is not None
        s = self._identity.settings
        try:
            await self._identity.audit.prune(
                keep_rows=s.audit_max_rows,
                older_than=self._identity.clock() - timedelta(seconds=s.audit_max_age),
            )
            await self._identity.end_expired_sessions()
        except StorageError as exc:
            self._log.log(logging.ERROR, "audit-prune", "audit log pruning failed: %s", exc)

    # ------------------------------------------------------------------ refusals

    async def _unauthorized(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        self._log.info("refused unauthenticated API request %s %r", scope["method"], scope["path"])
        response = problem_response(
            UNAUTHORIZED.status,
            type_=TYPE_PREFIX + UNAUTHORIZED.slug,
            title=UNAUTHORIZED.title,
            detail=(
                (why + " " if why else "")
                + "Send 'Authorization: Bearer <token>' with an API token (or the bootstrap token: "
                "CSMS_API_TOKEN, or the one shown at csms's first start; `csms api-token rotate` "
                "prints a new one), or log in with POST /api/v1/auth/login for a session cookie."
            ),
            instance=scope["path"],
            headers={"WWW-Authenticate": 'Bearer realm="csms"'},
        )
        await response(scope, receive, send)

    async def _forbidden(
        self,
        scope: Scope,
        *,
        receive: Receive,
        send: Send,
        principal: Principal,
        kind: ProblemKind,
        detail: str,
    ) -> None:
        self._log.info(
            "refused API request %s %r by %s: %s",
            scope["method"],
            scope["path"],
            principal.name,
            kind.slug,
        )
        if scope["method"] not in SAFE_METHODS:
            await self._audit(scope, principal, kind.status, {})
        await self._refuse(scope, receive, send, kind, detail)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, kind: ProblemKind, detail: str
    ) -> None:
        response = problem_response(
            kind.status,
            type_=TYPE_PREFIX + kind.slug,
            title=kind.title,
            detail=detail,
            instance=scope["path"],
        )
        await response(scope, receive, send)


PRUNE_EVERY: Final = 1000  # audit writes between two retention passes
_STORAGE: Final = ProblemKind(503, "storage-unavailable", "Storage unavailable")


def _cookie(headers: Headers, name: str) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return None
    morsel = jar.get(name)
    return None if morsel is None else morsel.value


def _station_id(path: str, params: dict[str, Any]) -> str | None:
    for key in ("station_id", "id"):
        value = params.get(key)
        if isinstance(value, str) and path.startswith("/api/v1/stations/"):
            return value
    match = _STATION_PATH.match(path)
    if match is None:
        return None
    return unquote(match.group(1))
