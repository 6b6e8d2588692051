"""Public-key infrastructure adapters (``cryptography``): the built-in certificate authority, the
built-in V2G root and the built-in ISO 15118 certificate provider."""

from csms.pki.ca import BuiltinCertificateAuthority
from csms.pki.iso15118 import (
    BuiltinIso15118Provider,
    CertificateAuthorityByType,
    PreEncodedExiResponses,
)
from csms.pki.v2g import V2GRootAuthority

__all__ = [
    "BuiltinCertificateAuthority",
    "BuiltinIso15118Provider",
    "CertificateAuthorityByType",
    "PreEncodedExiResponses",
    "V2GRootAuthority",
]
