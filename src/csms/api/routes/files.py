"""The built-in file service and the firmware/diagnostics commands.

Two audiences:

* **Stations**, under ``/files/{token}[/{name}]`` with no bearer token: the token in the path is the
  credential (see :mod:`csms.blocks.file_service`). GET/HEAD download a firmware image (with Range
  support), PUT or POST (raw body or a multipart form) upload diagnostics or a log. An unknown,
  expired or wrong-direction token is 404, whatever the reason, so tokens cannot be probed. An
  upload first reserves its slot and bytes (see :mod:`csms.blocks.file_service`): a request with
  its files stored or in flight is 409, a full quota 507, a body over the size limit 413 (cut
  while it streams, never buffered); each refusal is logged at a bounded rate.
* **Operators**, under ``/api/v1``: upload firmware images, send UpdateFirmware/PublishFirmware/
  UnpublishFirmware/GetDiagnostics/GetLog, follow each request's status history, and download what
  stations uploaded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from csms.api.deps import Context
from csms.api.errors import ApiProblem, ProblemKind
from csms.api.multipart import MultipartError, boundary_of, first_file
from csms.api.routes.stations import StationIdPath, require_station
from csms.api.schemas import DB_INT_MAX, Problem
from csms.blocks.diagnostics.commands import UploadRequest, get_diagnostics, get_log
from csms.blocks.file_service import FileService, UploadSlot
from csms.blocks.firmware.commands import update_firmware
from csms.blocks.firmware.publish_image import publish_firmware, unpublish_firmware
from csms.domain.errors import FileTooLarge, UnknownFile
from csms.domain.files import (
    FileRequest,
    FirmwareImage,
    ReceivedFile,
    UploadQuotaExceeded,
    UploadSlotsTaken,
)
from csms.domain.ports import StationGateway, StationRepository
from csms.domain.security import SecurityRepository
from csms.log import LogLimiter

StorageIdPath = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="Storage id")]

__all__ = ["FilesApi", "attach_files", "file_service_router", "files_context", "files_router"]

logger = logging.getLogger(__name__)

_STATE_KEY = "csms_files_api"

NOT_FOUND = ProblemKind(404, "not-found", "Not found")
TOO_LARGE = ProblemKind(413, "file-too-large", "File too large")
BAD_UPLOAD = ProblemKind(400, "bad-upload", "Malformed upload")
SLOTS_TAKEN = ProblemKind(409, "upload-slots-taken", "Upload limit of the request reached")
QUOTA_EXCEEDED = ProblemKind(507, "upload-quota-exceeded", "Upload quota exceeded")


def upload_refusals() -> LogLimiter:
    """Refused uploads: one line per station and reason per 10 s, then a count (a flood of PUTs
    must not flood the log)."""
    return LogLimiter(interval=10.0, burst=1)


def _refused(files: FilesApi, station_id: str, reason: str, detail: str) -> None:
    files.refusals.log(
        logger, logging.WARNING, station_id, reason, "[%s] upload refused (%s): %s",
        station_id, reason, detail,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class FilesApi:
    """What the file and security routes work with (attached to the app by ``create_app``)."""

    service: FileService
    security: SecurityRepository
    stations: StationRepository
    gateway: StationGateway
    refusals: LogLimiter = field(default_factory=upload_refusals)


def attach_files(app: FastAPI, files: FilesApi) -> None:
    """Store ``files`` on the app, where :func:`files_context` finds it."""
    setattr(app.state, _STATE_KEY, files)


def files_context(request: Request) -> FilesApi:
    """The :class:`FilesApi` of the app serving ``request``."""
    files = getattr(request.app.state, _STATE_KEY, None)
    if not isinstance(files, FilesApi):
        raise RuntimeError("the app was built without the file service")
    return files


# ---------------------------------------------------------------------- DTOs


class FirmwareOut(BaseModel):
    """A stored firmware image."""

    id: str
    filename: str
    size: int
    sha256: str
    created_at: datetime

    @classmethod
    def of(cls, image: FirmwareImage) -> FirmwareOut:
        return cls(
            id=image.id,
            filename=image.filename,
            size=image.size,
            sha256=image.sha256,
            created_at=image.created_at,
        )


class FileRequestOut(BaseModel):
    """A firmware/diagnostics/log request and its latest status."""

    id: int = Field(description="Also the OCPP requestId where the message has one")
    station_id: str
    kind: str
    action: str
    status: str
    phase: str
    firmware_id: str | None
    log_type: str | None
    created_at: datetime
    updated_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, request: FileRequest) -> FileRequestOut:
        return cls(
            id=request.id,
            station_id=request.station_id,
            kind=request.kind.value,
            action=request.action,
            status=request.status,
            phase=request.phase.value,
            firmware_id=request.firmware_id,
            log_type=request.log_type,
            created_at=request.created_at,
            updated_at=request.updated_at,
            expires_at=request.expires_at,
        )


class StatusOut(BaseModel):
    """One reported status."""

    status: str
    at: datetime


class FileRequestDetail(FileRequestOut):
    """A request with every status it went through."""

    history: list[StatusOut]


class ReceivedFileOut(BaseModel):
    """A file a station uploaded."""

    id: int
    request_id: int
    station_id: str
    filename: str
    size: int
    sha256: str
    received_at: datetime

    @classmethod
    def of(cls, received: ReceivedFile) -> ReceivedFileOut:
        return cls(
            id=received.id,
            request_id=received.request_id,
            station_id=received.station_id,
            filename=received.filename,
            size=received.size,
            sha256=received.sha256,
            received_at=received.received_at,
        )


class CommandOut(BaseModel):
    """The station's answer to a file command, and the stored request."""

    status: str
    filename: str | None = None
    request: FileRequestOut


