"""Station upload limits over real sockets (issue 7 finding 4), on SQLite and PostgreSQL.

A real csms (uvicorn API on loopback) and httpx clients: concurrent uploads to one URL cannot
exceed the request's file slots, the total quota and each station's share of it hold, a URL token
only ever uploads to its own station's request, an aborted upload gives its slot back and leaves no
file, and the file URLs are https when the API serves TLS.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from csms.blocks.file_service import MAX_FILES_PER_REQUEST, FileService
from csms.config import SettingsError, validate
from csms.domain.errors import CommandNotAllowed
from csms.domain.files import TransferKind
from tests.integration.harness import RunningCsms, running_csms, settings_for
from tests.integration.tls import make_server_certificate

OPERATOR = {"Authorization": "Bearer operator-secret"}
MAX_SIZE = 100_000


def _service(server: RunningCsms) -> FileService:
    assert server.csms.file_service is not None
    return server.csms.file_service


def _path(url: str) -> str:
    return httpx.URL(url).path


def _uploads_dir(tmp_path: Path) -> list[Path]:
    root = tmp_path / "data" / "uploads"
    return sorted(root.iterdir()) if root.exists() else []


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[RunningCsms]:
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings,
        database=dataclasses.replace(settings.database, url=database_url),
        api=dataclasses.replace(settings.api, token="operator-secret"),
        files=dataclasses.replace(
            settings.files,
            max_upload_size=MAX_SIZE,
            upload_quota=250_000,
            station_upload_quota=150_000,
        ),
    )
    async with running_csms(settings) as running:
        for station in ("CP-A", "CP-B", "CP-C"):
            await running.add_station(station)
        yield running


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; return whether it held."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class HeldBody:
    """A chunked upload body that sends its first chunk, then waits for ``gate`` before the rest
    (or, with ``abort``, fails there so the client drops the connection mid-body)."""

    def __init__(self, gate: asyncio.Event, *, abort: bool = False) -> None:
        self.gate = gate
        self.abort = abort
        self.started = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"a" * 1000
        self.started.set()
        await self.gate.wait()
        if self.abort:
            raise ConnectionAbortedError("the station lost its connection")
        yield b"b" * 1000


async def _put_held(api: httpx.AsyncClient, url: str, body: HeldBody) -> int:
    # Declared: the reservation is the body's 2000 bytes, not the maximum size.
    headers = {"Content-Length": "2000"}
    try:
        return (await api.put(_path(url), content=body.__aiter__(), headers=headers)).status_code
    except httpx.TransportError:  # refused early, and the server closed before the body ended
        return -1


async def test_concurrent_uploads_to_one_url_store_at_most_the_request_limit(
    server: RunningCsms, tmp_path: Path
) -> None:
    service = _service(server)
    transfer = await service.new_transfer("CP-A", TransferKind.DIAGNOSTICS, "GetDiagnostics")
    gate = asyncio.Event()
    bodies = [HeldBody(gate) for _ in range(30)]
    limits = httpx.Limits(max_connections=40)
    async with httpx.AsyncClient(base_url=server.api_url, timeout=30, limits=limits) as api:
        puts = [asyncio.create_task(_put_held(api, transfer.url, b)) for b in bodies]
        # Every upload is on the wire; the server has decided which ones it takes.
        assert await _until(lambda: all(b.started.is_set() for b in bodies))
        await _until(
            lambda: (
                getattr(service, "uploads_in_flight", 0) + getattr(service, "uploads_refused", 0)
                == 30
            ),
            timeout=2.0,
        )
        gate.set()
        statuses = await asyncio.gather(*puts)
        assert statuses.count(201) == MAX_FILES_PER_REQUEST
        assert all(s in (201, 409, -1) for s in statuses), statuses
        assert service.uploads_refused == 30 - MAX_FILES_PER_REQUEST
        assert service.uploads_in_flight == 0
        stored = (await api.get("/api/v1/stations/CP-A/uploads", headers=OPERATOR)).json()
        assert len(stored) == MAX_FILES_PER_REQUEST
        assert {u["size"] for u in stored} == {2000}
        # A sequential attempt now gets the clear answer.
        late = await api.put(_path(transfer.url), content=b"late")
        assert late.status_code == 409
        assert late.json()["type"] == "urn:csms:problem:upload-slots-taken"
    assert len(_uploads_dir(tmp_path)) == MAX_FILES_PER_REQUEST


async def test_the_total_quota_and_each_stations_share_are_enforced(server: RunningCsms) -> None:
    service = _service(server)

    async def upload(station: str, size: int) -> httpx.Response:
        transfer = await service.new_transfer(station, TransferKind.LOG, "GetLog")
        return await api.put(_path(transfer.url), content=os.urandom(size))

    async with server.api() as api:
        assert (await upload("CP-A", 100_000)).status_code == 201
        # CP-A's share is 150 000 bytes: 100 000 stored, 60 000 more do not fit.
        share = await upload("CP-A", 60_000)
        assert share.status_code == 507
        assert share.json()["type"] == "urn:csms:problem:upload-quota-exceeded"
        assert "station's upload share of 150000 bytes" in share.json()["detail"]
        assert (await upload("CP-B", 100_000)).status_code == 201
        # 200 000 of the 250 000 total are taken: CP-C is within its share but not the total.
        total = await upload("CP-C", 60_000)
        assert total.status_code == 507
        assert "total upload quota of 250000 bytes" in total.json()["detail"]
        assert (await upload("CP-C", 40_000)).status_code == 201

        # Without a Content-Length the upload gets what the quota has left, and is cut beyond it.
        async def chunked() -> AsyncIterator[bytes]:
            for _ in range(5):
                yield b"z" * 4096

        transfer = await service.new_transfer("CP-B", TransferKind.LOG, "GetLog")
        cut = await api.put(_path(transfer.url), content=chunked())
        assert cut.status_code == 507
        # Deleting an upload gives its bytes back.
        first = (await api.get("/api/v1/stations/CP-A/uploads", headers=OPERATOR)).json()[0]
        deleted = await api.delete(f"/api/v1/uploads/{first['id']}", headers=OPERATOR)
        assert deleted.status_code == 204
        assert (await upload("CP-A", 60_000)).status_code == 201
    assert service.uploads_in_flight == 0


async def test_a_token_uploads_only_to_its_own_station_and_request(server: RunningCsms) -> None:
    service = _service(server)
    a1 = await service.new_transfer("CP-A", TransferKind.DIAGNOSTICS, "GetDiagnostics")
    a2 = await service.new_transfer("CP-A", TransferKind.LOG, "GetLog")
    b1 = await service.new_transfer("CP-B", TransferKind.LOG, "GetLog")
    async with server.api() as api:
        for i in range(MAX_FILES_PER_REQUEST):
            assert (await api.put(_path(a1.url) + "/b1.log", content=b"%d" % i)).status_code == 201
        # A's first request is full: its token is refused, and takes nothing from A's other
        # request nor from B's (slots and files belong to the token's own request).
        assert (await api.put(_path(a1.url), content=b"x")).status_code == 409
        assert (await api.put(_path(b1.url), content=b"b")).status_code == 201
        assert (await api.put(_path(a2.url), content=b"a")).status_code == 201
        # An altered token (B's with one character of A's) is no upload location at all.
        token_a, token_b = _path(a1.url).split("/")[2], _path(b1.url).split("/")[2]
        mixed = token_b[:-1] + token_a[-1] if token_a[-1] != token_b[-1] else token_b[:-1] + "~"
        assert (await api.put(f"/files/{mixed}", content=b"m")).status_code == 404
        uploads_a = (await api.get("/api/v1/stations/CP-A/uploads", headers=OPERATOR)).json()
        uploads_b = (await api.get("/api/v1/stations/CP-B/uploads", headers=OPERATOR)).json()
    assert sorted(u["request_id"] for u in uploads_a) == sorted(
        [a1.request.id] * MAX_FILES_PER_REQUEST + [a2.request.id]
    )
    assert [(u["request_id"], u["station_id"]) for u in uploads_b] == [(b1.request.id, "CP-B")]


async def test_an_aborted_upload_releases_its_slot_and_leaves_no_file(
    server: RunningCsms, tmp_path: Path
) -> None:
    service = _service(server)
    transfer = await service.new_transfer("CP-A", TransferKind.LOG, "GetLog")
    async with server.api() as api:
        for i in range(MAX_FILES_PER_REQUEST - 1):
            assert (await api.put(_path(transfer.url), content=b"%d" % i)).status_code == 201
        gate = asyncio.Event()
        held = HeldBody(gate, abort=True)
        aborted = asyncio.create_task(_put_held(api, transfer.url, held))
        await held.started.wait()
        assert await _until(lambda: getattr(service, "uploads_in_flight", 1) == 1)
        # The last slot is held by the upload in flight.
        assert (await api.put(_path(transfer.url), content=b"extra")).status_code == 409
        gate.set()
        with pytest.raises(ConnectionAbortedError):
            await aborted
        # The server notices the dropped connection, discards the part and frees the slot.
        assert await _until(lambda: service.uploads_in_flight == 0)
        assert not [p for p in _uploads_dir(tmp_path) if p.suffix == ".part"]
        assert (await api.put(_path(transfer.url), content=b"retry")).status_code == 201
        stored = (await api.get("/api/v1/stations/CP-A/uploads", headers=OPERATOR)).json()
    assert len(stored) == MAX_FILES_PER_REQUEST
    assert len(_uploads_dir(tmp_path)) == MAX_FILES_PER_REQUEST


async def test_file_urls_are_https_when_the_api_serves_tls(tmp_path: Path) -> None:
    ca, cert, key = make_server_certificate(tmp_path)
    settings = settings_for(tmp_path)
    settings = dataclasses.replace(
        settings, api=dataclasses.replace(settings.api, tls_cert=str(cert), tls_key=str(key))
    )
    async with running_csms(settings) as running:
        await running.add_station("CP-A")
        transfer = await _service(running).new_transfer("CP-A", TransferKind.LOG, "GetLog")
        base = f"https://127.0.0.1:{running.csms.api_port}"
        assert transfer.url.startswith(base + "/files/")
        trust = ssl.create_default_context(cafile=str(ca))
        async with httpx.AsyncClient(base_url=base, verify=trust, timeout=30) as api:
            reply = await api.put(_path(transfer.url), content=b"over tls")
            assert reply.status_code == 201


async def test_profile_2_never_sends_plain_http_file_urls(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, cert, key = make_server_certificate(tmp_path)
    settings = settings_for(tmp_path, security_profile=2, tls_cert=str(cert), tls_key=str(key))
    plain = dataclasses.replace(
        settings, files=dataclasses.replace(settings.files, public_url="http://csms.example:8080")
    )
    with pytest.raises(SettingsError, match="CSMS_FILES_PUBLIC_URL: security profile 2"):
        validate(plain)
    # No API TLS and no public URL: warned at start, and the file commands are refused rather
    # than sent with an http URL.
    async with running_csms(settings) as running, running.api() as api:
        assert "the file service is plain http" in caplog.text
        await running.add_station("CP-A")
        # CommandNotAllowed: the API answers 409 command-not-allowed with this detail.
        with pytest.raises(CommandNotAllowed, match="CSMS_API_TLS_CERT"):
            await _service(running).new_transfer("CP-A", TransferKind.LOG, "GetLog")
        assert (await api.get("/api/v1/stations/CP-A/file-requests")).json() == []
