"""Load an ISO 15118 certificate provider named ``module:attribute`` (CSMS_ISO15118_PROVIDER).

The attribute is either a provider (an object with async ``ev_certificate`` and
``certificate_status`` methods, see :class:`csms.domain.iso15118.Iso15118CertificateProvider`) or
a callable taking no arguments that returns one (e.g. the provider's class or a factory
function), as for DataTransfer handlers (:mod:`csms.blocks.datatransfer.loading`).
"""

from __future__ import annotations

from csms.blocks.plugins import PluginConfigError, load_plugin
from csms.domain.iso15118 import Iso15118CertificateProvider

__all__ = ["ProviderConfigError", "load_provider"]

# The configured provider cannot be loaded; the message names it.
ProviderConfigError = PluginConfigError


def load_provider(target: str) -> Iso15118CertificateProvider:
    """Import ``module:attribute`` and return the provider it names or makes.

    Raises:
        ProviderConfigError: malformed, not importable, or not a provider.
    """
    provider: Iso15118CertificateProvider = load_plugin(
        target,
        ("ev_certificate", "certificate_status"),
        what="an ISO 15118 certificate provider (needs async ev_certificate and "
        "certificate_status methods)",
        choices="none, builtin",
    )
    return provider