class UpdateFirmwareIn(BaseModel):
    """UpdateFirmware (1.6, 2.x) or, with certificate and signature, 1.6 SignedUpdateFirmware."""

    firmware_id: str
    retrieve_date: datetime
    install_date: datetime | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)
    signing_certificate: str | None = Field(default=None, max_length=5500)
    signature: str | None = Field(default=None, max_length=800)


class PublishFirmwareIn(BaseModel):
    """2.x PublishFirmware to a local controller (L03): a URL of the image and its MD5."""

    firmware_id: str
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


class UnpublishFirmwareIn(BaseModel):
    """2.x UnpublishFirmware (L04): the image, named to the local controller by its MD5."""

    firmware_id: str


class UnpublishOut(BaseModel):
    """The local controller's answer: Unpublished, NoFirmware or DownloadOngoing."""

    status: str


class GetDiagnosticsIn(BaseModel):
    """1.6 GetDiagnostics (GetLog DiagnosticsLog on 2.x)."""

    start_time: datetime | None = None
    stop_time: datetime | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


class GetLogIn(BaseModel):
    """GetLog (1.6 security extension, 2.x)."""

    log_type: str = Field(pattern="^(DiagnosticsLog|SecurityLog)$")
    oldest: datetime | None = None
    latest: datetime | None = None
    retries: int | None = Field(default=None, ge=0)
    retry_interval: int | None = Field(default=None, ge=0)


def _command_out(result: UploadRequest) -> CommandOut:
    return CommandOut(
        status=result.status, filename=result.filename, request=FileRequestOut.of(result.request)
    )


# ---------------------------------------------------------------------- body streaming


async def _body(request: Request, limit: int, names: list[str]) -> AsyncIterator[bytes]:
    """The uploaded file's bytes: the raw body, or the first file of a multipart form."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise FileTooLarge(f"the file exceeds the limit of {limit} bytes")
    try:
        boundary = boundary_of(request.headers.get("content-type", ""))
    except MultipartError as exc:
        raise ApiProblem(BAD_UPLOAD, str(exc)) from exc
    if boundary is None:
        async for chunk in request.stream():
            yield chunk
        return
    try:
        async for chunk in first_file(request.stream(), boundary, names):
            yield chunk
    except MultipartError as exc:
        raise ApiProblem(BAD_UPLOAD, str(exc)) from exc


def _too_large(exc: FileTooLarge) -> ApiProblem:
    return ApiProblem(TOO_LARGE, str(exc))


# ---------------------------------------------------------------------- stations' side


async def download_file(request: Request, token: str, name: str = "") -> Response:
    """Serve the firmware image of a firmware request's URL (Range requests supported)."""
    files = files_context(request)
    try:
        found = await files.service.download(token)
    except UnknownFile as exc:
        raise ApiProblem(NOT_FOUND, "no such file") from exc
    return FileResponse(
        found.path,
        filename=found.filename,
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-store", "X-Content-SHA256": found.sha256},
    )


