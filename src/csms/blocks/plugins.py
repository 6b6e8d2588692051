"""Load an operator's object named ``module:attribute`` (a certificate signer, an ISO 15118
provider): the attribute is the object itself or a callable taking no arguments that returns it
(its class or a factory). What the object must offer is checked by duck typing against the
methods its domain port names, so a wrong setting fails at start-up with one clear line.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["PluginConfigError", "load_plugin"]


class PluginConfigError(ValueError):
    """The configured object cannot be loaded; the message names it."""


def _offers(obj: object, methods: tuple[str, ...]) -> bool:
    return not isinstance(obj, type) and all(callable(getattr(obj, m, None)) for m in methods)


def load_plugin(target: str, methods: tuple[str, ...], *, what: str, choices: str) -> Any:
    """Import ``module:attribute`` and return the object it names or makes.

    ``what`` names the kind of object in errors (e.g. "a certificate signer (needs an async
    sign(...) method)"), ``choices`` the setting's other values (e.g. "builtin").

    Raises:
        PluginConfigError: malformed, not importable, or without ``methods``.
    """
    module_name, sep, attribute = target.strip().partition(":")
    if not sep or not module_name or not attribute:
        raise PluginConfigError(f"{target!r}: expected {choices} or module:attribute")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginConfigError(f"cannot load {target!r}: {exc}") from exc
    if not _offers(obj, methods) and callable(obj):
        obj = obj()
    if not _offers(obj, methods):
        raise PluginConfigError(f"{target!r} is not {what}")
    return obj
