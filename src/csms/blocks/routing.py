"""Routing of OCPP actions to handlers, by (version, action), without global registries.

A block is a plain object whose methods are tagged with :func:`handles`; :meth:`Router.from_blocks`
collects the tags of the objects it is given, so the composition root decides which blocks run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from csms.blocks.context import CallContext
from csms.rpc import OcppVersion

Payload = dict[str, Any]
Handler = Callable[[CallContext, Payload], Awaitable[Payload]]
F = TypeVar("F", bound=Callable[..., Any])

_ROUTES_ATTR = "_ocpp_routes"


def handles(versions: OcppVersion | Iterable[OcppVersion], action: str) -> Callable[[F], F]:
    """Tag a block method as the handler of ``action`` for ``versions``."""
    chosen = (versions,) if isinstance(versions, OcppVersion) else tuple(versions)

    def tag(func: F) -> F:
        routes: list[tuple[OcppVersion, str]] = list(getattr(func, _ROUTES_ATTR, ()))
        routes.extend((version, action) for version in chosen)
        setattr(func, _ROUTES_ATTR, routes)
        return func

    return tag


def tagged_actions(*block_types: type) -> frozenset[tuple[OcppVersion, str]]:
    """The (version, action) pairs the methods of ``block_types`` are tagged with."""
    pairs: set[tuple[OcppVersion, str]] = set()
    for block_type in block_types:
        for name in dir(block_type):
            pairs.update(getattr(getattr(block_type, name), _ROUTES_ATTR, ()))
    return frozenset(pairs)


class Router:
    """Maps (version, action) to a handler coroutine."""

    def __init__(self) -> None:
        self._routes: dict[tuple[OcppVersion, str], Handler] = {}

    def add(self, version: OcppVersion, action: str, handler: Handler) -> None:
        """Register ``handler``; a second handler for the same pair is a wiring bug."""
        key = (version, action)
        if key in self._routes:
            raise ValueError(f"two handlers for {action} in OCPP {version}")
        self._routes[key] = handler

    @classmethod
    def from_blocks(cls, *blocks: object) -> Router:
        """Build a router from the tagged methods of ``blocks``."""
        router = cls()
        for block in blocks:
            for name in dir(type(block)):
                method = getattr(block, name)
                for version, action in getattr(method, _ROUTES_ATTR, ()):
                    router.add(version, action, method)
        return router

    def handler(self, version: OcppVersion, action: str) -> Handler | None:
        """Return the handler for ``action`` in ``version``, or None."""
        return self._routes.get((version, action))

    def handled_actions(self) -> frozenset[tuple[OcppVersion, str]]:
        """Every (version, action) pair with a handler (for the support matrix)."""
        return frozenset(self._routes)
