"""Load a certificate signer named ``module:attribute`` (CSMS_CERTIFICATE_SIGNER; 2.0.1 A02/A03).

A02.FR.04 / 1.6 whitepaper A02: the CSMS forwards a station's CSR to a CA. csms signs with its
built-in CA (:mod:`csms.pki.ca`) unless an operator names their own: an object with an async
``sign(station_id, csr_pem, certificate_type) -> str`` method (see
:class:`csms.domain.security.CertificateAuthority`), or a callable taking no arguments that returns
one (its class or a factory), as for ISO 15118 providers (:mod:`.iso15118_loading`). V2G CSRs go to
the V2G root whatever the signer (``csms.pki.CertificateAuthorityByType``).
"""

from __future__ import annotations

import importlib
from typing import Any

from csms.domain.security import CertificateAuthority

__all__ = ["SignerConfigError", "load_signer"]


class SignerConfigError(ValueError):
    """The configured signer cannot be loaded; the message names it."""


def _is_signer(obj: object) -> bool:
    return not isinstance(obj, type) and callable(getattr(obj, "sign", None))


def load_signer(target: str) -> CertificateAuthority:
    """Import ``module:attribute`` and return the signer it names or makes.

    Raises:
        SignerConfigError: malformed, not importable, or not a signer.
    """
    module_name, sep, attribute = target.strip().partition(":")
    if not sep or not module_name or not attribute:
        raise SignerConfigError(f"{target!r}: expected builtin or module:attribute")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SignerConfigError(f"cannot load {target!r}: {exc}") from exc
    if not _is_signer(obj) and callable(obj):
        obj = obj()
    if not _is_signer(obj):
        raise SignerConfigError(
            f"{target!r} is not a certificate signer (needs an async "
            "sign(station_id, csr_pem, certificate_type) method)"
        )
    return obj  # type: ignore[no-any-return]  # duck-typed against the CertificateAuthority port