def _declared_length(request: Request) -> int | None:
    """The body's Content-Length, or None (chunked; a malformed value is refused by the server)."""
    declared = request.headers.get("content-length")
    return int(declared) if declared is not None and declared.isdigit() else None


async def _reserve(files: FilesApi, request: Request, token: str) -> UploadSlot:
    try:
        file_request = await files.service.check_upload(token)
    except UnknownFile as exc:
        raise ApiProblem(NOT_FOUND, "no such upload location") from exc
    station = file_request.station_id
    try:
        return await files.service.reserve_upload(file_request, _declared_length(request))
    except FileTooLarge as exc:
        _refused(files, station, "too large", str(exc))
        raise _too_large(exc) from exc
    except UploadSlotsTaken as exc:
        _refused(files, station, "slots taken", str(exc))
        raise ApiProblem(SLOTS_TAKEN, str(exc)) from exc
    except UploadQuotaExceeded as exc:
        _refused(files, station, "quota", str(exc))
        raise ApiProblem(QUOTA_EXCEEDED, str(exc)) from exc


async def upload_file(request: Request, token: str, name: str = "") -> Response:
    """Receive a station's diagnostics or log upload for its request's URL.

    The slot and the bytes are reserved before the body is read, so concurrent uploads to one URL
    cannot exceed the request's file limit or the quotas.
    """
    files = files_context(request)
    slot = await _reserve(files, request, token)
    station = slot.request.station_id
    names: list[str] = []
    try:
        received = await files.service.receive_upload(
            slot, lambda: name or (names[0] if names else ""), _body(request, slot.limit, names)
        )
    except FileTooLarge as exc:
        _refused(files, station, "too large", str(exc))
        raise _too_large(exc) from exc
    except UploadQuotaExceeded as exc:
        _refused(files, station, "quota", str(exc))
        raise ApiProblem(QUOTA_EXCEEDED, str(exc)) from exc
    except ClientDisconnect:
        # The station went away mid-body: nothing was kept and its slot is free again.
        _refused(files, station, "aborted", "the connection closed before the body ended")
        return Response(status_code=400)  # nobody reads it
    logger.info(
        "[%s] received %s (%d bytes) for request %d",
        received.station_id,
        received.filename,
        received.size,
        received.request_id,
    )
    return JSONResponse({"size": received.size, "sha256": received.sha256}, status_code=201)


def file_service_router() -> APIRouter:
    """The stations' routes (no bearer token: the URL token is the credential)."""
    router = APIRouter(tags=["files"])
    for path, suffix in (("/files/{token}", ""), ("/files/{token}/{name}", "Named")):
        for method in ("GET", "HEAD"):
            router.add_api_route(
                path,
                download_file,
                methods=[method],
                operation_id=f"downloadFile{suffix}{method.title()}",
                include_in_schema=method == "GET",
                summary="Download a firmware image (stations)",
                responses={404: {"model": Problem}},
                response_class=FileResponse,
            )
        for method in ("PUT", "POST"):
            router.add_api_route(
                path,
                upload_file,
                methods=[method],
                operation_id=f"uploadFile{suffix}{method.title()}",
                status_code=201,
                summary="Upload diagnostics or a log (stations)",
                responses={
                    404: {"model": Problem},
                    409: {"model": Problem, "description": "The request has all its files"},
                    413: {"model": Problem},
                    507: {"model": Problem, "description": "Upload quota exceeded"},
                },
            )
    return router


# ---------------------------------------------------------------------- operators' side


async def upload_firmware(
    request: Request,
    filename: Annotated[str, Query(min_length=1, max_length=200)] = "firmware.bin",
) -> JSONResponse:
    """Store a firmware image (raw body, or a multipart form's first file)."""
    files = files_context(request)
    names: list[str] = []
    limit = files.service.max_firmware_size
    try:
        image = await files.service.store_firmware(
            lambda: names[0] if names and names[0] else filename, _body(request, limit, names)
        )
    except FileTooLarge as exc:
        raise _too_large(exc) from exc
    logger.info("firmware image %s stored (%d bytes)", image.id, image.size)
    return JSONResponse(FirmwareOut.of(image).model_dump(mode="json"), status_code=201)


