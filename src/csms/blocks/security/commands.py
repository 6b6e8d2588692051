"""Operator commands of the security block, spelled for the station's version.

* :func:`install_certificate`: InstallCertificate (whitepaper §5.8 / M05; 2.0.1 M05).
* :func:`delete_certificate`: DeleteCertificate (M04); an Accepted deletion is forgotten.
* :func:`get_installed_certificate_ids`: GetInstalledCertificateIds (M03); what the station
  reports replaces what csms knew of those types. 1.6 asks for one type per CALL.
* :func:`rotate_authorization_key`: a new random Basic-auth password for the station, through
  ChangeConfiguration(AuthorizationKey) on 1.6 (whitepaper A01) or SetVariables
  (SecurityCtrlr.BasicAuthPassword) on 2.x (A01). Only after the station answered Accepted is the
  new hash stored, and only then does the old password stop working (A01.FR.03/04). RebootRequired
  means the station takes the new password when it reboots and uses the old one until then: the
  new hash is kept as pending, both are accepted, and the station's first connection with the new
  one makes it the only one (see the listener). The key is never returned, logged or stored in
  clear (A01.FR.08/09).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from csms.blocks.pem import require_pem_certificate
from csms.blocks.security.certificate_types import from_wire, to_wire
from csms.blocks.station_version import live_version
from csms.domain.credentials import check_password_strength, hash_password
from csms.domain.ports import StationGateway, StationRepository
from csms.domain.security import CertificateHashData, InstalledCertificate, SecurityRepository
from csms.rpc import OcppVersion

__all__ = [
    "AUTHORIZATION_KEY_BYTES",
    "COMMANDS",
    "InstalledCertificates",
    "KeyRotation",
    "delete_certificate",
    "get_installed_certificate_ids",
    "hash_data_from_request",
    "install_certificate",
    "record_delete_answer",
    "rotate_authorization_key",
]

# The (version, action) pairs these commands (and the block's CertificateSigned task) send.
COMMANDS = frozenset(
    (version, action)
    for version in OcppVersion
    for action in (
        "CertificateSigned",
        "InstallCertificate",
        "DeleteCertificate",
        "GetInstalledCertificateIds",
    )
)

logger = logging.getLogger(__name__)

# 20 random bytes sent as 40 hex digits: the most a 1.6 AuthorizationKey holds (A00.FR.205), and
# a 40-character 2.x BasicAuthPassword.
AUTHORIZATION_KEY_BYTES = 20

# What 1.6 can hold (CertificateUseEnumType), queried one by one when no type is named.
_V16_TYPES = ("CSMSRootCertificate", "ManufacturerRootCertificate")


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def install_certificate(
    gateway: StationGateway,
    station_id: str,
    certificate_type: str,
    certificate: str,
    *,
    timeout: float | None = None,
) -> str:
    """Install a root certificate; return the station's status (Accepted, Rejected, Failed).

    Raises:
        InvalidPayload: ``certificate`` is not PEM X.509, or 1.6 lacks ``certificate_type``.
    """
    require_pem_certificate(certificate, "certificate")
    version = live_version(gateway, station_id)
    payload = {"certificateType": to_wire(certificate_type, version), "certificate": certificate}
    reply = await gateway.call(station_id, "InstallCertificate", payload, timeout=timeout)
    return str(reply["status"])


def _hash_data(wire: dict[str, Any]) -> CertificateHashData:
    return CertificateHashData(
        hash_algorithm=wire["hashAlgorithm"],
        issuer_name_hash=wire["issuerNameHash"],
        issuer_key_hash=wire["issuerKeyHash"],
        serial_number=wire["serialNumber"],
    )


def _wire_hash(data: CertificateHashData) -> dict[str, str]:
    return {
        "hashAlgorithm": data.hash_algorithm,
        "issuerNameHash": data.issuer_name_hash,
        "issuerKeyHash": data.issuer_key_hash,
        "serialNumber": data.serial_number,
    }


async def delete_certificate(
    gateway: StationGateway,
    security: SecurityRepository,
    station_id: str,
    hash_data: CertificateHashData,
    *,
    timeout: float | None = None,
) -> str:
    """Delete a certificate; return the station's status (Accepted, Failed, NotFound)."""
    live_version(gateway, station_id)
    reply = await gateway.call(
        station_id,
        "DeleteCertificate",
        {"certificateHashData": _wire_hash(hash_data)},
        timeout=timeout,
    )
    return await record_delete_answer(security, station_id, hash_data, reply)


