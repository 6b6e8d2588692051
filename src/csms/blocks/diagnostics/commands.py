"""Operator commands that make a station upload a file to the built-in file service.

* :func:`get_diagnostics`: 1.6 GetDiagnostics {location, startTime, stopTime, ...} (§5.9), whose
  .conf names the file or, without ``fileName``, says there is none (stored as Rejected). On a 2.x
  station the same request is GetLog with logType DiagnosticsLog (N01), its direct equivalent.
* :func:`get_log`: GetLog {logType, requestId, log{remoteLocation, oldestTimestamp,
  latestTimestamp}} for 1.6 (security whitepaper §5.7) and 2.x (N01).

The location is a per-request upload URL; the request's id is the OCPP requestId.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from csms.blocks.file_service import FileService
from csms.blocks.station_version import live_version
from csms.blocks.timefmt import format_datetime
from csms.domain.errors import DomainError, InvalidPayload
from csms.domain.files import FileRequest, TransferKind
from csms.domain.ports import StationGateway
from csms.rpc import OcppVersion

__all__ = ["COMMANDS", "LOG_KINDS", "LOG_TYPES", "UploadRequest", "get_diagnostics", "get_log"]

# The (version, action) pairs these commands send, for the support matrix.
COMMANDS = frozenset(
    {(version, "GetLog") for version in OcppVersion} | {(OcppVersion.V16, "GetDiagnostics")}
)

LOG_TYPES = frozenset({"DiagnosticsLog", "SecurityLog"})  # LogEnumType, 1.6 ext. and 2.x
# The requests a log upload may belong to (a 2.x GetDiagnostics goes out as GetLog).
LOG_KINDS = (TransferKind.LOG, TransferKind.DIAGNOSTICS)


@dataclass(frozen=True, slots=True)
class UploadRequest:
    """The station's answer: ``status`` Accepted, Rejected or AcceptedCanceled; ``filename`` the
    name it announced, if any."""

    request: FileRequest
    status: str
    filename: str | None = None


def _check_window(oldest: datetime | None, latest: datetime | None, path: str) -> None:
    """Refuse a time window that ends before it starts: no station can upload anything for it.

    Raises:
        InvalidPayload: ``oldest`` is after ``latest``.
    """
    if oldest is not None and latest is not None and oldest > latest:
        raise InvalidPayload(f"{path}: the start of the window is after its end", path=path)


def _options(retries: int | None, retry_interval: int | None) -> dict[str, Any]:
    pairs = (("retries", retries), ("retryInterval", retry_interval))
    return {k: v for k, v in pairs if v is not None}


async def get_diagnostics(
    gateway: StationGateway,
    files: FileService,
    station_id: str,
    *,
    start_time: datetime | None = None,
    stop_time: datetime | None = None,
    retries: int | None = None,
    retry_interval: int | None = None,
    timeout: float | None = None,
) -> UploadRequest:
    """Ask the station to upload its diagnostics (GetDiagnostics, or GetLog on 2.x)."""
    _check_window(start_time, stop_time, "startTime")
    version = live_version(gateway, station_id)
    if version is not OcppVersion.V16:
        return await get_log(
            gateway,
            files,
            station_id,
            log_type="DiagnosticsLog",
            oldest=start_time,
            latest=stop_time,
            retries=retries,
            retry_interval=retry_interval,
            timeout=timeout,
            kind=TransferKind.DIAGNOSTICS,
        )
    transfer = await files.new_transfer(station_id, TransferKind.DIAGNOSTICS, "GetDiagnostics")
    payload: dict[str, Any] = {"location": transfer.url, **_options(retries, retry_interval)}
    if start_time is not None:
        payload["startTime"] = format_datetime(start_time)
    if stop_time is not None:
        payload["stopTime"] = format_datetime(stop_time)
    reply = await _call(
        gateway, files, transfer.request, "GetDiagnostics", payload, timeout=timeout
    )
    filename = reply.get("fileName")
    status = "Accepted" if filename else "Rejected"
    await files.set_status(transfer.request.id, status)
    return UploadRequest(request=transfer.request, status=status, filename=filename)


async def get_log(
    gateway: StationGateway,
    files: FileService,
    station_id: str,
    *,
    log_type: str,
    oldest: datetime | None = None,
    latest: datetime | None = None,
    retries: int | None = None,
    retry_interval: int | None = None,
    timeout: float | None = None,
    kind: TransferKind = TransferKind.LOG,
) -> UploadRequest:
    """Ask the station to upload a log (GetLog, 1.6 security extension and 2.x)."""
    _check_window(oldest, latest, "log.oldestTimestamp")
    live_version(gateway, station_id)
    transfer = await files.new_transfer(station_id, kind, "GetLog", log_type=log_type)
    log: dict[str, Any] = {"remoteLocation": transfer.url}
    if oldest is not None:
        log["oldestTimestamp"] = format_datetime(oldest)
    if latest is not None:
        log["latestTimestamp"] = format_datetime(latest)
    payload = {
        "logType": log_type,
        "requestId": transfer.request.id,
        "log": log,
        **_options(retries, retry_interval),
    }
    reply = await _call(gateway, files, transfer.request, "GetLog", payload, timeout=timeout)
    status = str(reply["status"])
    await files.set_status(transfer.request.id, status)
    if status == "AcceptedCanceled":  # the upload that was running is canceled (N01)
        await files.cancel_superseded(transfer.request, LOG_KINDS)
    return UploadRequest(request=transfer.request, status=status, filename=reply.get("filename"))


async def _call(
    gateway: StationGateway,
    files: FileService,
    request: FileRequest,
    action: str,
    payload: dict[str, Any],
    *,
    timeout: float | None,
) -> dict[str, Any]:
    try:
        return await gateway.call(request.station_id, action, payload, timeout=timeout)
    except DomainError:
        await files.set_status(request.id, "CommandFailed")
        raise
