"""Load an ISO 15118 certificate provider named ``module:attribute`` (CSMS_ISO15118_PROVIDER).

The attribute is either a provider (an object with async ``ev_certificate`` and
``certificate_status`` methods, see :class:`csms.domain.iso15118.Iso15118CertificateProvider`) or
a callable taking no arguments that returns one (e.g. the provider's class or a factory
function), as for DataTransfer handlers (:mod:`csms.blocks.datatransfer.loading`).
"""

from __future__ import annotations

import importlib
from typing import Any

from csms.domain.iso15118 import Iso15118CertificateProvider

__all__ = ["ProviderConfigError", "load_provider"]

_METHODS = ("ev_certificate", "certificate_status")


class ProviderConfigError(ValueError):
    """The configured provider cannot be loaded; the message names it."""


def _is_provider(obj: object) -> bool:
    return not isinstance(obj, type) and all(callable(getattr(obj, m, None)) for m in _METHODS)


def load_provider(target: str) -> Iso15118CertificateProvider:
    """Import ``module:attribute`` and return the provider it names or makes.

    Raises:
        ProviderConfigError: malformed, not importable, or not a provider.
    """
    module_name, sep, attribute = target.strip().partition(":")
    if not sep or not module_name or not attribute:
        raise ProviderConfigError(f"{target!r}: expected none, builtin or module:attribute")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ProviderConfigError(f"cannot load {target!r}: {exc}") from exc
    if not _is_provider(obj) and callable(obj):
        obj = obj()
    if not _is_provider(obj):
        raise ProviderConfigError(
            f"{target!r} is not an ISO 15118 certificate provider (needs async "
            "ev_certificate and certificate_status methods)"
        )
    return obj  # type: ignore[no-any-return]  # duck-typed against the provider protocol
