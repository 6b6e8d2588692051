"""The one check csms makes on a certificate it passes to a station: is it PEM X.509 at all."""

from __future__ import annotations

from cryptography import x509

from csms.domain.errors import InvalidPayload


def require_pem_certificate(text: str, path: str) -> None:
    """Refuse ``text`` unless it is a PEM encoded X.509 certificate, before anything is sent:
    a station can only reject (or, worse, store) anything else (InstallCertificateRequest and
    FirmwareType.signingCertificate: "PEM encoded X.509 certificate").

    Raises:
        InvalidPayload: ``text`` does not parse as one.
    """
    try:
        x509.load_pem_x509_certificate(text.encode())
    except ValueError:
        raise InvalidPayload(f"{path} is not a PEM X.509 certificate", path=path) from None