async def list_firmware(request: Request) -> list[FirmwareOut]:
    """Every stored firmware image, newest first."""
    images = await files_context(request).service.files.list_firmware()
    return [FirmwareOut.of(image) for image in images]


async def send_update_firmware(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[UpdateFirmwareIn, Body()],
) -> CommandOut:
    """Send UpdateFirmware (or 1.6 SignedUpdateFirmware) with a URL of the image."""
    await require_station(context, station_id)
    files = files_context(request)
    try:
        result = await update_firmware(
            files.gateway,
            files.service,
            station_id,
            body.firmware_id,
            retrieve_date=body.retrieve_date,
            install_date=body.install_date,
            retries=body.retries,
            retry_interval=body.retry_interval,
            signing_certificate=body.signing_certificate,
            signature=body.signature,
            timeout=context.call_timeout,
        )
    except UnknownFile as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from exc
    return CommandOut(status=result.status, request=FileRequestOut.of(result.request))


async def send_publish_firmware(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[PublishFirmwareIn, Body()],
) -> CommandOut:
    """Send PublishFirmware with a URL of the image; its statuses join the request's history."""
    await require_station(context, station_id)
    files = files_context(request)
    try:
        result = await publish_firmware(
            files.gateway,
            files.service,
            station_id,
            body.firmware_id,
            retries=body.retries,
            retry_interval=body.retry_interval,
            timeout=context.call_timeout,
        )
    except UnknownFile as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from exc
    return CommandOut(status=result.status, request=FileRequestOut.of(result.request))


async def send_unpublish_firmware(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[UnpublishFirmwareIn, Body()],
) -> UnpublishOut:
    """Send UnpublishFirmware naming the image by its MD5."""
    await require_station(context, station_id)
    files = files_context(request)
    try:
        status = await unpublish_firmware(
            files.gateway,
            files.service,
            station_id,
            body.firmware_id,
            timeout=context.call_timeout,
        )
    except UnknownFile as exc:
        raise ApiProblem(NOT_FOUND, str(exc)) from exc
    return UnpublishOut(status=status.value)


async def send_get_diagnostics(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[GetDiagnosticsIn, Body()],
) -> CommandOut:
    """Send GetDiagnostics (1.6) or GetLog DiagnosticsLog (2.x) with an upload URL."""
    await require_station(context, station_id)
    files = files_context(request)
    result = await get_diagnostics(
        files.gateway,
        files.service,
        station_id,
        start_time=body.start_time,
        stop_time=body.stop_time,
        retries=body.retries,
        retry_interval=body.retry_interval,
        timeout=context.call_timeout,
    )
    return _command_out(result)


async def send_get_log(
    request: Request,
    context: Context,
    station_id: StationIdPath,
    body: Annotated[GetLogIn, Body()],
) -> CommandOut:
    """Send GetLog with an upload URL."""
    await require_station(context, station_id)
    files = files_context(request)
    result = await get_log(
        files.gateway,
        files.service,
        station_id,
        log_type=body.log_type,
        oldest=body.oldest,
        latest=body.latest,
        retries=body.retries,
        retry_interval=body.retry_interval,
        timeout=context.call_timeout,
    )
    return _command_out(result)


async def list_file_requests(
    request: Request, context: Context, station_id: StationIdPath
) -> list[FileRequestOut]:
    """The station's firmware/diagnostics/log requests, newest first."""
    await require_station(context, station_id)
    found = await files_context(request).service.files.requests(station_id)
    return [FileRequestOut.of(r) for r in found]


async def get_file_request(request: Request, request_id: StorageIdPath) -> FileRequestDetail:
    """One request with its status history."""
    repo = files_context(request).service.files
    found = await repo.request(request_id)
    if found is None:
        raise ApiProblem(NOT_FOUND, f"no file request {request_id}")
    history = [StatusOut(status=e.status, at=e.at) for e in await repo.status_history(request_id)]
    return FileRequestDetail(**FileRequestOut.of(found).model_dump(), history=history)


