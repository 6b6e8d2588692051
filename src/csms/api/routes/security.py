"""Security extension for operators: security events, certificates, password rotation.

Nothing here ever returns or logs a station password: a rotation answers with the station's status
only (1.6 security whitepaper A01.FR.09).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from csms.api.deps import Context
from csms.api.routes.files import files_context
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import DB_INT_MAX, Problem
from csms.blocks.security.commands import (
    delete_certificate,
    get_installed_certificate_ids,
    install_certificate,
    rotate_authorization_key,
)
from csms.domain.security import CertificateHashData, InstalledCertificate

__all__ = ["security_router"]

_CERTIFICATE_TYPES = (
    "^(CSMSRootCertificate|ManufacturerRootCertificate|V2GRootCertificate|MORootCertificate"
    "|V2GCertificateChain|OEMRootCertificate)$"
)


class SecurityEventOut(BaseModel):
    """A SecurityEventNotification as stored."""

    id: int | None
    station_id: str
    type: str
    timestamp: datetime
    tech_info: str | None
    critical: bool
    received_at: datetime


class HashData(BaseModel):
    """CertificateHashDataType."""

    hash_algorithm: str = Field(pattern="^(SHA256|SHA384|SHA512)$")
    issuer_name_hash: str = Field(max_length=128)
    issuer_key_hash: str = Field(max_length=128)
    serial_number: str = Field(max_length=40)

    def domain(self) -> CertificateHashData:
        return CertificateHashData(
            hash_algorithm=self.hash_algorithm,
            issuer_name_hash=self.issuer_name_hash,
            issuer_key_hash=self.issuer_key_hash,
            serial_number=self.serial_number,
        )


class InstalledOut(BaseModel):
    """A certificate the station reported installed."""

    certificate_type: str
    hash_data: HashData
    reported_at: datetime

    @classmethod
    def of(cls, cert: InstalledCertificate) -> InstalledOut:
        h = cert.hash_data
        return cls(
            certificate_type=cert.certificate_type,
            hash_data=HashData(
                hash_algorithm=h.hash_algorithm,
                issuer_name_hash=h.issuer_name_hash,
                issuer_key_hash=h.issuer_key_hash,
                serial_number=h.serial_number,
            ),
            reported_at=cert.reported_at,
        )


class InstallIn(BaseModel):
    """InstallCertificate; types in their 2.x spelling (CSMSRootCertificate = 1.6
    CentralSystemRootCertificate)."""

    certificate_type: str = Field(pattern=_CERTIFICATE_TYPES)
    certificate: str = Field(max_length=5500)


class QueryIn(BaseModel):
    """GetInstalledCertificateIds; no types: all."""

    certificate_types: list[str] = Field(default_factory=list)


class StatusOut(BaseModel):
    """The station's answer."""

    status: str


class InstalledListOut(BaseModel):
    """What the station reported."""

    status: str
    certificates: list[InstalledOut]


class CertificateRequestOut(BaseModel):
    """A SignCertificate and what became of it."""

    id: int
    certificate_type: str | None
    status: str
    created_at: datetime
    certificate_chain: str | None
    error: str | None


async def list_security_events(
    request: Request,
    *,
    station_id: Annotated[str | None, Query(max_length=255)] = None,
    critical: Annotated[bool, Query(description="Only critical events")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type_: Annotated[
        str | None, Query(alias="type", max_length=50, description="e.g. FirmwareUpdated")
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="Reported at or after (ISO 8601 with zone)")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(description="Reported before")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=DB_INT_MAX, description="Older than this event id (paging)")
    ] = None,
) -> list[SecurityEventOut]:
    """Security events, newest first (the stations' own timestamps for since/until)."""
    events = await files_context(request).security.events(
        station_id=station_id,
        critical_only=critical,
        limit=limit,
        event_type=type_,
        since=since,
        until=until,
        before_id=before,
    )
    return [
        SecurityEventOut(
            id=e.id,
            station_id=e.station_id,
            type=e.type,
            timestamp=e.timestamp,
            tech_info=e.tech_info,
            critical=e.critical,
            received_at=e.received_at,
        )
        for e in events
    ]