def hash_data_from_request(payload: dict[str, Any]) -> CertificateHashData:
    """The certificate a DeleteCertificate payload names (the inverse of its request)."""
    return _hash_data(payload["certificateHashData"])


async def record_delete_answer(
    security: SecurityRepository,
    station_id: str,
    hash_data: CertificateHashData,
    reply: dict[str, Any],
) -> str:
    """Keep the station's answer to DeleteCertificate: Accepted or NotFound removes the
    certificate from what csms believes is installed; return the status."""
    status = str(reply["status"])
    if status in ("Accepted", "NotFound"):
        await security.remove_installed(station_id, hash_data)
    return status


@dataclass(frozen=True, slots=True)
class InstalledCertificates:
    """``status`` Accepted if any certificate was reported, else NotFound."""

    status: str
    certificates: Sequence[InstalledCertificate]


async def get_installed_certificate_ids(
    gateway: StationGateway,
    security: SecurityRepository,
    station_id: str,
    certificate_types: Sequence[str] = (),
    *,
    timeout: float | None = None,
    clock: Callable[[], datetime] = _utc_now,
) -> InstalledCertificates:
    """Ask which certificates of ``certificate_types`` (2.x names; empty: all) are installed.

    A 1.6 station is asked one type per message (whitepaper GetInstalledCertificateIds.req has
    one ``certificateType``); every type is spelled for 1.6 first, so a type 1.6 lacks is refused
    before anything is sent.
    """
    version = live_version(gateway, station_id)
    found: list[InstalledCertificate] = []
    if version is OcppVersion.V16:
        types = tuple(certificate_types) or _V16_TYPES
        wire = [
            (certificate_type, to_wire(certificate_type, version)) for certificate_type in types
        ]
        for certificate_type, wire_type in wire:
            reply = await gateway.call(
                station_id,
                "GetInstalledCertificateIds",
                {"certificateType": wire_type},
                timeout=timeout,
            )
            found.extend(
                InstalledCertificate(station_id, certificate_type, _hash_data(item), clock())
                for item in reply.get("certificateHashData", ())
            )
    else:
        types = tuple(certificate_types)
        payload: dict[str, Any] = {"certificateType": list(types)} if types else {}
        reply = await gateway.call(
            station_id, "GetInstalledCertificateIds", payload, timeout=timeout
        )
        for chain in reply.get("certificateHashDataChain", ()):
            kind = from_wire(chain["certificateType"], version)
            found.append(
                InstalledCertificate(
                    station_id, kind, _hash_data(chain["certificateHashData"]), clock()
                )
            )
            found.extend(
                InstalledCertificate(station_id, kind, _hash_data(child), clock())
                for child in chain.get("childCertificateHashData", ())
            )
    await security.replace_installed(station_id, types, found)
    return InstalledCertificates(status="Accepted" if found else "NotFound", certificates=found)


@dataclass(frozen=True, slots=True)
class KeyRotation:
    """The station's answer; ``rotated`` True once the new password is the only one accepted
    (RebootRequired: not yet, the new one is pending until the station connects with it)."""

    status: str
    rotated: bool


async def rotate_authorization_key(
    gateway: StationGateway,
    stations: StationRepository,
    station_id: str,
    *,
    timeout: float | None = None,
) -> KeyRotation:
    """Give the station a new random password (see the module docstring)."""
    version = live_version(gateway, station_id)
    key = secrets.token_bytes(AUTHORIZATION_KEY_BYTES).hex()
    password = key.encode("ascii")
    check_password_strength(password)
    if version is OcppVersion.V16:
        reply = await gateway.call(
            station_id,
            "ChangeConfiguration",
            {"key": "AuthorizationKey", "value": key},
            timeout=timeout,
            password_rotation=True,
        )
        status = str(reply["status"])
    else:
        reply = await gateway.call(
            station_id,
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "BasicAuthPassword"},
                        "attributeValue": key,
                    }
                ]
            },
            timeout=timeout,
            password_rotation=True,
        )
        results = reply.get("setVariableResult") or [{}]
        status = str(results[0].get("attributeStatus", "Rejected"))
    rotated = status == "Accepted"
    if rotated:
        await stations.set_password_hash(station_id, hash_password(password))
    elif status == "RebootRequired":
        await stations.set_pending_password_hash(station_id, hash_password(password))
    logger.info("[%s] AuthorizationKey rotation: %s", station_id, status)
    return KeyRotation(status=status, rotated=rotated)
