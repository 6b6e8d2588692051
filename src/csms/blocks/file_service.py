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
  bigger one is discarded while it streams.
* Before an upload's body is read, :meth:`FileService.reserve_upload` takes one of the request's
  :data:`MAX_FILES_PER_REQUEST` slots and its bytes (the declared Content-Length, or the maximum
  size) from the total upload quota and the station's share of it, counting uploads still in
  flight, under one lock: concurrent uploads cannot overrun a limit. The reservation settles to the
  stored size, or is released with nothing kept when the upload fails or is aborted.
* The file URLs are https whenever the service is told so (``require_https``): under security
  profile 2 a plain http URL is refused rather than sent to a station.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from csms.domain.errors import CommandNotAllowed, FileTooLarge, UnknownFile
from csms.domain.files import (
    CANCELED,
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
    UploadLedger,
    UploadLimits,
    UploadQuotaExceeded,
    UploadReservation,
    UploadSlotsTaken,
    new_token,
    safe_filename,
    token_digest,
)

__all__ = [
    "DEFAULT_STATION_UPLOAD_QUOTA",
    "DEFAULT_UPLOAD_QUOTA",
    "MAX_FILES_PER_REQUEST",
    "Download",
    "FileService",
    "InsecureFileUrl",
    "NewTransfer",
    "UploadSlot",
]

MAX_FILES_PER_REQUEST = 5
# How many of a station's newest requests AcceptedCanceled looks through for the one it canceled
# (a station runs one transfer of a kind at a time; older open ones are stale anyway).
_SUPERSEDE_WINDOW = 20
DEFAULT_UPLOAD_QUOTA = 10 * 1024**3
DEFAULT_STATION_UPLOAD_QUOTA = 1024**3


class InsecureFileUrl(CommandNotAllowed):
    """The file URL would be plain http where stations are on TLS (security profile 2)."""


@dataclass(frozen=True, slots=True)
class UploadSlot:
    """A reserved upload: the request it is for and the most bytes it may write."""

    request: FileRequest
    handle: int
    reservation: UploadReservation

    @property
    def limit(self) -> int:
        """Bytes the upload may write before it is cut."""
        return self.reservation.size


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