async def list_uploads(
    request: Request, context: Context, station_id: StationIdPath
) -> list[ReceivedFileOut]:
    """Files the station uploaded, newest first."""
    await require_station(context, station_id)
    found = await files_context(request).service.files.received_files(station_id)
    return [ReceivedFileOut.of(f) for f in found]


async def download_upload(request: Request, file_id: StorageIdPath) -> Response:
    """The content of a file a station uploaded (operators only)."""
    files = files_context(request)
    found = await files.service.files.received_file(file_id)
    if found is None:
        raise ApiProblem(NOT_FOUND, f"no uploaded file {file_id}")
    return FileResponse(
        files.service.blob_path(found.blob_key),
        filename=found.filename,
        media_type="application/octet-stream",
    )


async def delete_upload(request: Request, file_id: StorageIdPath) -> Response:
    """Delete a file a station uploaded and its bytes (frees its share of the upload quota)."""
    try:
        await files_context(request).service.delete_upload(file_id)
    except UnknownFile as exc:
        raise ApiProblem(NOT_FOUND, f"no uploaded file {file_id}") from exc
    return Response(status_code=204)


FIRMWARE_BODY: Final[dict[str, Any]] = {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {
        "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
    },
}


def files_router() -> APIRouter:
    """The operators' routes (behind the API token when one is set)."""
    router = APIRouter(tags=["files"])
    not_found: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Not found"}
    }
    command_errors: dict[int | str, dict[str, Any]] = {
        404: {"model": Problem, "description": "Unknown station or firmware image"},
        409: {"model": Problem, "description": "Station not connected"},
        502: {"model": Problem, "description": "Station answered with a CALLERROR"},
        504: {"model": Problem, "description": "Station did not answer in time"},
    }
    router.add_api_route(
        "/firmware",
        upload_firmware,
        methods=["POST"],
        status_code=201,
        response_model=FirmwareOut,
        summary="Upload a firmware image (raw body or multipart form)",
        responses={413: {"model": Problem}},
        # The one operator route with a binary body (api/media.py reads this declaration).
        openapi_extra={"requestBody": {"required": True, "content": FIRMWARE_BODY}},
    )
    router.add_api_route("/firmware", list_firmware, methods=["GET"], summary="List images")
    router.add_api_route(
        "/stations/{station_id}/firmware-update",
        send_update_firmware,
        methods=["POST"],
        summary="Send UpdateFirmware / SignedUpdateFirmware",
        responses=command_errors,
    )
    router.add_api_route(
        "/stations/{station_id}/firmware-publish",
        send_publish_firmware,
        methods=["POST"],
        summary="Send PublishFirmware to a local controller (2.x)",
        responses=command_errors,
    )
    router.add_api_route(
        "/stations/{station_id}/firmware-unpublish",
        send_unpublish_firmware,
        methods=["POST"],
        summary="Send UnpublishFirmware to a local controller (2.x)",
        responses=command_errors,
    )
    router.add_api_route(
        "/stations/{station_id}/diagnostics",
        send_get_diagnostics,
        methods=["POST"],
        summary="Send GetDiagnostics (GetLog on 2.x)",
        responses=command_errors,
    )
    router.add_api_route(
        "/stations/{station_id}/logs",
        send_get_log,
        methods=["POST"],
        summary="Send GetLog",
        responses=command_errors,
    )
    router.add_api_route(
        "/stations/{station_id}/file-requests",
        list_file_requests,
        methods=["GET"],
        summary="List the station's file requests",
        responses=not_found,
    )
    router.add_api_route(
        "/file-requests/{request_id}",
        get_file_request,
        methods=["GET"],
        summary="A file request with its status history",
        responses=not_found,
    )
    router.add_api_route(
        "/stations/{station_id}/uploads",
        list_uploads,
        methods=["GET"],
        summary="List the station's uploads",
        responses=not_found,
    )
    router.add_api_route(
        "/uploads/{file_id}/content",
        download_upload,
        methods=["GET"],
        summary="Download an uploaded file",
        response_class=FileResponse,
        responses=not_found,
    )
    router.add_api_route(
        "/uploads/{file_id}",
        delete_upload,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        summary="Delete an uploaded file (frees upload quota)",
        responses=not_found,
    )
    return router
