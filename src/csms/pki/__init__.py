"""Public-key infrastructure adapters: the built-in certificate authority (``cryptography``)."""

from csms.pki.ca import BuiltinCertificateAuthority

__all__ = ["BuiltinCertificateAuthority"]