async def rotate_key(request: Request, context: Context, station_id: StationIdPath) -> Any:
    """Give the station a new random password; the old one works until it answers Accepted
    (RebootRequired: until it first connects with the new one)."""
    await require_station(context, station_id)
    files = files_context(request)
    result = await rotate_authorization_key(
        files.gateway, files.stations, station_id, timeout=context.call_timeout
    )
    return {"status": result.status, "rotated": result.rotated}


async def install(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[InstallIn, Body()],
) -> StatusOut:
    """Send InstallCertificate."""
    await require_station(context, station_id)
    files = files_context(request)
    status = await install_certificate(
        files.gateway,
        station_id,
        body.certificate_type,
        body.certificate,
        timeout=context.call_timeout,
    )
    return StatusOut(status=status)


async def delete(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[HashData, Body()],
) -> StatusOut:
    """Send DeleteCertificate."""
    await require_station(context, station_id)
    files = files_context(request)
    status = await delete_certificate(
        files.gateway, files.security, station_id, body.domain(), timeout=context.call_timeout
    )
    return StatusOut(status=status)


async def query(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[QueryIn, Body()],
) -> InstalledListOut:
    """Send GetInstalledCertificateIds and store what the station reports."""
    await require_station(context, station_id)
    files = files_context(request)
    result = await get_installed_certificate_ids(
        files.gateway,
        files.security,
        station_id,
        body.certificate_types,
        timeout=context.call_timeout,
    )
    return InstalledListOut(
        status=result.status, certificates=[InstalledOut.of(c) for c in result.certificates]
    )


async def installed(
    request: Request, context: Context, station_id: StationIdPath
) -> list[InstalledOut]:
    """The certificates the station last reported installed."""
    await require_station(context, station_id)
    return [InstalledOut.of(c) for c in await files_context(request).security.installed(station_id)]


async def certificate_requests(
    request: Request, context: Context, station_id: StationIdPath
) -> list[CertificateRequestOut]:
    """The station's SignCertificate requests, newest first."""
    await require_station(context, station_id)
    found = await files_context(request).security.certificate_requests(station_id)
    return [
        CertificateRequestOut(
            id=r.id,
            certificate_type=r.certificate_type,
            status=r.status,
            created_at=r.created_at,
            certificate_chain=r.certificate_chain,
            error=r.error,
        )
        for r in found
    ]


def security_router() -> APIRouter:
    """The security routes (behind the API token when one is set)."""
    router = APIRouter(tags=["security"])
    errors: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown station"},
        409: {"model": Problem, "description": "Station not connected"},
        502: {"model": Problem, "description": "Station answered with a CALLERROR"},
        504: {"model": Problem, "description": "Station did not answer in time"},
    }
    router.add_api_route(
        "/security-events", list_security_events, methods=["GET"], summary="Security events"
    )
    router.add_api_route(
        "/stations/{station_id}/authorization-key",
        rotate_key,
        methods=["POST"],
        summary="Rotate the station's password (AuthorizationKey / BasicAuthPassword)",
        responses=errors,
    )
    router.add_api_route(
        "/stations/{station_id}/certificates",
        install,
        methods=["POST"],
        summary="Send InstallCertificate",
        responses=errors,
    )
    router.add_api_route(
        "/stations/{station_id}/certificates/delete",
        delete,
        methods=["POST"],
        summary="Send DeleteCertificate",
        responses=errors,
    )
    router.add_api_route(
        "/stations/{station_id}/certificates/query",
        query,
        methods=["POST"],
        summary="Send GetInstalledCertificateIds",
        responses=errors,
    )
    router.add_api_route(
        "/stations/{station_id}/certificates",
        installed,
        methods=["GET"],
        summary="Certificates the station reported installed",
        responses=errors,
    )
    router.add_api_route(
        "/stations/{station_id}/certificate-requests",
        certificate_requests,
        methods=["GET"],
        summary="The station's SignCertificate requests",
        responses=errors,
    )
    return router
