"""The built-in file service: per-request URLs for firmware downloads and log/diagnostics uploads.

Shared by the firmware and diagnostics blocks and the HTTP routes that serve ``/files``. Rules
(see :mod:`csms.domain.files`):

* A URL is ``<public_url>/files/<token>[/<name>]``; the token names exactly one request of one
  station, in one direction: a firmware token only downloads that request's image, an upload token
  only accepts uploads (nothing is ever served back on it). Operators read uploads through the
  authenticated API only.
* A token is valid until ``url_ttl`` seconds after the request's retrieve date (or its creation),
  and upload tokens until the station reports the request rejected.
* Uploads are limited to ``max_upload_size`` bytes (firmware images to ``max_firmware_size``); a
  bigger one is discarded while it streams, and at most :data:`MAX_FILES_PER_REQUEST` files are
  kept per request.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from csms.domain.errors import FileTooLarge, UnknownFile
from csms.domain.files import (
    BlobStore,
    BlobWriter,
    FileRepository,
    FileRequest,
    FirmwareImage,
    NewFileRequest,
    ReceivedFile,
    StoredBlob,
    TransferKind,
    TransferPhase,
    new_token,
    safe_filename,
    token_digest,
)

__all__ = ["MAX_FILES_PER_REQUEST", "Download", "FileService", "NewTransfer"]

MAX_FILES_PER_REQUEST = 5


@dataclass(frozen=True, slots=True)
class NewTransfer:
    """A stored request and the URL to put in the command (never logged: it is a credential)."""

    request: FileRequest
    url: str


@dataclass(frozen=True, slots=True)
class Download:
    """What the HTTP layer needs to serve a firmware image."""

    path: str
    filename: str
    size: int
    sha256: str


class FileService:
    """Creates per-request URLs and moves bytes between HTTP and the blob store."""

    def __init__(
        self,
        files: FileRepository,
        blobs: BlobStore,
        *,
        public_url: str | Callable[[], str],
        url_ttl: float,
        max_firmware_size: int,
        max_upload_size: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.files = files
        self._blobs = blobs
        # A callable: the default URL is only known once the API has bound its port.
        self._public_url = public_url if callable(public_url) else (lambda: public_url)
        self._ttl = timedelta(seconds=url_ttl)
        self._max_firmware = max_firmware_size
        self._max_upload = max_upload_size
        self._clock = clock

    @property
    def max_upload_size(self) -> int:
        """The station upload limit in bytes."""
        return self._max_upload

    @property
    def max_firmware_size(self) -> int:
        """The firmware image limit in bytes."""
        return self._max_firmware

    async def set_status(self, request_id: int, status: str) -> None:
        """Record the station's answer to a request (or that it could not be delivered)."""
        await self.files.set_status(request_id, status, self._clock())

    def blob_path(self, key: str) -> str:
        """The filesystem path of a stored blob (for the API to serve to operators)."""
        return self._blobs.path(key)

    # ------------------------------------------------------------------ operators' images

    async def store_firmware(
        self, filename: str | Callable[[], str], chunks: AsyncIterable[bytes]
    ) -> FirmwareImage:
        """Store an operator's firmware image and record its size and SHA-256.

        ``filename`` may be a callable, asked once the body is read.

        Raises:
            FileTooLarge: it exceeds ``max_firmware_size``.
        """
        blob = await self._receive(self._blobs.writer("firmware"), chunks, self._max_firmware)
        image = FirmwareImage(
            id=secrets.token_hex(8),
            filename=safe_filename(
                filename() if callable(filename) else filename, default="firmware.bin"
            ),
            size=blob.size,
            sha256=blob.sha256,
            blob_key=blob.key,
            created_at=self._clock(),
        )
        await self.files.add_firmware(image)
        return image

    # ------------------------------------------------------------------ per-request URLs

    async def new_transfer(
        self,
        station_id: str,
        kind: TransferKind,
        action: str,
        *,
        firmware_id: str | None = None,
        log_type: str | None = None,
        not_before: datetime | None = None,
        details: dict[str, object] | None = None,
    ) -> NewTransfer:
        """Store a request and return it with its URL.

        Raises:
            UnknownFile: ``firmware_id`` names no image.
        """
        filename = ""
        if kind is TransferKind.FIRMWARE:
            if firmware_id is None:
                raise UnknownFile("a firmware request needs a firmware image")
            image = await self.files.firmware(firmware_id)
            if image is None:
                raise UnknownFile(f"no firmware image {firmware_id!r}")
            filename = image.filename
        now = self._clock()
        token = new_token()
        start = max(now, not_before) if not_before is not None else now
        request = await self.files.create_request(
            NewFileRequest(
                station_id=station_id,
                kind=kind,
                action=action,
                token_digest=token_digest(token),
                created_at=now,
                expires_at=start + self._ttl,
                firmware_id=firmware_id,
                log_type=log_type,
                details=details or {},
            )
        )
        url = f"{self._public_url().rstrip('/')}/files/{token}"
        return NewTransfer(request=request, url=f"{url}/{filename}" if filename else url)

    async def _valid_request(self, token: str, *, upload: bool) -> FileRequest:
        request = await self.files.request_by_token(token_digest(token))
        if (
            request is None
            or request.kind.upload != upload
            or request.expires_at <= self._clock()
            or request.phase is TransferPhase.REJECTED
        ):
            raise UnknownFile("no such file")
        return request

    async def download(self, token: str) -> Download:
        """Resolve a firmware URL token to the image it serves.

        Raises:
            UnknownFile: unknown, expired or not a download token.
        """
        request = await self._valid_request(token, upload=False)
        image = await self.files.firmware(request.firmware_id or "")
        if image is None:
            raise UnknownFile("no such file")
        return Download(
            path=self._blobs.path(image.blob_key),
            filename=image.filename,
            size=image.size,
            sha256=image.sha256,
        )

    async def check_upload(self, token: str) -> FileRequest:
        """Resolve an upload URL token before reading the body (fail fast, read nothing).

        Raises:
            UnknownFile: unknown, expired or not an upload token, or the request has all its files.
        """
        request = await self._valid_request(token, upload=True)
        received = await self.files.received_files(request.station_id, limit=1000)
        if sum(1 for f in received if f.request_id == request.id) >= MAX_FILES_PER_REQUEST:
            raise UnknownFile("this request has received all its files")
        return request

    async def receive_upload(
        self,
        request: FileRequest,
        filename: str | Callable[[], str],
        chunks: AsyncIterable[bytes],
    ) -> ReceivedFile:
        """Store a station's upload for ``request`` (from :meth:`check_upload`).

        ``filename`` may be a callable, asked once the body is read (a multipart form names its
        file inside the body).

        Raises:
            FileTooLarge: it exceeds ``max_upload_size``; nothing is kept.
        """
        blob = await self._receive(self._blobs.writer("uploads"), chunks, self._max_upload)
        default = safe_filename(f"{request.station_id}-{request.kind.value}-{request.id}")
        name = filename() if callable(filename) else filename
        return await self.files.add_received_file(
            request.id,
            request.station_id,
            safe_filename(name, default=default),
            blob,
            self._clock(),
        )

    async def _receive(
        self, writer: BlobWriter, chunks: AsyncIterable[bytes], limit: int
    ) -> StoredBlob:
        try:
            async for chunk in chunks:
                if writer.size + len(chunk) > limit:
                    raise FileTooLarge(f"the file exceeds the limit of {limit} bytes")
                await writer.write(chunk)
            return await writer.finish()
        except BaseException:
            await writer.abort()
            raise
