"""Certificate types: csms stores the 2.x spelling; 1.6 names two of them differently.

1.6 whitepaper CertificateUseEnumType: CentralSystemRootCertificate, ManufacturerRootCertificate.
2.0.1 InstallCertificateUseEnumType / GetCertificateIdUseEnumType: CSMSRootCertificate,
ManufacturerRootCertificate, V2GRootCertificate, MORootCertificate (+ V2GCertificateChain in
GetInstalledCertificateIds; 2.1 adds OEMRootCertificate).
"""

from __future__ import annotations

from csms.domain.errors import InvalidPayload
from csms.rpc import OcppVersion

__all__ = ["from_wire", "to_wire"]

_V16_NAMES = {
    "CSMSRootCertificate": "CentralSystemRootCertificate",
    "ManufacturerRootCertificate": "ManufacturerRootCertificate",
}
_FROM_V16 = {v: k for k, v in _V16_NAMES.items()}


def to_wire(certificate_type: str, version: OcppVersion) -> str:
    """Spell ``certificate_type`` (2.x name) for ``version``.

    Raises:
        InvalidPayload: 1.6 has no such certificate type.
    """
    if version is not OcppVersion.V16:
        return certificate_type
    try:
        return _V16_NAMES[certificate_type]
    except KeyError:
        raise InvalidPayload(
            f"OCPP 1.6 has no certificate type {certificate_type!r}",
            code="PropertyConstraintViolation",
            path="certificateType",
        ) from None


def from_wire(certificate_type: str, version: OcppVersion) -> str:
    """The 2.x name of a certificate type a station of ``version`` sent."""
    if version is OcppVersion.V16:
        return _FROM_V16.get(certificate_type, certificate_type)
    return certificate_type
