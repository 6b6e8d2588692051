"""File transfers between csms and stations: firmware images out, diagnostics and logs in.

OCPP leaves the transport to the CSMS: 1.6 UpdateFirmware/GetDiagnostics carry a URI (1.6 §5.7,
§5.16), the security extension GetLog/SignedUpdateFirmware a URL (1.6 security whitepaper ed. 2 §5.7,
§5.18), 2.x the same (L01, N01). csms hosts the files itself, at one URL per request whose path holds
an unguessable token: the token is the station's only credential over HTTP (stations send no OCPP
credentials to a file server), so it is 256 random bits, stored only as its SHA-256, valid for one
request, one direction and a limited time.

Version-neutral model: a :class:`FileRequest` is one UpdateFirmware / SignedUpdateFirmware /
GetDiagnostics / GetLog sent to a station; every status the station reports for it is kept
(history) and the latest is on the request. Status strings are stored as the station sent them;
:func:`phase_of` maps every version's statuses onto one :class:`TransferPhase`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from csms.domain.errors import DomainError

__all__ = [
    "CANCELED",
    "BlobStore",
    "BlobWriter",
    "FileRepository",
    "FileRequest",
    "FirmwareImage",
    "NewFileRequest",
    "ReceivedFile",
    "StatusEvent",
    "StoredBlob",
    "TransferKind",
    "TransferPhase",
    "UploadLedger",
    "UploadLimits",
    "UploadQuotaExceeded",
    "UploadReservation",
    "UploadSlotsTaken",
    "UploadUsage",
    "new_token",
    "phase_of",
    "safe_filename",
    "token_digest",
]


class TransferKind(StrEnum):
    """What a file request moves."""

    FIRMWARE = "firmware"  # CSMS → station: UpdateFirmware, SignedUpdateFirmware
    DIAGNOSTICS = "diagnostics"  # station → CSMS: 1.6 GetDiagnostics
    LOG = "log"  # station → CSMS: GetLog (1.6 security extension, 2.x)

    @property
    def upload(self) -> bool:
        """True if the station uploads (so the URL accepts PUT/POST, never GET)."""
        return self is not TransferKind.FIRMWARE


class TransferPhase(StrEnum):
    """Where a request stands, whatever the version spelled its status."""

    REQUESTED = "requested"  # sent, or accepted by the station, nothing reported yet
    REJECTED = "rejected"  # the station refused the request
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    IDLE = "idle"  # a triggered notification while nothing runs
    CANCELED = "canceled"  # superseded: the station canceled it for a newer request


# Statuses of 1.6 FirmwareStatus/DiagnosticsStatus (§7.25, §7.24), 1.6 security FirmwareStatusEnumType
# and UploadLogStatusEnumType (whitepaper §6), and 2.x FirmwareStatusEnumType/UploadLogStatusEnumType.
_SUCCEEDED = frozenset({"Installed", "Uploaded", "Published"})  # Published: L03
_FAILED = frozenset(
    {
        "DownloadFailed",
        "InstallationFailed",
        "InstallVerificationFailed",
        "InvalidSignature",
        "InvalidChecksum",  # PublishFirmwareStatusEnumType (L03)
        "PublishFailed",
        "UploadFailed",
        "UploadFailure",
        "BadMessage",
        "NotSupportedOperation",
        "PermissionDenied",
        "CommandFailed",  # csms could not deliver the request (no answer, CALLERROR, disconnect)
    }
)
# Answers to the request itself (SignedUpdateFirmware/GetLog/2.x UpdateFirmware .conf).
_REJECTED = frozenset({"Rejected", "InvalidCertificate", "RevokedCertificate"})
_REQUESTED = frozenset({"Requested", "Accepted", "AcceptedCanceled"})
# csms's own status of a request the station canceled when it accepted a newer one with
# AcceptedCanceled (2.0.1 L01.FR.24 UpdateFirmware, N01 GetLog; whitepaper §5.7, §5.18).
CANCELED = "Canceled"


def phase_of(status: str) -> TransferPhase:
    """Map a status of any version (request answer or notification) to its phase."""
    if status in _SUCCEEDED:
        return TransferPhase.SUCCEEDED
    if status in _FAILED:
        return TransferPhase.FAILED
    if status in _REJECTED:
        return TransferPhase.REJECTED
    if status in _REQUESTED:
        return TransferPhase.REQUESTED
    if status == "Idle":
        return TransferPhase.IDLE
    if status == CANCELED:
        return TransferPhase.CANCELED
    return TransferPhase.IN_PROGRESS  # Downloading, Installing, Uploading, ...Scheduled, ...


def new_token() -> str:
    """A fresh URL token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is stored and looked up instead of the token (a database leak reveals no URL)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str, *, default: str = "file") -> str:
    """A name safe to put in a URL path and a Content-Disposition header (no directories)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")[:100]
    return cleaned or default


@dataclass(frozen=True, slots=True)
class FirmwareImage:
    """An image an operator uploaded; ``blob_key`` names its bytes in the :class:`BlobStore`."""

    id: str
    filename: str
    size: int
    sha256: str
    blob_key: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FileRequest:
    """One file-moving command sent to a station, and its latest status.

    ``id`` doubles as the OCPP ``requestId`` where the message has one (GetLog, SignedUpdateFirmware,
    2.x UpdateFirmware), so notifications that carry it find their request exactly.
    """

    id: int
    station_id: str
    kind: TransferKind
    status: str
    created_at: datetime
    expires_at: datetime
    updated_at: datetime
    firmware_id: str | None = None
    log_type: str | None = None
    action: str = ""  # the OCPP action sent (UpdateFirmware, GetLog, ...)

    @property
    def phase(self) -> TransferPhase:
        """The phase of the latest status."""
        return phase_of(self.status)


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A status reported for a request (or, with ``request_id`` None, for none we know of)."""

    station_id: str
    kind: TransferKind
    status: str
    at: datetime
    request_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A file a station uploaded for one of its requests."""

    id: int
    request_id: int
    station_id: str
    filename: str
    size: int
    sha256: str
    blob_key: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """Bytes written to the blob store: where, how many, and their SHA-256."""

    key: str
    size: int
    sha256: str


class BlobWriter(Protocol):
    """An upload in progress; :meth:`finish` or :meth:`abort` it exactly once."""

    @property
    def size(self) -> int:
        """Bytes written so far."""
        ...

    async def write(self, chunk: bytes) -> None:
        """Append ``chunk``."""
        ...

    async def finish(self) -> StoredBlob:
        """Make the bytes durable and return where they are."""
        ...

    async def abort(self) -> None:
        """Throw the bytes away."""
        ...


class BlobStore(Protocol):
    """Where file contents live (a directory on disk by default)."""

    def writer(self, area: str) -> BlobWriter:
        """Start writing a new blob in ``area`` (``firmware`` or ``uploads``)."""
        ...

    def path(self, key: str) -> str:
        """The filesystem path of the blob ``key`` (for serving it)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove a blob (missing is fine)."""
        ...


@dataclass(frozen=True, slots=True)
class NewFileRequest:
    """What :meth:`FileRepository.create_request` stores."""

    station_id: str
    kind: TransferKind
    action: str
    token_digest: str
    created_at: datetime
    expires_at: datetime
    firmware_id: str | None = None
    log_type: str | None = None
    details: dict[str, object] = field(default_factory=dict)


class FileRepository(Protocol):
    """Firmware images, file requests with their status history, and received files."""

    async def add_firmware(self, image: FirmwareImage) -> None:
        """Store an uploaded image's metadata (committed on return)."""
        ...

    async def firmware(self, firmware_id: str) -> FirmwareImage | None:
        """Return the image, or None."""
        ...

    async def list_firmware(self, *, limit: int = 100) -> Sequence[FirmwareImage]:
        """Return images, newest first."""
        ...

    async def create_request(self, request: NewFileRequest) -> FileRequest:
        """Store a request in status ``Requested`` and return it with its id."""
        ...

    async def set_status(self, request_id: int, status: str, now: datetime) -> None:
        """Record the station's answer to the request (or that it could not be delivered).

        It joins the history; it becomes the current status only while that is still
        ``Requested``, since the station's first notification may arrive before csms has stored
        its answer.
        """
        ...

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
        """Record a status notification and return the request it belongs to, if any.

        With ``request_id`` the station's own request of that id; without (1.6 Firmware/
        DiagnosticsStatusNotification carry none) the station's newest request of ``kinds``.
        ``attach=False`` records it for no request (an Idle status describes none).
        """
        ...

    async def request(self, request_id: int) -> FileRequest | None:
        """Return the request, or None."""
        ...

    async def request_by_token(self, digest: str) -> FileRequest | None:
        """Return the request whose URL token has this digest, or None."""
        ...

    async def requests(self, station_id: str, *, limit: int = 100) -> Sequence[FileRequest]:
        """Return the station's requests, newest first."""
        ...

    async def status_history(self, request_id: int) -> Sequence[StatusEvent]:
        """Return every status recorded for the request, oldest first."""
        ...

    async def add_received_file(
        self, request_id: int, station_id: str, filename: str, blob: StoredBlob, now: datetime
    ) -> ReceivedFile:
        """Store a received upload's metadata and return it with its id."""
        ...

    async def received_files(self, station_id: str, *, limit: int = 100) -> Sequence[ReceivedFile]:
        """Return the station's uploads, newest first."""
        ...

    async def received_file(self, file_id: int) -> ReceivedFile | None:
        """Return the upload, or None."""
        ...

    async def upload_usage(self, request_id: int, station_id: str) -> UploadUsage:
        """Return what stored uploads already take: the request's files, the station's and all
        stations' bytes."""
        ...

    async def delete_received_file(self, file_id: int) -> ReceivedFile | None:
        """Remove an upload's row and return it (its blob is the caller's), or None."""
        ...


