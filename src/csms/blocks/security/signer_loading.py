"""Load a certificate signer named ``module:attribute`` (CSMS_CERTIFICATE_SIGNER; 2.0.1 A02/A03).

A02.FR.04 / 1.6 whitepaper A02: the CSMS forwards a station's CSR to a CA. csms signs with its
built-in CA (:mod:`csms.pki.ca`) unless an operator names their own: an object with an async
``sign(station_id, csr_pem, certificate_type) -> str`` method (see
:class:`csms.domain.security.CertificateAuthority`), or a callable taking no arguments that returns
one (its class or a factory), as for ISO 15118 providers (:mod:`.iso15118_loading`). V2G CSRs go to
the V2G root whatever the signer (``csms.pki.CertificateAuthorityByType``).
"""

from __future__ import annotations

from csms.blocks.plugins import PluginConfigError, load_plugin
from csms.domain.security import CertificateAuthority

__all__ = ["SignerConfigError", "load_signer"]

# The configured signer cannot be loaded; the message names it.
SignerConfigError = PluginConfigError


def load_signer(target: str) -> CertificateAuthority:
    """Import ``module:attribute`` and return the signer it names or makes.

    Raises:
        SignerConfigError: malformed, not importable, or not a signer.
    """
    signer: CertificateAuthority = load_plugin(
        target,
        ("sign",),
        what="a certificate signer (needs an async sign(station_id, csr_pem, certificate_type) "
        "method)",
        choices="builtin",
    )
    return signer
