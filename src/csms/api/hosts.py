"""Trusted Host headers: the defence against DNS rebinding.

A web page the operator opens can make its own host name resolve to 127.0.0.1 and then send
requests to a loopback API as a "same-origin" page. The browser still sends the attacker's name in
``Host``, so the API answers 400 to any Host that is not on its list, before authentication, routing
or body parsing. WebSocket requests are checked too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from csms.api.errors import TYPE_PREFIX, ProblemKind, problem_response
from csms.log import KindLog

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS: Final = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS: Final = frozenset({"", "0.0.0.0", "::", "*"})
UNTRUSTED_HOST: Final = ProblemKind(400, "untrusted-host", "Host header not trusted")


def normalize_host(value: str) -> str:
    """A host name or address without port, brackets, trailing dot or upper case."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:  # name:port or v4:port (a bare IPv6 address has several colons)
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def default_trusted_hosts(bind_host: str, *extra: str | None) -> tuple[str, ...]:
    """Loopback names and addresses, the bind host unless a wildcard, and ``extra`` names."""
    names = list(LOOPBACK_HOSTS)
    for name in (bind_host, *extra):
        if name is not None and name not in WILDCARD_BINDS:
            host = normalize_host(name)
            if host and host not in names:
                names.append(host)
    return tuple(names)


class HostPatterns:
    """Exact names, ``*.example.com`` (any subdomain) and ``*`` (any: disables the check)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._exact: set[str] = set()
        self._suffixes: list[str] = []
        self.any = False
        for raw in patterns:
            pattern = raw.strip().lower()
            if pattern == "*":
                self.any = True
            elif pattern.startswith("*."):
                self._suffixes.append(pattern[1:].rstrip("."))
            elif pattern:
                self._exact.add(normalize_host(pattern))
        if not (self.any or self._exact or self._suffixes):
            raise ValueError("the trusted hosts list is empty")

    def allows(self, host: str) -> bool:
        name = normalize_host(host)
        return self.any or name in self._exact or any(name.endswith(s) for s in self._suffixes)


class TrustedHostMiddleware:
    """Answer 400 problem+json to an HTTP request with an untrusted (or no) Host."""

    def __init__(self, app: ASGIApp, *, hosts: HostPatterns) -> None:
        self._app = app
        self._hosts = hosts
        self._log = KindLog(logger, burst=10)  # 10 lines a minute per kind, then a count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._hosts.any:
            await self._app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host")
        if host is not None and self._hosts.allows(host):
            await self._app(scope, receive, send)
            return
        self._log.warning(
            "refused API request with untrusted Host %r (CSMS_API_TRUSTED_HOSTS)",
            (host or "")[:100],
        )
        response = problem_response(
            UNTRUSTED_HOST.status,
            type_=TYPE_PREFIX + UNTRUSTED_HOST.slug,
            title=UNTRUSTED_HOST.title,
            detail=(
                "This API answers only the host names in CSMS_API_TRUSTED_HOSTS "
                "(default: loopback names and CSMS_API_HOST)."
            ),
        )
        await response(scope, receive, send)