def _md5_of(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)  # the schema's checksum, not a security check
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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
        upload_quota: int = DEFAULT_UPLOAD_QUOTA,
        station_upload_quota: int = DEFAULT_STATION_UPLOAD_QUOTA,
        require_https: bool = False,
    ) -> None:
        self.files = files
        self._blobs = blobs
        # A callable: the default URL is only known once the API has bound its port.
        self._public_url = public_url if callable(public_url) else (lambda: public_url)
        self._ttl = timedelta(seconds=url_ttl)
        self._max_firmware = max_firmware_size
        self._max_upload = max_upload_size
        self._clock = clock
        self._limits = UploadLimits(
            max_size=max_upload_size,
            files_per_request=MAX_FILES_PER_REQUEST,
            quota=upload_quota,
            station_quota=station_upload_quota,
        )
        self._require_https = require_https
        self._ledger = UploadLedger()
        self._reserving = asyncio.Lock()
        self._refused = 0

    @property
    def max_upload_size(self) -> int:
        """The station upload limit in bytes."""
        return self._max_upload

    @property
    def upload_limits(self) -> UploadLimits:
        """Per file, per request, per station and total upload limits."""
        return self._limits

    @property
    def uploads_in_flight(self) -> int:
        """Uploads currently holding a reservation."""
        return self._ledger.in_flight

    @property
    def uploads_refused(self) -> int:
        """Uploads refused a reservation (slots taken, quota, declared size) since start."""
        return self._refused

    def public_url(self) -> str:
        """The base URL put in the commands (``<public_url>/files/<token>``)."""
        return self._public_url().rstrip("/")

    @property
    def max_firmware_size(self) -> int:
        """The firmware image limit in bytes."""
        return self._max_firmware

    async def set_status(self, request_id: int, status: str) -> None:
        """Record the station's answer to a request (or that it could not be delivered)."""
        await self.files.set_status(request_id, status, self._clock())

    async def image_md5(self, firmware_id: str) -> str:
        """The MD5 of a stored image, in hex: how PublishFirmware/UnpublishFirmware name it
        (2.0.1 L03/L04 ``checksum``). Read in a worker thread; images are at most
        ``max_firmware_size`` bytes.

        Raises:
            UnknownFile: no such image.
        """
        image = await self.files.firmware(firmware_id)
        if image is None:
            raise UnknownFile(f"no firmware image {firmware_id!r}")
        return await asyncio.to_thread(_md5_of, self._blobs.path(image.blob_key))

    async def cancel_superseded(
        self, request: FileRequest, kinds: tuple[TransferKind, ...]
    ) -> list[int]:
        """The station answered ``request`` AcceptedCanceled: it canceled the transfer it was
        running for an earlier request (2.0.1 L01.FR.24, N01; whitepaper §5.7, §5.18). Mark the
        station's earlier open requests of ``kinds`` Canceled (their URLs stop working) and
        return their ids."""
        open_phases = (TransferPhase.REQUESTED, TransferPhase.IN_PROGRESS)
        earlier = [
            r.id
            for r in await self.files.requests(request.station_id, limit=_SUPERSEDE_WINDOW)
            if r.id < request.id and r.kind in kinds and r.phase in open_phases
        ]
        for request_id in earlier:  # recorded as the station's own news: it is the latest status
            await self.files.record_notification(
                request.station_id, kinds, request_id, CANCELED, self._clock()
            )
        return earlier

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
            InsecureFileUrl: the URL would be plain http while ``require_https`` is set.
        """
        base = self.public_url()
        if self._require_https and not base.startswith("https://"):
            raise InsecureFileUrl(
                f"file URLs would be plain http ({base}) while stations use TLS (security "
                "profile 2): set CSMS_API_TLS_CERT and CSMS_API_TLS_KEY, or CSMS_FILES_PUBLIC_URL "
                "to an https:// address"
            )
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
        url = f"{base}/files/{token}"
        return NewTransfer(request=request, url=f"{url}/{filename}" if filename else url)

    async def _valid_request(self, token: str, *, upload: bool) -> FileRequest:
        request = await self.files.request_by_token(token_digest(token))
        if (
            request is None
            or request.kind.upload != upload
            or request.expires_at <= self._clock()
            or request.phase in (TransferPhase.REJECTED, TransferPhase.CANCELED)
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
            UnknownFile: unknown, expired or not an upload token.
        """
        return await self._valid_request(token, upload=True)

    async def reserve_upload(self, request: FileRequest, declared: int | None) -> UploadSlot:
        """Reserve a file slot and bytes for an upload to ``request`` (from :meth:`check_upload`).

        ``declared`` is the body's Content-Length (None when chunked). The slot belongs to the
        token's own request and station only. Pass the slot straight to :meth:`receive_upload`,
        which releases it whatever happens.

        Raises:
            FileTooLarge: ``declared`` exceeds ``max_upload_size``.
            UploadSlotsTaken: the request has its files stored or in flight.
            UploadQuotaExceeded: no room left in the total quota or the station's share.
        """
        try:
            if declared is not None and declared > self._max_upload:
                raise FileTooLarge(f"the file exceeds the limit of {self._max_upload} bytes")
            async with self._reserving:  # the stored usage and the ledger move together
                stored = await self.files.upload_usage(request.id, request.station_id)
                handle, hold = self._ledger.reserve(
                    stored, self._limits, request.id, request.station_id, declared
                )
        except (FileTooLarge, UploadSlotsTaken, UploadQuotaExceeded):
            self._refused += 1
            raise
        return UploadSlot(request=request, handle=handle, reservation=hold)

    async def receive_upload(
        self,
        slot: UploadSlot,
        filename: str | Callable[[], str],
        chunks: AsyncIterable[bytes],
    ) -> ReceivedFile:
        """Store a station's upload into its reserved ``slot`` (from :meth:`reserve_upload`).

        ``filename`` may be a callable, asked once the body is read (a multipart form names its
        file inside the body). The slot is released when this returns or raises: the stored row
        counts from then on, or nothing was kept.

        Raises:
            FileTooLarge: it exceeds ``max_upload_size``; nothing is kept.
            UploadQuotaExceeded: it exceeds the bytes the quotas had left; nothing is kept.
        """
        request = slot.request
        try:
            try:
                blob = await self._receive(self._blobs.writer("uploads"), chunks, slot.limit)
            except FileTooLarge:
                if slot.limit < self._max_upload:
                    raise UploadQuotaExceeded(
                        f"the upload outgrew the {slot.limit} bytes left in the upload quota"
                    ) from None
                raise
            default = safe_filename(f"{request.station_id}-{request.kind.value}-{request.id}")
            name = filename() if callable(filename) else filename
            try:
                return await self.files.add_received_file(
                    request.id,
                    request.station_id,
                    safe_filename(name, default=default),
                    blob,
                    self._clock(),
                )
            except BaseException:
                await self._blobs.delete(blob.key)  # no row points to it: keep nothing
                raise
        finally:
            self._ledger.release(slot.handle)

    async def delete_upload(self, file_id: int) -> ReceivedFile:
        """Delete a received file and its bytes (frees its share of the quota).

        Raises:
            UnknownFile: no such upload.
        """
        found = await self.files.delete_received_file(file_id)
        if found is None:
            raise UnknownFile(f"no uploaded file {file_id}")
        await self._blobs.delete(found.blob_key)
        return found

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
