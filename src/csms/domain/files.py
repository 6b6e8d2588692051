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

__all__ = [
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


# Statuses of 1.6 FirmwareStatus/DiagnosticsStatus (§7.25, §7.24), 1.6 security FirmwareStatusEnumType
# and UploadLogStatusEnumType (whitepaper §6), and 2.x FirmwareStatusEnumType/UploadLogStatusEnumType.
_SUCCEEDED = frozenset({"Installed", "Uploaded"})
_FAILED = frozenset(
    {
        "DownloadFailed",
        "InstallationFailed",
        "InstallVerificationFailed",
        "InvalidSignature",
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