# ---------------------------------------------------------------------- upload limits


class UploadSlotsTaken(DomainError):
    """The request already has its files stored or being received."""


class UploadQuotaExceeded(DomainError):
    """The upload would exceed the total upload quota or the station's share of it."""


@dataclass(frozen=True, slots=True)
class UploadLimits:
    """How much stations may upload: per file, per request, per station and in total (bytes)."""

    max_size: int
    files_per_request: int
    quota: int
    station_quota: int


@dataclass(frozen=True, slots=True)
class UploadUsage:
    """What stored uploads take (from the repository), before in-flight uploads are added."""

    request_files: int
    station_bytes: int
    total_bytes: int


@dataclass(frozen=True, slots=True)
class UploadReservation:
    """A slot and a byte budget held by one upload while it streams."""

    request_id: int
    station_id: str
    size: int  # bytes reserved: the most the upload may write


class UploadLedger:
    """Uploads in flight, so the limits count them before their bytes are stored (sans-I/O).

    The caller serialises :meth:`reserve` (with the stored usage read under the same lock), so two
    concurrent uploads can never both take the last slot or the last bytes, and calls
    :meth:`release` once the upload is stored (its row then counts) or failed. In-flight uploads
    die with the process, so the ledger is in memory only: nothing stale survives a restart.
    """

    def __init__(self) -> None:
        self._open: dict[int, UploadReservation] = {}
        self._next = 0

    def reserve(
        self,
        stored: UploadUsage,
        limits: UploadLimits,
        request_id: int,
        station_id: str,
        declared: int | None,
    ) -> tuple[int, UploadReservation]:
        """Take a slot of ``request_id`` and bytes for the upload; return a handle and the hold.

        ``declared`` is the body's Content-Length (None when chunked): that much is reserved, or
        else the maximum file size, cut down to what the quotas have left.

        Raises:
            UploadSlotsTaken: the request has ``files_per_request`` files stored or in flight.
            UploadQuotaExceeded: the quotas have less room than ``declared`` (or none at all).
        """
        holds = self._open.values()
        files = stored.request_files + sum(1 for r in holds if r.request_id == request_id)
        if files >= limits.files_per_request:
            raise UploadSlotsTaken(
                f"this request has {limits.files_per_request} files stored or being received "
                f"(at most {limits.files_per_request} per request)"
            )
        station = stored.station_bytes + sum(r.size for r in holds if r.station_id == station_id)
        total = stored.total_bytes + sum(r.size for r in holds)
        station_room = limits.station_quota - station
        total_room = limits.quota - total
        wanted = limits.max_size if declared is None else declared
        room = min(station_room, total_room)
        if room <= 0 or (declared is not None and declared > room):
            which = (
                f"the station's upload share of {limits.station_quota} bytes"
                if station_room <= total_room
                else f"the total upload quota of {limits.quota} bytes"
            )
            raise UploadQuotaExceeded(f"no room for this upload in {which}")
        hold = UploadReservation(request_id, station_id, min(wanted, room))
        self._next += 1
        self._open[self._next] = hold
        return self._next, hold

    def release(self, handle: int) -> None:
        """Give back a reservation (the upload is stored, failed or aborted); twice is harmless."""
        self._open.pop(handle, None)

    @property
    def in_flight(self) -> int:
        """Uploads holding a reservation."""
        return len(self._open)
