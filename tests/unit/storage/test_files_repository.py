"""File requests, their status history, received files, security events and certificates, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from csms.domain.files import (
    FirmwareImage,
    NewFileRequest,
    StoredBlob,
    TransferKind,
    UploadUsage,
    token_digest,
)
from csms.domain.security import CertificateHashData, InstalledCertificate, SecurityEvent
from csms.storage import Store
from tests.unit.storage.builders import a_station

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _new(station_id: str, kind: TransferKind, token: str, **extra: Any) -> NewFileRequest:
    return NewFileRequest(
        station_id=station_id,
        kind=kind,
        action="GetLog" if kind.upload else "UpdateFirmware",
        token_digest=token_digest(token),
        created_at=T0,
        expires_at=T0 + timedelta(days=1),
        **extra,
    )


async def test_requests_statuses_and_history(store: Store) -> None:
    await store.stations.add(a_station("CS2"))
    files = store.files
    await files.add_firmware(FirmwareImage("fw1", "fw.bin", 3, "00" * 32, "firmware/x", T0))
    firmware = await files.create_request(
        _new("CS1", TransferKind.FIRMWARE, "t1", firmware_id="fw1")
    )
    diagnostics = await files.create_request(_new("CS1", TransferKind.DIAGNOSTICS, "t2"))
    other = await files.create_request(_new("CS2", TransferKind.LOG, "t3"))
    assert (await files.request_by_token(token_digest("t1"))) == firmware
    assert await files.request_by_token(token_digest("nope")) is None

    # A notification that arrives before the answer is stored keeps its place as current status.
    await files.record_notification("CS1", [TransferKind.FIRMWARE], None, "Downloading", T0)
    await files.set_status(firmware.id, "Accepted", T0)
    found = await files.request(firmware.id)
    assert found is not None and found.status == "Downloading"
    assert [e.status for e in await files.status_history(firmware.id)] == [
        "Requested",
        "Downloading",
        "Accepted",
    ]
    # Idle belongs to no request.
    assert (
        await files.record_notification(
            "CS1", [TransferKind.FIRMWARE], None, "Idle", T0, attach=False
        )
        is None
    )
    # A station can never touch another station's request, even by naming its id.
    assert (
        await files.record_notification("CS1", [TransferKind.LOG], other.id, "Uploaded", T0) is None
    )
    untouched = await files.request(other.id)
    assert untouched is not None and untouched.status == "Requested"
    # Without an id: the station's newest request of that kind.
    matched = await files.record_notification(
        "CS1", [TransferKind.DIAGNOSTICS], None, "Uploaded", T0
    )
    assert matched is not None and matched.id == diagnostics.id and matched.status == "Uploaded"
    assert [r.id for r in await files.requests("CS1")] == [diagnostics.id, firmware.id]

    blob = StoredBlob("uploads/abc", 10, "11" * 32)
    received = await files.add_received_file(diagnostics.id, "CS1", "d.zip", blob, T0)
    assert await files.received_file(received.id) == received
    assert await files.received_files("CS1") == [received]
    assert await files.received_files("CS2") == []


async def test_upload_usage_counts_the_request_the_station_and_everyone(store: Store) -> None:
    await store.stations.add(a_station("CS2"))
    files = store.files
    mine = await files.create_request(_new("CS1", TransferKind.LOG, "u1"))
    other = await files.create_request(_new("CS1", TransferKind.LOG, "u2"))
    theirs = await files.create_request(_new("CS2", TransferKind.LOG, "u3"))
    assert await files.upload_usage(mine.id, "CS1") == UploadUsage(0, 0, 0)
    first = await files.add_received_file(mine.id, "CS1", "a", StoredBlob("uploads/a", 10, ""), T0)
    await files.add_received_file(mine.id, "CS1", "b", StoredBlob("uploads/b", 20, ""), T0)
    await files.add_received_file(other.id, "CS1", "c", StoredBlob("uploads/c", 40, ""), T0)
    await files.add_received_file(theirs.id, "CS2", "d", StoredBlob("uploads/d", 80, ""), T0)
    assert await files.upload_usage(mine.id, "CS1") == UploadUsage(2, 70, 150)
    assert await files.upload_usage(theirs.id, "CS2") == UploadUsage(1, 80, 150)
    assert await files.delete_received_file(first.id) == first
    assert await files.delete_received_file(first.id) is None
    assert await files.upload_usage(mine.id, "CS1") == UploadUsage(1, 60, 140)


async def test_security_events_filter_by_type_time_and_page(store: Store) -> None:
    """The fleet-wide list (dashboard): by type, by the station's timestamp, older pages."""
    await store.stations.add(a_station("CS2"))
    security = store.security
    for n, (station, event_type) in enumerate(
        (("CS1", "SettingSystemTime"), ("CS2", "TamperDetectionActivated"),
         ("CS1", "TamperDetectionActivated"), ("CS1", "InvalidMessages"))
    ):  # fmt: skip
        at = T0 + timedelta(hours=n)
        await security.record_event(
            SecurityEvent(station, event_type, at, critical=False, received_at=at)
        )
    tamper = await security.events(event_type="TamperDetectionActivated")
    assert [(e.station_id, e.type) for e in tamper] == [
        ("CS1", "TamperDetectionActivated"),
        ("CS2", "TamperDetectionActivated"),
    ]
    window = await security.events(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3))
    assert [e.timestamp for e in window] == [T0 + timedelta(hours=2), T0 + timedelta(hours=1)]
    mine = await security.events(station_id="CS1", event_type="TamperDetectionActivated")
    assert [e.station_id for e in mine] == ["CS1"]
    first = await security.events(limit=2)
    older = await security.events(limit=2, before_id=first[-1].id)
    assert [(e.station_id, e.type) for e in [*first, *older]] == [
        ("CS1", "InvalidMessages"),
        ("CS1", "TamperDetectionActivated"),
        ("CS2", "TamperDetectionActivated"),
        ("CS1", "SettingSystemTime"),
    ]


async def test_security_events_and_certificates(store: Store) -> None:
    security = store.security
    for event_type, critical in (("StartupOfTheDevice", True), ("InvalidMessages", False)):
        await security.record_event(
            SecurityEvent("CS1", event_type, T0, critical=critical, received_at=T0)
        )
    assert [e.type for e in await security.events()] == ["InvalidMessages", "StartupOfTheDevice"]
    assert [e.type for e in await security.events(critical_only=True)] == ["StartupOfTheDevice"]
    assert await security.events(station_id="CS9") == []

    request_id = await security.add_certificate_request("CS1", "CSR", None, "Accepted", T0)
    await security.finish_certificate_request(request_id, status="Signed", chain="PEM", error=None)
    [request] = await security.certificate_requests("CS1")
    assert (request.status, request.certificate_chain) == ("Signed", "PEM")

    a = CertificateHashData("SHA256", "n1", "k1", "01")
    b = CertificateHashData("SHA256", "n2", "k2", "02")
    await security.replace_installed(
        "CS1",
        ["CSMSRootCertificate"],
        [InstalledCertificate("CS1", "CSMSRootCertificate", a, T0)] * 2,  # reported twice
    )
    await security.replace_installed(
        "CS1", ["V2GRootCertificate"], [InstalledCertificate("CS1", "V2GRootCertificate", b, T0)]
    )
    assert {c.hash_data for c in await security.installed("CS1")} == {a, b}
    await security.replace_installed("CS1", ["CSMSRootCertificate"], [])
    assert [c.hash_data for c in await security.installed("CS1")] == [b]
    await security.remove_installed("CS1", b)
    assert await security.installed("CS1") == []
