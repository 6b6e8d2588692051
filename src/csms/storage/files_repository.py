"""SQL implementations of :class:`~csms.domain.files.FileRepository` and
:class:`~csms.domain.security.SecurityRepository`.

These writes are rare (an operator's command, a station's status notification, an upload), so each
runs in its own short write transaction instead of the group committer's batches; it is committed
when the coroutine returns, before any acknowledgement (ocpp-rules §3.3). Database failures surface
as :class:`~csms.domain.errors.StorageError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from csms.domain.files import (
    FileRequest,
    FirmwareImage,
    NewFileRequest,
    ReceivedFile,
    StatusEvent,
    StoredBlob,
    TransferKind,
    UploadUsage,
)
from csms.domain.security import (
    CertificateHashData,
    CertificateRequest,
    InstalledCertificate,
    SecurityEvent,
)
from csms.storage.direct import reading, writing
from csms.storage.tables_files import (
    certificate_requests,
    file_request_status,
    file_requests,
    firmware_images,
    installed_certificates,
    received_files,
    security_events,
)

__all__ = ["SqlFileRepository", "SqlSecurityRepository"]


class _Sql:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _read(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return reading(self._engine)

    def _write(self) -> contextlib.AbstractAsyncContextManager[AsyncConnection]:
        return writing(self._engine)

    async def _rows(self, stmt: Any) -> list[Mapping[str, Any]]:
        async with self._read() as conn:
            return [dict(row) for row in (await conn.execute(stmt)).mappings()]


def _firmware(row: Mapping[str, Any]) -> FirmwareImage:
    return FirmwareImage(
        id=row["id"],
        filename=row["filename"],
        size=row["size"],
        sha256=row["sha256"],
        blob_key=row["blob_key"],
        created_at=row["created_at"],
    )


def _request(row: Mapping[str, Any]) -> FileRequest:
    return FileRequest(
        id=row["id"],
        station_id=row["station_id"],
        kind=TransferKind(row["kind"]),
        status=row["status"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        updated_at=row["updated_at"],
        firmware_id=row["firmware_id"],
        log_type=row["log_type"],
        action=row["action"],
    )


def _received(row: Mapping[str, Any]) -> ReceivedFile:
    return ReceivedFile(
        id=row["id"],
        request_id=row["request_id"],
        station_id=row["station_id"],
        filename=row["filename"],
        size=row["size"],
        sha256=row["sha256"],
        blob_key=row["blob_key"],
        received_at=row["received_at"],
    )


class SqlFileRepository(_Sql):
    """Implements :class:`csms.domain.files.FileRepository`."""

    async def add_firmware(self, image: FirmwareImage) -> None:
        async with self._write() as conn:
            await conn.execute(
                insert(firmware_images).values(
                    id=image.id,
                    filename=image.filename,
                    size=image.size,
                    sha256=image.sha256,
                    blob_key=image.blob_key,
                    created_at=image.created_at,
                )
            )

    async def firmware(self, firmware_id: str) -> FirmwareImage | None:
        found = await self._rows(select(firmware_images).where(firmware_images.c.id == firmware_id))
        return _firmware(found[0]) if found else None

    async def list_firmware(self, *, limit: int = 100) -> Sequence[FirmwareImage]:
        stmt = select(firmware_images).order_by(firmware_images.c.created_at.desc()).limit(limit)
        return [_firmware(row) for row in await self._rows(stmt)]

    async def create_request(self, request: NewFileRequest) -> FileRequest:
        values = {
            "station_id": request.station_id,
            "kind": request.kind.value,
            "action": request.action,
            "token_digest": request.token_digest,
            "firmware_id": request.firmware_id,
            "log_type": request.log_type,
            "details": dict(request.details),
            "status": "Requested",
            "created_at": request.created_at,
            "updated_at": request.created_at,
            "expires_at": request.expires_at,
        }
        async with self._write() as conn:
            result = await conn.execute(insert(file_requests).values(values))
            request_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one row
            await conn.execute(
                insert(file_request_status).values(
                    station_id=request.station_id,
                    request_id=request_id,
                    kind=request.kind.value,
                    status="Requested",
                    at=request.created_at,
                )
            )
        return _request({**values, "id": request_id})

    async def set_status(self, request_id: int, status: str, now: datetime) -> None:
        async with self._write() as conn:
            found = (
                await conn.execute(
                    select(file_requests.c.station_id, file_requests.c.kind).where(
                        file_requests.c.id == request_id
                    )
                )
            ).first()
            if found is None:
                return
            await conn.execute(
                insert(file_request_status).values(
                    station_id=found.station_id,
                    request_id=request_id,
                    kind=found.kind,
                    status=status,
                    at=now,
                )
            )
            await conn.execute(
                update(file_requests)
                .where(file_requests.c.id == request_id, file_requests.c.status == "Requested")
                .values(status=status, updated_at=now)
            )

    async def _add_status(
        self,
        conn: AsyncConnection,
        *,
        station_id: str,
        kind: str,
        request_id: int | None,
        status: str,
        now: datetime,
    ) -> None:
        await conn.execute(
            insert(file_request_status).values(
                station_id=station_id, request_id=request_id, kind=kind, status=status, at=now
            )
        )
        if request_id is not None:
            await conn.execute(
                update(file_requests)
                .where(file_requests.c.id == request_id)
                .values(status=status, updated_at=now)
            )

    async def record_notification(
        self,
        station_id: str,
        kinds: Sequence[TransferKind],
        request_id: int | None,
        status: str,
        now: datetime,
        *,
        attach: bool = True,
    ) -> FileRequest | None:
        mine = and_(
            file_requests.c.station_id == station_id,
            file_requests.c.kind.in_([k.value for k in kinds]),
        )
        stmt = select(file_requests).where(mine)
        if request_id is not None:
            stmt = stmt.where(file_requests.c.id == request_id)
        else:
            stmt = stmt.order_by(file_requests.c.id.desc()).limit(1)
        async with self._write() as conn:
            row = (await conn.execute(stmt)).mappings().first() if attach else None
            found = _request(dict(row)) if row is not None else None
            await self._add_status(
                conn,
                station_id=station_id,
                kind=found.kind.value if found else kinds[0].value,
                request_id=found.id if found else None,
                status=status,
                now=now,
            )
        if found is None:
            return None
        return FileRequest(**{**_asdict(found), "status": status, "updated_at": now})

    async def request(self, request_id: int) -> FileRequest | None:
        found = await self._rows(select(file_requests).where(file_requests.c.id == request_id))
        return _request(found[0]) if found else None

    async def request_by_token(self, digest: str) -> FileRequest | None:
        found = await self._rows(
            select(file_requests).where(file_requests.c.token_digest == digest)
        )
        return _request(found[0]) if found else None

    async def requests(self, station_id: str, *, limit: int = 100) -> Sequence[FileRequest]:
        stmt = (
            select(file_requests)
            .where(file_requests.c.station_id == station_id)
            .order_by(file_requests.c.id.desc())
            .limit(limit)
        )
        return [_request(row) for row in await self._rows(stmt)]

    async def status_history(self, request_id: int) -> Sequence[StatusEvent]:
        stmt = (
            select(file_request_status)
            .where(file_request_status.c.request_id == request_id)
            .order_by(file_request_status.c.id)
        )
        return [
            StatusEvent(
                station_id=row["station_id"],
                kind=TransferKind(row["kind"]),
                status=row["status"],
                at=row["at"],
                request_id=row["request_id"],
            )
            for row in await self._rows(stmt)
        ]

    async def add_received_file(
        self, request_id: int, station_id: str, filename: str, blob: StoredBlob, now: datetime
    ) -> ReceivedFile:
        values = {
            "request_id": request_id,
            "station_id": station_id,
            "filename": filename,
            "size": blob.size,
            "sha256": blob.sha256,
            "blob_key": blob.key,
            "received_at": now,
        }
        async with self._write() as conn:
            result = await conn.execute(insert(received_files).values(values))
            file_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one row
        return _received({**values, "id": file_id})

    async def received_files(self, station_id: str, *, limit: int = 100) -> Sequence[ReceivedFile]:
        stmt = (
            select(received_files)
            .where(received_files.c.station_id == station_id)
            .order_by(received_files.c.id.desc())
            .limit(limit)
        )
        return [_received(row) for row in await self._rows(stmt)]

    async def received_file(self, file_id: int) -> ReceivedFile | None:
        found = await self._rows(select(received_files).where(received_files.c.id == file_id))
        return _received(found[0]) if found else None

    async def upload_usage(self, request_id: int, station_id: str) -> UploadUsage:
        mine = received_files.c.station_id == station_id
        size = func.coalesce(func.sum(received_files.c.size), 0)
        async with self._read() as conn:
            files = await conn.scalar(
                select(func.count())
                .select_from(received_files)
                .where(mine, received_files.c.request_id == request_id)
            )
            station = await conn.scalar(select(size).where(mine))
            total = await conn.scalar(select(size))
        return UploadUsage(
            request_files=int(files or 0),
            station_bytes=int(station or 0),
            total_bytes=int(total or 0),
        )

    async def delete_received_file(self, file_id: int) -> ReceivedFile | None:
        async with self._write() as conn:
            row = (
                (await conn.execute(select(received_files).where(received_files.c.id == file_id)))
                .mappings()
                .first()
            )
            if row is None:
                return None
            await conn.execute(delete(received_files).where(received_files.c.id == file_id))
        return _received(dict(row))


def _asdict(request: FileRequest) -> dict[str, Any]:
    return {name: getattr(request, name) for name in FileRequest.__slots__}


_HASH_COLUMNS: tuple[tuple[str, Callable[[CertificateHashData], str]], ...] = (
    ("hash_algorithm", lambda h: h.hash_algorithm),
    ("issuer_name_hash", lambda h: h.issuer_name_hash),
    ("issuer_key_hash", lambda h: h.issuer_key_hash),
    ("serial_number", lambda h: h.serial_number),
)


def _same_certificate(hash_data: CertificateHashData) -> list[Any]:
    return [installed_certificates.c[name] == get(hash_data) for name, get in _HASH_COLUMNS]


def _certificate_request(row: Mapping[str, Any]) -> CertificateRequest:
    return CertificateRequest(
        id=row["id"],
        station_id=row["station_id"],
        csr=row["csr"],
        certificate_type=row["certificate_type"],
        status=row["status"],
        created_at=row["created_at"],
        certificate_chain=row["certificate_chain"],
        error=row["error"],
    )


class SqlSecurityRepository(_Sql):
    """Implements :class:`csms.domain.security.SecurityRepository`."""

    async def record_event(self, event: SecurityEvent) -> None:
        async with self._write() as conn:
            await conn.execute(
                insert(security_events).values(
                    station_id=event.station_id,
                    type=event.type,
                    timestamp=event.timestamp,
                    tech_info=event.tech_info,
                    critical=event.critical,
                    received_at=event.received_at,
                )
            )

    async def events(
        self,
        *,
        station_id: str | None = None,
        critical_only: bool = False,
        limit: int = 100,
        event_type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: int | None = None,
    ) -> Sequence[SecurityEvent]:
        c = security_events.c
        stmt = select(security_events).order_by(c.id.desc()).limit(limit)
        if station_id is not None:
            stmt = stmt.where(c.station_id == station_id)
        if critical_only:
            stmt = stmt.where(c.critical.is_(True))
        if event_type is not None:
            stmt = stmt.where(c.type == event_type)
        if since is not None:
            stmt = stmt.where(c.timestamp >= since)
        if until is not None:
            stmt = stmt.where(c.timestamp < until)
        if before_id is not None:
            stmt = stmt.where(c.id < before_id)
        return [
            SecurityEvent(
                id=row["id"],
                station_id=row["station_id"],
                type=row["type"],
                timestamp=row["timestamp"],
                tech_info=row["tech_info"],
                critical=row["critical"],
                received_at=row["received_at"],
            )
            for row in await self._rows(stmt)
        ]

    async def add_certificate_request(
        self, station_id: str, csr: str, certificate_type: str | None, status: str, now: datetime
    ) -> int:
        async with self._write() as conn:
            result = await conn.execute(
                insert(certificate_requests).values(
                    station_id=station_id,
                    csr=csr,
                    certificate_type=certificate_type,
                    status=status,
                    created_at=now,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]  # one row

    async def finish_certificate_request(
        self, request_id: int, *, status: str, chain: str | None, error: str | None
    ) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(certificate_requests)
                .where(certificate_requests.c.id == request_id)
                .values(status=status, certificate_chain=chain, error=error)
            )

    async def certificate_requests(
        self, station_id: str, *, limit: int = 100
    ) -> Sequence[CertificateRequest]:
        stmt = (
            select(certificate_requests)
            .where(certificate_requests.c.station_id == station_id)
            .order_by(certificate_requests.c.id.desc())
            .limit(limit)
        )
        return [_certificate_request(row) for row in await self._rows(stmt)]

    async def replace_installed(
        self,
        station_id: str,
        certificate_types: Sequence[str],
        certificates: Sequence[InstalledCertificate],
    ) -> None:
        async with self._write() as conn:
            stmt = delete(installed_certificates).where(
                installed_certificates.c.station_id == station_id
            )
            if certificate_types:
                stmt = stmt.where(installed_certificates.c.certificate_type.in_(certificate_types))
            await conn.execute(stmt)
            # A station may report one certificate under two types: keep it once.
            unique = {c.hash_data: c for c in certificates}
            for cert in unique.values():
                await conn.execute(
                    delete(installed_certificates).where(
                        installed_certificates.c.station_id == station_id,
                        *(
                            installed_certificates.c[name] == get(cert.hash_data)
                            for name, get in _HASH_COLUMNS
                        ),
                    )
                )
            if unique:
                await conn.execute(
                    insert(installed_certificates),
                    [
                        {
                            "station_id": station_id,
                            "certificate_type": cert.certificate_type,
                            "reported_at": cert.reported_at,
                            **{name: get(cert.hash_data) for name, get in _HASH_COLUMNS},
                        }
                        for cert in unique.values()
                    ],
                )

    async def remove_installed(self, station_id: str, hash_data: CertificateHashData) -> None:
        async with self._write() as conn:
            await conn.execute(
                delete(installed_certificates).where(
                    installed_certificates.c.station_id == station_id,
                    *(
                        installed_certificates.c[name] == get(hash_data)
                        for name, get in _HASH_COLUMNS
                    ),
                )
            )

    async def installed(self, station_id: str) -> Sequence[InstalledCertificate]:
        stmt = (
            select(installed_certificates)
            .where(installed_certificates.c.station_id == station_id)
            .order_by(installed_certificates.c.certificate_type)
        )
        return [
            InstalledCertificate(
                station_id=row["station_id"],
                certificate_type=row["certificate_type"],
                hash_data=CertificateHashData(**{name: row[name] for name, _ in _HASH_COLUMNS}),
                reported_at=row["reported_at"],
            )
            for row in await self._rows(stmt)
        ]
